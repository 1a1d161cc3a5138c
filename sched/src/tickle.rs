//! Where a runnable unit should run: which pCPU to interrupt when a unit
//! becomes runnable (credit1's `__runq_tickle`), and which pCPU a unit is
//! placed on (credit1's `_csched_cpu_pick`, without the SMT topology walk).
//!
//! Tickle, for a unit `new` queued on pCPU `cpu` running `cur`:
//! - `cpu` is idle: interrupt it;
//! - no idle pCPU may run `new`, and `new` outranks `cur` — or `new` is
//!   communication-boosted and `cur` is neither communication-bound nor
//!   the unit whose event boosted it, or both are at credit1's wake BOOST
//!   and only `cur`'s domain has spent its share of the period: interrupt
//!   `cpu` so that `new` preempts `cur`;
//! - otherwise some idle pCPU may run `new`: interrupt one of those (in
//!   round robin), which will steal it; `cur` keeps its warm cache.
//!
//! An interrupted idle pCPU leaves the idlers set until it schedules, so a
//! burst of wakes spreads over several idle pCPUs.
//!
//! Simplifications against credit1, all about where work lands, none about
//! who runs first or for how long:
//! - hard affinity only: credit1 first looks for idlers in the soft
//!   affinity, then in the hard one;
//! - when `new` preempts `cur` and `cur` could run on an idler, credit1
//!   also flags `cur` for migration (`_VPF_migrating`) so that it moves
//!   there at once; here `cur` goes back to its queue, where an idle pCPU
//!   steals it at its next schedule;
//! - `pick_resource` has no SMT/socket walk, and counts the unit's own pCPU
//!   as idle only if the unit is what runs there (credit1 counts it idle
//!   whenever nothing else is queued there).

use commaware_accounting::credit::Time;

use crate::core::Core;
use crate::cpuset::CpuSet;
use crate::sink::Sink;
use crate::state::{Pri, UnitFlags};
use crate::{Cpu, UnitId};

impl Core {
    pub(crate) fn tickle<S: Sink>(&mut self, u: UnitId, _now: Time, sink: &mut S) {
        let Some(new) = self.unit(u) else { return };
        let cpu = new.cpu;
        let cur_id = self.curr(cpu);
        let cur = cur_id.and_then(|c| self.unit(c));
        let idle = self.idlers.and(&self.cpus);
        let cand = idle.and(&new.affinity);
        let new_pri = new.eff_pri();
        let cur_pri = cur.map_or(Pri::Idle, |c| c.eff_pri());
        let comm_preempt = cur.is_some_and(|c| c.yields_to_boost(u, new));
        // credit1's wake BOOST is for a unit that uses little CPU; two at
        // BOOST run in turn, not to the end of the first one's slice, when
        // the runner's domain has spent its share of the period and the
        // waker's has not (the ratelimit still holds the runner). Between
        // two within their share, or when the waker is past it, credit1's
        // order stands.
        let boost_turn = self.params.boost
            && new_pri == Pri::Boost
            && cur.is_some_and(|c| c.pri == Pri::Boost && c.preemptible_by(u))
            && !self.share_spent(u)
            && cur_id.is_some_and(|c| self.share_spent(c));
        let preempt = cand.is_empty() && (new_pri > cur_pri || comm_preempt || boost_turn);
        let target = if cur.is_none() || preempt {
            Some(cpu)
        } else if !cand.is_empty() {
            let t = cand.cycle(self.last_tickle);
            if let Some(t) = t {
                self.last_tickle = t;
            }
            t
        } else {
            None
        };
        if let Some(t) = target {
            self.idlers.remove(t);
            sink.tickle(t);
        }
    }

    /// Choose the pCPU for a unit (`pick_resource`): its current pCPU if it
    /// is idle, else an idle pCPU it may run on, else its current pCPU (or
    /// the first it may run on). Marks the unit as migrating, so the wake
    /// that follows a move earns no credit1 wake boost.
    pub fn pick_resource(&mut self, u: UnitId, _now: Time) -> Option<Cpu> {
        let unit = self.unit(u)?;
        let mut cands = unit.affinity.and(&self.cpus);
        if cands.is_empty() {
            cands = self.cpus;
        }
        let home = unit.cpu;
        let cpu = if cands.contains(home) { home } else { cands.cycle(home)? };
        let mut idle = self.idlers.and(&cands);
        let queued_home = self.pcpu(home).map_or(0, |p| p.queued);
        if self.curr(home) == Some(u) && queued_home == 0 && cands.contains(home) {
            idle.insert(home);
        }
        let pick = if idle.contains(cpu) {
            cpu
        } else {
            idle.cycle(cpu).unwrap_or(cpu)
        };
        if let Some(x) = self.unit_mut(u) {
            x.flags.insert(UnitFlags::MIGRATING);
        }
        Some(pick)
    }

    /// The pCPUs that are idle and not yet tickled.
    pub fn idlers(&self) -> CpuSet {
        self.idlers
    }
}
