//! What a run measured, in the form users read: per pair latency and
//! throughput, per ring round trips, per hog the longest time it waited
//! runnable, per domain CPU share against its entitlement, the core's
//! boost and donation counters, and the engine's own speed.
//!
//! **Entitlement** is the weighted max-min fair share of the pool
//! (`pcpus x duration`) given each domain's demand:
//! - a hog or a storm domain (always runnable) demands without limit, i.e.
//!   up to one pCPU per vCPU for the whole run;
//! - any other domain demands what it measurably used in that run
//!   (it blocks when it has nothing to do, so its use is its demand);
//! - a cap limits the demand to `cap%` of one pCPU.
//!
//! Weights are credit1's: a domain weighs `weight x vCPUs` (credit1 splits
//! each period by `weight x active vCPUs`). Water filling: every domain
//! whose demand is below its weighted share of what is left gets its
//! demand; the rest is split by weight among the others. Shares and
//! entitlements are in percent of the pool (100 = every pCPU, all run).

use commaware_accounting::credit::{Time, NS_PER_CREDIT};
use commaware_sched::GlobalParams;
use serde::Serialize;

use crate::scenario::{Scenario, Workload};
use crate::sim::{EngineStats, Outcome};

#[derive(Clone, Debug, Serialize)]
pub struct Dist {
    pub count: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub mean_us: f64,
    /// Percentage of samples above 1 ms.
    pub over_1ms_pct: f64,
}

impl Dist {
    pub fn of(v: &[Time]) -> Dist {
        let mut s = v.to_vec();
        s.sort_unstable();
        let pick = |q: f64| -> f64 {
            if s.is_empty() {
                return 0.0;
            }
            // Nearest rank.
            let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
            s.get(rank - 1).copied().unwrap_or(0) as f64 / 1000.0
        };
        let mean = if s.is_empty() {
            0.0
        } else {
            s.iter().map(|x| *x as f64).sum::<f64>() / s.len() as f64 / 1000.0
        };
        Dist {
            count: s.len(),
            p50_us: pick(0.50),
            p99_us: pick(0.99),
            p999_us: pick(0.999),
            max_us: s.last().copied().unwrap_or(0) as f64 / 1000.0,
            mean_us: mean,
            over_1ms_pct: if s.is_empty() {
                0.0
            } else {
                100.0 * s.iter().filter(|x| **x > 1_000_000).count() as f64 / s.len() as f64
            },
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct PairResult {
    pub name: String,
    pub latency: Dist,
    pub requests_per_s: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct PeriodicResult {
    pub domain: String,
    /// Timer expiry to the work starting.
    pub wake_latency: Dist,
    /// Timer expiry to the peer having handled the notification (the
    /// driver's packet processed, or the peer's work done).
    pub delivered_latency: Dist,
}

#[derive(Clone, Debug, Serialize)]
pub struct RingResult {
    pub name: String,
    pub members: Vec<String>,
    pub work_us: f64,
    /// Times the token came back to the lead after the warm-up.
    pub round_trips: usize,
    pub round_trips_per_s: f64,
    /// From one arrival of the token at the lead to the next.
    pub round_trip: Dist,
}

/// hostile.sh's starvation record for one hog domain (`cw-workload hog`'s
/// gap_max_ms and gaps_over_100ms): a gap is a time one of its vCPUs was
/// runnable but not running.
#[derive(Clone, Debug, Serialize)]
pub struct HogGapResult {
    pub domain: String,
    pub gap_max_ms: f64,
    pub gaps_over_100ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct DomResult {
    pub name: String,
    pub workload: String,
    pub weight: u16,
    pub cap: u16,
    pub vcpus: u16,
    pub run_ms: f64,
    /// Percent of the pool.
    pub share_pct: f64,
    pub entitled_pct: f64,
    /// share - entitlement, in points of the pool.
    pub delta_pts: f64,
    pub wait_ms: f64,
    pub boosts: u64,
    pub boosts_refused: u64,
    pub donations: u64,
    pub donated_ms: f64,
    pub received_ms: f64,
    /// CPU others ran that this domain paid for (donation + attribution).
    pub charged_for_others_ms: f64,
    /// What the domain was charged, % of the pool: its own running, plus
    /// what it paid for others, minus what others paid for it (donations
    /// it received; for the driver domain, the attribution refunds). `None`
    /// with more than one driver domain (the refunds cannot be told apart).
    pub charged_pct: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    pub scheduler: String,
    pub params: GlobalParams,
    pub duration_s: f64,
    pub pcpus: u16,
    pub idle_pct: f64,
    pub pairs: Vec<PairResult>,
    pub periodic: Vec<PeriodicResult>,
    pub rings: Vec<RingResult>,
    pub hog_gaps: Vec<HogGapResult>,
    pub domains: Vec<DomResult>,
    pub stats: EngineStats,
    /// Scheduling events per second of host CPU time.
    pub events_per_s: f64,
    pub core_calls_per_s: f64,
    pub invariant_violation: Option<String>,
}

fn ms(t: Time) -> f64 {
    t as f64 / 1e6
}

/// Weighted max-min fair shares of `capacity` for `(weight, demand)`.
pub fn water_fill(capacity: f64, doms: &[(f64, f64)]) -> Vec<f64> {
    let mut ent = vec![0.0; doms.len()];
    let mut open: Vec<usize> = (0..doms.len())
        .filter(|i| doms.get(*i).is_some_and(|d| d.1 > 0.0))
        .collect();
    let mut left = capacity;
    loop {
        let wsum: f64 = open.iter().filter_map(|i| doms.get(*i)).map(|d| d.0).sum();
        if open.is_empty() || wsum <= 0.0 {
            break;
        }
        let (sat, rest): (Vec<usize>, Vec<usize>) = open
            .iter()
            .partition(|i| doms.get(**i).is_some_and(|d| d.1 <= left * d.0 / wsum));
        if sat.is_empty() {
            for i in &rest {
                if let (Some(e), Some(d)) = (ent.get_mut(*i), doms.get(*i)) {
                    *e = left * d.0 / wsum;
                }
            }
            break;
        }
        for i in &sat {
            if let (Some(e), Some(d)) = (ent.get_mut(*i), doms.get(*i)) {
                *e = d.1;
                left -= d.1;
            }
        }
        open = rest;
    }
    ent
}

pub fn summarize(sc: &Scenario, o: &Outcome) -> RunResult {
    let dur = o.duration as f64;
    let pool = dur * f64::from(o.pcpus);
    let demands: Vec<(f64, f64)> = sc
        .domains
        .iter()
        .zip(o.dom_run.iter())
        .map(|(d, run)| {
            let w = f64::from(d.params.weight) * f64::from(d.vcpus);
            let mut demand = match d.workload {
                Workload::Hog | Workload::Storm { .. } => dur * f64::from(d.vcpus),
                _ => *run as f64,
            };
            if d.params.cap > 0 {
                demand = demand.min(dur * f64::from(d.params.cap) / 100.0);
            }
            (w, demand)
        })
        .collect();
    let ent = water_fill(pool, &demands);
    // Attribution refunds go to the driver domain: every credit charged for
    // others that no donation received accounts for.
    let drivers = sc.domains.iter().filter(|d| d.params.driver).count();
    let (paid, got) = o.counters.iter().fold((0i64, 0i64), |(p, g), c| {
        (p.saturating_add(c.charged_for_others.saturating_mul(NS_PER_CREDIT)), g.saturating_add(c.received_ns))
    });
    let refunds = paid.saturating_sub(got);
    let domains = sc
        .domains
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let run = o.dom_run.get(i).copied().unwrap_or(0);
            let c = o.counters.get(i).copied().unwrap_or_default();
            let share = 100.0 * run as f64 / pool;
            let entitled = 100.0 * ent.get(i).copied().unwrap_or(0.0) / pool;
            let charged_ns = run
                .saturating_add(c.charged_for_others.saturating_mul(NS_PER_CREDIT))
                .saturating_sub(c.received_ns)
                .saturating_sub(if d.params.driver { refunds } else { 0 });
            let charged_pct = (drivers <= 1).then(|| 100.0 * charged_ns as f64 / pool);
            DomResult {
                name: d.name.clone(),
                workload: match &d.workload {
                    Workload::None if d.params.driver => "driver".into(),
                    Workload::None => {
                        if sc.pairs.iter().any(|p| p.client == i) {
                            "client".into()
                        } else if sc.pairs.iter().any(|p| p.server == i) {
                            "server".into()
                        } else if sc.rings.iter().any(|r| r.members.contains(&i)) {
                            "ring".into()
                        } else {
                            "idle".into()
                        }
                    }
                    Workload::Hog => "hog".into(),
                    Workload::Periodic { .. } => "periodic".into(),
                    Workload::Storm { .. } => "storm".into(),
                },
                weight: d.params.weight,
                cap: d.params.cap,
                vcpus: d.vcpus,
                run_ms: ms(run),
                share_pct: share,
                entitled_pct: entitled,
                delta_pts: share - entitled,
                wait_ms: ms(c.wait_ns),
                boosts: c.boosts,
                boosts_refused: c.boosts_refused,
                donations: c.donations,
                donated_ms: ms(c.donated_ns),
                received_ms: ms(c.received_ns),
                charged_for_others_ms: ms(c.charged_for_others * NS_PER_CREDIT),
                charged_pct,
            }
        })
        .collect();
    let secs = dur / 1e9;
    let pairs = sc
        .pairs
        .iter()
        .zip(o.pairs.iter())
        .map(|(p, l)| PairResult {
            name: p.name.clone(),
            latency: Dist::of(&l.latencies),
            requests_per_s: l.latencies.len() as f64 / (secs - sc.warmup as f64 / 1e9),
        })
        .collect();
    let periodic = o
        .periodic
        .iter()
        .map(|l| PeriodicResult {
            domain: sc
                .domains
                .get(l.dom)
                .map_or_else(String::new, |d| d.name.clone()),
            wake_latency: Dist::of(&l.latencies),
            delivered_latency: Dist::of(&l.delivered),
        })
        .collect();
    let rings = sc
        .rings
        .iter()
        .zip(o.rings.iter())
        .map(|(r, l)| RingResult {
            name: r.name.clone(),
            members: r
                .members
                .iter()
                .map(|m| {
                    sc.domains
                        .get(*m)
                        .map_or_else(String::new, |d| d.name.clone())
                })
                .collect(),
            work_us: r.work as f64 / 1e3,
            round_trips: l.round_trips.len(),
            round_trips_per_s: l.round_trips.len() as f64 / (secs - sc.warmup as f64 / 1e9),
            round_trip: Dist::of(&l.round_trips),
        })
        .collect();
    let hog_gaps = sc
        .domains
        .iter()
        .zip(o.gaps.iter())
        .filter(|(d, _)| d.workload == Workload::Hog)
        .map(|(d, g)| HogGapResult {
            domain: d.name.clone(),
            gap_max_ms: ms(g.max),
            gaps_over_100ms: g.over_100ms,
        })
        .collect();
    let p = o.params;
    let wall = o.stats.cpu_s.max(1e-9);
    RunResult {
        scheduler: o.scheduler.clone(),
        params: p,
        duration_s: secs,
        pcpus: o.pcpus,
        idle_pct: 100.0 * o.idle as f64 / pool,
        pairs,
        periodic,
        rings,
        hog_gaps,
        domains,
        stats: o.stats.clone(),
        events_per_s: o.stats.events as f64 / wall,
        core_calls_per_s: o.stats.core_calls as f64 / wall,
        invariant_violation: o.first_violation.clone(),
    }
}

/// The rows printed for a periodic workload.
type PeriodicRow = (&'static str, &'static str, fn(&PeriodicResult) -> f64);
const PERIODIC_ROWS: [PeriodicRow; 6] = [
    ("wake", "p99", |x| x.wake_latency.p99_us),
    ("wake", "max", |x| x.wake_latency.max_us),
    ("delivered", "p50", |x| x.delivered_latency.p50_us),
    ("delivered", "p99", |x| x.delivered_latency.p99_us),
    ("delivered", "p99.9", |x| x.delivered_latency.p999_us),
    ("delivered", "max", |x| x.delivered_latency.max_us),
];

/// A labelled column of a pair's results.
type Row = (&'static str, fn(&PairResult) -> f64);

/// A labelled row of a ring's results.
type RingRow = (&'static str, fn(&RingResult) -> f64);

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a / b < 0.95 {
        format!("{:.3}x", a / b)
    } else if b > 0.0 {
        format!("{:.1}x", a / b)
    } else {
        "-".into()
    }
}

fn us(x: f64) -> String {
    if x >= 1000.0 {
        format!("{:.2} ms", x / 1000.0)
    } else {
        format!("{x:.0} us")
    }
}

/// One row of the comparison: the label, each run's value as `cell` shows
/// it, and with two runs their ratio, oriented so that above 1 means
/// better for the second run (`less_is_better`: latencies and gaps).
fn row(s: &mut String, two: bool, label: &str, vals: &[f64], cell: impl Fn(f64) -> String, less_is_better: bool) {
    use std::fmt::Write;
    let _ = write!(s, "  {label:<26}");
    for v in vals {
        let _ = write!(s, "{:>14}", cell(*v));
    }
    if two {
        let (a, b) = (vals.first().copied().unwrap_or(0.0), vals.get(1).copied().unwrap_or(0.0));
        let r = if less_is_better { ratio(a, b) } else { ratio(b, a) };
        let _ = write!(s, "{r:>10}");
    }
    let _ = writeln!(s);
}

/// The text report of one or more runs of the same scenario, side by side.
pub fn text(sc: &Scenario, runs: &[RunResult], stats: bool) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scenario {}: {} pCPUs, {} s simulated, seed {}",
        sc.name,
        sc.pcpus,
        sc.duration as f64 / 1e9,
        sc.seed
    );
    if !sc.description.is_empty() {
        let _ = writeln!(s, "  {}", sc.description);
    }
    let names: Vec<&str> = runs.iter().map(|r| r.scheduler.as_str()).collect();
    let two = runs.len() == 2;
    let mut hdr = format!("{:<28}", "");
    for n in &names {
        let _ = write!(hdr, "{n:>14}");
    }
    if two {
        let _ = write!(hdr, "{:>10}", "ratio");
    }
    for (pi, p) in sc.pairs.iter().enumerate() {
        let _ = writeln!(s, "\npair {}\n{hdr}", p.name);
        let get = |r: &RunResult| r.pairs.get(pi).cloned();
        let rows: [Row; 6] = [
            ("latency mean", |x| x.latency.mean_us),
            ("latency p50", |x| x.latency.p50_us),
            ("latency p99", |x| x.latency.p99_us),
            ("latency p99.9", |x| x.latency.p999_us),
            ("latency max", |x| x.latency.max_us),
            ("% over 1 ms", |x| x.latency.over_1ms_pct),
        ];
        for (label, f) in rows {
            let vals: Vec<f64> = runs.iter().filter_map(get).map(|x| f(&x)).collect();
            let pct = label.starts_with('%');
            row(&mut s, two, label, &vals, |v| if pct { format!("{v:.3}%") } else { us(v) }, true);
        }
        let vals: Vec<f64> = runs.iter().filter_map(get).map(|x| x.requests_per_s).collect();
        row(&mut s, two, "requests/s", &vals, |v| format!("{v:.0}"), false);
    }
    if runs.first().is_some_and(|r| !r.periodic.is_empty()) {
        let _ = writeln!(
            s,
            "\nperiodic workloads: timer -> running (wake), timer -> peer done (delivered)\n{hdr}"
        );
        let first = runs.first().map(|r| r.periodic.clone()).unwrap_or_default();
        for (i, p) in first.iter().enumerate() {
            for (what, label, pick) in PERIODIC_ROWS {
                let vals: Vec<f64> = runs.iter().filter_map(|r| r.periodic.get(i)).map(pick).collect();
                row(&mut s, two, &format!("{} {what} {label}", p.domain), &vals, us, true);
            }
        }
    }
    for (ri, g) in sc.rings.iter().enumerate() {
        let _ = writeln!(
            s,
            "\nring {} ({} members, {:.0} us per turn)\n{hdr}",
            g.name,
            g.members.len(),
            g.work as f64 / 1e3
        );
        let rows: [RingRow; 4] = [
            ("round trips/s", |x| x.round_trips_per_s),
            ("round trip p50", |x| x.round_trip.p50_us),
            ("round trip p99", |x| x.round_trip.p99_us),
            ("round trip max", |x| x.round_trip.max_us),
        ];
        for (i, (label, f)) in rows.into_iter().enumerate() {
            let vals: Vec<f64> = runs.iter().filter_map(|r| r.rings.get(ri)).map(f).collect();
            // Rounds: more is better; times: less is.
            row(&mut s, two, label, &vals, |v| if i == 0 { format!("{v:.0}") } else { us(v) }, i != 0);
        }
    }
    if runs.first().is_some_and(|r| !r.hog_gaps.is_empty()) {
        let _ = writeln!(
            s,
            "\nhogs: longest time a vCPU was runnable but not running, and gaps over 100 ms\n{hdr}"
        );
        let first = runs.first().map(|r| r.hog_gaps.clone()).unwrap_or_default();
        for (i, h) in first.iter().enumerate() {
            let vals: Vec<f64> = runs.iter().filter_map(|r| r.hog_gaps.get(i)).map(|x| x.gap_max_ms).collect();
            row(&mut s, two, &format!("{} max gap", h.domain), &vals, |v| format!("{v:.1} ms"), true);
            let _ = write!(s, "  {:<26}", format!("{} gaps > 100 ms", h.domain));
            for r in runs {
                let n = r.hog_gaps.get(i).map_or(0, |x| x.gaps_over_100ms);
                let _ = write!(s, "{n:>14}");
            }
            let _ = writeln!(s);
        }
    }
    for r in runs {
        let _ = writeln!(
            s,
            "\ndomains under {} (share and entitlement in % of the pool; idle {:.1}%)",
            r.scheduler, r.idle_pct
        );
        let _ = writeln!(
            s,
            "  {:<10}{:<9}{:>7}{:>5}{:>8}{:>9}{:>8}{:>9}{:>9}{:>9}{:>9}{:>10}{:>11}{:>11}",
            "domain",
            "kind",
            "weight",
            "cap",
            "share",
            "entitled",
            "delta",
            "charged",
            "wait ms",
            "boosts",
            "refused",
            "donations",
            "donated ms",
            "recvd ms"
        );
        for d in &r.domains {
            let _ = writeln!(
                s,
                "  {:<10}{:<9}{:>7}{:>5}{:>8.2}{:>9.2}{:>+8.2}{:>9}{:>9.0}{:>9}{:>9}{:>10}{:>11.1}{:>11.1}",
                d.name,
                d.workload,
                d.weight,
                d.cap,
                d.share_pct,
                d.entitled_pct,
                d.delta_pts,
                d.charged_pct.map_or_else(|| "-".to_string(), |c| format!("{c:.2}")),
                d.wait_ms,
                d.boosts,
                d.boosts_refused,
                d.donations,
                d.donated_ms,
                d.received_ms
            );
        }
        if let Some(v) = &r.invariant_violation {
            let _ = writeln!(s, "  INVARIANT VIOLATED: {v}");
        }
        if r.stats.anomalies > 0 {
            let _ = writeln!(s, "  ENGINE ANOMALIES: {}", r.stats.anomalies);
        }
    }
    if stats {
        let _ = writeln!(s, "\nengine");
        for r in runs {
            let _ = writeln!(
                s,
                "  {:<10} {} events, {} core calls, {} schedules, {} switches in {:.3} s CPU ({:.3} s wall): {:.2} M events/s, {:.2} M core calls/s",
                r.scheduler,
                r.stats.events,
                r.stats.core_calls,
                r.stats.schedules,
                r.stats.switches,
                r.stats.cpu_s,
                r.stats.wall_s,
                r.events_per_s / 1e6,
                r.core_calls_per_s / 1e6
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn water_fill_gives_small_demands_theirs_and_splits_the_rest() {
        // 2 units of capacity; one light domain (0.2) and two unlimited.
        let e = water_fill(2.0, &[(1.0, 0.2), (1.0, 10.0), (1.0, 10.0)]);
        assert!((e[0] - 0.2).abs() < 1e-9);
        assert!((e[1] - 0.9).abs() < 1e-9 && (e[2] - 0.9).abs() < 1e-9);
        // Weights: 2:1 among the unlimited.
        let e = water_fill(3.0, &[(2.0, 10.0), (1.0, 10.0)]);
        assert!((e[0] - 2.0).abs() < 1e-9 && (e[1] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<Time> = (1..=100).map(|x| x * 1000).collect();
        let d = Dist::of(&v);
        assert_eq!((d.p50_us, d.p99_us, d.max_us), (50.0, 99.0, 100.0));
    }
}
