//! The discrete-event engine: pCPUs, vCPUs, event channels and timers in
//! simulated time, around the real [`commaware_sched::Core`].
//!
//! The engine has no scheduling policy of its own. It plays Xen's part:
//!
//! - per pCPU, it runs what the core's [`Decision`] says, arms the slice
//!   timer with `Decision::slice`, calls [`Core::tick`] every
//!   `tick_period` while the pCPU runs a unit (credit1 stops its ticker when
//!   the pCPU idles), and calls [`Core::context_saved`] right after each
//!   switch;
//! - [`Core::account`] every time slice, as credit1's master ticker does;
//! - every tickle the core sends through its [`Sink`] becomes a
//!   `do_schedule` on that pCPU: at once when it is the pCPU making the call
//!   (Xen raises the softirq locally), after `ipi_latency` otherwise; a
//!   `do_schedule` consumes every tickle raised before it (one softirq bit);
//! - a vCPU with nothing left to do blocks (`do_schedule` with
//!   [`PrevState::Blocked`]); an event sent to another vCPU calls
//!   [`Core::notify`] (Xen's hook in `evtchn_send`), then [`Core::wake`] if
//!   the receiver is blocked (`vcpu_kick` wakes only blocked vCPUs);
//!   empty notifications coalesce on a pending channel like Xen's pending
//!   bit; messages (requests, replies, packets) each carry their own work
//!   (a ring's token too).
//!
//! The guest model: each vCPU works through a FIFO of jobs (a CPU demand in
//! ns and what to do when it is done), consuming CPU only while the core
//! lets it run. Hogs have an endless job.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

use commaware_accounting::credit::{tick_period, Time, NS_PER_MS};
use commaware_sched::{Core, Cpu, Decision, DomId, GlobalParams, PrevState, Sink, Trace, UnitId};

use crate::rng::Rng;
use crate::scenario::{Path, Scenario, Workload};

/// What the core told the host during one call.
#[derive(Default)]
struct SimSink {
    tickles: Vec<Cpu>,
    boosts: u64,
    boosts_refused: u64,
    donations: u64,
}

impl Sink for SimSink {
    fn tickle(&mut self, cpu: Cpu) {
        self.tickles.push(cpu);
    }
    fn trace(&mut self, ev: Trace) {
        match ev {
            Trace::BoostStart { .. } => self.boosts += 1,
            Trace::BoostRefused { .. } => self.boosts_refused += 1,
            Trace::DonationStart { .. } => self.donations += 1,
            Trace::DonationEnd { .. } | Trace::Wake { .. } => {}
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// A tickle reached the pCPU (softirq).
    Sched { cpu: u16, token: u64 },
    /// The slice timer armed from the last Decision.
    Slice { cpu: u16, gen: u64 },
    /// credit1's per-pCPU tick.
    Tick { cpu: u16 },
    /// The running vCPU finishes its current job.
    JobDone { cpu: u16, gen: u64 },
    /// The accounting period.
    Account,
    /// A periodic workload's timer.
    Timer { v: u32 },
    /// A thinking client's next request is due.
    Think { v: u32, pair: u32 },
}

/// CPU time of the calling thread in ns, where the kernel tells it.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// The event queue. Per-pCPU events (tickle, job completion, slice timer,
/// tick) have one slot each per pCPU, because a newer one always supersedes
/// an older one (the generation and token checks would discard the older
/// one anyway); the rest (accounting, periodic timers) go in a heap. Ties
/// are broken by insertion order, so runs are reproducible.
struct Queue {
    seq: u64,
    /// Per pCPU: [Sched, JobDone, Slice, Tick] as (time, seq, event).
    slots: Vec<[(Time, u64, Ev); 4]>,
    /// Per pCPU: its earliest slot (time, seq, slot index).
    mins: Vec<(Time, u64, usize)>,
    heap: BinaryHeap<Reverse<(Time, u64, Ev)>>,
}

const EMPTY: (Time, u64, Ev) = (Time::MAX, u64::MAX, Ev::Account);

impl Queue {
    fn new(ncpus: usize) -> Queue {
        Queue {
            seq: 0,
            slots: vec![[EMPTY; 4]; ncpus],
            mins: vec![(Time::MAX, u64::MAX, 0); ncpus],
            heap: BinaryHeap::new(),
        }
    }

    fn slot_of(ev: &Ev) -> Option<(usize, usize)> {
        match *ev {
            Ev::Sched { cpu, .. } => Some((usize::from(cpu), 0)),
            Ev::JobDone { cpu, .. } => Some((usize::from(cpu), 1)),
            Ev::Slice { cpu, .. } => Some((usize::from(cpu), 2)),
            Ev::Tick { cpu } => Some((usize::from(cpu), 3)),
            Ev::Account | Ev::Timer { .. } | Ev::Think { .. } => None,
        }
    }

    fn refresh(&mut self, c: usize) {
        let Some(s) = self.slots.get(c) else { return };
        let mut m = (Time::MAX, u64::MAX, 0);
        for (i, e) in s.iter().enumerate() {
            if (e.0, e.1) < (m.0, m.1) {
                m = (e.0, e.1, i);
            }
        }
        if let Some(x) = self.mins.get_mut(c) {
            *x = m;
        }
    }

    fn push(&mut self, at: Time, ev: Ev) {
        self.seq += 1;
        match Self::slot_of(&ev) {
            Some((c, k)) => {
                if let Some(slot) = self.slots.get_mut(c).and_then(|s| s.get_mut(k)) {
                    *slot = (at, self.seq, ev);
                }
                self.refresh(c);
            }
            None => self.heap.push(Reverse((at, self.seq, ev))),
        }
    }

    fn pop(&mut self) -> Option<(Time, Ev)> {
        let mut best: Option<(Time, u64, usize)> = None;
        for (c, m) in self.mins.iter().enumerate() {
            if m.0 != Time::MAX && best.is_none_or(|b| (m.0, m.1) < (b.0, b.1)) {
                best = Some((m.0, m.1, c));
            }
        }
        let heap_first = self.heap.peek().map(|Reverse((t, s, _))| (*t, *s));
        match (best, heap_first) {
            (Some(b), h) if h.is_none_or(|h| (b.0, b.1) < h) => {
                let c = b.2;
                let k = self.mins.get(c).map_or(0, |m| m.2);
                let e = self
                    .slots
                    .get_mut(c)
                    .and_then(|s| s.get_mut(k))
                    .map(|slot| std::mem::replace(slot, EMPTY))?;
                self.refresh(c);
                Some((e.0, e.2))
            }
            (_, Some(_)) => self.heap.pop().map(|Reverse((t, _, e))| (t, e)),
            _ => None,
        }
    }
}

/// A message carried between vCPUs; each one is work for its receiver.
#[derive(Clone, Copy, Debug)]
enum Msg {
    Request {
        pair: u32,
        sent_at: Time,
    },
    Reply {
        pair: u32,
        sent_at: Time,
    },
    /// A periodic workload's notification (ends at its peer): its log and
    /// when its timer fired.
    Periodic {
        log: u32,
        fired_at: Time,
    },
}

#[derive(Clone, Copy, Debug)]
enum JobKind {
    Hog,
    /// Client work; `reply` is the send time of the request it answers.
    Client {
        pair: u32,
        reply: Option<Time>,
    },
    Server {
        pair: u32,
        sent_at: Time,
    },
    /// A driver domain forwarding a packet to `to` (or to the wire).
    Forward {
        msg: Msg,
        to: Option<u32>,
    },
    /// A periodic peer's handling of the notification of periodic log `log`
    /// whose timer fired at `fired_at`.
    Sink {
        log: u32,
        fired_at: Time,
    },
    /// Handling an empty notification on channel `chan`.
    Event {
        chan: u32,
    },
    Periodic {
        fired_at: Time,
    },
    StormSend,
    /// Ring `ring`'s member number `member` holds the token: when this
    /// work is done it passes it to the next member and blocks.
    RingTurn {
        ring: u32,
        member: u32,
    },
}

#[derive(Clone, Copy, Debug)]
struct Job {
    left: Time,
    kind: JobKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VSt {
    Blocked,
    Runnable,
    Running(u16),
}

struct VCpu {
    unit: UnitId,
    dom: usize,
    st: VSt,
    cur: Option<Job>,
    queue: VecDeque<Job>,
    /// Storm: next target index.
    rr: usize,
    /// When it last became runnable, while it is runnable but not running.
    runnable_since: Option<Time>,
}

struct PCpu {
    curr: Option<u32>,
    since: Time,
    slice_gen: u64,
    job_gen: u64,
    tick_on: bool,
    sched_token: u64,
    sched_at: Option<Time>,
    idle_ns: Time,
}

/// Per pair: the latency of every request (send to the client running again
/// with the reply), and how many completed.
#[derive(Clone, Debug, Default)]
pub struct PairLog {
    pub latencies: Vec<Time>,
}

/// Per periodic domain: timer expiry to the work starting.
#[derive(Clone, Debug, Default)]
pub struct PeriodicLog {
    pub dom: usize,
    pub latencies: Vec<Time>,
    /// Timer expiry to the peer having handled the notification.
    pub delivered: Vec<Time>,
}

/// Per ring: how long each round of the token took (at the lead, from one
/// arrival to the next), for rounds completed after the warm-up.
#[derive(Clone, Debug, Default)]
pub struct RingLog {
    pub round_trips: Vec<Time>,
    /// The token's last arrival at the lead (the run starts with it there).
    last_at: Time,
}

/// Per domain: the times its vCPUs were runnable but not running (a hog's
/// starvation, what `cw-workload hog` records as gaps in hostile.sh). Only
/// gaps that end after the warm-up count; one still open when the run
/// ends counts up to the end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GapLog {
    /// The longest, over the domain's vCPUs.
    pub max: Time,
    pub over_100ms: u64,
}

/// Counters of the engine itself.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct EngineStats {
    /// Events taken off the queue and acted on.
    pub events: u64,
    /// Calls into the core (do_schedule, wake, notify, tick, account, context_saved).
    pub core_calls: u64,
    pub schedules: u64,
    pub switches: u64,
    /// Things the core asked for that the host could not do (must be 0).
    pub anomalies: u64,
    pub wall_s: f64,
    /// CPU time this thread spent in the run (Linux: from
    /// `/proc/thread-self/schedstat`; elsewhere the wall time), so that the
    /// speed does not depend on how loaded the host is.
    pub cpu_s: f64,
}

/// Everything a run measured.
pub struct Outcome {
    pub scheduler: String,
    pub params: GlobalParams,
    pub duration: Time,
    pub pcpus: u16,
    /// Running time per domain, as the engine saw it.
    pub dom_run: Vec<Time>,
    pub idle: Time,
    pub pairs: Vec<PairLog>,
    pub periodic: Vec<PeriodicLog>,
    pub rings: Vec<RingLog>,
    /// Per domain.
    pub gaps: Vec<GapLog>,
    pub counters: Vec<commaware_sched::DomCounters>,
    pub core_ledger: (Time, i64),
    pub stats: EngineStats,
    pub first_violation: Option<String>,
}

pub struct Sim<'a> {
    sc: &'a Scenario,
    core: Box<Core>,
    now: Time,
    queue: Queue,
    cpus: Vec<PCpu>,
    vcpus: Vec<VCpu>,
    unit_vcpu: Vec<u32>,
    dom_ids: Vec<DomId>,
    dom_run: Vec<Time>,
    sink: SimSink,
    rng: Rng,
    tick: Time,
    tslice: Time,
    /// Per pair: client vCPU, server vCPU, request hop, reply hop.
    pair_route: Vec<(u32, u32, Option<u32>, Option<u32>)>,
    /// Per periodic vCPU: (peer vCPU, peer is a driver).
    periodic_peer: Vec<Option<(u32, bool)>>,
    periodic_log_of: Vec<Option<usize>>,
    /// Storm vCPUs: their channels (one per target).
    storm_chans: Vec<Vec<u32>>,
    /// Per channel: (receiver vCPU, pending).
    chans: Vec<(u32, bool)>,
    /// Per ring: each member's vCPU, in ring order.
    ring_route: Vec<Vec<u32>>,
    pairs: Vec<PairLog>,
    periodic: Vec<PeriodicLog>,
    rings: Vec<RingLog>,
    gaps: Vec<GapLog>,
    stats: EngineStats,
    check: bool,
    first_violation: Option<String>,
}

impl<'a> Sim<'a> {
    /// Build the machine for `sc` under `params` (validated by the core).
    pub fn new(sc: &'a Scenario, params: GlobalParams, label: &str) -> Result<Sim<'a>, String> {
        let _ = label;
        let mut core: Box<Core> = bytemuck::zeroed_box();
        core.init(params)
            .map_err(|e| format!("scheduler parameters refused by the core: {e:?}"))?;
        for c in 0..sc.pcpus {
            core.pcpu_add(c).map_err(|e| format!("pCPU {c}: {e:?}"))?;
        }
        let mut vcpus = Vec::new();
        let mut dom_ids = Vec::new();
        let mut first_vcpu = Vec::new();
        let mut unit_vcpu = vec![u32::MAX; commaware_sched::MAX_UNITS];
        for (di, d) in sc.domains.iter().enumerate() {
            let id = core
                .dom_add(di as u16)
                .map_err(|e| format!("domain {}: {e:?}", d.name))?;
            dom_ids.push(id);
            first_vcpu.push(vcpus.len() as u32);
            for v in 0..d.vcpus {
                let u = core
                    .unit_add(id, v)
                    .map_err(|e| format!("domain {} vCPU {v}: {e:?}", d.name))?;
                if let Some(slot) = unit_vcpu.get_mut(usize::from(u.0)) {
                    *slot = vcpus.len() as u32;
                }
                if let Some(list) = &d.cpus {
                    let mut set = commaware_sched::CpuSet::EMPTY;
                    for c in list {
                        set.insert(*c);
                    }
                    core.set_affinity(u, set)
                        .map_err(|e| format!("domain {} vCPU {v} affinity: {e:?}", d.name))?;
                }
                vcpus.push(VCpu {
                    unit: u,
                    dom: di,
                    st: VSt::Blocked,
                    cur: None,
                    queue: VecDeque::new(),
                    rr: 0,
                    runnable_since: None,
                });
            }
            core.dom_set(id, d.params)
                .map_err(|e| format!("domain {}: {e:?}", d.name))?;
        }
        let nv = vcpus.len();
        let cpus = (0..sc.pcpus)
            .map(|_| PCpu {
                curr: None,
                since: 0,
                slice_gen: 0,
                job_gen: 0,
                tick_on: false,
                sched_token: 0,
                sched_at: None,
                idle_ns: 0,
            })
            .collect();
        let mut sim = Sim {
            sc,
            core,
            now: 0,
            queue: Queue::new(usize::from(sc.pcpus)),
            cpus,
            vcpus,
            unit_vcpu,
            dom_ids,
            dom_run: vec![0; sc.domains.len()],
            sink: SimSink::default(),
            rng: Rng::new(sc.seed),
            tick: tick_period(params.tslice_ms),
            tslice: params.tslice(),
            pair_route: Vec::new(),
            periodic_peer: vec![None; nv],
            periodic_log_of: vec![None; nv],
            storm_chans: vec![Vec::new(); nv],
            chans: Vec::new(),
            ring_route: Vec::new(),
            pairs: Vec::new(),
            periodic: Vec::new(),
            rings: Vec::new(),
            gaps: vec![GapLog::default(); sc.domains.len()],
            stats: EngineStats::default(),
            check: false,
            first_violation: None,
        };

        // Driver vCPUs are handed out round robin, one per hop (netback's
        // per-vif queues, each bound to one dom0 vCPU).
        let mut driver_rr = vec![0u32; sc.domains.len()];
        let mut hop = |d: usize| -> u32 {
            let n = u32::from(sc.domains.get(d).map_or(1, |x| x.vcpus));
            let r = driver_rr.get(d).copied().unwrap_or(0);
            if let Some(x) = driver_rr.get_mut(d) {
                *x += 1;
            }
            first_vcpu.get(d).copied().unwrap_or(0) + r % n
        };
        for p in &sc.pairs {
            let c = first_vcpu.get(p.client).copied().unwrap_or(0);
            let s = first_vcpu.get(p.server).copied().unwrap_or(0);
            let (req, rep) = match p.path {
                Path::Direct => (None, None),
                Path::Via(d) => (Some(hop(d)), Some(hop(d))),
            };
            sim.pair_route.push((c, s, req, rep));
            sim.pairs.push(PairLog::default());
        }
        for r in &sc.rings {
            let route = r
                .members
                .iter()
                .map(|m| first_vcpu.get(*m).copied().unwrap_or(0))
                .collect();
            sim.ring_route.push(route);
            sim.rings.push(RingLog::default());
        }
        for (di, d) in sc.domains.iter().enumerate() {
            let v0 = first_vcpu.get(di).copied().unwrap_or(0);
            match &d.workload {
                Workload::Periodic { peer, .. } => {
                    let peer = peer.map(|p| {
                        let driver = sc.domains.get(p).is_some_and(|x| x.params.driver);
                        let pv = if driver {
                            hop(p)
                        } else {
                            first_vcpu.get(p).copied().unwrap_or(0)
                        };
                        (pv, driver)
                    });
                    if let Some(x) = sim.periodic_peer.get_mut(v0 as usize) {
                        *x = peer;
                    }
                    if let Some(x) = sim.periodic_log_of.get_mut(v0 as usize) {
                        *x = Some(sim.periodic.len());
                    }
                    sim.periodic.push(PeriodicLog {
                        dom: di,
                        latencies: Vec::new(),
                        delivered: Vec::new(),
                    });
                }
                Workload::Storm { targets, .. } => {
                    for &t in targets {
                        let driver = sc.domains.get(t).is_some_and(|x| x.params.driver);
                        let tv = if driver {
                            hop(t)
                        } else {
                            first_vcpu.get(t).copied().unwrap_or(0)
                        };
                        let ch = sim.chans.len() as u32;
                        sim.chans.push((tv, false));
                        if let Some(x) = sim.storm_chans.get_mut(v0 as usize) {
                            x.push(ch);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(sim)
    }

    /// Check the core's invariants after every event (slow; for tests).
    pub fn with_checks(mut self, on: bool) -> Self {
        self.check = on;
        self
    }

    fn push(&mut self, at: Time, ev: Ev) {
        self.queue.push(at, ev);
    }

    fn unit(&self, v: u32) -> UnitId {
        self.vcpus
            .get(v as usize)
            .map_or(UnitId(u16::MAX), |x| x.unit)
    }

    fn vcpu_of(&self, u: UnitId) -> Option<u32> {
        self.unit_vcpu
            .get(usize::from(u.0))
            .copied()
            .filter(|v| *v != u32::MAX)
    }

    fn work(&mut self, base: Time) -> Time {
        self.rng.jitter(base, self.sc.jitter_pct)
    }

    /// Run to the scenario's end.
    pub fn run(mut self, scheduler: &str) -> Outcome {
        let wall = Instant::now();
        let cpu0 = thread_cpu_ns();
        self.start();
        let end = self.sc.duration;
        while let Some((at, ev)) = self.queue.pop() {
            if at > end {
                break;
            }
            self.now = at;
            self.handle(ev);
            if self.check && self.first_violation.is_none() {
                if let Err(v) = self.core.check() {
                    self.first_violation = Some(format!("at {} ns after {ev:?}: {v:?}", self.now));
                }
            }
        }
        self.now = end;
        for c in 0..self.cpus.len() {
            self.advance(c as u16);
        }
        // A vCPU still waiting has waited until now: a starved hog shows.
        for v in 0..self.vcpus.len() as u32 {
            self.end_gap(v);
        }
        self.stats.wall_s = wall.elapsed().as_secs_f64();
        self.stats.cpu_s = match (cpu0, thread_cpu_ns()) {
            (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
            _ => self.stats.wall_s,
        };
        let counters = self
            .dom_ids
            .iter()
            .map(|d| self.core.domain_counters(*d).unwrap_or_default())
            .collect();
        Outcome {
            scheduler: scheduler.to_string(),
            params: self.core.params(),
            duration: end,
            pcpus: self.sc.pcpus,
            dom_run: self.dom_run,
            idle: self.cpus.iter().map(|c| c.idle_ns).sum(),
            pairs: self.pairs,
            periodic: self.periodic,
            rings: self.rings,
            gaps: self.gaps,
            counters,
            core_ledger: self.core.ledger(),
            stats: self.stats,
            first_violation: self.first_violation,
        }
    }

    fn start(&mut self) {
        // Initial work: hogs and storms have theirs, clients start a request.
        for v in 0..self.vcpus.len() as u32 {
            let dom = self.vcpus.get(v as usize).map_or(0, |x| x.dom);
            let w = self.sc.domains.get(dom).map(|d| d.workload.clone());
            let job = match w {
                Some(Workload::Hog) => Some(Job {
                    left: Time::MAX,
                    kind: JobKind::Hog,
                }),
                Some(Workload::Storm { send_cost, .. })
                    if !self.storm_chans.get(v as usize).is_some_and(Vec::is_empty) =>
                {
                    let left = self.work(send_cost);
                    Some(Job {
                        left,
                        kind: JobKind::StormSend,
                    })
                }
                _ => None,
            };
            // A ring starts with the token at its lead, as if just woken by it.
            let job = job.or_else(|| {
                let r = self.ring_route.iter().position(|r| r.first() == Some(&v))?;
                Some(Job {
                    left: self.sc.rings.get(r)?.work,
                    kind: JobKind::RingTurn {
                        ring: r as u32,
                        member: 0,
                    },
                })
            });
            let job = job.or_else(|| {
                let p = self.pair_route.iter().position(|r| r.0 == v)?;
                let base = self.sc.pairs.get(p)?.client_work;
                Some(Job {
                    left: base,
                    kind: JobKind::Client {
                        pair: p as u32,
                        reply: None,
                    },
                })
            });
            if let Some(j) = job {
                if let Some(x) = self.vcpus.get_mut(v as usize) {
                    x.queue.push_back(j);
                }
            }
            let runnable = self
                .vcpus
                .get(v as usize)
                .is_some_and(|x| !x.queue.is_empty());
            let u = self.unit(v);
            let _ = self.core.unit_insert(u, runnable, 0, &mut self.sink);
            self.stats.core_calls += 1;
            if runnable {
                if let Some(x) = self.vcpus.get_mut(v as usize) {
                    x.st = VSt::Runnable;
                    x.runnable_since = Some(0);
                }
            }
            if let Some(Workload::Periodic { period, .. }) =
                self.sc.domains.get(dom).map(|d| &d.workload)
            {
                if self
                    .periodic_log_of
                    .get(v as usize)
                    .is_some_and(Option::is_some)
                {
                    let first = self.rng.below(*period as u64) as Time;
                    self.push(first, Ev::Timer { v });
                }
            }
        }
        self.flush(None);
        self.push(self.tslice, Ev::Account);
        // Xen schedules every pCPU at boot.
        for c in 0..self.cpus.len() as u16 {
            self.raise(c, 0);
        }
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Sched { cpu, token } => {
                if self
                    .cpus
                    .get(usize::from(cpu))
                    .is_some_and(|c| c.sched_token == token)
                {
                    self.stats.events += 1;
                    self.schedule(cpu, PrevState::Runnable);
                }
            }
            Ev::Slice { cpu, gen } => {
                if self
                    .cpus
                    .get(usize::from(cpu))
                    .is_some_and(|c| c.slice_gen == gen)
                {
                    self.stats.events += 1;
                    self.schedule(cpu, PrevState::Runnable);
                }
            }
            Ev::Tick { cpu } => {
                self.stats.events += 1;
                let idle = self
                    .cpus
                    .get(usize::from(cpu))
                    .is_none_or(|c| c.curr.is_none());
                if idle {
                    if let Some(c) = self.cpus.get_mut(usize::from(cpu)) {
                        c.tick_on = false;
                    }
                    return;
                }
                self.advance(cpu);
                self.core.tick(cpu, self.now, &mut self.sink);
                self.stats.core_calls += 1;
                self.push(self.now + self.tick, Ev::Tick { cpu });
                self.flush(Some(cpu));
            }
            Ev::JobDone { cpu, gen } => {
                if self
                    .cpus
                    .get(usize::from(cpu))
                    .is_some_and(|c| c.job_gen == gen)
                {
                    self.stats.events += 1;
                    self.job_done(cpu);
                }
            }
            Ev::Account => {
                self.stats.events += 1;
                for c in 0..self.cpus.len() as u16 {
                    self.advance(c);
                }
                self.core.account(self.now, &mut self.sink);
                self.stats.core_calls += 1;
                self.push(self.now + self.tslice, Ev::Account);
                self.flush(Some(0));
            }
            Ev::Timer { v } => {
                self.stats.events += 1;
                self.timer(v);
            }
            Ev::Think { v, pair } => {
                self.stats.events += 1;
                // Nothing left to do but send: the request leaves when the
                // client runs.
                if let Some(x) = self.vcpus.get_mut(v as usize) {
                    x.queue.push_back(Job {
                        left: 0,
                        kind: JobKind::Client { pair, reply: None },
                    });
                }
                self.kick(v);
                self.flush(None);
            }
        }
    }

    /// Charge the running vCPU (or the idle loop) up to now.
    fn advance(&mut self, cpu: u16) {
        let now = self.now;
        let Some(c) = self.cpus.get_mut(usize::from(cpu)) else {
            return;
        };
        let dt = now - c.since;
        c.since = now;
        if dt <= 0 {
            return;
        }
        match c.curr {
            None => c.idle_ns += dt,
            Some(v) => {
                let Some(x) = self.vcpus.get_mut(v as usize) else {
                    return;
                };
                if let Some(j) = x.cur.as_mut() {
                    if !matches!(j.kind, JobKind::Hog) {
                        j.left = (j.left - dt).max(0);
                    }
                }
                if let Some(r) = self.dom_run.get_mut(x.dom) {
                    *r += dt;
                }
            }
        }
    }

    /// A tickle for `cpu` arrives at `at` (one pending softirq per pCPU).
    fn raise(&mut self, cpu: u16, at: Time) {
        let Some(c) = self.cpus.get_mut(usize::from(cpu)) else {
            return;
        };
        if c.sched_at.is_some_and(|p| p <= at) {
            return;
        }
        c.sched_token += 1;
        c.sched_at = Some(at);
        let token = c.sched_token;
        self.push(at, Ev::Sched { cpu, token });
    }

    /// Turn the core's tickles into do_schedule events.
    fn flush(&mut self, origin: Option<u16>) {
        if self.sink.tickles.is_empty() {
            return;
        }
        let ts = std::mem::take(&mut self.sink.tickles);
        for &t in &ts {
            let at = if Some(t) == origin {
                self.now
            } else {
                self.now + self.sc.ipi_latency
            };
            self.raise(t, at);
        }
        self.sink.tickles = ts;
        self.sink.tickles.clear();
    }

    /// `v` runs (or the run ends): the time it waited runnable, if it did,
    /// goes into its domain's gaps.
    fn end_gap(&mut self, v: u32) {
        let now = self.now;
        let Some(x) = self.vcpus.get_mut(v as usize) else {
            return;
        };
        let (Some(since), dom) = (x.runnable_since.take(), x.dom) else {
            return;
        };
        if now < self.sc.warmup {
            return;
        }
        if let Some(g) = self.gaps.get_mut(dom) {
            let gap = now - since;
            g.max = g.max.max(gap);
            if gap > 100 * NS_PER_MS {
                g.over_100ms += 1;
            }
        }
    }

    /// `do_schedule` on `cpu`, and carry out its Decision.
    fn schedule(&mut self, cpu: u16, prev_state: PrevState) {
        self.advance(cpu);
        let Some(c) = self.cpus.get_mut(usize::from(cpu)) else {
            return;
        };
        // This do_schedule consumes every tickle raised so far.
        c.sched_at = None;
        c.sched_token += 1;
        let prev = c.curr;
        let d: Decision = self
            .core
            .do_schedule(cpu, self.now, prev_state, false, &mut self.sink);
        self.stats.core_calls += 1;
        self.stats.schedules += 1;
        let next = match d.next {
            Some(u) => match self.vcpu_of(u) {
                Some(v) => Some(v),
                None => {
                    self.stats.anomalies += 1;
                    None
                }
            },
            None => None,
        };
        if prev_state != PrevState::Runnable && next.is_some() && next == prev {
            // The core kept a vCPU that just blocked.
            self.stats.anomalies += 1;
        }
        if next != prev {
            self.stats.switches += 1;
            if let Some(p) = prev {
                let now = self.now;
                if let Some(x) = self.vcpus.get_mut(p as usize) {
                    if prev_state == PrevState::Runnable {
                        x.st = VSt::Runnable;
                        x.runnable_since = Some(now);
                    } else {
                        x.st = VSt::Blocked;
                    }
                }
            }
            if let Some(n) = next {
                self.end_gap(n);
                if let Some(x) = self.vcpus.get_mut(n as usize) {
                    if x.st != VSt::Runnable {
                        // Picked a vCPU that is blocked or runs elsewhere.
                        self.stats.anomalies += 1;
                    }
                    x.st = VSt::Running(cpu);
                }
            }
            if let Some(c) = self.cpus.get_mut(usize::from(cpu)) {
                c.curr = next;
            }
            // Xen switches context, then calls context_saved for prev.
            if let Some(p) = prev {
                let u = self.unit(p);
                self.core.context_saved(u);
                self.stats.core_calls += 1;
            }
        }
        let tick = self.tick;
        let now = self.now;
        let Some(c) = self.cpus.get_mut(usize::from(cpu)) else {
            return;
        };
        c.slice_gen += 1;
        let slice_gen = c.slice_gen;
        let start_tick = next.is_some() && !c.tick_on;
        if start_tick {
            c.tick_on = true;
        }
        if next.is_some() && d.slice >= 0 {
            self.push(
                now + d.slice,
                Ev::Slice {
                    cpu,
                    gen: slice_gen,
                },
            );
        }
        if start_tick {
            self.push(now + tick, Ev::Tick { cpu });
        }
        self.flush(Some(cpu));
        if let Some(n) = next {
            if !self.dispatch(n, cpu) {
                // Runnable with nothing to do: cannot happen in this model.
                self.stats.anomalies += 1;
            }
        } else if let Some(c) = self.cpus.get_mut(usize::from(cpu)) {
            c.job_gen += 1;
        }
    }

    /// Make sure the running vCPU `v` has a current job and a completion
    /// event. Returns false when it has nothing to do.
    fn dispatch(&mut self, v: u32, cpu: u16) -> bool {
        let now = self.now;
        let Some(x) = self.vcpus.get_mut(v as usize) else {
            return false;
        };
        if x.cur.is_none() {
            let Some(j) = x.queue.pop_front() else {
                if let Some(c) = self.cpus.get_mut(usize::from(cpu)) {
                    c.job_gen += 1;
                }
                return false;
            };
            x.cur = Some(j);
            // What starting a job means to the measurements.
            match j.kind {
                JobKind::Client {
                    pair,
                    reply: Some(sent),
                } => {
                    if let Some(l) = self
                        .pairs
                        .get_mut(pair as usize)
                        .filter(|_| sent >= self.sc.warmup)
                    {
                        l.latencies.push(now - sent);
                    }
                }
                JobKind::Periodic { fired_at } => {
                    if let Some(Some(i)) = self.periodic_log_of.get(v as usize) {
                        if let Some(l) = self
                            .periodic
                            .get_mut(*i)
                            .filter(|_| fired_at >= self.sc.warmup)
                        {
                            l.latencies.push(now - fired_at);
                        }
                    }
                }
                JobKind::Event { chan } => {
                    if let Some(ch) = self.chans.get_mut(chan as usize) {
                        ch.1 = false;
                    }
                }
                _ => {}
            }
        }
        let left = self
            .vcpus
            .get(v as usize)
            .and_then(|x| x.cur)
            .map_or(0, |j| j.left);
        let hog = self
            .vcpus
            .get(v as usize)
            .and_then(|x| x.cur)
            .is_some_and(|j| matches!(j.kind, JobKind::Hog));
        let Some(c) = self.cpus.get_mut(usize::from(cpu)) else {
            return true;
        };
        c.job_gen += 1;
        let gen = c.job_gen;
        if !hog {
            self.push(now + left, Ev::JobDone { cpu, gen });
        }
        true
    }

    fn job_done(&mut self, cpu: u16) {
        self.advance(cpu);
        let Some(v) = self.cpus.get(usize::from(cpu)).and_then(|c| c.curr) else {
            return;
        };
        let Some(job) = self.vcpus.get_mut(v as usize).and_then(|x| x.cur.take()) else {
            return;
        };
        self.complete(v, cpu, job);
        if !self.dispatch(v, cpu) {
            self.schedule(cpu, PrevState::Blocked);
        }
    }

    /// What a finished job sets off.
    fn complete(&mut self, v: u32, cpu: u16, job: Job) {
        match job.kind {
            JobKind::Hog | JobKind::Event { .. } => {}
            JobKind::Sink { log, fired_at }
            | JobKind::Forward {
                msg: Msg::Periodic { log, fired_at },
                to: None,
            } => {
                if fired_at >= self.sc.warmup {
                    if let Some(l) = self.periodic.get_mut(log as usize) {
                        l.delivered.push(self.now - fired_at);
                    }
                }
            }
            JobKind::Client { pair, reply } => {
                let think = self.sc.pairs.get(pair as usize).map_or(0, |p| p.think);
                if reply.is_some() && think > 0 {
                    self.push(self.now + think, Ev::Think { v, pair });
                } else {
                    let sent_at = self.now;
                    self.route(v, cpu, Msg::Request { pair, sent_at });
                }
            }
            JobKind::Server { pair, sent_at } => {
                self.route(v, cpu, Msg::Reply { pair, sent_at });
            }
            JobKind::Forward { msg, to: Some(to) } => {
                let j = self.job_for(msg);
                self.deliver(v, cpu, to, j);
            }
            JobKind::Forward { to: None, .. } => {}
            JobKind::Periodic { fired_at } => {
                let log = self
                    .periodic_log_of
                    .get(v as usize)
                    .copied()
                    .flatten()
                    .unwrap_or(0) as u32;
                if let Some(Some((peer, driver))) = self.periodic_peer.get(v as usize).copied() {
                    let j = if driver {
                        let cost = self.driver_cost(peer);
                        Job {
                            left: cost,
                            kind: JobKind::Forward {
                                msg: Msg::Periodic { log, fired_at },
                                to: None,
                            },
                        }
                    } else {
                        self.job_for(Msg::Periodic { log, fired_at })
                    };
                    self.deliver(v, cpu, peer, j);
                }
            }
            JobKind::RingTurn { ring, member } => {
                let Some(route) = self.ring_route.get(ring as usize) else {
                    return;
                };
                let next = (member as usize + 1) % route.len().max(1);
                let Some(&to) = route.get(next) else {
                    return;
                };
                if next == 0 {
                    let now = self.now;
                    if let Some(l) = self.rings.get_mut(ring as usize) {
                        if now >= self.sc.warmup {
                            l.round_trips.push(now - l.last_at);
                        }
                        l.last_at = now;
                    }
                }
                let base = self.sc.rings.get(ring as usize).map_or(0, |r| r.work);
                let j = Job {
                    left: self.work(base),
                    kind: JobKind::RingTurn {
                        ring,
                        member: next as u32,
                    },
                };
                // A member has no work of its own queued behind the token:
                // job_done blocks it right after this notify, the
                // notify-then-block that donation rewards.
                self.deliver(v, cpu, to, j);
            }
            JobKind::StormSend => {
                let rr = self.vcpus.get(v as usize).map_or(0, |x| x.rr);
                let next = self
                    .storm_chans
                    .get(v as usize)
                    .filter(|c| !c.is_empty())
                    .map(|c| c.get(rr % c.len()).copied());
                if let Some(next) = next {
                    let ch = next.unwrap_or(0);
                    if let Some(x) = self.vcpus.get_mut(v as usize) {
                        x.rr = rr.wrapping_add(1);
                    }
                    self.send_event(v, cpu, ch);
                    let dom = self.vcpus.get(v as usize).map_or(0, |x| x.dom);
                    if let Some(Workload::Storm { send_cost, .. }) =
                        self.sc.domains.get(dom).map(|d| &d.workload)
                    {
                        let left = self.work(*send_cost);
                        if let Some(x) = self.vcpus.get_mut(v as usize) {
                            x.queue.push_front(Job {
                                left,
                                kind: JobKind::StormSend,
                            });
                        }
                    }
                }
            }
        }
    }

    fn driver_cost(&mut self, driver_vcpu: u32) -> Time {
        let dom = self.vcpus.get(driver_vcpu as usize).map_or(0, |x| x.dom);
        let base = self.sc.domains.get(dom).map_or(0, |d| d.packet_cost);
        self.work(base)
    }

    /// The work a message is for its final receiver.
    fn job_for(&mut self, msg: Msg) -> Job {
        match msg {
            Msg::Request { pair, sent_at } => {
                let base = self
                    .sc
                    .pairs
                    .get(pair as usize)
                    .map_or(0, |p| p.server_work);
                Job {
                    left: self.work(base),
                    kind: JobKind::Server { pair, sent_at },
                }
            }
            Msg::Reply { pair, sent_at } => {
                let base = self
                    .sc
                    .pairs
                    .get(pair as usize)
                    .map_or(0, |p| p.client_work);
                Job {
                    left: self.work(base),
                    kind: JobKind::Client {
                        pair,
                        reply: Some(sent_at),
                    },
                }
            }
            Msg::Periodic { log, fired_at } => Job {
                left: 0,
                kind: JobKind::Sink { log, fired_at },
            },
        }
    }

    /// Send a pair's message along its path.
    fn route(&mut self, from: u32, cpu: u16, msg: Msg) {
        let pair = match msg {
            Msg::Request { pair, .. } | Msg::Reply { pair, .. } => pair,
            Msg::Periodic { .. } => return,
        };
        let Some(&(client, server, req, rep)) = self.pair_route.get(pair as usize) else {
            return;
        };
        let (dst, hop) = match msg {
            Msg::Request { .. } => (server, req),
            _ => (client, rep),
        };
        match hop {
            None => {
                let j = self.job_for(msg);
                self.deliver(from, cpu, dst, j);
            }
            Some(h) => {
                let cost = self.driver_cost(h);
                self.deliver(
                    from,
                    cpu,
                    h,
                    Job {
                        left: cost,
                        kind: JobKind::Forward { msg, to: Some(dst) },
                    },
                );
            }
        }
    }

    /// `from` (running on `cpu`) sends an event carrying `job` to `to`.
    fn deliver(&mut self, from: u32, cpu: u16, to: u32, job: Job) {
        let job = match job.kind {
            // A periodic peer's handling cost is the sender's peer_work.
            JobKind::Sink { log, fired_at } => {
                let dom = self.vcpus.get(from as usize).map_or(0, |x| x.dom);
                let base = match self.sc.domains.get(dom).map(|d| &d.workload) {
                    Some(Workload::Periodic { peer_work, .. }) => *peer_work,
                    _ => 0,
                };
                Job {
                    left: self.work(base),
                    kind: JobKind::Sink { log, fired_at },
                }
            }
            _ => job,
        };
        let (su, du) = (self.unit(from), self.unit(to));
        self.core.notify(su, du, self.now, &mut self.sink);
        self.stats.core_calls += 1;
        if let Some(x) = self.vcpus.get_mut(to as usize) {
            x.queue.push_back(job);
        }
        self.kick(to);
        self.flush(Some(cpu));
    }

    /// An empty notification on a storm channel (coalesces while pending).
    fn send_event(&mut self, from: u32, cpu: u16, chan: u32) {
        let Some(&(to, pending)) = self.chans.get(chan as usize) else {
            return;
        };
        let (su, du) = (self.unit(from), self.unit(to));
        self.core.notify(su, du, self.now, &mut self.sink);
        self.stats.core_calls += 1;
        if !pending {
            if let Some(ch) = self.chans.get_mut(chan as usize) {
                ch.1 = true;
            }
            let left = self.work(self.sc.event_cost);
            if let Some(x) = self.vcpus.get_mut(to as usize) {
                x.queue.push_back(Job {
                    left,
                    kind: JobKind::Event { chan },
                });
            }
            self.kick(to);
        }
        self.flush(Some(cpu));
    }

    /// Xen's vcpu_kick: wake the vCPU if it is blocked.
    fn kick(&mut self, v: u32) {
        let Some(x) = self.vcpus.get_mut(v as usize) else {
            return;
        };
        if x.st == VSt::Blocked {
            x.st = VSt::Runnable;
            x.runnable_since = Some(self.now);
            let u = x.unit;
            self.core.wake(u, self.now, &mut self.sink);
            self.stats.core_calls += 1;
        }
    }

    fn timer(&mut self, v: u32) {
        let dom = self.vcpus.get(v as usize).map_or(0, |x| x.dom);
        let Some(Workload::Periodic { period, work, .. }) =
            self.sc.domains.get(dom).map(|d| d.workload.clone())
        else {
            return;
        };
        let left = self.work(work);
        if let Some(x) = self.vcpus.get_mut(v as usize) {
            x.queue.push_back(Job {
                left,
                kind: JobKind::Periodic { fired_at: self.now },
            });
        }
        self.kick(v);
        let origin = self.core.unit_cpu(self.unit(v));
        self.flush(origin);
        self.push(self.now + period, Ev::Timer { v });
    }
}
