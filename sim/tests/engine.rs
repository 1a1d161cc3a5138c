//! The engine's own guarantees, checked on the real core in simulated time
//! (never on host timings): determinism, conservation of CPU time, the
//! core's invariants after every event, and the known credit1 problem.

use commaware_accounting::credit::{Time, NS_PER_MS};
use commaware_sched::GlobalParams;
use commaware_sim::report::summarize;
use commaware_sim::scenario::{load, Scenario};
use commaware_sim::sim::Sim;
use commaware_sim::{run_raw, Which};

fn scenario(name: &str, duration_ms: i64) -> Scenario {
    let p = format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let mut sc = load(&p).unwrap();
    sc.duration = duration_ms * NS_PER_MS;
    sc.warmup = sc.warmup.min(sc.duration / 4);
    sc
}

const ALL: [&str; 7] = [
    "jboss-db",
    "jboss-db-nohogs",
    "jboss-db-storm",
    "vchan-hogs",
    "periodic-hogs",
    "caps",
    "ring-hogs",
];

#[test]
fn same_seed_same_run() {
    for w in [Which::Credit, Which::Commaware] {
        let sc = scenario("jboss-db-storm", 500);
        let a = run_raw(&sc, w, false).unwrap();
        let b = run_raw(&sc, w, false).unwrap();
        assert_eq!(a.pairs[0].latencies, b.pairs[0].latencies);
        assert_eq!(a.dom_run, b.dom_run);
        assert_eq!(a.core_ledger, b.core_ledger);
        assert_eq!(a.stats.events, b.stats.events);
        assert_eq!(a.counters, b.counters);
        assert_eq!(a.gaps, b.gaps);
    }
}

#[test]
fn another_seed_another_run() {
    let mut sc = scenario("jboss-db", 500);
    let a = run_raw(&sc, Which::Commaware, false).unwrap();
    sc.seed += 1;
    let b = run_raw(&sc, Which::Commaware, false).unwrap();
    assert_ne!(a.pairs[0].latencies, b.pairs[0].latencies);
}

#[test]
fn cpu_time_is_conserved() {
    for name in ALL {
        for w in [Which::Credit, Which::Commaware] {
            let sc = scenario(name, 700);
            let o = run_raw(&sc, w, false).unwrap();
            let given: Time = o.dom_run.iter().sum();
            let pool = Time::from(sc.pcpus) * sc.duration;
            assert_eq!(
                given + o.idle,
                pool,
                "{name} under {}: run {given} + idle {} != {pool}",
                w.name(),
                o.idle
            );
            // The core counted the same running time, except what each pCPU
            // ran since its last charge (at most a slice per pCPU).
            let core_run: Time = o.counters.iter().map(|c| c.run_ns).sum();
            assert!(
                core_run <= given,
                "{name}: core counted {core_run} > engine {given}"
            );
            let slack = Time::from(sc.pcpus) * sc.params.tslice();
            assert!(
                given - core_run <= slack,
                "{name}: core {core_run} vs engine {given}"
            );
            assert_eq!(
                o.core_ledger.0, core_run,
                "{name}: ledger and per-domain counters agree"
            );
            assert_eq!(o.stats.anomalies, 0, "{name} under {}", w.name());
        }
    }
}

#[test]
fn the_core_keeps_its_invariants_after_every_event() {
    for name in ALL {
        for w in [Which::Credit, Which::Commaware] {
            let sc = scenario(name, 150);
            let o = run_raw(&sc, w, true).unwrap();
            assert_eq!(o.first_violation, None, "{name} under {}", w.name());
            assert_eq!(o.stats.anomalies, 0);
        }
    }
}

#[test]
fn a_pair_alone_gets_its_service_time() {
    // No competition: latency is the CPU on the path (20 + 200 + 20 us,
    // +-10% jitter), under both schedulers.
    for w in [Which::Credit, Which::Commaware] {
        let sc = scenario("jboss-db-nohogs", 2000);
        let r = summarize(&sc, &run_raw(&sc, w, false).unwrap());
        let l = &r.pairs[0].latency;
        assert!(l.p50_us > 200.0 && l.p50_us < 280.0, "{}: {l:?}", w.name());
        assert!(l.max_us < 300.0, "{}: {l:?}", w.name());
    }
}

#[test]
fn credit1_shows_its_known_problem_under_hogs() {
    // The same pair with four hogs: under stock credit1 some requests wait
    // behind hogs for whole 30 ms slices (the pair's server is OVER when its
    // peer's event arrives), so the tail is in the tens of milliseconds and
    // throughput drops, although the median is unchanged.
    let sc = scenario("jboss-db", 10_000);
    let r = summarize(&sc, &run_raw(&sc, Which::Credit, false).unwrap());
    let l = &r.pairs[0].latency;
    assert!(l.max_us > 10_000.0, "credit1 max latency {l:?}");
    assert!(l.p999_us > 1_000.0, "credit1 p99.9 {l:?}");
    let alone = scenario("jboss-db-nohogs", 10_000);
    let a = summarize(&alone, &run_raw(&alone, Which::Credit, false).unwrap());
    assert!(r.pairs[0].requests_per_s < 0.8 * a.pairs[0].requests_per_s);
    // And the hogs share what is left fairly.
    for d in r.domains.iter().filter(|d| d.workload == "hog") {
        assert!(d.delta_pts.abs() < 2.0, "{d:?}");
    }
}

#[test]
fn credit1_run_counts_no_commaware_activity() {
    let sc = scenario("jboss-db-storm", 500);
    let o = run_raw(&sc, Which::Credit, false).unwrap();
    for c in &o.counters {
        assert_eq!(
            (c.boosts, c.donations, c.donated_ns, c.received_ns),
            (0, 0, 0, 0)
        );
    }
}

/// A periodic I/O guest below its fair share (30% of a pCPU, 3 hogs on 2
/// pCPUs) sends a packet to dom0 at the end of each burst. When it still
/// has queued work, dom0's communication boost preempts it (the sender is
/// not "communication-bound": its priority is credit1's wake BOOST, or
/// UNDER after a tick), and the sender goes to the back of UNDER behind a
/// hog that then runs a full 30 ms slice. With `boost = false` the same run
/// matched credit1 (p99 1.6 ms); with boost on, p99 was ~47 ms. Fixed in
/// the core: a boost does not preempt (or override the ratelimit of) the
/// unit whose event it came from.
#[test]
fn communication_boost_does_not_make_a_periodic_sender_wait_behind_hogs() {
    let p = format!(
        "{}/../scenarios/periodic-hogs.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut sc = load(&p).unwrap();
    sc.duration = 10_000 * NS_PER_MS;
    let credit = summarize(&sc, &run_raw(&sc, Which::Credit, false).unwrap());
    let cw = summarize(&sc, &run_raw(&sc, Which::Commaware, false).unwrap());
    let (c, w) = (
        credit.periodic[0].delivered_latency.p99_us,
        cw.periodic[0].delivered_latency.p99_us,
    );
    assert!(w <= 2.0 * c, "commaware p99 {w} us vs credit1 {c} us");
}

/// A paced pair (20 ms think time) whose work per request (1.4 / 1.6 ms)
/// is longer than one communication boost, beside 2 hogs. The receiver
/// wakes UNDER: credit1's wake BOOST and a communication boost. A tick
/// during the boost demotes it to UNDER; when the boost ran out the core
/// used to reschedule, and the receiver went behind the UNDER hog it had
/// preempted, for a whole slice: p99 20.8 ms against credit1's 1.76 ms.
/// Fixed in the core: when a boost runs out, the unit keeps the pCPU to the
/// end of its slice unless something of higher priority waits.
#[test]
fn a_boost_running_out_does_not_put_a_paced_receiver_behind_a_hog() {
    let sc = scenario("paced-hogs", 20_000);
    let credit = summarize(&sc, &run_raw(&sc, Which::Credit, false).unwrap());
    let cw = summarize(&sc, &run_raw(&sc, Which::Commaware, false).unwrap());
    let (c, w) = (credit.pairs[0].latency.p99_us, cw.pairs[0].latency.p99_us);
    assert!(w <= 1.1 * c, "commaware p99 {w} us vs credit1 {c} us");
}

/// A guest storming a sink guest that costs 400 us per event (as booted
/// under TCG), beside a paced pair and 2 hogs. The sink wakes at every
/// event with credit1's wake boost (and a communication boost while its
/// share lasts) and preempts the pair's server or client mid-request;
/// credit1 queues the preempted unit behind the hogs, and the sink, demoted
/// by a tick, holds the pCPU to the end of its slice. At 3f71746: p99 3.52
/// ms and p99.9 40.7 ms against credit1's 1.76 and 31.7 ms. A unit
/// preempted while serving keeps its place and gets the pCPU back when the
/// preemptor's boost ends (`pick.rs`): p99.9 10.6 ms.
#[test]
fn a_sink_under_a_storm_does_not_push_the_pair_behind_the_hogs() {
    let sc = scenario("paced-storm-heavy", 120_000);
    let credit = summarize(&sc, &run_raw(&sc, Which::Credit, false).unwrap());
    let cw = summarize(&sc, &run_raw(&sc, Which::Commaware, false).unwrap());
    let (c, w) = (&credit.pairs[0].latency, &cw.pairs[0].latency);
    assert!(w.p99_us <= 1.3 * c.p99_us, "commaware p99 {} us vs credit1 {} us", w.p99_us, c.p99_us);
    assert!(w.p999_us <= 0.5 * c.p999_us, "commaware p99.9 {} us vs credit1 {} us", w.p999_us, c.p999_us);
}

/// A guest storming a dom0 event sink: attribution charges dom0's work for
/// it to the guest, and the report's `charged` column shows it there. The
/// attacker is charged what it ran plus what dom0 ran for it; dom0, whose
/// every event came from the attacker, is charged next to nothing.
#[test]
fn dom0s_work_for_a_storming_guest_is_charged_to_the_guest() {
    let sc = scenario("storm-dom0", 5_000);
    let r = summarize(&sc, &run_raw(&sc, Which::Commaware, false).unwrap());
    let dom = |n: &str| r.domains.iter().find(|d| d.name == n).unwrap();
    let (dom0, atk) = (dom("dom0"), dom("atk"));
    let (c0, ca) = (dom0.charged_pct.unwrap(), atk.charged_pct.unwrap());
    assert!(dom0.share_pct > 1.0, "dom0 worked for the storm: {dom0:?}");
    assert!(c0 < 0.1, "dom0 charged for its own running only: {dom0:?}");
    let moved = ca - atk.share_pct;
    assert!(
        (moved - (dom0.share_pct - c0)).abs() < 0.1,
        "the attacker pays dom0's work: {atk:?} {dom0:?}"
    );
}

/// The same storm, the bound: what the attacker costs the host (its own
/// running plus dom0's for it) stays within the 3 points of its
/// entitlement. Without attribution debt (`commaware-accounting`'s `debt`)
/// credit1's floor forgave dom0's work for a guest already at minus one
/// slice: charged 23.9% against 19.4% (+4.5) at 63ffc46.
#[test]
fn a_storming_guest_pays_for_dom0s_work_within_its_share() {
    let sc = scenario("storm-dom0", 20_000);
    let r = summarize(&sc, &run_raw(&sc, Which::Commaware, false).unwrap());
    let atk = r.domains.iter().find(|d| d.name == "atk").unwrap();
    let over = atk.charged_pct.unwrap() - atk.entitled_pct;
    assert!(over <= 3.0, "the attacker charged {over:+.2} points over its entitlement: {atk:?}");
}

#[test]
fn affinity_is_honoured_by_the_core() {
    // Everything pinned to pCPU 1: pCPU 0 idles for the whole run.
    let mut sc = scenario("vchan-hogs", 300);
    for d in sc.domains.iter_mut() {
        d.cpus = Some(vec![1]);
    }
    let o = run_raw(&sc, Which::Commaware, true).unwrap();
    assert_eq!(o.first_violation, None);
    assert_eq!(o.idle, sc.duration, "pCPU 0 idle throughout, pCPU 1 never");
}

/// No runnable domain starves: caps.toml (a pair through dom0 whose
/// sequential demand is a whole pCPU, four hogs). At 7c15447 the pair's
/// hops ran back to back on one pCPU, each blocking vCPU donating to the
/// next whatever its credit, and a hog queued there got 0% for the whole
/// run (credit1: ~13%). Fixed at e0667ab (donations bounded by the donor
/// domain's fair share).
#[test]
fn no_runnable_domain_starves_under_commaware() {
    let p = format!("{}/../scenarios/caps.toml", env!("CARGO_MANIFEST_DIR"));
    let mut sc = load(&p).unwrap();
    sc.duration = 2_000 * NS_PER_MS;
    sc.warmup = 0;
    let r = summarize(&sc, &run_raw(&sc, Which::Commaware, false).unwrap());
    for d in r.domains.iter().filter(|d| d.workload == "hog") {
        assert!(
            d.share_pct > d.entitled_pct / 2.0,
            "{} got {:.2}% of the pool, entitled to {:.2}%",
            d.name,
            d.share_pct,
            d.entitled_pct
        );
    }
}

/// The jboss-db target: every hog within 2 points of its entitlement under
/// commaware. At 7c15447 the db got 29% of the pool against 16% and each
/// hog lost 3.4 points (donated time was charged to donors whose debt is
/// forgiven every period, and donating was bounded by nothing); at e0667ab
/// the hogs are within 1.5 points.
#[test]
fn hogs_keep_their_share_within_two_points() {
    let src = std::fs::read_to_string(format!(
        "{}/../scenarios/jboss-db.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut sc = commaware_sim::scenario::parse(&src).unwrap();
    sc.duration = 5_000 * NS_PER_MS;
    sc.warmup = 0;
    let r = summarize(&sc, &run_raw(&sc, Which::Commaware, false).unwrap());
    for d in r.domains.iter().filter(|d| d.workload == "hog") {
        assert!(
            d.delta_pts.abs() <= 2.0,
            "{} share {:.2}% vs entitled {:.2}%",
            d.name,
            d.share_pct,
            d.entitled_pct
        );
    }
}

/// `n` hogs pinned to pCPU 0 of a 1-pCPU machine, nothing else.
fn hogs_on_one_pcpu(n: usize, duration_ms: i64) -> Scenario {
    let mut src = format!("pcpus = 1\nduration_ms = {duration_ms}\n");
    for i in 0..n {
        src += &format!("\n[[domain]]\nname = \"hog{i}\"\nworkload = {{ kind = \"hog\" }}\n");
    }
    commaware_sim::scenario::parse(&src).unwrap()
}

/// The starvation metric on cases worked out by hand, under credit1 (hogs
/// send no events, so nothing of commaware's is involved). A hog alone
/// never waits. Two hogs on one pCPU take turns of one slice: each waits
/// 30 ms at a time, never over 100 ms. With 150 ms slices every wait is
/// over 100 ms: in 3 s, 20 slices, each hog waits during 10 of them (the
/// last one still open at the end of the run).
#[test]
fn hog_gaps_are_the_slices_the_other_hogs_run() {
    let gaps = |n: usize, tslice_ms: u32| {
        let sc = hogs_on_one_pcpu(n, 3_000);
        let params = GlobalParams {
            tslice_ms,
            ..GlobalParams::CREDIT1
        };
        let o = Sim::new(&sc, params, "credit").unwrap().run("credit");
        summarize(&sc, &o).hog_gaps
    };
    let alone = gaps(1, 30);
    assert_eq!(alone.len(), 1);
    assert_eq!(
        (alone[0].gap_max_ms, alone[0].gaps_over_100ms),
        (0.0, 0),
        "{alone:?}"
    );
    let two = gaps(2, 30);
    assert_eq!(two.len(), 2);
    for h in two {
        assert!((h.gap_max_ms - 30.0).abs() < 0.1, "{h:?}");
        assert_eq!(h.gaps_over_100ms, 0, "{h:?}");
    }
    for h in gaps(2, 150) {
        assert!((h.gap_max_ms - 150.0).abs() < 0.1, "{h:?}");
        assert_eq!(h.gaps_over_100ms, 10, "{h:?}");
    }
}

/// A hog that never runs again is starved until the end of the run, and
/// that shows: the gap still open at the end counts.
#[test]
fn a_gap_still_open_at_the_end_counts() {
    // Two hogs on one pCPU for less than a slice: the second waits all run.
    let sc = hogs_on_one_pcpu(2, 20);
    let r = summarize(&sc, &run_raw(&sc, Which::Credit, false).unwrap());
    let worst = r.hog_gaps.iter().map(|h| h.gap_max_ms).fold(0.0, f64::max);
    assert!((worst - 20.0).abs() < 1e-6, "{:?}", r.hog_gaps);
}

/// hostile.sh's evring rings beside 2 hogs: both tokens go round under
/// both schedulers, and every member takes its turns (each member's CPU is
/// one turn per round of its ring).
#[test]
fn rings_turn_under_both_schedulers() {
    for w in [Which::Credit, Which::Commaware] {
        let sc = scenario("ring-hogs", 3_000);
        let r = summarize(&sc, &run_raw(&sc, w, false).unwrap());
        assert_eq!(r.rings.len(), 2);
        for g in &r.rings {
            assert!(
                g.round_trips > 0 && g.round_trips_per_s > 0.0,
                "{} {g:?}",
                w.name()
            );
            // A round is at least one turn (300 us +-10%) per member.
            let least = 0.9 * g.work_us * g.members.len() as f64;
            assert!(g.round_trip.p50_us >= least, "{} {g:?}", w.name());
            for m in &g.members {
                let d = r.domains.iter().find(|d| &d.name == m).unwrap();
                assert_eq!(d.workload, "ring");
                assert!(d.share_pct > 0.0, "{} {d:?}", w.name());
            }
        }
    }
}
