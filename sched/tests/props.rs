//! Property tests: random sequences of everything Xen can ask of the core,
//! with `Core::check` and the harness' own books (what runs where, run time
//! against the ledger, Xen's runnable units all queued or running) verified
//! after every single step.
//!
//! Each property can fail: every one was seen to catch a deliberately
//! broken line in the core (the mutations are listed in the commit that
//! added this file), and they found six real bugs (see `git log sched/`).
//!
//! `PROPTEST_CASES=20000 cargo test -p commaware-sched --test props` for a
//! longer run; a failing case is saved in `props.proptest-regressions`
//! next to this file and replayed first from then on.

mod common;

use commaware_sched::{CpuSet, DomId, DomParams, GlobalParams, Time, UnitId};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const CPUS: u16 = 4;
const MAX_DOMS: usize = 6;
const MAX_UNITS: usize = 14;

#[derive(Clone, Debug)]
enum Op {
    Advance(u32),
    Wake(u8),
    Sleep(u8),
    Block(u8),
    Schedule(u8, bool),
    Yield(u8),
    Tick(u8),
    TickAll,
    Account,
    Notify(u8, u8),
    Softirqs,
    ContextSaved,
    AdjustDom(u8, DomParams),
    AdjustGlobal(GlobalParams),
    DomCreate(u8, bool),
    DomDestroy(u8),
    UnitAdd(u8, bool),
    PcpuAdd(u8),
    PcpuRemove(u8),
    Affinity(u8, u8),
    Migrate(u8),
}

fn dom_params() -> impl Strategy<Value = DomParams> {
    (
        prop_oneof![Just(0u16), 1u16..=1024, Just(u16::MAX)],
        prop_oneof![Just(0u16), 1u16..=150, 300u16..=400],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(weight, cap, boost, donation, driver)| DomParams { weight, cap, boost, donation, driver })
}

fn global_params() -> impl Strategy<Value = GlobalParams> {
    (
        prop_oneof![Just(0u32), 1u32..=40, Just(1000), Just(1001)],
        prop_oneof![Just(0u32), Just(99), 100u32..=3000, Just(500_001)],
        prop_oneof![Just(0u32), 1u32..=2000, Just(100_001)],
        any::<bool>(),
        prop_oneof![Just(49u32), 50u32..=2000, Just(10_001)],
        prop_oneof![0u32..=100, Just(101)],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(tslice_ms, ratelimit_us, migration_delay_us, boost, boost_us, boost_budget_pct, donation, attribution)| {
                GlobalParams {
                    tslice_ms,
                    ratelimit_us,
                    migration_delay_us,
                    boost,
                    boost_us,
                    boost_budget_pct,
                    donation,
                    attribution,
                }
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    let any8 = any::<u8>;
    prop_oneof![
        6 => prop_oneof![0u32..=200, 0u32..=3_000, 0u32..=40_000].prop_map(Op::Advance),
        5 => any8().prop_map(Op::Wake),
        2 => any8().prop_map(Op::Sleep),
        5 => any8().prop_map(Op::Block),
        5 => (any8(), prop::bool::weighted(0.1)).prop_map(|(c, t)| Op::Schedule(c, t)),
        2 => any8().prop_map(Op::Yield),
        3 => any8().prop_map(Op::Tick),
        2 => Just(Op::TickAll),
        2 => Just(Op::Account),
        6 => (any8(), any8()).prop_map(|(a, b)| Op::Notify(a, b)),
        4 => Just(Op::Softirqs),
        2 => Just(Op::ContextSaved),
        1 => (any8(), dom_params()).prop_map(|(d, p)| Op::AdjustDom(d, p)),
        1 => global_params().prop_map(Op::AdjustGlobal),
        1 => (1u8..=3, any::<bool>()).prop_map(|(n, r)| Op::DomCreate(n, r)),
        1 => any8().prop_map(Op::DomDestroy),
        1 => (any8(), any::<bool>()).prop_map(|(d, r)| Op::UnitAdd(d, r)),
        1 => any8().prop_map(Op::PcpuAdd),
        1 => any8().prop_map(Op::PcpuRemove),
        1 => (any8(), 1u8..16).prop_map(|(u, m)| Op::Affinity(u, m)),
        1 => any8().prop_map(Op::Migrate),
    ]
}

/// The ranges as `xen-facts.md` states them (credit1's and libxl's), written
/// out independently of `params.rs`.
fn global_valid(p: &GlobalParams) -> bool {
    let tslice_ok = (1..=1000).contains(&p.tslice_ms);
    let rl_ok = p.ratelimit_us == 0
        || ((100..=500_000).contains(&p.ratelimit_us) && u64::from(p.ratelimit_us) <= u64::from(p.tslice_ms) * 1000);
    let md_ok = p.migration_delay_us <= 100_000;
    let boost_ok = p.boost_us >= 50 && p.boost_us <= 10_000 && u64::from(p.boost_us) <= u64::from(p.tslice_ms) * 1000;
    tslice_ok && rl_ok && md_ok && boost_ok && p.boost_budget_pct <= 100
}

fn dom_valid(p: &DomParams, units: u32) -> bool {
    p.weight >= 1 && u32::from(p.cap) <= 100 * units.max(1)
}

struct World {
    h: Harness,
    next_domid: u16,
}

impl World {
    fn new(params: GlobalParams, ncpus: u16, doms: &[(u8, bool)]) -> World {
        let mut h = Harness::new(params, ncpus);
        h.auto_context_saved = false;
        let mut w = World { h, next_domid: 0 };
        for &(n, runnable) in doms {
            w.dom_create(n, runnable);
        }
        w
    }

    fn units(&self) -> Vec<UnitId> {
        self.h.xstate.keys().copied().collect()
    }

    fn unit(&self, i: u8) -> Option<UnitId> {
        let u = self.units();
        (!u.is_empty()).then(|| u[usize::from(i) % u.len()])
    }

    fn doms(&self) -> Vec<DomId> {
        self.h.core.domains().collect()
    }

    fn dom(&self, i: u8) -> Option<DomId> {
        let d = self.doms();
        (!d.is_empty()).then(|| d[usize::from(i) % d.len()])
    }

    fn pool_cpu(&self, i: u8) -> Option<u16> {
        let c: Vec<u16> = self.h.core.cpus().iter().collect();
        (!c.is_empty()).then(|| c[usize::from(i) % c.len()])
    }

    fn dom_create(&mut self, n: u8, runnable: bool) {
        if self.doms().len() >= MAX_DOMS || self.units().len() + usize::from(n) > MAX_UNITS {
            return;
        }
        let d = self.h.dom(self.next_domid);
        self.next_domid += 1;
        for i in 0..n {
            self.h.unit(d, runnable || i == 0);
        }
    }

    /// Xen's `vcpu_migrate` for a unit that is not running: off its queue
    /// (sleep), `pick_resource`, `migrate`, and the wake if it was runnable.
    fn xen_migrate(&mut self, u: UnitId) {
        let h = &mut self.h;
        let Some(cpu) = h.core.unit_cpu(u) else { return };
        if h.core.curr(cpu) == Some(u) {
            return;
        }
        let runnable = h.xstate.get(&u) == Some(&XState::Runnable);
        h.core.sleep(u, h.now, &mut h.sink);
        h.after("migrate: sleep");
        let Some(to) = h.core.pick_resource(u, h.now) else { return };
        h.core.migrate(u, to).expect("migrate to a pool pCPU");
        h.after("migrate");
        if runnable {
            h.core.wake(u, h.now, &mut h.sink);
            h.after("migrate: wake");
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Advance(us) => self.h.advance(Time::from(us) * US),
            Op::Wake(i) => {
                if let Some(u) = self.unit(i) {
                    self.h.wake(u);
                }
            }
            Op::Sleep(i) => {
                if let Some(u) = self.unit(i) {
                    self.h.sleep(u);
                }
            }
            Op::Block(c) => {
                if let Some(c) = self.pool_cpu(c) {
                    if self.h.core.curr(c).is_some() {
                        self.h.block(c);
                    }
                }
            }
            Op::Schedule(c, tasklet) => {
                if let Some(c) = self.pool_cpu(c) {
                    self.h.schedule_with(c, tasklet);
                }
            }
            Op::Yield(c) => {
                if let Some(u) = self.pool_cpu(c).and_then(|c| self.h.core.curr(c)) {
                    self.h.yield_(u);
                }
            }
            Op::Tick(c) => {
                if let Some(c) = self.pool_cpu(c) {
                    self.h.tick(c);
                }
            }
            Op::TickAll => self.h.tick_all(),
            Op::Account => self.h.account(),
            Op::Notify(c, i) => {
                // The sender is running: evtchn_send is called by `current`.
                let src = self.pool_cpu(c).and_then(|c| self.h.core.curr(c));
                if let (Some(s), Some(d)) = (src, self.unit(i)) {
                    self.h.notify(s, d);
                }
            }
            Op::Softirqs => self.h.softirqs(),
            Op::ContextSaved => self.h.context_saved_all(),
            Op::AdjustDom(i, p) => {
                let Some(d) = self.dom(i) else { return };
                let before = self.h.core.domain_params(d);
                let units = self.h.core.domain_units(d).count() as u32;
                let r = self.h.core.dom_set(d, p);
                assert_eq!(r.is_ok(), dom_valid(&p, units), "dom_set({p:?}) with {units} units: {r:?}");
                let after = self.h.core.domain_params(d);
                if r.is_ok() {
                    assert_eq!(after, Some(p));
                } else {
                    assert_eq!(after, before, "a refused dom_set changed something");
                }
                self.h.after("dom_set");
            }
            Op::AdjustGlobal(p) => {
                let before = self.h.core.params();
                let r = self.h.core.set_params(p);
                assert_eq!(r.is_ok(), global_valid(&p), "set_params({p:?}): {r:?}");
                if r.is_ok() {
                    assert_eq!(self.h.core.params(), p);
                } else {
                    assert_eq!(self.h.core.params(), before, "a refused set_params changed something");
                }
                self.h.after("set_params");
            }
            Op::DomCreate(n, r) => self.dom_create(n, r),
            Op::DomDestroy(i) => {
                if let Some(d) = self.dom(i) {
                    self.h.destroy_dom(d);
                    for x in self.h.core.domains().collect::<Vec<_>>() {
                        assert_ne!(x, d);
                    }
                }
            }
            Op::UnitAdd(i, r) => {
                if self.units().len() < MAX_UNITS {
                    if let Some(d) = self.dom(i) {
                        self.h.unit(d, r);
                    }
                }
            }
            Op::PcpuAdd(c) => {
                let c = u16::from(c) % CPUS;
                if !self.h.core.cpus().contains(c) {
                    self.h.core.pcpu_add(c).expect("pcpu_add");
                    self.h.after("pcpu_add");
                }
            }
            Op::PcpuRemove(c) => {
                let c = u16::from(c) % CPUS;
                if !self.h.core.cpus().contains(c) || self.h.core.ncpus() < 2 {
                    return;
                }
                // Xen idles the pCPU first (tasklet work runs in idle context).
                self.h.schedule_with(c, true);
                let h = &mut self.h;
                h.core.pcpu_remove(c, h.now, &mut h.sink).expect("pcpu_remove of an idle pCPU");
                h.timer.remove(&c);
                h.after("pcpu_remove");
                for u in self.units() {
                    let cpu = self.h.core.unit_cpu(u);
                    assert_ne!(cpu, Some(c), "{u:?} still refers to removed pCPU {c}");
                }
            }
            Op::Affinity(i, mask) => {
                let Some(u) = self.unit(i) else { return };
                let mut aff = CpuSet::EMPTY;
                for c in 0..CPUS {
                    if mask & (1 << c) != 0 {
                        aff.insert(c);
                    }
                }
                self.h.core.set_affinity(u, aff).expect("affinity");
                self.h.after("set_affinity");
                let cpu = self.h.core.unit_cpu(u).expect("unit");
                if !aff.contains(cpu) {
                    self.xen_migrate(u);
                }
            }
            Op::Migrate(i) => {
                if let Some(u) = self.unit(i) {
                    self.xen_migrate(u);
                }
            }
        }
        self.xen_view_holds();
    }

    /// From Xen's side: every unit Xen considers runnable is queued or
    /// running (or parked by its cap), and no other unit is queued.
    fn xen_view_holds(&self) {
        let core = &self.h.core;
        let running: Vec<UnitId> = core.cpus().iter().filter_map(|c| core.curr(c)).collect();
        for (&u, &st) in &self.h.xstate {
            let queued = core.unit_queued(u);
            let runs = running.contains(&u);
            match st {
                XState::Runnable => assert!(
                    queued || runs || core.unit_parked(u),
                    "{u:?} is runnable for Xen but neither queued, running nor parked"
                ),
                _ => assert!(!queued, "{u:?} is queued but Xen has it {st:?}"),
            }
        }
    }
}

fn start() -> impl Strategy<Value = (u16, Vec<(u8, bool)>)> {
    (1u16..=CPUS, prop::collection::vec((1u8..=3, any::<bool>()), 1..=4))
}

fn run(params: GlobalParams, (ncpus, doms): (u16, Vec<(u8, bool)>), ops: &[Op]) {
    let mut w = World::new(params, ncpus, &doms);
    for op in ops {
        w.apply(op);
    }
    // Drain: everything that was asked for is served, and then charged.
    w.h.softirqs();
    w.h.tick_all();
}

/// Cases per property: `PROPTEST_CASES` if set (CI can ask for many more),
/// else `default`, sized so the whole suite stays well under a minute in a
/// debug build on a loaded two-core machine.
fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default),
        max_shrink_iters: 4000,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(600))]

    /// Everything on (commaware's defaults).
    #[test]
    fn invariants_hold_with_every_feature_on(s in start(), ops in prop::collection::vec(op(), 1..80)) {
        run(GlobalParams::DEFAULT, s, &ops);
    }

    /// Stock credit1.
    #[test]
    fn invariants_hold_as_credit1(s in start(), ops in prop::collection::vec(op(), 1..80)) {
        run(GlobalParams::CREDIT1, s, &ops);
    }

    /// Short slices, no ratelimit, short boosts: boosts and donations end
    /// often and mid-run.
    #[test]
    fn invariants_hold_with_short_slices_and_boosts(s in start(), ops in prop::collection::vec(op(), 1..80)) {
        let p = GlobalParams { tslice_ms: 1, ratelimit_us: 0, boost_us: 50, ..GlobalParams::DEFAULT };
        run(p, s, &ops);
    }

}

proptest! {
    #![proptest_config(config(500))]

    /// An invalid GlobalParams or DomParams changes nothing; a valid one is
    /// taken whole.
    #[test]
    fn invalid_params_change_nothing(g in prop::collection::vec(global_params(), 1..20),
                                     d in prop::collection::vec((0u8..8, dom_params()), 1..20)) {
        let mut w = World::new(GlobalParams::DEFAULT, 2, &[(1, true), (2, false), (3, true)]);
        for p in g {
            w.apply(&Op::AdjustGlobal(p));
        }
        for (i, p) in d {
            w.apply(&Op::AdjustDom(i, p));
        }
    }
}

