//! `core_events`: arbitrary sequences of what Xen calls, and of parameter
//! changes, on a real [`Core`], with every invariant checked after every
//! step.
//!
//! The input decodes (with `arbitrary`) into a pCPU count, initial
//! [`GlobalParams`] (possibly invalid: then `init` must refuse them and
//! change nothing, and the defaults are used), and a sequence of [`Op`]s.
//! Operand bytes are indices into what exists *now* (the pool's pCPUs, the
//! live domains, the units in a given phase), so almost every byte string
//! is a meaningful sequence.
//!
//! The driver keeps a small model of what Xen guarantees, and only makes
//! calls Xen can make:
//! - a unit's life is `unit_add` → (`set_affinity`) → `unit_insert` → ... →
//!   `unit_remove` → `unit_free` (or `unit_add` → `unit_free`, Xen's error
//!   path); the scheduling hooks are only called on inserted units;
//! - Xen's view of each unit (runnable, blocked, asleep) decides the
//!   `PrevState` of `do_schedule` when a unit runs there: `Blocked` only for
//!   the running unit blocking, `Asleep` only after `sleep`; on an idle pCPU
//!   any `PrevState` is passed (documented as ignored);
//! - `notify`'s sender is running (`evtchn_send` is called by `current`),
//!   except for a few notifications from any inserted unit (robustness
//!   beyond the contract);
//! - `migrate` only for a unit that neither runs nor is queued, whose
//!   context is saved (Xen's `vcpu_migrate_finish`: sleep, pick_resource,
//!   migrate, wake);
//! - `context_saved` for a unit switched out on a pCPU is delivered before
//!   that pCPU schedules again (or earlier, by an [`Op::ContextSaved`]);
//! - a pCPU leaves the pool idle (scheduled with tasklet work first), and
//!   the last pCPU only when no domain is left;
//! - a running unit is charged at least every second or so (Xen ticks it
//!   every tick period): hours pass at once only while nothing runs.
//!
//! Where the core is documented to refuse bad input (every `Result`: "Why
//! a call was refused. Nothing was changed."), bad input *is* fed: out of
//! range parameters, unknown handles, busy pCPUs and domains, an empty
//! affinity, pCPUs outside the pool or beyond `MAX_PCPUS`. The call must
//! return the error, and an observable snapshot of the whole core (every
//! parameter, counter, unit, queue and the ledger) and the sink must be
//! unchanged. The hooks that cannot fail in Xen are fed unknown handles
//! and must change nothing either.
//!
//! Checked after every step, besides `Core::check`:
//! - what each pCPU runs agrees with the decisions returned; a unit picked
//!   is inserted, runnable in Xen's view, not running elsewhere, with a
//!   positive slice;
//! - every unit Xen considers runnable is queued, running or parked; no
//!   other unit is queued;
//! - the ledger's run time lies between what was surely charged (up to the
//!   last tick or schedule of each pCPU) and what ran up to now, as seen
//!   from the decisions (the harness of `sched/tests/common`);
//! - per-domain counters never go back; the domains' run time adds up to
//!   the ledger, and the time donated to the time received;
//! - every tickle names a pCPU of the pool; no call traces more events
//!   than the shim's sink keeps (8); once every tickle is served,
//!   no pCPU idles with units on its own run queue (no lost wake-up),
//!   unless it was idled for tasklet work;
//! - `set_params`/`dom_set` accept exactly the values in the documented
//!   ranges (an independent predicate, written from the ranges in
//!   `include/public/sched_commaware.h`), and take them whole.

use std::collections::{BTreeMap, BTreeSet};

use arbitrary::{Arbitrary, Result, Unstructured};
use commaware_sched::state::UnitFlags;
use commaware_sched::{
    Core, Cpu, CpuSet, Decision, DomCounters, DomId, DomParams, Error, GlobalParams, Pri, PrevState, Sink, Time,
    Trace, UnitId, MAX_PCPUS, MAX_UNITS,
};

use crate::{pick_u16, pick_u32};

const US: Time = 1_000;
const MS: Time = 1_000_000;

/// The pCPU numbers a pool is made of: dense low numbers, and both sides
/// of the 64-bit word boundaries of a `CpuSet`, and the last one.
const CPU_PALETTE: [Cpu; 8] = [0, 1, 2, 3, 63, 64, 65, 127];
/// At most this many operations per input (keeps each run short).
const MAX_OPS: usize = 400;
/// Keeps the tables small enough for the fuzzer to reach interesting
/// states; the table limits themselves are tested by `TooMany*` below.
const MAX_LIVE_UNITS: usize = 24;
const MAX_LIVE_DOMS: usize = 8;
/// Timer expiries per [`Op::RunFor`] (each checked: keep it cheap).
const RUN_FOR_EVENTS: usize = 32;

/// Arbitrary [`GlobalParams`], valid or not: each knob is usually a
/// boundary, a default or one past a limit.
#[derive(Clone, Copy, Debug)]
pub struct AGlobal(pub GlobalParams);

impl<'a> Arbitrary<'a> for AGlobal {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(AGlobal(GlobalParams {
            tslice_ms: pick_u32(u, &[1, 2, 5, 10, 30, 100, 1000, 0, 1001])?,
            ratelimit_us: pick_u32(u, &[0, 100, 500, 1000, 5000, 30_000, 99, 500_000, 500_001])?,
            migration_delay_us: pick_u32(u, &[0, 1, 100, 1000, 100_000, 100_001])?,
            boost: u.arbitrary()?,
            boost_us: pick_u32(u, &[50, 100, 500, 1000, 10_000, 49, 10_001])?,
            boost_budget_pct: pick_u32(u, &[0, 1, 50, 100, 101])?,
            donation: u.arbitrary()?,
            attribution: u.arbitrary()?,
        }))
    }
}

/// Arbitrary [`DomParams`], valid or not.
#[derive(Clone, Copy, Debug)]
pub struct ADom(pub DomParams);

impl<'a> Arbitrary<'a> for ADom {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(ADom(DomParams {
            weight: pick_u16(u, &[0, 1, 2, 256, 512, 65535])?,
            cap: pick_u16(u, &[0, 1, 50, 100, 101, 200, 201, 400, 65535])?,
            boost: u.arbitrary()?,
            donation: u.arbitrary()?,
            driver: u.arbitrary()?,
        }))
    }
}

/// How far time moves.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Dt {
    /// 0..255 µs: within a boost, a ratelimit.
    Us(u8),
    /// 0..65 ms: around slices and ticks.
    UsWide(u16),
    /// 0..255 ms.
    Ms(u8),
    /// Up to ~18 hours at once (a long idle host).
    Huge(u16),
}

impl Dt {
    fn ns(self) -> Time {
        match self {
            Dt::Us(x) => Time::from(x) * US,
            Dt::UsWide(x) => Time::from(x) * US,
            Dt::Ms(x) => Time::from(x) * MS,
            Dt::Huge(x) => Time::from(x) * 1000 * MS,
        }
    }
}

/// `do_schedule`'s `prev` when the pCPU is idle (ignored there).
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum APrev {
    Runnable,
    Blocked,
    Asleep,
}

impl APrev {
    fn get(self) -> PrevState {
        match self {
            APrev::Runnable => PrevState::Runnable,
            APrev::Blocked => PrevState::Blocked,
            APrev::Asleep => PrevState::Asleep,
        }
    }
}

/// One step. `u8` operands index what exists now (see the module docs).
/// Decoded from one selector byte, weighted by [`OP_WEIGHTS`] (the
/// scheduling hooks often, the lifecycle and refusals now and then).
#[derive(Clone, Debug)]
pub enum Op {
    Advance(Dt),
    /// A pCPU joins: a palette pCPU, or (raw >= 240) one beyond
    /// `MAX_PCPUS`, or one already there (refused, unchanged).
    PcpuAdd(u8),
    /// A pool pCPU leaves (idled first, as the shim does); or a busy one
    /// (raw bit 7: without idling it: refused if it runs something).
    PcpuRemove(u8),
    DomAdd(u16),
    /// A domain leaves: destroyed (units removed and freed, then the
    /// domain) if the bool is set, else `dom_remove` as is (refused while
    /// it has units).
    DomRemove(u8, bool),
    DomSet(u8, ADom),
    SetParams(AGlobal),
    UnitAdd(u8, u16),
    /// Insert an added unit, runnable or blocked.
    UnitInsert(u8, bool),
    UnitRemove(u8),
    UnitFree(u8),
    /// Hard affinity from a palette mask (empty: refused, unchanged).
    SetAffinity(u8, u8),
    Wake(u8),
    Sleep(u8),
    /// The unit running on a pCPU blocks, and the pCPU schedules.
    Block(u8),
    /// A pCPU schedules (its timer, a tickle, tasklet work); with operand
    /// bit 6, the running unit leaves as `APrev` says (Xen's view follows).
    DoSchedule(u8, APrev, bool),
    /// The running unit yields, and (if set) the pCPU schedules.
    Yield(u8, bool),
    /// The unit running on a pCPU notifies a unit (or, operand bit 7,
    /// any inserted unit does).
    Notify(u8, u8),
    Tick(u8),
    TickAll,
    Account,
    PickResource(u8),
    /// Xen's `vcpu_migrate` of a unit that does not run.
    Migrate(u8, u8),
    ContextSaved(u8),
    /// Serve every pending tickle.
    Softirqs,
    /// The hooks that cannot fail, with unknown handles: nothing changes.
    Garbage(u16, u8),
    /// Let the system run for up to 255 ms (stops after 32 events): slice
    /// timers fire (the pCPU schedules), every pCPU ticks each tick
    /// period, the accounting period runs each slice, tickles are served.
    RunFor(u8),
    /// The RPC pattern: the unit running on a pCPU notifies a unit (which
    /// wakes if it was blocked, as `evtchn_send` unblocks it) and blocks.
    SendBlock(u8, u8),
}

/// How many of the 256 selector values pick each [`Op`] variant, in
/// declaration order.
pub const OP_WEIGHTS: [u8; 28] = [
    20, // Advance
    3,  // PcpuAdd
    3,  // PcpuRemove
    4,  // DomAdd
    3,  // DomRemove
    5,  // DomSet
    5,  // SetParams
    6,  // UnitAdd
    6,  // UnitInsert
    3,  // UnitRemove
    3,  // UnitFree
    5,  // SetAffinity
    24, // Wake
    8,  // Sleep
    18, // Block
    16, // DoSchedule
    6,  // Yield
    28, // Notify
    8,  // Tick
    8,  // TickAll
    10, // Account
    2,  // PickResource
    6,  // Migrate
    8,  // ContextSaved
    24, // Softirqs
    2,  // Garbage
    10, // RunFor
    12, // SendBlock
];

/// The first selector value of variant `i`.
pub fn op_selector(i: usize) -> u8 {
    OP_WEIGHTS.iter().take(i).map(|w| usize::from(*w)).sum::<usize>() as u8
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let sel = usize::from(u.arbitrary::<u8>()?);
        let mut acc = 0;
        let mut i = 0;
        for (j, w) in OP_WEIGHTS.iter().enumerate() {
            acc += usize::from(*w);
            if sel < acc {
                i = j;
                break;
            }
        }
        Ok(match i {
            0 => Op::Advance(u.arbitrary()?),
            1 => Op::PcpuAdd(u.arbitrary()?),
            2 => Op::PcpuRemove(u.arbitrary()?),
            3 => Op::DomAdd(u.arbitrary()?),
            4 => Op::DomRemove(u.arbitrary()?, u.arbitrary()?),
            5 => Op::DomSet(u.arbitrary()?, u.arbitrary()?),
            6 => Op::SetParams(u.arbitrary()?),
            7 => Op::UnitAdd(u.arbitrary()?, u.arbitrary()?),
            8 => Op::UnitInsert(u.arbitrary()?, u.arbitrary()?),
            9 => Op::UnitRemove(u.arbitrary()?),
            10 => Op::UnitFree(u.arbitrary()?),
            11 => Op::SetAffinity(u.arbitrary()?, u.arbitrary()?),
            12 => Op::Wake(u.arbitrary()?),
            13 => Op::Sleep(u.arbitrary()?),
            14 => Op::Block(u.arbitrary()?),
            15 => Op::DoSchedule(u.arbitrary()?, u.arbitrary()?, u.arbitrary()?),
            16 => Op::Yield(u.arbitrary()?, u.arbitrary()?),
            17 => Op::Notify(u.arbitrary()?, u.arbitrary()?),
            18 => Op::Tick(u.arbitrary()?),
            19 => Op::TickAll,
            20 => Op::Account,
            21 => Op::PickResource(u.arbitrary()?),
            22 => Op::Migrate(u.arbitrary()?, u.arbitrary()?),
            23 => Op::ContextSaved(u.arbitrary()?),
            24 => Op::Softirqs,
            25 => Op::Garbage(u.arbitrary()?, u.arbitrary()?),
            26 => Op::RunFor(u.arbitrary()?),
            _ => Op::SendBlock(u.arbitrary()?, u.arbitrary()?),
        })
    }
}

/// Xen's view of a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum XState {
    Runnable,
    Blocked,
    Asleep,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Added,
    Inserted,
    Removed,
}

#[derive(Clone, Copy, Debug)]
struct MUnit {
    phase: Phase,
    x: XState,
}

#[derive(Clone, Copy, Debug)]
struct Run {
    unit: UnitId,
    start: Time,
    charged: Time,
}

/// A sink that records everything.
#[derive(Default, Debug)]
struct Rec {
    /// Pending tickles (Xen's softirq bits: coalesced).
    pending: BTreeSet<Cpu>,
    /// Tickles and traces of the current call.
    call_tickles: Vec<Cpu>,
    call_traces: Vec<Trace>,
}

impl Sink for Rec {
    fn tickle(&mut self, cpu: Cpu) {
        self.pending.insert(cpu);
        self.call_tickles.push(cpu);
    }
    fn trace(&mut self, ev: Trace) {
        self.call_traces.push(ev);
    }
}

/// A domain: handle, params, counters, domid, boost budget, credit.
type DomSnap = (DomId, Option<DomParams>, Option<DomCounters>, Option<u16>, Time, i64);
/// A unit: handle, domain, priority, flags, credit, pCPU, boost left,
/// donation left, donor.
type UnitSnap = (UnitId, Option<DomId>, Pri, UnitFlags, i32, Cpu, Time, Time, Option<UnitId>);

/// Everything observable about a core through its public API.
#[derive(Debug, PartialEq)]
struct Snapshot {
    params: GlobalParams,
    cpus: CpuSet,
    idlers: CpuSet,
    ledger: (Time, i64),
    residual: Time,
    doms: Vec<DomSnap>,
    units: Vec<UnitSnap>,
    pcpus: Vec<(Cpu, Option<UnitId>, Vec<UnitId>)>,
}

fn snapshot(c: &Core) -> Snapshot {
    let doms = c
        .domains()
        .map(|d| {
            (
                d,
                c.domain_params(d),
                c.domain_counters(d),
                c.domain_domid(d),
                c.domain_boost_budget(d),
                c.domain_credit(d),
            )
        })
        .collect();
    let units = (0..MAX_UNITS as u16)
        .map(UnitId)
        .filter_map(|u| {
            let i = c.unit_info(u)?;
            Some((u, c.unit_domain(u), i.pri, i.flags, i.credit, i.cpu, i.boost_left, i.donation_left, i.donor))
        })
        .collect();
    let pcpus = c.cpus().iter().map(|p| (p, c.curr(p), c.runq(p).collect())).collect();
    Snapshot {
        params: c.params(),
        cpus: c.cpus(),
        idlers: c.idlers(),
        ledger: c.ledger(),
        residual: c.residual_total(),
        doms,
        units,
        pcpus,
    }
}

/// The ranges as the public header states them, written out independently
/// of `params.rs`.
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
    core: Box<Core>,
    sink: Rec,
    now: Time,
    units: BTreeMap<UnitId, MUnit>,
    running: BTreeMap<Cpu, Run>,
    /// Units switched out and not yet `context_saved`, by the pCPU.
    unsaved: Vec<(Cpu, UnitId)>,
    closed_ns: Time,
    next_domid: u16,
    stats: Stats,
    /// Slice timers armed by the decisions, and the periodic timers.
    timer: BTreeMap<Cpu, Time>,
    /// Each live domain's counters at the last check (they only grow).
    counters: BTreeMap<DomId, DomCounters>,
    /// Run, donated and received time of the domains removed so far.
    gone: (Time, Time, Time),
    /// pCPUs idled for tasklet work (they schedule again when it is done:
    /// the next tickle or timer).
    tasklet: BTreeSet<Cpu>,
    next_tick: Time,
    next_acct: Time,
}

/// What an input reached (for `stats`: is the fuzzer getting anywhere?).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub ops: u64,
    pub picks: u64,
    pub steals: u64,
    pub boosts: u64,
    pub boosts_refused: u64,
    pub donations: u64,
    pub refusals: u64,
}

fn nth<T: Copy>(v: &[T], i: impl Into<usize>) -> Option<T> {
    (!v.is_empty()).then(|| v[i.into() % v.len()])
}

impl World {
    fn new(u: &mut Unstructured<'_>) -> Result<World> {
        let mut core: Box<Core> = bytemuck::zeroed_box();
        let mut sink = Rec::default();
        let AGlobal(p) = u.arbitrary()?;
        let before = snapshot(&core);
        match core.init(p) {
            Ok(()) => {
                assert!(global_valid(&p), "init accepted out-of-range {p:?}");
                assert_eq!(core.params(), p);
            }
            Err(e) => {
                assert!(!global_valid(&p), "init refused valid {p:?}: {e:?}");
                assert!(matches!(e, Error::Param(_)));
                assert_eq!(snapshot(&core), before, "a refused init changed the core");
                core.init(GlobalParams::DEFAULT).expect("defaults are valid");
            }
        }
        let ncpus = 1 + usize::from(u.arbitrary::<u8>()? % 4);
        let first = usize::from(u.arbitrary::<u8>()?);
        for i in 0..ncpus {
            let c = CPU_PALETTE[(first + i) % CPU_PALETTE.len()];
            core.pcpu_add(c).expect("pcpu_add of a new palette pCPU");
        }
        sink.call_tickles.clear();
        let prelude: u8 = u.arbitrary()?;
        let mut w = World {
            core,
            sink,
            now: 0,
            units: BTreeMap::new(),
            running: BTreeMap::new(),
            unsaved: Vec::new(),
            closed_ns: 0,
            next_domid: 0,
            stats: Stats::default(),
            timer: BTreeMap::new(),
            tasklet: BTreeSet::new(),
            counters: BTreeMap::new(),
            gone: (0, 0, 0),
            next_tick: 0,
            next_acct: 0,
        };
        w.after("init");
        // A prelude like the property tests' start: up to 3 domains of 1
        // to 3 units each (`prelude` bits 0-1), runnable or blocked (one
        // byte each), so short inputs start in a populated system.
        for i in 0..(prelude & 3) {
            let shape: u8 = u.arbitrary()?;
            w.apply(&Op::DomAdd(0));
            let d = w.doms().len() as u8 - 1;
            for j in 0..=(shape % 3) {
                w.apply(&Op::UnitAdd(d, u16::from(j)));
                w.apply(&Op::UnitInsert(0, shape & (8 << j) != 0 || j == 0));
            }
            let _ = i;
        }
        Ok(w)
    }

    // ---- choosing operands ------------------------------------------------

    fn pool(&self) -> Vec<Cpu> {
        self.core.cpus().iter().collect()
    }

    fn pool_cpu(&self, i: u8) -> Option<Cpu> {
        nth(&self.pool(), i)
    }

    fn doms(&self) -> Vec<DomId> {
        self.core.domains().collect()
    }

    fn units_in(&self, phase: Phase) -> Vec<UnitId> {
        self.units.iter().filter(|(_, m)| m.phase == phase).map(|(u, _)| *u).collect()
    }

    fn inserted(&self, i: u8) -> Option<UnitId> {
        nth(&self.units_in(Phase::Inserted), i)
    }

    /// A unit handle the core does not know (never allocated, freed, or
    /// beyond the table).
    fn unknown_unit(&self, raw: u16) -> UnitId {
        let u = UnitId(raw);
        if self.units.contains_key(&u) {
            UnitId(MAX_UNITS as u16 + raw % 1000)
        } else {
            u
        }
    }

    fn running_on(&self, u: UnitId) -> Option<Cpu> {
        self.pool().into_iter().find(|c| self.core.curr(*c) == Some(u))
    }

    // ---- checks -------------------------------------------------------------

    /// After every step.
    fn after(&mut self, what: &str) {
        if let Err(v) = self.core.check() {
            panic!("Core::check failed after {what} at t={}: {v:?}", self.now);
        }
        let pool = self.core.cpus();
        for c in self.sink.call_tickles.drain(..) {
            assert!(pool.contains(c), "{what} tickled pCPU {c}, outside the pool {:?}", pool.iter().collect::<Vec<_>>());
        }
        // The shim's sink (src/ffi.rs, XenSink) keeps 8 traces per call and
        // drops the rest.
        assert!(self.sink.call_traces.len() <= 8, "{what} traced {} events: {:?}", self.sink.call_traces.len(), self.sink.call_traces);
        for t in self.sink.call_traces.drain(..) {
            match t {
                Trace::BoostStart { .. } => self.stats.boosts += 1,
                Trace::BoostRefused { .. } => self.stats.boosts_refused += 1,
                Trace::DonationStart { .. } => self.stats.donations += 1,
                Trace::DonationEnd { .. } | Trace::Wake { .. } => {}
            }
        }
        self.sink.pending.retain(|c| pool.contains(*c));
        // What runs agrees with the decisions.
        for c in pool.iter() {
            let want = self.running.get(&c).map(|r| r.unit);
            assert_eq!(self.core.curr(c), want, "cpu {c}: core and decisions disagree on what runs, after {what}");
        }
        // Xen's view.
        for (&u, m) in &self.units {
            let queued = self.core.unit_queued(u);
            match (m.phase, m.x) {
                (Phase::Inserted, XState::Runnable) => assert!(
                    queued || self.running.values().any(|r| r.unit == u) || self.core.unit_parked(u),
                    "{u:?} is runnable for Xen but neither queued, running nor parked, after {what}"
                ),
                _ => assert!(!queued, "{u:?} is queued but Xen has it {m:?}, after {what}"),
            }
            if m.phase != Phase::Inserted {
                assert!(!self.running.values().any(|r| r.unit == u), "{u:?} runs but is {m:?}, after {what}");
            }
        }
        // Counters only grow; every ns run is some domain's run time;
        // every ns donated is some domain's received time.
        let (mut run, mut donated, mut received) = self.gone;
        let mut now_counters = BTreeMap::new();
        for d in self.core.domains() {
            let c = self.core.domain_counters(d).expect("live domain");
            if let Some(p) = self.counters.get(&d) {
                assert!(
                    c.run_ns >= p.run_ns
                        && c.wait_ns >= p.wait_ns
                        && c.boosts >= p.boosts
                        && c.boosts_refused >= p.boosts_refused
                        && c.donated_ns >= p.donated_ns
                        && c.received_ns >= p.received_ns
                        && c.charged_for_others >= p.charged_for_others
                        && c.donations >= p.donations
                        && c.wait_max_ns >= p.wait_max_ns,
                    "{d:?}'s counters went back after {what}: {p:?} -> {c:?}"
                );
            }
            assert!(c.wait_ns >= 0 && c.run_ns >= 0, "{d:?}: negative time {c:?}");
            assert!(c.wait_max_ns <= c.wait_ns, "{d:?}: one wait longer than all waits: {c:?}");
            run += c.run_ns;
            donated += c.donated_ns;
            received += c.received_ns;
            now_counters.insert(d, c);
        }
        self.counters = now_counters;
        assert_eq!(run, self.core.ledger().0, "domains' run time differs from the ledger after {what}");
        assert_eq!(donated, received, "time donated differs from time received after {what}");
        // The ledger against the decisions.
        let ledger = self.core.ledger().0;
        let sure = self.closed_ns + self.running.values().map(|r| r.charged - r.start).sum::<Time>();
        let upto_now = self.closed_ns + self.running.values().map(|r| self.now - r.start).sum::<Time>();
        assert!(
            sure <= ledger && ledger <= upto_now,
            "ledger run time {ledger} outside [{sure}, {upto_now}] seen from the decisions, after {what} at t={}",
            self.now
        );
    }

    /// A call that must be refused: `Err`, and nothing changed.
    fn refused<T: std::fmt::Debug>(&mut self, what: &str, f: impl FnOnce(&mut Core, Time, &mut Rec) -> std::result::Result<T, Error>) -> Error {
        let before = snapshot(&self.core);
        let r = f(&mut self.core, self.now, &mut self.sink);
        let Err(e) = r else { panic!("{what}: expected a refusal, got {r:?}") };
        self.stats.refusals += 1;
        self.assert_unchanged(what, &before, e);
        e
    }

    fn assert_unchanged(&mut self, what: &str, before: &Snapshot, e: Error) {
        let after = snapshot(&self.core);
        if &after != before {
            panic!("{what} was refused ({e:?}) but changed the core:\nbefore {before:#?}\nafter {after:#?}");
        }
        assert!(
            self.sink.call_tickles.is_empty() && self.sink.call_traces.is_empty(),
            "{what} was refused ({e:?}) but tickled {:?} / traced {:?}",
            self.sink.call_tickles,
            self.sink.call_traces
        );
        self.after(what);
    }

    /// A hook that cannot fail, given unknown handles: nothing changes.
    fn ignored(&mut self, what: &str, f: impl FnOnce(&mut Core, Time, &mut Rec)) {
        let before = snapshot(&self.core);
        f(&mut self.core, self.now, &mut self.sink);
        let after = snapshot(&self.core);
        if after != before {
            panic!("{what} with unknown handles changed the core:\nbefore {before:#?}\nafter {after:#?}");
        }
        assert!(self.sink.call_tickles.is_empty(), "{what} with unknown handles tickled");
        self.after(what);
    }

    // ---- Xen's calls, with the model kept ------------------------------------

    fn flush_unsaved(&mut self, cpu: Cpu) {
        let (now, rest): (Vec<_>, Vec<_>) = self.unsaved.drain(..).partition(|(c, _)| *c == cpu);
        self.unsaved = rest;
        for (_, u) in now {
            self.core.context_saved(u);
            self.after("context_saved");
        }
    }

    fn save_unit(&mut self, u: UnitId) {
        if let Some(i) = self.unsaved.iter().position(|(_, x)| *x == u) {
            self.unsaved.remove(i);
            self.core.context_saved(u);
            self.after("context_saved");
        }
    }

    fn close(&mut self, cpu: Cpu) {
        if let Some(r) = self.running.remove(&cpu) {
            self.closed_ns += self.now - r.start;
        }
    }

    /// `cpu` runs the scheduler. `idle_prev` is passed when nothing runs
    /// there (ignored by the core); otherwise Xen's view decides.
    fn schedule(&mut self, cpu: Cpu, idle_prev: PrevState, tasklet: bool) -> Decision {
        self.flush_unsaved(cpu);
        let prev = self.core.curr(cpu);
        let ps = match prev.and_then(|u| self.units.get(&u)).map(|m| m.x) {
            None => idle_prev,
            Some(XState::Runnable) => PrevState::Runnable,
            Some(XState::Blocked) => PrevState::Blocked,
            Some(XState::Asleep) => PrevState::Asleep,
        };
        let d = self.core.do_schedule(cpu, self.now, ps, tasklet, &mut self.sink);
        if tasklet {
            self.tasklet.insert(cpu);
        } else {
            self.tasklet.remove(&cpu);
        }
        if !self.core.cpus().contains(cpu) {
            assert_eq!(d.next, None, "do_schedule on pCPU {cpu} outside the pool picked a unit");
            self.after("do_schedule outside the pool");
            return d;
        }
        self.close(cpu);
        if let Some(n) = d.next {
            assert!(!tasklet, "tasklet work must run the idle vCPU, got {n:?}");
            for (c, r) in &self.running {
                assert_ne!(r.unit, n, "{n:?} picked on cpu {cpu} while running on cpu {c}");
            }
            let m = self.units.get(&n).copied();
            assert!(
                matches!(m, Some(MUnit { phase: Phase::Inserted, x: XState::Runnable })),
                "picked {n:?} on cpu {cpu}, which Xen has as {m:?}"
            );
            assert!(d.slice > 0, "{n:?} picked with slice {}", d.slice);
            self.running.insert(cpu, Run { unit: n, start: self.now, charged: self.now });
            self.stats.picks += 1;
            self.timer.insert(cpu, self.now.saturating_add(d.slice));
            self.stats.steals += u64::from(d.migrated);
            // Picked again before its context was saved elsewhere: Xen
            // saves it first (the core never steals a live context).
            self.unsaved.retain(|(_, x)| *x != n);
        } else {
            assert!(d.slice < 0, "idle with a slice {}", d.slice);
            self.timer.remove(&cpu);
        }
        if let Some(p) = prev {
            if d.next != Some(p) {
                self.unsaved.push((cpu, p));
            }
        }
        self.after("do_schedule");
        d
    }

    /// Xen's timers, for up to `dur` or [`RUN_FOR_EVENTS`] events.
    fn run_for(&mut self, dur: Time) {
        let end = self.now.saturating_add(dur);
        let tp = commaware_accounting::credit::tick_period(self.core.params().tslice_ms);
        let ts = self.core.params().tslice();
        self.next_tick = self.next_tick.clamp(self.now, self.now.saturating_add(tp));
        self.next_acct = self.next_acct.clamp(self.now, self.now.saturating_add(ts));
        for _ in 0..RUN_FOR_EVENTS {
            self.softirqs();
            let pool = self.core.cpus();
            self.timer.retain(|c, _| pool.contains(*c));
            let next_timer = self.timer.iter().map(|(c, t)| (*t, *c)).min();
            let mut next = self.next_tick.min(self.next_acct);
            if let Some((t, _)) = next_timer {
                next = next.min(t);
            }
            if next > end {
                self.now = self.now.max(end);
                break;
            }
            self.now = self.now.max(next);
            if self.next_tick <= next {
                self.apply(&Op::TickAll);
                self.next_tick = next + tp;
            }
            if self.next_acct <= next {
                self.core.account(self.now, &mut self.sink);
                self.after("account");
                self.next_acct = next + ts;
            }
            let due: Vec<Cpu> = self.timer.iter().filter(|(_, t)| **t <= next).map(|(c, _)| *c).collect();
            for c in due {
                self.timer.remove(&c);
                self.schedule(c, PrevState::Runnable, false);
            }
        }
    }

    fn softirqs(&mut self) {
        let mut n = 0;
        while let Some(c) = self.sink.pending.pop_first() {
            if self.core.cpus().contains(c) {
                self.schedule(c, PrevState::Runnable, false);
            }
            n += 1;
            assert!(n < 10_000, "tickle storm");
        }
        // No lost wake-up: once every tickle is served, a pCPU that idles
        // has nothing queued (a unit queued on an idle pCPU tickles it).
        for c in self.pool() {
            if self.core.curr(c).is_none() && !self.tasklet.contains(&c) {
                let q: Vec<UnitId> = self.core.runq(c).collect();
                assert!(q.is_empty(), "pCPU {c} idles with {q:?} queued, every tickle served (t={})", self.now);
            }
        }
    }

    fn destroy_unit(&mut self, u: UnitId) {
        let m = self.units.get(&u).copied();
        if m.is_some_and(|m| m.phase != Phase::Removed) {
            self.remove_unit(u);
        }
        self.free_unit(u);
    }

    fn remove_unit(&mut self, u: UnitId) {
        let ran_on = self.running_on(u);
        self.core.unit_remove(u, self.now, &mut self.sink).expect("unit_remove of a live unit");
        if let Some(c) = ran_on {
            self.close(c);
        }
        if let Some(m) = self.units.get_mut(&u) {
            m.phase = Phase::Removed;
        }
        self.unsaved.retain(|(_, x)| *x != u);
        self.after("unit_remove");
    }

    fn free_unit(&mut self, u: UnitId) {
        let ran_on = self.running_on(u);
        self.core.unit_free(u, self.now, &mut self.sink).expect("unit_free of a live unit");
        if let Some(c) = ran_on {
            self.close(c);
        }
        self.units.remove(&u);
        self.unsaved.retain(|(_, x)| *x != u);
        self.after("unit_free");
        assert!(self.core.unit_info(u).is_none(), "{u:?} still there after unit_free");
    }

    /// Xen's `vcpu_migrate` of a unit that is not running.
    fn xen_migrate(&mut self, u: UnitId, to: Option<u8>) {
        if self.running_on(u).is_some() {
            return;
        }
        self.save_unit(u);
        let runnable = self.units.get(&u).is_some_and(|m| m.x == XState::Runnable);
        // `_VPF_migrating` makes it not runnable for Xen until the wake.
        if let Some(m) = self.units.get_mut(&u) {
            if runnable {
                m.x = XState::Asleep;
            }
        }
        self.core.sleep(u, self.now, &mut self.sink);
        self.after("migrate: sleep");
        let Some(pick) = self.core.pick_resource(u, self.now) else {
            // No pCPU at all: nothing to migrate to.
            assert!(self.core.cpus().is_empty(), "pick_resource found nothing for {u:?}");
            if runnable {
                if let Some(m) = self.units.get_mut(&u) {
                    m.x = XState::Runnable;
                }
                self.core.wake(u, self.now, &mut self.sink);
                self.after("migrate: wake");
            }
            return;
        };
        assert!(self.core.cpus().contains(pick), "pick_resource chose {pick}, outside the pool");
        let dest = match to {
            Some(i) => self.pool_cpu(i).unwrap_or(pick),
            None => pick,
        };
        self.core.migrate(u, dest).expect("migrate to a pool pCPU");
        assert_eq!(self.core.unit_cpu(u), Some(dest));
        self.after("migrate");
        if runnable {
            if let Some(m) = self.units.get_mut(&u) {
                m.x = XState::Runnable;
            }
            self.core.wake(u, self.now, &mut self.sink);
            self.after("migrate: wake");
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Advance(dt) => {
                // Xen ticks a running unit every tick period: hours pass
                // at once only on an idle pool (a single debit beyond
                // i32::MAX credits, ~60 h, loses time: see
                // sched/tests/fuzz_regressions.rs).
                let dt = if self.running.is_empty() { dt.ns() } else { dt.ns().min(1000 * MS) };
                self.now = self.now.saturating_add(dt);
            }
            Op::PcpuAdd(raw) => {
                if raw >= 240 {
                    let c = MAX_PCPUS as Cpu + Cpu::from(raw - 240) * 1000;
                    let e = self.refused("pcpu_add beyond MAX_PCPUS", |k, _, _| k.pcpu_add(c));
                    assert_eq!(e, Error::PcpuOutOfRange);
                    return;
                }
                let c = CPU_PALETTE[usize::from(raw) % CPU_PALETTE.len()];
                if self.core.cpus().contains(c) {
                    let e = self.refused("pcpu_add of a pool pCPU", |k, _, _| k.pcpu_add(c));
                    assert_eq!(e, Error::PcpuPresent);
                } else {
                    self.core.pcpu_add(c).expect("pcpu_add");
                    assert!(self.core.idlers().contains(c), "a new pCPU starts idle");
                    self.after("pcpu_add");
                }
            }
            Op::PcpuRemove(raw) => {
                let Some(c) = self.pool_cpu(raw & 0x7f) else {
                    let c = CPU_PALETTE[usize::from(raw) % CPU_PALETTE.len()];
                    let e = self.refused("pcpu_remove outside the pool", |k, now, s| k.pcpu_remove(c, now, s));
                    assert_eq!(e, Error::NoSuchPcpu);
                    return;
                };
                if raw & 0x80 != 0 && self.core.curr(c).is_some() {
                    let e = self.refused("pcpu_remove of a busy pCPU", |k, now, s| k.pcpu_remove(c, now, s));
                    assert_eq!(e, Error::Busy);
                    return;
                }
                // The last pCPU with units queued on it: refused.
                if self.core.ncpus() == 1 && self.core.curr(c).is_none() && self.core.runq(c).next().is_some() {
                    let e = self.refused("pcpu_remove of the last pCPU, units queued", |k, now, s| k.pcpu_remove(c, now, s));
                    assert_eq!(e, Error::Busy);
                    return;
                }
                // Xen never empties a pool that has domains.
                if self.core.ncpus() == 1 && self.core.domains().next().is_some() {
                    return;
                }
                self.schedule(c, PrevState::Runnable, true);
                self.flush_unsaved(c);
                self.core.pcpu_remove(c, self.now, &mut self.sink).expect("pcpu_remove of an idle pCPU");
                self.tasklet.remove(&c);
                self.sink.pending.remove(&c);
                self.after("pcpu_remove");
                for (&u, _) in self.units.iter().filter(|(_, m)| m.phase != Phase::Removed) {
                    assert_ne!(self.core.unit_cpu(u), Some(c), "{u:?} still on removed pCPU {c}");
                }
            }
            Op::DomAdd(domid) => {
                if self.doms().len() >= MAX_LIVE_DOMS {
                    return;
                }
                let domid = if domid < 0x100 { self.next_domid } else { domid };
                self.next_domid = self.next_domid.wrapping_add(1);
                let d = self.core.dom_add(domid).expect("dom_add");
                assert_eq!(self.core.domain_domid(d), Some(domid));
                self.after("dom_add");
            }
            Op::DomRemove(i, destroy) => {
                let Some(d) = nth(&self.doms(), i) else {
                    let e = self.refused("dom_remove of no domain", |k, _, _| k.dom_remove(DomId(u16::from(i))));
                    assert_eq!(e, Error::NoSuchDomain);
                    return;
                };
                let units: Vec<UnitId> = self.core.domain_units(d).collect();
                if !units.is_empty() && !destroy {
                    let e = self.refused("dom_remove of a domain with units", |k, _, _| k.dom_remove(d));
                    assert_eq!(e, Error::Busy);
                    return;
                }
                for u in units {
                    self.destroy_unit(u);
                }
                let c = self.core.domain_counters(d).expect("live domain");
                self.core.dom_remove(d).expect("dom_remove");
                self.gone.0 += c.run_ns;
                self.gone.1 += c.donated_ns;
                self.gone.2 += c.received_ns;
                assert!(self.core.domain_params(d).is_none());
                self.after("dom_remove");
            }
            Op::DomSet(i, ADom(p)) => {
                let Some(d) = nth(&self.doms(), i) else {
                    let e = self.refused("dom_set of no domain", |k, _, _| k.dom_set(DomId(u16::from(i)), p));
                    assert_eq!(e, Error::NoSuchDomain);
                    return;
                };
                let units = self.core.domain_units(d).count() as u32;
                if dom_valid(&p, units) {
                    self.core.dom_set(d, p).unwrap_or_else(|e| panic!("dom_set({p:?}) with {units} units: {e:?}"));
                    assert_eq!(self.core.domain_params(d), Some(p));
                    self.after("dom_set");
                } else {
                    let e = self.refused("dom_set out of range", |k, _, _| k.dom_set(d, p));
                    assert!(matches!(e, Error::Param(_)), "{e:?}");
                }
            }
            Op::SetParams(AGlobal(p)) => {
                if global_valid(&p) {
                    self.core.set_params(p).unwrap_or_else(|e| panic!("set_params({p:?}): {e:?}"));
                    assert_eq!(self.core.params(), p);
                    self.after("set_params");
                } else {
                    let e = self.refused("set_params out of range", |k, _, _| k.set_params(p));
                    assert!(matches!(e, Error::Param(_)), "{e:?}");
                }
            }
            Op::UnitAdd(i, vcpu) => {
                let Some(d) = nth(&self.doms(), i) else {
                    let e = self.refused("unit_add to no domain", |k, _, _| k.unit_add(DomId(u16::from(i)), vcpu));
                    assert_eq!(e, Error::NoSuchDomain);
                    return;
                };
                if self.units.len() >= MAX_LIVE_UNITS {
                    return;
                }
                let u = self.core.unit_add(d, vcpu).expect("unit_add");
                assert!(self.units.insert(u, MUnit { phase: Phase::Added, x: XState::Blocked }).is_none(), "{u:?} handed out twice");
                assert_eq!(self.core.unit_domain(u), Some(d));
                self.after("unit_add");
            }
            Op::UnitInsert(i, runnable) => {
                let Some(u) = nth(&self.units_in(Phase::Added), i) else {
                    let g = self.unknown_unit(u16::from(i));
                    let e = self.refused("unit_insert of no unit", |k, now, s| k.unit_insert(g, runnable, now, s));
                    assert_eq!(e, Error::NoSuchUnit);
                    return;
                };
                if self.core.cpus().is_empty() {
                    return;
                }
                self.core.unit_insert(u, runnable, self.now, &mut self.sink).expect("unit_insert");
                let cpu = self.core.unit_cpu(u).expect("unit");
                assert!(self.core.cpus().contains(cpu), "{u:?} inserted on pCPU {cpu}, outside the pool");
                let x = if runnable { XState::Runnable } else { XState::Blocked };
                self.units.insert(u, MUnit { phase: Phase::Inserted, x });
                self.after("unit_insert");
            }
            Op::UnitRemove(i) => {
                let live: Vec<UnitId> = self.units.iter().filter(|(_, m)| m.phase != Phase::Removed).map(|(u, _)| *u).collect();
                let Some(u) = nth(&live, i) else {
                    let g = self.unknown_unit(u16::from(i));
                    let e = self.refused("unit_remove of no unit", |k, now, s| k.unit_remove(g, now, s));
                    assert_eq!(e, Error::NoSuchUnit);
                    return;
                };
                self.remove_unit(u);
            }
            Op::UnitFree(i) => {
                let all: Vec<UnitId> = self.units.keys().copied().collect();
                let Some(u) = nth(&all, i) else {
                    let g = self.unknown_unit(u16::from(i));
                    let e = self.refused("unit_free of no unit", |k, now, s| k.unit_free(g, now, s));
                    assert_eq!(e, Error::NoSuchUnit);
                    return;
                };
                self.free_unit(u);
            }
            Op::SetAffinity(i, mask) => {
                let cands: Vec<UnitId> = self.units.iter().filter(|(_, m)| m.phase != Phase::Removed).map(|(u, _)| *u).collect();
                let mut aff = CpuSet::EMPTY;
                for (b, c) in CPU_PALETTE.iter().enumerate() {
                    if mask & (1 << b) != 0 {
                        aff.insert(*c);
                    }
                }
                let Some(u) = nth(&cands, i) else {
                    let g = self.unknown_unit(u16::from(i));
                    let aff = if aff.is_empty() { CpuSet::ALL } else { aff };
                    let e = self.refused("set_affinity of no unit", |k, _, _| k.set_affinity(g, aff));
                    assert_eq!(e, Error::NoSuchUnit);
                    return;
                };
                if aff.is_empty() {
                    self.refused("set_affinity empty", |k, _, _| k.set_affinity(u, aff));
                    return;
                }
                self.core.set_affinity(u, aff).expect("set_affinity");
                self.after("set_affinity");
                let inserted = self.units.get(&u).is_some_and(|m| m.phase == Phase::Inserted);
                let cpu = self.core.unit_cpu(u).expect("unit");
                if inserted && !aff.contains(cpu) && aff.and(&self.core.cpus()) != CpuSet::EMPTY {
                    self.xen_migrate(u, None);
                }
            }
            Op::Wake(i) => {
                let Some(u) = self.inserted(i) else { return };
                if let Some(m) = self.units.get_mut(&u) {
                    m.x = XState::Runnable;
                }
                self.core.wake(u, self.now, &mut self.sink);
                self.after("wake");
            }
            Op::Sleep(i) => {
                let Some(u) = self.inserted(i) else { return };
                if let Some(m) = self.units.get_mut(&u) {
                    m.x = XState::Asleep;
                }
                self.core.sleep(u, self.now, &mut self.sink);
                self.after("sleep");
            }
            Op::Block(c) => {
                let Some(c) = self.pool_cpu(c) else { return };
                let Some(u) = self.core.curr(c) else { return };
                if let Some(m) = self.units.get_mut(&u) {
                    if m.x == XState::Runnable {
                        m.x = XState::Blocked;
                    }
                }
                self.schedule(c, PrevState::Blocked, false);
            }
            Op::DoSchedule(c, prev, tasklet) => {
                let c = if c >= 250 {
                    // Outside the pool (or beyond the table): ignored.
                    let c = CPU_PALETTE.iter().copied().find(|x| !self.core.cpus().contains(*x)).unwrap_or(200);
                    let before = snapshot(&self.core);
                    let d = self.core.do_schedule(c, self.now, prev.get(), tasklet, &mut self.sink);
                    assert_eq!(d.next, None);
                    self.assert_unchanged("do_schedule outside the pool", &before, Error::NoSuchPcpu);
                    return;
                } else {
                    c
                };
                let force = c & 0x40 != 0;
                let Some(c) = self.pool_cpu(c) else { return };
                // Bit 6: the running unit stopped being runnable in Xen's
                // view (blocked, or paused/going down without a sleep hook
                // yet): `prev` is passed as given, Xen's view follows.
                if let Some(u) = self.core.curr(c).filter(|_| force) {
                    if let Some(m) = self.units.get_mut(&u) {
                        match prev {
                            APrev::Blocked => m.x = XState::Blocked,
                            APrev::Asleep => m.x = XState::Asleep,
                            APrev::Runnable => {}
                        }
                    }
                }
                self.schedule(c, prev.get(), tasklet);
            }
            Op::Yield(c, sched) => {
                let Some(c) = self.pool_cpu(c) else { return };
                let Some(u) = self.core.curr(c) else { return };
                self.core.yield_unit(u);
                self.after("yield");
                if sched {
                    self.schedule(c, PrevState::Runnable, false);
                }
            }
            Op::Notify(c, i) => {
                // Bit 7: any inserted unit sends (beyond Xen's contract,
                // where the sender is `current`: the core must cope).
                let src = if c & 0x80 != 0 { self.inserted(c & 0x7f) } else { self.pool_cpu(c).and_then(|c| self.core.curr(c)) };
                let Some(src) = src else { return };
                let Some(dst) = self.inserted(i) else { return };
                self.core.notify(src, dst, self.now, &mut self.sink);
                self.after("notify");
            }
            Op::Tick(c) => {
                let Some(c) = self.pool_cpu(c) else { return };
                self.core.tick(c, self.now, &mut self.sink);
                if let Some(r) = self.running.get_mut(&c) {
                    r.charged = self.now;
                }
                self.after("tick");
            }
            Op::TickAll => {
                for c in self.pool() {
                    self.core.tick(c, self.now, &mut self.sink);
                    if let Some(r) = self.running.get_mut(&c) {
                        r.charged = self.now;
                    }
                    self.after("tick");
                }
                assert_eq!(
                    self.core.ledger().0,
                    self.closed_ns + self.running.values().map(|r| r.charged - r.start).sum::<Time>(),
                    "ledger after ticking every pCPU"
                );
            }
            Op::Account => {
                self.core.account(self.now, &mut self.sink);
                self.after("account");
            }
            Op::PickResource(i) => {
                let Some(u) = self.inserted(i) else { return };
                if let Some(c) = self.core.pick_resource(u, self.now) {
                    assert!(self.core.cpus().contains(c), "pick_resource chose {c}, outside the pool");
                }
                self.after("pick_resource");
            }
            Op::Migrate(i, to) => {
                let Some(u) = self.inserted(i) else { return };
                if to >= 250 {
                    let c = CPU_PALETTE.iter().copied().find(|x| !self.core.cpus().contains(*x)).unwrap_or(200);
                    let e = self.refused("migrate to a pCPU outside the pool", |k, _, _| k.migrate(u, c));
                    assert_eq!(e, Error::NoSuchPcpu);
                    return;
                }
                self.xen_migrate(u, (to & 1 == 1).then_some(to >> 1));
            }
            Op::ContextSaved(i) => {
                if let Some((_, u)) = nth(&self.unsaved, i) {
                    self.save_unit(u);
                }
            }
            Op::Softirqs => self.softirqs(),
            Op::RunFor(ms) => self.run_for(Time::from(ms) * MS),
            Op::SendBlock(c, i) => {
                let Some(cpu) = self.pool_cpu(c) else { return };
                let Some(src) = self.core.curr(cpu) else { return };
                let Some(dst) = self.inserted(i) else { return };
                self.core.notify(src, dst, self.now, &mut self.sink);
                self.after("notify");
                if self.units.get(&dst).is_some_and(|m| m.x == XState::Blocked) {
                    self.apply(&Op::Wake(self.units_in(Phase::Inserted).iter().position(|x| *x == dst).unwrap_or(0) as u8));
                }
                self.apply(&Op::Block(c));
            }
            Op::Garbage(raw, what) => {
                let g = self.unknown_unit(raw);
                let h = self.inserted(what).unwrap_or(g);
                match what % 8 {
                    0 => self.ignored("wake of no unit", |k, now, s| k.wake(g, now, s)),
                    1 => self.ignored("sleep of no unit", |k, now, s| k.sleep(g, now, s)),
                    2 => self.ignored("notify from no unit", |k, now, s| k.notify(g, h, now, s)),
                    3 => self.ignored("notify to no unit", |k, now, s| k.notify(h, g, now, s)),
                    4 => self.ignored("yield of no unit", |k, _, _| k.yield_unit(g)),
                    5 => self.ignored("context_saved of no unit", |k, _, _| k.context_saved(g)),
                    6 => {
                        let c = CPU_PALETTE.iter().copied().find(|x| !self.core.cpus().contains(*x)).unwrap_or(200);
                        self.ignored("tick outside the pool", |k, now, s| k.tick(c, now, s));
                    }
                    _ => {
                        let before = snapshot(&self.core);
                        assert_eq!(self.core.pick_resource(g, self.now), None);
                        self.assert_unchanged("pick_resource of no unit", &before, Error::NoSuchUnit);
                        let e = self.refused("migrate of no unit", |k, _, _| {
                            let c = k.cpus().first().unwrap_or(0);
                            k.migrate(g, c)
                        });
                        assert!(matches!(e, Error::NoSuchUnit | Error::NoSuchPcpu));
                    }
                }
            }
        }
    }
}

/// The `core_events` target.
pub fn run(data: &[u8]) {
    stats(data);
}

/// Run an input; what it reached.
pub fn stats(data: &[u8]) -> Stats {
    let mut u = Unstructured::new(data);
    let Ok(mut w) = World::new(&mut u) else { return Stats::default() };
    for _ in 0..MAX_OPS {
        if u.is_empty() {
            break;
        }
        let Ok(op) = u.arbitrary::<Op>() else { break };
        w.stats.ops += 1;
        w.apply(&op);
    }
    // Drain: everything asked for is served, then charged.
    w.softirqs();
    w.apply(&Op::TickAll);
    w.stats
}

/// An input as the scenario it decodes to (for reading crash inputs:
/// `cargo run --example decode -- FILE`).
pub fn decode(data: &[u8]) -> String {
    use std::fmt::Write;
    let mut u = Unstructured::new(data);
    let mut s = String::new();
    let (Ok(g), Ok(n), Ok(first), Ok(prelude)) =
        (u.arbitrary::<AGlobal>(), u.arbitrary::<u8>(), u.arbitrary::<u8>(), u.arbitrary::<u8>())
    else {
        return s;
    };
    let cpus: Vec<Cpu> = (0..=usize::from(n % 4)).map(|i| CPU_PALETTE[(usize::from(first) + i) % CPU_PALETTE.len()]).collect();
    let _ = writeln!(s, "params {:?}\npcpus {cpus:?}", g.0);
    for _ in 0..(prelude & 3) {
        let shape: u8 = u.arbitrary().unwrap_or(0);
        let _ = writeln!(s, "prelude domain: {} units, runnable mask {:#b}", shape % 3 + 1, (shape >> 3) & 7 | 1);
    }
    for _ in 0..MAX_OPS {
        if u.is_empty() {
            break;
        }
        let Ok(op) = u.arbitrary::<Op>() else { break };
        let _ = writeln!(s, "{op:?}");
    }
    s
}
