//! Picking what runs next: `do_schedule` (credit1's `csched_schedule` and
//! `csched_load_balance`).
//!
//! In order:
//! 1. charge the unit that was running;
//! 2. **ratelimit**: a runnable unit that has run less than `ratelimit_us`
//!    keeps the pCPU (at least `MIN_TIMER` more), unless it yields, or a
//!    communication-boosted unit waits here and the current one is neither
//!    communication-bound nor its sender (the boost's preemption is budgeted, see
//!    [`crate::boost`]), or it got the pCPU on a communication boost that
//!    has run out (a boost buys `boost_us`, not a ratelimit's worth);
//!    **a boost that ran out** while its unit still runs keeps the pCPU to
//!    the end of the slice unless a unit of higher priority waits here
//!    (what credit1 would have done had there been no boost), or one on a
//!    communication boost (which could not preempt it at the wake while it
//!    was on its own), or a unit it preempted while that one was serving
//!    waits here (`RESUME`);
//! 3. a unit that **blocked** after notifying a peer donates the rest of its
//!    slice to it ([`crate::donation`]): the peer runs next, here;
//! 4. otherwise the head of the local run queue, if it is BOOST or UNDER
//!    (a unit preempted while serving — on a boost or a donation, or just
//!    woken from block — is queued at the front of its priority:
//!    `note_preemption`);
//!    if it is OVER (or there is none), first try to **steal** a unit of
//!    strictly higher priority from a busy peer (not one whose context is
//!    still live, not one that ran there within `migration_delay_us`, only
//!    one whose affinity allows this pCPU);
//! 5. the slice is the time slice, shortened to the end of a communication
//!    boost or a donation so that either ends on time.
//!
//! Steps 2 to 4 stand aside for a unit within its share (UNDER or BOOST)
//! that the last tick found waiting `AGE_SLICES` slices on this pCPU's
//! queue: no hold, no donation; it is picked, and keeps the pCPU for a
//! tick ([`crate::aging`]).
//!
//! Simplification against credit1: stealing looks at hard affinity only
//! (credit1 makes a soft-affinity pass first), and at all peers in one
//! round robin (credit1 walks NUMA node by node).

use commaware_accounting::credit::{Time, MIN_TIMER};

use crate::core::Core;
use crate::runq;
use crate::sink::Sink;
use crate::state::{link, unlink, DomFlags, Pri, UnitFlags};
use crate::{Cpu, UnitId};

/// How the unit that was running left the pCPU, as Xen sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrevState {
    /// Still runnable (preempted, slice over, yield).
    Runnable,
    /// Blocked waiting for an event (`SCHEDOP_block`, HLT).
    Blocked,
    /// Not runnable for another reason (paused, going down).
    Asleep,
}

/// What to run on a pCPU, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The unit to run; `None` runs the idle vCPU.
    pub next: Option<UnitId>,
    /// Arm the scheduler timer this far ahead; negative: no timer (idle).
    pub slice: Time,
    /// `next` was taken from another pCPU.
    pub migrated: bool,
}

impl Decision {
    const IDLE: Decision = Decision { next: None, slice: -1, migrated: false };
}

impl Core {
    /// Decide what `cpu` runs next. `prev` says how the unit that ran there
    /// left (ignored when the pCPU was idle); `tasklet` forces the idle vCPU
    /// (Xen has tasklet work to run in its context).
    pub fn do_schedule<S: Sink>(&mut self, cpu: Cpu, now: Time, prev: PrevState, tasklet: bool, sink: &mut S) -> Decision {
        let Some(pc) = self.pcpu(cpu) else { return Decision::IDLE };
        let prev_unit = unlink(pc.curr);
        // A unit starving here runs next, before any privilege (`aging`).
        let aged = if tasklet { None } else { self.aged(cpu, now) };

        if let Some(p) = prev_unit {
            self.burn(p, now, sink);
            let Some(unit) = self.unit_mut(p) else { return Decision::IDLE };
            unit.last_sched = now;
            if prev != PrevState::Runnable {
                unit.flags.remove(UnitFlags::RUNNABLE | UnitFlags::SERVING | UnitFlags::RESUME);
                // A boost ends when the unit stops running.
                self.cut_boost(p, 0);
            }
            if let Some(d) = self.aged_holds(p, now, prev, tasklet) {
                return d;
            }
            if aged.is_none() {
                if let Some(d) = self.ratelimited(p, cpu, now, prev, tasklet) {
                    return d;
                }
                if let Some(d) = self.boost_ran_out(p, cpu, now, prev, tasklet) {
                    return d;
                }
            }
        }

        let mut chosen = None;
        if let Some(p) = prev_unit {
            match prev {
                PrevState::Blocked => {
                    // Tasklet work runs the idle vCPU here: nobody could use
                    // a donation now.
                    // Nor a unit starving here.
                    let donation = if tasklet || aged.is_some() { None } else { self.donation_target(p, cpu, now) };
                    if let Some(d) = donation {
                        self.start_donation(p, &d, sink);
                        chosen = Some(d.target);
                    } else {
                        self.end_donation_of_donee(p, sink);
                    }
                    // Whatever it did for a guest is done.
                    if let Some(u) = self.unit_mut(p) {
                        u.on_behalf = None;
                        u.on_behalf_left = 0;
                    }
                }
                PrevState::Asleep => self.end_donation_of_donee(p, sink),
                PrevState::Runnable => {
                    let parked = self.unit(p).is_some_and(|u| u.flags.contains(UnitFlags::PARKED));
                    self.note_preemption(p, cpu, now);
                    if !parked {
                        self.enqueue(p);
                    }
                    if let Some(u) = self.unit_mut(p) {
                        u.wait_start = now;
                    }
                }
            }
            if let Some(u) = self.unit_mut(p) {
                u.flags.remove(UnitFlags::YIELD);
            }
        }

        let mut migrated = false;
        let next = if tasklet {
            None
        } else if let Some(a) = aged {
            Some(a)
        } else if let Some(t) = chosen {
            self.dequeue(t);
            if let Some(u) = self.unit_mut(t) {
                migrated = u.cpu != cpu;
                u.cpu = cpu;
            }
            Some(t)
        } else {
            let head = self.pcpus.get(usize::from(cpu)).and_then(runq::head);
            let head_pri = head.and_then(|h| self.unit(h)).map_or(Pri::Idle, |u| u.eff_pri());
            if head.is_some() && head_pri > Pri::Over {
                head
            } else if let Some(s) = self.steal(cpu, head_pri, now) {
                migrated = true;
                Some(s)
            } else {
                head
            }
        };
        if let Some(n) = next {
            self.dequeue(n);
        }

        if next.is_none() && !tasklet {
            self.idlers.insert(cpu);
        } else {
            self.idlers.remove(cpu);
        }

        let Some(n) = next else {
            if let Some(pc) = self.pcpus.get_mut(usize::from(cpu)) {
                pc.curr = None;
            }
            return Decision { next: None, slice: -1, migrated: false };
        };
        let tslice = self.params.tslice();
        let boost_on = self.params.boost;
        let Some(unit) = self.unit_mut(n) else { return Decision::IDLE };
        let resumed = unit.flags.contains(UnitFlags::RESUME);
        let woken = unit.flags.contains(UnitFlags::WOKEN);
        unit.flags.remove(UnitFlags::RESUME | UnitFlags::WOKEN);
        if Some(n) != prev_unit {
            unit.flags.set(UnitFlags::AGED, aged == Some(n));
            unit.stint_start = now;
            // A unit that just woke from block is answering something too
            // (a paced client's timer, a request): preempted mid-way it
            // would wait a whole slice behind the CPU hogs.
            let serving = resumed || unit.boost_left > 0 || unit.donor.is_some() || (woken && boost_on);
            unit.flags.set(UnitFlags::SERVING, serving);
        }
        let waited = now.saturating_sub(unit.wait_start).max(0);
        unit.run_start = now;
        let boosted = unit.boost_left > 0;
        unit.flags.set(UnitFlags::BOOSTED_RUN, boosted);
        unit.flags.insert(UnitFlags::LIVE);
        // A resumed unit runs what was left of its slice, no more.
        let mut slice = if resumed { unit.resume_left.max(MIN_TIMER).min(tslice) } else { tslice };
        unit.tslice_end = now.saturating_add(slice);
        if unit.boost_left > 0 {
            slice = slice.min(unit.boost_left);
        }
        if unit.donor.is_some() {
            slice = slice.min(unit.donation_left);
        }
        let slice = slice.max(MIN_TIMER);
        unit.slice_end = now.saturating_add(slice);
        if let Some(d) = self.dom_of_mut(n) {
            d.counters.wait_ns = d.counters.wait_ns.saturating_add(waited);
            d.counters.wait_max_ns = d.counters.wait_max_ns.max(waited);
        }
        if let Some(pc) = self.pcpus.get_mut(usize::from(cpu)) {
            pc.curr = link(n);
        }
        Decision { next: Some(n), slice, migrated }
    }

    /// credit1's ratelimit: keep a runnable unit that has run for less than
    /// `ratelimit_us`.
    fn ratelimited(&mut self, p: UnitId, cpu: Cpu, now: Time, prev: PrevState, tasklet: bool) -> Option<Decision> {
        let rl = self.params.ratelimit();
        let unit = self.unit(p)?;
        if prev != PrevState::Runnable
            || tasklet
            || rl == 0
            || unit.flags.intersects(UnitFlags::YIELD | UnitFlags::PARKED)
        {
            return None;
        }
        let runtime = now.saturating_sub(unit.stint_start).max(0);
        if runtime >= rl {
            return None;
        }
        // It got the pCPU on a communication boost that is now spent: the
        // boost bought `boost_us`, not a ratelimit's worth.
        if unit.flags.contains(UnitFlags::BOOSTED_RUN) && unit.boost_left <= 0 {
            return None;
        }
        // A communication boost waiting here overrides the ratelimit,
        // unless `p` is the unit that sent the event behind it.
        let head = self.pcpus.get(usize::from(cpu)).and_then(runq::head);
        if let Some((hu, h)) = head.and_then(|hu| Some((hu, self.unit(hu)?))) {
            if unit.yields_to_boost(hu, h) {
                return None;
            }
        }
        let mut slice = if runtime < MIN_TIMER { MIN_TIMER } else { rl - runtime };
        if unit.boost_left > 0 {
            slice = slice.min(unit.boost_left.max(MIN_TIMER));
        }
        let unit = self.unit_mut(p)?;
        unit.run_start = now;
        unit.slice_end = now.saturating_add(slice);
        Some(Decision { next: Some(p), slice, migrated: false })
    }

    /// `p`'s communication boost ran out while it still runs. The boost
    /// only moved it ahead of others; at its credit priority credit1 would
    /// keep running it to the end of its slice unless something of higher
    /// priority (or a communication boost) waits, so it does (a woken
    /// UNDER unit demoted by a tick while boosted would otherwise go behind
    /// the UNDER hog it preempted, for a whole slice, where credit1 lets it
    /// finish). A unit boosted past higher-priority ones (OVER ahead of
    /// UNDER) gives the pCPU back.
    fn boost_ran_out(&mut self, p: UnitId, cpu: Cpu, now: Time, prev: PrevState, tasklet: bool) -> Option<Decision> {
        let unit = self.unit(p)?;
        if prev != PrevState::Runnable
            || tasklet
            || unit.boost_left > 0
            || !unit.flags.contains(UnitFlags::BOOSTED_RUN)
            || unit.flags.intersects(UnitFlags::YIELD | UnitFlags::PARKED)
        {
            return None;
        }
        let end = unit.tslice_end;
        if now.saturating_add(MIN_TIMER) > end {
            return None;
        }
        let head = self.pcpus.get(usize::from(cpu)).and_then(runq::head);
        // A communication boost waiting here outranks it as it would have
        // at the wake, had `p` not then been on its own boost (`tickle`).
        let outranked = head.and_then(|hu| Some((hu, self.unit(hu)?))).is_some_and(|(hu, h)| {
            h.eff_pri() > unit.eff_pri() || unit.yields_to_boost(hu, h)
        });
        if outranked || self.owes_resume(p, cpu) {
            return None;
        }
        let mut slice = end - now;
        if unit.donor.is_some() {
            slice = slice.min(unit.donation_left.max(MIN_TIMER));
        }
        let unit = self.unit_mut(p)?;
        unit.flags.remove(UnitFlags::BOOSTED_RUN);
        unit.slice_end = now.saturating_add(slice);
        Some(Decision { next: Some(p), slice, migrated: false })
    }

    /// `p` leaves `cpu` still runnable. If it was serving (its stint began
    /// on a boost, a donation or a wake from block) within its domain's
    /// share, and a unit of higher priority (or one on a communication
    /// boost) took the pCPU before its slice ended, it is
    /// queued at the front of its priority (`RESUME`): credit1 puts it
    /// behind every unit of its priority, CPU hogs included, and a woken
    /// unit that then runs on (an event sink under a storm, demoted by a
    /// tick but holding the pCPU to the end of its slice) makes the request
    /// wait a whole slice or more. It keeps its place, not more: its credit
    /// priority is unchanged, what it runs is charged as always, and
    /// resumed it runs only what was left of its slice. Otherwise it is an
    /// ordinary unit again.
    fn note_preemption(&mut self, p: UnitId, cpu: Cpu, now: Time) {
        let head = self.pcpus.get(usize::from(cpu)).and_then(runq::head).and_then(|h| self.unit(h));
        // What took the pCPU: a unit of higher priority, or a communication
        // boost (which preempts at equal priority, see `tickle`).
        let taken = head.zip(self.unit(p)).is_some_and(|(h, u)| {
            h.eff_pri() > u.eff_pri() || (h.boost_left > 0 && !u.comm_bound())
        });
        let spent = self.share_spent(p);
        let Some(unit) = self.unit_mut(p) else { return };
        // Its time slice, not the shorter one a boost or a donation set: a
        // unit whose boost ends just as a higher-priority one waits is
        // preempted as much as one interrupted mid-boost.
        let left = unit.tslice_end.saturating_sub(now);
        let preempted = unit.flags.contains(UnitFlags::SERVING)
            && !spent
            && !unit.flags.contains(UnitFlags::YIELD)
            && left >= MIN_TIMER
            && taken;
        unit.flags.set(UnitFlags::RESUME, preempted);
        if preempted {
            unit.resume_left = left;
        } else {
            unit.flags.remove(UnitFlags::SERVING);
        }
    }

    /// `u`, running on `cpu`, no longer has the priority that let it take
    /// the pCPU (credit1's wake boost ended by a tick, or a communication
    /// boost run out), and a unit it preempted while that one was serving
    /// a peer waits at the head here at the same or a higher priority: `u`
    /// gives the pCPU back. A unit still on a boost or a donation keeps it.
    pub(crate) fn owes_resume(&self, u: UnitId, cpu: Cpu) -> bool {
        let Some(unit) = self.unit(u) else { return false };
        if unit.comm_bound() {
            return false;
        }
        let head = self.pcpus.get(usize::from(cpu)).and_then(runq::head).and_then(|h| self.unit(h));
        head.is_some_and(|h| h.flags.contains(UnitFlags::RESUME) && h.eff_pri() >= unit.eff_pri())
    }

    /// `u`, running on `cpu`, has just lost credit1's wake BOOST to a tick
    /// (it was found using the CPU), and a unit now of higher priority
    /// waits at the head here: one woken from block at BOOST, which could
    /// not preempt `u` while both were at BOOST. credit1 leaves `u` running
    /// to the end of its slice, up to 30 ms more (`csched_tick` reschedules
    /// nobody); here credit1's own order holds from the tick on, if the
    /// waiter's domain is within its share of the period and is not a
    /// driver domain (whose work for a guest storming it would otherwise
    /// preempt that guest's peers: sim `jboss-db-storm` p99 523 µs → 1.23
    /// ms). Booted, a unit woken by its own timer waited behind an event
    /// sink for the rest of the sink's slice (`CW_TRC_WAKE`: 80 of 192
    /// waits of 12 ms or more under a storm at a guest). A unit on a
    /// communication boost or a donation keeps the pCPU; `u`, if it was
    /// serving within its share, keeps its place (`note_preemption`).
    pub(crate) fn outranked_here(&self, u: UnitId, cpu: Cpu) -> bool {
        let Some(unit) = self.unit(u) else { return false };
        if !self.params.boost || unit.comm_bound() {
            return false;
        }
        let Some(hu) = self.pcpus.get(usize::from(cpu)).and_then(runq::head) else { return false };
        self.unit(hu).is_some_and(|h| h.eff_pri() > unit.eff_pri())
            && !self.dom_of(hu).is_some_and(|d| d.flags.contains(DomFlags::DRIVER))
            && !self.share_spent(hu)
    }

    /// `u`'s domain has run its fair share of the period (its boost budget
    /// is spent): no latency privilege is left to it.
    pub(crate) fn share_spent(&self, u: UnitId) -> bool {
        self.dom_of(u).is_some_and(|d| d.boost_budget <= 0)
    }

    /// Steal a unit of priority strictly above `pri` from a busy peer.
    fn steal(&mut self, cpu: Cpu, pri: Pri, now: Time) -> Option<UnitId> {
        if !self.cpus.contains(cpu) {
            return None;
        }
        let mut workers = self.cpus;
        for c in self.idlers.iter() {
            workers.remove(c);
        }
        workers.remove(cpu);
        let first = workers.cycle(self.balance_bias)?;
        let delay = self.params.migration_delay();
        let mut peer = first;
        loop {
            let pc = self.pcpu(peer)?;
            if pc.curr.is_some() && pc.queued > 0 {
                let found = runq::iter(&self.units, pc)
                    .map_while(|u| self.unit(u).filter(|x| x.eff_pri() > pri).map(|x| (u, x)))
                    .find(|(_, x)| {
                        !x.flags.contains(UnitFlags::LIVE)
                            && x.affinity.contains(cpu)
                            && !(delay > 0 && now.saturating_sub(x.last_sched) < delay)
                    })
                    .map(|(u, _)| u);
                if let Some(u) = found {
                    self.dequeue(u);
                    if let Some(x) = self.unit_mut(u) {
                        x.cpu = cpu;
                    }
                    self.balance_bias = peer;
                    return Some(u);
                }
            }
            peer = workers.cycle(peer)?;
            if peer == first {
                return None;
            }
        }
    }
}
