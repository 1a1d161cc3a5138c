//! The starvation guard: a unit within its share that has waited
//! `AGE_SLICES` time slices on a run queue runs next there.
//!
//! Every way commaware lets a unit pass others is bounded by its domain's
//! fair share *per period*: a communication boost goes to the front of the
//! BOOST queue, a unit preempted while serving keeps the front of its
//! priority (`RESUME`), a blocked sender hands its pCPU to its peer without
//! going through the queue (donation). Nothing bounds them *in time*: a
//! ring of guests that notify and block (hostile.sh's donation-abuse rings)
//! spends its members' shares in privileged stretches, and a hog queued
//! behind them on one pCPU waited 200-650 ms in booted runs, where credit1
//! kept the same hogs within its own bound of (N-1) slices (168 ms with
//! 7 vCPUs). The shares held; it was *when* the hog ran, not how much.
//! credit1's wake boost (BOOST) is such a privilege too: it only says who
//! goes first, and ring members that never run across an accounting tick
//! are never made OVER (credit1's active list), wake at BOOST every time
//! and can keep an UNDER hog off its pCPU for good, under credit1 as well.
//!
//! So, on a pCPU where a queued unit *within its share* (UNDER, or BOOST)
//! has waited `AGE_SLICES` slices (looked for at each tick), the privileges
//! stand aside until it has run: the pCPU reschedules and picks it, a
//! blocking sender does not donate there, a runner is not held there
//! (ratelimit, a boost that ran out), and the unit keeps the pCPU for one
//! tick, a third of a slice (else the next woken ring member would preempt
//! it at once: it would run nothing and start waiting again). A runner that
//! is serving (its stint began on a boost, a donation or a wake) is not
//! interrupted for it: it is answering someone, and gives the pCPU up at
//! its next schedule, at the latest when its slice ends. So a unit within
//! its share waits at most `AGE_SLICES` slices, a tick, and the slice of a
//! serving runner; what it runs is charged as always.
//!
//! Simulator, against no guard: ring-hogs' worst hog gap 210.5 -> 139.7 ms
//! (credit1 180.1); jboss-db-storm's pair p99 364 -> 523 us (credit1 2.05
//! ms), p99.9 53.9 -> 43.6 ms. Variants tried: the unit held for its whole
//! slice (p99 642 us: the busy host's woken units waited 30 ms behind the
//! hog it ran), no reschedule at the tick (p99 436 us, ring gap 161 ms),
//! a reschedule even under a serving runner (p99 602 us, ring gap 140 ms).
//!
//! A unit past its share (OVER) waits as credit1 makes it wait, behind
//! every unit within theirs: the guard is about latency, not shares. Run
//! ahead, an OVER unit would take shares (a weight-32 hog beside a
//! weight-704 one would run one slice in five), and a guest storming dom0,
//! whose charges for dom0's work keep it OVER, would get more of dom0's
//! work done for it (simulator, storm-dom0: charged +3.4 points over its
//! entitlement against +2.5 with the guard for UNDER units only).
//!
//! Off under credit1's rules (`boost` and `donation` both off): credit1
//! has no such guard, and the simulator's credit1 baseline must stay
//! credit1.

use commaware_accounting::credit::{tick_period, Time, MIN_TIMER};

use crate::core::Core;
use crate::pick::{Decision, PrevState};
use crate::runq;
use crate::sink::Sink;
use crate::state::{link, unlink, Pri, UnitFlags};
use crate::{Cpu, UnitId};

/// How many time slices a queued unit waits before the guard runs it next.
/// Four keeps the worst wait (four slices and a tick, 130 ms at the default
/// 30 ms, behind a runner that is not serving) under credit1's own bound
/// with the seven vCPUs per pCPU of the ring runs, and above the waits of a
/// host that is merely busy (hogs beside a storm: 100-120 ms at worst,
/// rarely), so the guard stays out of the way of ordinary scheduling.
pub const AGE_SLICES: Time = 4;

/// Within its share: UNDER, or on credit1's wake boost (which only UNDER
/// units get).
fn within_share(pri: Pri) -> bool {
    pri >= Pri::Under
}

impl Core {
    /// At `cpu`'s tick: find the unit within its share that has waited
    /// longest on its queue, if that is `AGE_SLICES` slices or more, keep
    /// it for `do_schedule` and make the pCPU reschedule unless its runner
    /// is serving. Once a tick, like credit1's run-queue sort, so that
    /// `do_schedule` stays O(1) however many units wait.
    pub(crate) fn age_scan<S: Sink>(&mut self, cpu: Cpu, now: Time, sink: &mut S) {
        if !(self.params.boost || self.params.donation) {
            return;
        }
        let limit = self.age_limit();
        let Some(pc) = self.pcpu(cpu) else { return };
        let oldest = runq::iter(&self.units, pc)
            .filter_map(|u| Some((u, self.unit(u)?)))
            .filter(|(_, x)| within_share(x.pri))
            .map(|(u, x)| (u, now.saturating_sub(x.wait_start)))
            .filter(|&(_, waited)| waited >= limit)
            .max_by_key(|&(_, waited)| waited)
            .map(|(u, _)| u);
        let Some(pc) = self.pcpus.get_mut(usize::from(cpu)) else { return };
        pc.aged = oldest.and_then(link);
        let serving = unlink(pc.curr).and_then(|c| self.unit(c)).is_some_and(|c| c.flags.contains(UnitFlags::SERVING));
        if oldest.is_some() && !serving {
            sink.tickle(cpu);
        }
    }

    /// The unit the last tick found starving on `cpu`, if it still is:
    /// queued there, within its share, waiting since before the age limit.
    pub(crate) fn aged(&self, cpu: Cpu, now: Time) -> Option<UnitId> {
        if !(self.params.boost || self.params.donation) {
            return None;
        }
        let u = unlink(self.pcpu(cpu)?.aged)?;
        let x = self.unit(u)?;
        let still = x.flags.contains(UnitFlags::QUEUED)
            && x.cpu == cpu
            && within_share(x.pri)
            && now.saturating_sub(x.wait_start) >= self.age_limit();
        still.then_some(u)
    }

    fn age_limit(&self) -> Time {
        self.params.tslice().saturating_mul(AGE_SLICES)
    }

    /// `p`, picked by the guard, keeps the pCPU for a tick (or to the end
    /// of its slice): whatever woke meanwhile (a ring member on a boost, or
    /// at credit1's wake BOOST) would otherwise preempt it at once, and
    /// requeued it would start waiting again having run nothing.
    pub(crate) fn aged_holds(&mut self, p: UnitId, now: Time, prev: PrevState, tasklet: bool) -> Option<Decision> {
        let tick = tick_period(self.params.tslice_ms);
        let unit = self.unit_mut(p)?;
        let hold_end = unit.slice_end.min(unit.stint_start.saturating_add(tick));
        if prev != PrevState::Runnable
            || tasklet
            || !unit.flags.contains(UnitFlags::AGED)
            || unit.flags.intersects(UnitFlags::YIELD | UnitFlags::PARKED)
            || now.saturating_add(MIN_TIMER) > hold_end
        {
            return None;
        }
        let slice = hold_end - now;
        unit.run_start = now;
        Some(Decision { next: Some(p), slice, migrated: false })
    }
}
