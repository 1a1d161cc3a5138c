//! A deterministic harness that drives a [`Core`] the way Xen's generic
//! scheduler code does: it keeps Xen's view of every unit (runnable, blocked,
//! asleep), runs `do_schedule` when a pCPU is tickled or its slice timer
//! fires, ticks every pCPU each tick period, runs the accounting period once
//! per slice, calls `context_saved` after each switch, and records what the
//! core decided.
//!
//! It also keeps its own books, independent of the core: which unit each
//! pCPU runs according to the [`Decision`]s (so a unit picked on two pCPUs at
//! once is caught here, not only by `Core::check`), and how long each unit
//! ran, from the pick to the next `do_schedule` on that pCPU. Summed, that
//! must equal the core's ledger (`Core::ledger().0`) at every step.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};

use commaware_accounting::credit::tick_period;
use commaware_sched::{
    Core, Cpu, CpuSet, Decision, DomId, DomParams, GlobalParams, PrevState, Sink, Time, Trace, UnitId,
};

pub const US: Time = 1_000;
pub const MS: Time = 1_000_000;

/// A sink that records everything the core asks for.
#[derive(Default, Debug)]
pub struct Rec {
    /// pCPUs asked to run the scheduler, not yet served (each once).
    pub tickles: VecDeque<Cpu>,
    /// Every tickle ever asked for, in order.
    pub all_tickles: Vec<Cpu>,
    pub traces: Vec<Trace>,
}

impl Sink for Rec {
    fn tickle(&mut self, cpu: Cpu) {
        // Xen's softirq bit: tickles before the pCPU schedules coalesce.
        if !self.tickles.contains(&cpu) {
            self.tickles.push_back(cpu);
        }
        self.all_tickles.push(cpu);
    }
    fn trace(&mut self, ev: Trace) {
        self.traces.push(ev);
    }
}

/// Xen's view of a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XState {
    Runnable,
    Blocked,
    Asleep,
}

/// A stint the harness saw: `unit` picked on a pCPU at `start`; the core
/// has charged it up to `charged` (the last tick or schedule there).
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub unit: UnitId,
    pub start: Time,
    pub charged: Time,
    /// Communication boost left when it was picked.
    pub boost: Time,
}

pub struct Harness {
    pub core: Box<Core>,
    pub now: Time,
    pub sink: Rec,
    /// What each pCPU runs, from the decisions.
    pub running: BTreeMap<Cpu, Run>,
    /// When each pCPU's slice timer fires (`None`: idle, no timer).
    pub timer: BTreeMap<Cpu, Time>,
    pub xstate: BTreeMap<UnitId, XState>,
    /// Run time of finished stints, and per unit (finished + charged part).
    pub closed_ns: Time,
    pub unit_run: BTreeMap<UnitId, Time>,
    /// Run time spent on a communication boost, per unit.
    pub boosted_run: BTreeMap<UnitId, Time>,
    /// Every decision: (time, cpu, decision).
    pub decisions: Vec<(Time, Cpu, Decision)>,
    /// Call `context_saved` right after each switch (Xen does, shortly).
    pub auto_context_saved: bool,
    /// Units switched out but not yet `context_saved` (when not automatic).
    pub unsaved: Vec<UnitId>,
    /// Run `Core::check` and the harness' own checks after every call.
    pub checking: bool,
    /// Next tick and next accounting period for [`Harness::run_for`].
    pub next_tick: Time,
    pub next_acct: Time,
}

impl Harness {
    /// A core with `params` and pCPUs `0..ncpus`.
    pub fn new(params: GlobalParams, ncpus: u16) -> Harness {
        let mut core: Box<Core> = bytemuck::zeroed_box();
        core.init(params).expect("valid params");
        for c in 0..ncpus {
            core.pcpu_add(c).expect("pcpu_add");
        }
        let tp = tick_period(params.tslice_ms);
        Harness {
            core,
            now: 0,
            sink: Rec::default(),
            running: BTreeMap::new(),
            timer: BTreeMap::new(),
            xstate: BTreeMap::new(),
            closed_ns: 0,
            unit_run: BTreeMap::new(),
            boosted_run: BTreeMap::new(),
            decisions: Vec::new(),
            auto_context_saved: true,
            unsaved: Vec::new(),
            checking: true,
            next_tick: tp,
            next_acct: params.tslice(),
        }
    }

    pub fn credit1(ncpus: u16) -> Harness {
        Harness::new(GlobalParams::CREDIT1, ncpus)
    }

    pub fn advance(&mut self, dt: Time) {
        assert!(dt >= 0, "time goes forward");
        self.now += dt;
    }

    pub fn at(&mut self, t: Time) {
        assert!(t >= self.now, "time goes forward");
        self.now = t;
    }

    // ---- setup ------------------------------------------------------------

    pub fn dom(&mut self, domid: u16) -> DomId {
        self.core.dom_add(domid).expect("dom_add")
    }

    pub fn dom_with(&mut self, domid: u16, p: DomParams) -> DomId {
        let d = self.dom(domid);
        self.core.dom_set(d, p).expect("dom_set");
        d
    }

    /// A unit of `d`, inserted (runnable or blocked) wherever the core puts it.
    pub fn unit(&mut self, d: DomId, runnable: bool) -> UnitId {
        self.unit_aff(d, CpuSet::ALL, runnable)
    }

    /// A unit pinned to `cpu`.
    pub fn unit_on(&mut self, d: DomId, cpu: Cpu, runnable: bool) -> UnitId {
        self.unit_aff(d, CpuSet::only(cpu), runnable)
    }

    pub fn unit_aff(&mut self, d: DomId, aff: CpuSet, runnable: bool) -> UnitId {
        let n = self.core.domain_units(d).count() as u16;
        let u = self.core.unit_add(d, n).expect("unit_add");
        self.core.set_affinity(u, aff).expect("affinity");
        self.core.unit_insert(u, runnable, self.now, &mut self.sink).expect("unit_insert");
        self.xstate.insert(u, if runnable { XState::Runnable } else { XState::Blocked });
        self.after("unit_insert");
        u
    }

    // ---- what Xen calls -----------------------------------------------------

    pub fn wake(&mut self, u: UnitId) {
        self.xstate.insert(u, XState::Runnable);
        self.core.wake(u, self.now, &mut self.sink);
        self.after("wake");
    }

    pub fn sleep(&mut self, u: UnitId) {
        self.xstate.insert(u, XState::Asleep);
        self.core.sleep(u, self.now, &mut self.sink);
        self.after("sleep");
    }

    pub fn notify(&mut self, src: UnitId, dst: UnitId) {
        self.core.notify(src, dst, self.now, &mut self.sink);
        self.after("notify");
    }

    /// The guest's `SCHEDOP_yield`.
    pub fn yield_(&mut self, u: UnitId) {
        self.core.yield_unit(u);
        self.after("yield");
    }

    pub fn tick(&mut self, cpu: Cpu) {
        self.core.tick(cpu, self.now, &mut self.sink);
        if let Some(r) = self.running.get_mut(&cpu) {
            r.charged = self.now;
        }
        self.after("tick");
    }

    /// Tick every pCPU. Everything that ran is charged now: the ledger must
    /// equal the run time observed from the decisions, exactly.
    pub fn tick_all(&mut self) {
        for c in self.core.cpus().iter().collect::<Vec<_>>() {
            self.tick(c);
        }
        if self.checking {
            assert_eq!(self.core.ledger().0, self.expected_ledger(), "ledger after ticking every pCPU at t={}", self.now);
        }
    }

    pub fn account(&mut self) {
        self.core.account(self.now, &mut self.sink);
        self.after("account");
    }

    /// The unit running on `cpu` blocks (`SCHEDOP_block`), and `cpu`
    /// schedules.
    pub fn block(&mut self, cpu: Cpu) -> Decision {
        let u = self.core.curr(cpu).expect("block: nothing runs there");
        self.xstate.insert(u, XState::Blocked);
        self.schedule(cpu)
    }

    /// `cpu` runs the scheduler; the previous unit's state is Xen's view.
    pub fn schedule(&mut self, cpu: Cpu) -> Decision {
        self.schedule_with(cpu, false)
    }

    pub fn schedule_with(&mut self, cpu: Cpu, tasklet: bool) -> Decision {
        let prev = self.core.curr(cpu);
        let ps = match prev.and_then(|u| self.xstate.get(&u).copied()) {
            Some(XState::Blocked) => PrevState::Blocked,
            Some(XState::Asleep) => PrevState::Asleep,
            _ => PrevState::Runnable,
        };
        let d = self.core.do_schedule(cpu, self.now, ps, tasklet, &mut self.sink);
        self.decisions.push((self.now, cpu, d));
        // Harness books: close the stint that ran here.
        if let Some(r) = self.running.remove(&cpu) {
            self.close(r);
        }
        if let Some(n) = d.next {
            for (c, r) in &self.running {
                assert_ne!(r.unit, n, "{n:?} picked on cpu {cpu} while running on cpu {c}");
            }
            assert_eq!(
                self.xstate.get(&n),
                Some(&XState::Runnable),
                "picked {n:?} on cpu {cpu}, which Xen does not consider runnable"
            );
            let boost = self.core.unit_info(n).map_or(0, |i| i.boost_left);
            self.running.insert(cpu, Run { unit: n, start: self.now, charged: self.now, boost });
            assert!(d.slice > 0, "a unit runs with a positive slice");
            self.timer.insert(cpu, self.now + d.slice);
        } else {
            self.timer.remove(&cpu);
        }
        if let Some(p) = prev {
            if d.next != Some(p) {
                if self.auto_context_saved {
                    self.core.context_saved(p);
                } else {
                    self.unsaved.push(p);
                }
            }
        }
        self.after("do_schedule");
        d
    }

    pub fn context_saved_all(&mut self) {
        for u in std::mem::take(&mut self.unsaved) {
            self.core.context_saved(u);
        }
    }

    /// Serve every pending tickle (Xen's SCHEDULE_SOFTIRQ).
    pub fn softirqs(&mut self) {
        let mut n = 0;
        while let Some(c) = self.sink.tickles.pop_front() {
            if self.core.cpus().contains(c) {
                self.schedule(c);
            }
            n += 1;
            assert!(n < 100_000, "tickle storm");
        }
    }

    /// `remove_unit` + `free_udata`.
    pub fn destroy_unit(&mut self, u: UnitId) {
        let cpu = self.core.unit_cpu(u).expect("unit");
        let ran_here = self.running.get(&cpu).is_some_and(|r| r.unit == u);
        self.core.unit_remove(u, self.now, &mut self.sink).expect("unit_remove");
        if ran_here {
            let r = self.running.remove(&cpu).expect("run");
            self.close(r);
            self.timer.remove(&cpu);
        }
        self.after("unit_remove");
        self.core.unit_free(u, self.now, &mut self.sink).expect("unit_free");
        self.xstate.remove(&u);
        self.unsaved.retain(|x| *x != u);
        self.after("unit_free");
    }

    /// Destroy a domain: every unit removed and freed, then the domain.
    pub fn destroy_dom(&mut self, d: DomId) {
        let units: Vec<_> = self.core.domain_units(d).collect();
        for u in units {
            self.destroy_unit(u);
        }
        self.core.dom_remove(d).expect("dom_remove");
        self.after("dom_remove");
    }

    fn close(&mut self, r: Run) {
        let ran = self.now - r.start;
        self.closed_ns += ran;
        *self.unit_run.entry(r.unit).or_default() += ran;
        *self.boosted_run.entry(r.unit).or_default() += ran.min(r.boost);
    }

    /// Boosted run time of a unit so far (including its current stint).
    pub fn boosted(&self, u: UnitId) -> Time {
        let open: Time =
            self.running.values().filter(|r| r.unit == u).map(|r| (self.now - r.start).min(r.boost)).sum();
        self.boosted_run.get(&u).copied().unwrap_or(0) + open
    }

    /// Run time a unit has had so far, by the harness' books (including
    /// the stint it is in now).
    pub fn ran(&self, u: UnitId) -> Time {
        let open: Time = self.running.values().filter(|r| r.unit == u).map(|r| self.now - r.start).sum();
        self.unit_run.get(&u).copied().unwrap_or(0) + open
    }

    /// The harness' own conservation check: everything the decisions say
    /// ran, up to the last charge on each pCPU, is in the core's ledger.
    pub fn expected_ledger(&self) -> Time {
        self.closed_ns + self.running.values().map(|r| r.charged - r.start).sum::<Time>()
    }

    pub fn after(&mut self, what: &str) {
        if !self.checking {
            return;
        }
        if let Err(v) = self.core.check() {
            panic!("Core::check failed after {what} at t={}: {v:?}", self.now);
        }
        // The core charges a running unit at every tick and schedule, and
        // may charge it at any other call (to settle a donation): the ledger
        // lies between what was charged for sure and what ran until now.
        let ledger = self.core.ledger().0;
        let upto_now = self.closed_ns + self.running.values().map(|r| self.now - r.start).sum::<Time>();
        assert!(
            self.expected_ledger() <= ledger && ledger <= upto_now,
            "ledger run time {ledger} outside [{}, {upto_now}] observed from decisions, after {what} at t={}",
            self.expected_ledger(),
            self.now
        );
        for (c, r) in &self.running {
            assert_eq!(self.core.curr(*c), Some(r.unit), "cpu {c}: core and decisions disagree on what runs");
        }
    }

    // ---- a whole system in simulated time -----------------------------------

    /// Drive the system until `now + dur`: tickles are served at once, every
    /// pCPU ticks each tick period, the accounting period runs each slice,
    /// and a pCPU schedules when its slice timer fires. Units stay in their
    /// Xen state (hogs stay runnable) unless `on_pick` changes that.
    pub fn run_for(&mut self, dur: Time) {
        let end = self.now + dur;
        let tp = tick_period(self.core.params().tslice_ms);
        let ts = self.core.params().tslice();
        // Timers that would have fired while the test drove time by hand.
        while self.next_tick < self.now {
            self.next_tick += tp;
        }
        while self.next_acct < self.now {
            self.next_acct += ts;
        }
        loop {
            self.softirqs();
            let next_timer = self.timer.iter().map(|(c, t)| (*t, *c)).min();
            let mut next = self.next_tick.min(self.next_acct);
            if let Some((t, _)) = next_timer {
                next = next.min(t);
            }
            if next > end {
                break;
            }
            self.at(next);
            if self.next_tick == next {
                self.tick_all();
                self.next_tick += tp;
            }
            if self.next_acct == next {
                self.account();
                self.next_acct += ts;
            }
            let due: Vec<Cpu> = self.timer.iter().filter(|(_, t)| **t <= next).map(|(c, _)| *c).collect();
            for c in due {
                self.schedule(c);
            }
        }
        self.at(end);
    }

    /// Tickles recorded since the last call.
    pub fn take_tickles(&mut self) -> Vec<Cpu> {
        self.sink.tickles.drain(..).collect()
    }

    pub fn take_traces(&mut self) -> Vec<Trace> {
        std::mem::take(&mut self.sink.traces)
    }
}
