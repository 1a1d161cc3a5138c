//! What the tool prints: `xl sched-credit`'s layout for parameters, a
//! table for counters, and the same data as JSON (`--json`).

use commaware_sched::GlobalParams;
use serde::Serialize;

/// A cpupool's pool-wide commaware parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolView {
    pub id: u32,
    pub name: String,
    #[serde(flatten)]
    pub params: GlobalParams,
}

/// A domain's commaware parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DomView {
    pub id: u16,
    pub name: String,
    pub cpupool: u32,
    pub weight: u16,
    pub cap: u16,
    pub boost: bool,
    pub donation: bool,
    pub driver: bool,
}

/// A domain's counters (times in ns, credits in credit1's units).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatsView {
    pub id: u16,
    pub name: String,
    pub cpupool: u32,
    pub weight: u16,
    pub cap: u16,
    pub run_ns: u64,
    pub wait_ns: u64,
    pub boosts: u64,
    pub boosts_refused: u64,
    pub donated_ns: u64,
    pub received_ns: u64,
    pub donations: u64,
    pub charged: i64,
    pub credit: i64,
    pub wait_max_ns: u64,
}

/// A cpupool and its domains (the listing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolListing {
    #[serde(flatten)]
    pub pool: PoolView,
    pub domains: Vec<DomView>,
}

#[derive(Serialize)]
pub struct Listing<'a> {
    pub cpupools: &'a [PoolListing],
}

#[derive(Serialize)]
pub struct Stats<'a> {
    pub domains: &'a [StatsView],
}

/// One refresh of `watch --json` (one line each).
#[derive(Serialize)]
pub struct WatchSample<'a> {
    pub iteration: u32,
    pub interval_s: u32,
    pub domains: &'a [StatsView],
}

fn onoff(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn yesno(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `xl sched-credit -s`'s line, with commaware's knobs after credit1's.
pub fn pool_line(p: &PoolView) -> String {
    let g = &p.params;
    format!(
        "Cpupool {}: tslice={}ms ratelimit={}us migration-delay={}us boost={} boost-len={}us boost-budget={}% \
         donation={} attribution={}\n",
        p.name,
        g.tslice_ms,
        g.ratelimit_us,
        g.migration_delay_us,
        onoff(g.boost),
        g.boost_us,
        g.boost_budget_pct,
        onoff(g.donation),
        onoff(g.attribution)
    )
}

/// `xl sched-credit`'s domain header (`%-33s %4s %6s %4s`), plus commaware's switches.
pub fn dom_header() -> String {
    format!(
        "{:<33} {:>4} {:>6} {:>4} {:>5} {:>8} {:>6}\n",
        "Name", "ID", "Weight", "Cap", "Boost", "Donation", "Driver"
    )
}

pub fn dom_row(d: &DomView) -> String {
    format!(
        "{:<33} {:>4} {:>6} {:>4} {:>5} {:>8} {:>6}\n",
        d.name,
        d.id,
        d.weight,
        d.cap,
        onoff(d.boost),
        onoff(d.donation),
        yesno(d.driver)
    )
}

pub fn listing(pools: &[PoolListing]) -> String {
    let mut s = String::new();
    for p in pools {
        s.push_str(&pool_line(&p.pool));
        s.push_str(&dom_header());
        for d in &p.domains {
            s.push_str(&dom_row(d));
        }
    }
    s
}

const NS_PER_MS: u64 = 1_000_000;

/// The counters table; `cpu` adds xentop's CPU(%) column (from `watch`).
pub fn stats_header(cpu: bool) -> String {
    let mut s = format!(
        "{:<20} {:>5} {:>6} {:>4} {:>10} {:>10} {:>8} {:>8} {:>11} {:>12} {:>10} {:>10} {:>11}",
        "Name",
        "ID",
        "Weight",
        "Cap",
        "Run(ms)",
        "Wait(ms)",
        "Boosts",
        "Refused",
        "Donated(ms)",
        "Received(ms)",
        "Charged",
        "Credit",
        "MaxWait(ms)"
    );
    if cpu {
        s.push_str(&format!(" {:>6}", "CPU(%)"));
    }
    s.push('\n');
    s
}

/// One row; `cpu_pct` is `Some(None)` for "no sample yet".
pub fn stats_row(v: &StatsView, cpu_pct: Option<Option<u64>>) -> String {
    let mut s = format!(
        "{:<20} {:>5} {:>6} {:>4} {:>10} {:>10} {:>8} {:>8} {:>11} {:>12} {:>10} {:>10} {:>11}",
        v.name,
        v.id,
        v.weight,
        v.cap,
        v.run_ns / NS_PER_MS,
        v.wait_ns / NS_PER_MS,
        v.boosts,
        v.boosts_refused,
        v.donated_ns / NS_PER_MS,
        v.received_ns / NS_PER_MS,
        v.charged,
        v.credit,
        v.wait_max_ns / NS_PER_MS
    );
    match cpu_pct {
        None => {}
        Some(None) => s.push_str(&format!(" {:>6}", "-")),
        Some(Some(p)) => s.push_str(&format!(" {p:>6}")),
    }
    s.push('\n');
    s
}

pub fn stats_table(rows: &[StatsView]) -> String {
    let mut s = stats_header(false);
    for r in rows {
        s.push_str(&stats_row(r, None));
    }
    s
}

/// Pretty JSON with a final newline.
pub fn json<T: Serialize + ?Sized>(v: &T) -> String {
    let mut s =
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// One-line JSON (for `watch --json`: one document per refresh).
pub fn json_line<T: Serialize + ?Sized>(v: &T) -> String {
    let mut s = serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
