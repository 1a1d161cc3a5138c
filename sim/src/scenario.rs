//! Scenario files: what a user writes to describe a machine and its load.
//!
//! A scenario is a TOML file (see `scenarios/` for complete examples):
//!
//! ```toml
//! name = "jboss-db"
//! pcpus = 2
//! duration_s = 60          # or duration_ms
//! seed = 1
//! ipi_latency_us = 2       # tickle -> remote do_schedule (default 2)
//! event_cost_us = 2        # guest CPU to handle an empty notification (default 2)
//! jitter_pct = 10          # +- spread of every work time (default 10)
//! warmup_ms = 1000         # latencies of requests sent before this are not counted (default 0)
//!
//! [scheduler]              # commaware's global knobs (GlobalParams); omitted = defaults
//! tslice_ms = 30
//! boost_us = 500
//!
//! [[domain]]
//! name = "dom0"
//! vcpus = 2
//! driver = true            # a driver domain (netback): pairs may route through it
//! packet_cost_us = 20      # its CPU per packet forwarded (default 20)
//! cpus = [0]               # hard affinity of its vCPUs (default: any pCPU)
//!
//! [[domain]]
//! name = "hog1"
//! workload = { kind = "hog" }
//!
//! [[pair]]
//! client = "app"
//! server = "db"
//! path = "dom0"            # or "direct" (a shared ring + event channel)
//! client_work_us = 100
//! server_work_us = 200
//! think_us = 0            # client's sleep after each reply (0 = closed loop)
//!
//! [[ring]]                 # hostile.sh's evring: one token passed round
//! members = ["a1", "a2"]   # 2 or more domains with no workload, in ring order
//! work_us = 300            # each member's CPU per turn (default 300)
//! ```
//!
//! Every error names the line it is about. Unknown keys are refused.
//! Scheduler and domain knobs are checked by `commaware_sched::params`
//! (the same code the hypervisor's hypercalls use); this module never
//! re-states their ranges.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use commaware_accounting::credit::{Time, NS_PER_MS, NS_PER_US};
use commaware_sched::params::{DomParams, GlobalParams, Knob, ParamError, WEIGHT_MAX, WEIGHT_MIN};
use commaware_sched::{MAX_DOMAINS, MAX_PCPUS, MAX_UNITS};
use serde::Deserialize;
use toml::Spanned;

/// A scenario, validated: every reference resolved, every knob in range.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub pcpus: u16,
    pub duration: Time,
    pub seed: u64,
    pub ipi_latency: Time,
    pub event_cost: Time,
    pub jitter_pct: u32,
    /// Latencies of requests sent (timers fired) before this are not counted.
    pub warmup: Time,
    /// commaware's knobs (the `[scheduler]` table over `GlobalParams::DEFAULT`).
    pub params: GlobalParams,
    pub domains: Vec<DomainSpec>,
    pub pairs: Vec<PairSpec>,
    pub rings: Vec<RingSpec>,
}

#[derive(Clone, Debug)]
pub struct DomainSpec {
    pub name: String,
    pub vcpus: u16,
    pub params: DomParams,
    /// CPU a driver domain spends per packet it forwards.
    pub packet_cost: Time,
    /// Hard affinity of every vCPU (`cpus = [..]`); `None` = any pCPU.
    pub cpus: Option<Vec<u16>>,
    pub workload: Workload,
}

/// What a domain's vCPUs do on their own (pair traffic comes on top).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Nothing: the domain only answers events (pair endpoints, drivers).
    None,
    /// Every vCPU always wants the CPU.
    Hog,
    /// vCPU 0 wakes every `period`, works `work`, then notifies `peer`
    /// (a driver: one packet; another domain: it works `peer_work`).
    Periodic {
        period: Time,
        work: Time,
        peer: Option<usize>,
        peer_work: Time,
    },
    /// vCPU 0 sends empty notifications round robin to `targets` as fast as
    /// it can, spending `send_cost` per send; it never blocks.
    Storm {
        send_cost: Time,
        targets: Vec<usize>,
    },
}

/// How a pair's messages travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// Shared ring + event channel between the two guests.
    Direct,
    /// Through a driver domain: guest -> driver -> guest, one packet per hop.
    Via(usize),
}

#[derive(Clone, Debug)]
pub struct PairSpec {
    pub name: String,
    pub client: usize,
    pub server: usize,
    pub path: Path,
    pub client_work: Time,
    pub server_work: Time,
    /// The client sleeps this long after each reply before its next
    /// request (`cw-workload client --think-us`); 0 = closed loop.
    pub think: Time,
}

/// `cw-workload evring` (hostile.sh's donation abuse): one token goes round
/// the members in order; a member woken by it works `work`, notifies the
/// next member (an interdomain event, as a direct pair's message) and
/// blocks at once, the notify-then-block that credit donation rewards.
/// vCPU 0 of each member takes part.
#[derive(Clone, Debug)]
pub struct RingSpec {
    pub name: String,
    pub members: Vec<usize>,
    pub work: Time,
}

impl Scenario {
    pub fn domain_index(&self, name: &str) -> Option<usize> {
        self.domains.iter().position(|d| d.name == name)
    }
}

/// A scenario that cannot be used, and where the problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file, when known.
    pub file: Option<String>,
    /// 1-based line and column.
    pub line: Option<usize>,
    pub col: Option<usize>,
    pub msg: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.as_deref().unwrap_or("<scenario>");
        match (self.line, self.col) {
            (Some(l), Some(c)) => write!(f, "{file}:{l}:{c}: {}", self.msg),
            (Some(l), None) => write!(f, "{file}:{l}: {}", self.msg),
            _ => write!(f, "{file}: {}", self.msg),
        }
    }
}

impl std::error::Error for ScenarioError {}

/// Turns byte offsets into lines and columns.
/// Domain `idx` (named by `n`), which as one of `role` must run nothing of
/// its own: no workload, not a driver domain.
fn bare<'d>(
    domains: &'d [DomainSpec],
    lines: &Lines<'_>,
    idx: usize,
    n: &Spanned<String>,
    role: &str,
) -> Result<&'d DomainSpec, ScenarioError> {
    let dom = domains
        .get(idx)
        .ok_or_else(|| lines.err(Some(n.span()), "internal: bad index"))?;
    if dom.workload != Workload::None || dom.params.driver {
        return Err(lines.err(
            Some(n.span()),
            format!("domain {:?} runs a workload or is a driver; {role} must have none", dom.name),
        ));
    }
    Ok(dom)
}

struct Lines<'a> {
    src: &'a str,
}

impl Lines<'_> {
    fn at(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src.len());
        let before = self.src.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
        (line, col)
    }

    fn err(&self, span: Option<Range<usize>>, msg: impl Into<String>) -> ScenarioError {
        let (line, col) = match span {
            Some(s) => {
                let (l, c) = self.at(s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ScenarioError {
            file: None,
            line,
            col,
            msg: msg.into(),
        }
    }
}

// ---- the file as written ------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    description: Option<String>,
    pcpus: Spanned<i64>,
    duration_s: Option<Spanned<i64>>,
    duration_ms: Option<Spanned<i64>>,
    seed: Option<Spanned<i64>>,
    ipi_latency_us: Option<Spanned<i64>>,
    event_cost_us: Option<Spanned<i64>>,
    jitter_pct: Option<Spanned<i64>>,
    warmup_ms: Option<Spanned<i64>>,
    scheduler: Option<Spanned<RawSched>>,
    #[serde(default)]
    domain: Vec<Spanned<RawDomain>>,
    #[serde(default)]
    pair: Vec<Spanned<RawPair>>,
    #[serde(default)]
    ring: Vec<Spanned<RawRing>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSched {
    tslice_ms: Option<Spanned<i64>>,
    ratelimit_us: Option<Spanned<i64>>,
    migration_delay_us: Option<Spanned<i64>>,
    boost: Option<bool>,
    boost_us: Option<Spanned<i64>>,
    boost_budget_pct: Option<Spanned<i64>>,
    donation: Option<bool>,
    attribution: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomain {
    name: Spanned<String>,
    vcpus: Option<Spanned<i64>>,
    weight: Option<Spanned<i64>>,
    cap: Option<Spanned<i64>>,
    boost: Option<bool>,
    donation: Option<bool>,
    driver: Option<Spanned<bool>>,
    packet_cost_us: Option<Spanned<i64>>,
    cpus: Option<Spanned<Vec<Spanned<i64>>>>,
    workload: Option<Spanned<RawWorkload>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
    kind: Spanned<String>,
    period_us: Option<Spanned<i64>>,
    work_us: Option<Spanned<i64>>,
    peer: Option<Spanned<String>>,
    peer_work_us: Option<Spanned<i64>>,
    send_cost_us: Option<Spanned<i64>>,
    targets: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPair {
    name: Option<String>,
    client: Spanned<String>,
    server: Spanned<String>,
    path: Option<Spanned<String>>,
    client_work_us: Option<Spanned<i64>>,
    server_work_us: Option<Spanned<i64>>,
    think_us: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRing {
    name: Option<String>,
    members: Spanned<Vec<Spanned<String>>>,
    work_us: Option<Spanned<i64>>,
}

// ---- parsing and validation ---------------------------------------------

/// Override one `[scheduler]` knob from `name=value` (the command line's
/// `--set`). The caller validates the result with `GlobalParams::validate`.
pub fn set_knob(p: &mut GlobalParams, kv: &str) -> Result<(), String> {
    let (k, v) = kv.split_once('=').ok_or("expected KNOB=VALUE")?;
    let (k, v) = (k.trim(), v.trim());
    let num = || {
        v.parse::<u32>()
            .map_err(|e| format!("{k}: {v:?} is not a number ({e})"))
    };
    let flag = || {
        v.parse::<bool>()
            .map_err(|_| format!("{k}: {v:?} is neither true nor false"))
    };
    match k {
        "tslice_ms" => p.tslice_ms = num()?,
        "ratelimit_us" => p.ratelimit_us = num()?,
        "migration_delay_us" => p.migration_delay_us = num()?,
        "boost_us" => p.boost_us = num()?,
        "boost_budget_pct" => p.boost_budget_pct = num()?,
        "boost" => p.boost = flag()?,
        "donation" => p.donation = flag()?,
        "attribution" => p.attribution = flag()?,
        _ => {
            return Err(format!(
                "unknown knob {k:?} (tslice_ms, ratelimit_us, migration_delay_us, boost, boost_us, \
                 boost_budget_pct, donation, attribution)"
            ))
        }
    }
    Ok(())
}

/// Parse and validate a scenario read from `file` (used in messages).
pub fn load(path: &str) -> Result<Scenario, ScenarioError> {
    let src = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: Some(path.to_string()),
        line: None,
        col: None,
        msg: format!("cannot read the scenario: {e}"),
    })?;
    parse(&src).map_err(|mut e| {
        e.file = Some(path.to_string());
        e
    })
}

/// Parse and validate a scenario from its text.
pub fn parse(src: &str) -> Result<Scenario, ScenarioError> {
    let lines = Lines { src };
    let raw: RawScenario = toml::from_str(src).map_err(|e| {
        let msg = e.message().trim_end().to_string();
        lines.err(e.span(), msg)
    })?;
    build(raw, &lines)
}

/// An integer field in `lo..=hi`.
fn int(lines: &Lines, v: &Spanned<i64>, key: &str, lo: i64, hi: i64) -> Result<i64, ScenarioError> {
    let x = *v.get_ref();
    if x < lo || x > hi {
        return Err(lines.err(
            Some(v.span()),
            format!("{key} = {x} is out of range {lo}..={hi}"),
        ));
    }
    Ok(x)
}

fn opt_int(
    lines: &Lines,
    v: &Option<Spanned<i64>>,
    key: &str,
    lo: i64,
    hi: i64,
    default: i64,
) -> Result<i64, ScenarioError> {
    match v {
        Some(v) => int(lines, v, key, lo, hi),
        None => Ok(default),
    }
}

/// A u32 knob handed to the core's validation as is (out-of-u32 values
/// are reported as out of range by the caller's ParamError mapping).
fn knob_u32(lines: &Lines, v: &Spanned<i64>, key: &str) -> Result<u32, ScenarioError> {
    u32::try_from(*v.get_ref()).map_err(|_| {
        lines.err(
            Some(v.span()),
            format!("{key} = {} is not a 32-bit unsigned value", v.get_ref()),
        )
    })
}

fn param_msg(e: &ParamError) -> String {
    format!(
        "{} = {} is out of range {}..={}",
        e.knob.name(),
        e.got,
        e.min,
        e.max
    )
}

const US_MAX: i64 = 3_600_000_000; // an hour, in µs: far beyond any sane work time

fn build(raw: RawScenario, lines: &Lines) -> Result<Scenario, ScenarioError> {
    let pcpus = int(lines, &raw.pcpus, "pcpus", 1, MAX_PCPUS as i64)? as u16;
    let duration = match (&raw.duration_s, &raw.duration_ms) {
        (Some(_), Some(ms)) => {
            return Err(lines.err(
                Some(ms.span()),
                "give either duration_s or duration_ms, not both",
            ));
        }
        (Some(s), None) => int(lines, s, "duration_s", 1, 86_400)? * 1_000 * NS_PER_MS,
        (None, Some(ms)) => int(lines, ms, "duration_ms", 1, 86_400_000)? * NS_PER_MS,
        (None, None) => return Err(lines.err(Some(0..0), "missing duration_s (or duration_ms)")),
    };
    let seed = match &raw.seed {
        Some(s) => int(lines, s, "seed", 0, i64::MAX)? as u64,
        None => 1,
    };
    let ipi_latency =
        opt_int(lines, &raw.ipi_latency_us, "ipi_latency_us", 0, 10_000, 2)? * NS_PER_US;
    let event_cost = opt_int(lines, &raw.event_cost_us, "event_cost_us", 0, 10_000, 2)? * NS_PER_US;
    let jitter_pct = opt_int(lines, &raw.jitter_pct, "jitter_pct", 0, 90, 10)? as u32;
    let warmup = opt_int(lines, &raw.warmup_ms, "warmup_ms", 0, 86_400_000, 0)? * NS_PER_MS;
    if warmup >= duration {
        let span = raw.warmup_ms.as_ref().map(|w| w.span());
        return Err(lines.err(span, "warmup_ms must be shorter than the duration"));
    }

    // [scheduler]: over the defaults, validated by the core's own rules.
    let mut params = GlobalParams::DEFAULT;
    let mut knob_spans: HashMap<&'static str, Range<usize>> = HashMap::new();
    let sched_span = raw.scheduler.as_ref().map(|s| s.span());
    if let Some(s) = &raw.scheduler {
        let s = s.get_ref();
        let mut set =
            |v: &Option<Spanned<i64>>, knob: Knob, dst: &mut u32| -> Result<(), ScenarioError> {
                if let Some(v) = v {
                    *dst = knob_u32(lines, v, knob.name())?;
                    knob_spans.insert(knob.name(), v.span());
                }
                Ok(())
            };
        set(&s.tslice_ms, Knob::TsliceMs, &mut params.tslice_ms)?;
        set(&s.ratelimit_us, Knob::RatelimitUs, &mut params.ratelimit_us)?;
        set(
            &s.migration_delay_us,
            Knob::MigrationDelayUs,
            &mut params.migration_delay_us,
        )?;
        set(&s.boost_us, Knob::BoostUs, &mut params.boost_us)?;
        set(
            &s.boost_budget_pct,
            Knob::BoostBudgetPct,
            &mut params.boost_budget_pct,
        )?;
        if let Some(b) = s.boost {
            params.boost = b;
        }
        if let Some(b) = s.donation {
            params.donation = b;
        }
        if let Some(b) = s.attribution {
            params.attribution = b;
        }
    }
    if let Err(e) = params.validate() {
        let span = knob_spans.get(e.knob.name()).cloned().or(sched_span);
        return Err(lines.err(span, format!("[scheduler] {}", param_msg(&e))));
    }

    // Domains: names first, so that references can be resolved.
    if raw.domain.is_empty() {
        return Err(lines.err(
            Some(0..0),
            "no [[domain]]: a scenario needs at least one domain",
        ));
    }
    if raw.domain.len() > MAX_DOMAINS {
        let span = raw.domain.get(MAX_DOMAINS).map(|d| d.span());
        return Err(lines.err(span, format!("too many domains: at most {MAX_DOMAINS}")));
    }
    let mut names: HashMap<String, usize> = HashMap::new();
    for (i, d) in raw.domain.iter().enumerate() {
        let n = &d.get_ref().name;
        if n.get_ref().is_empty() || n.get_ref() == "direct" {
            return Err(lines.err(
                Some(n.span()),
                format!("domain name {:?} is reserved or empty", n.get_ref()),
            ));
        }
        if names.insert(n.get_ref().clone(), i).is_some() {
            return Err(lines.err(
                Some(n.span()),
                format!("domain {:?} is defined twice", n.get_ref()),
            ));
        }
    }
    let lookup = |n: &Spanned<String>, what: &str| -> Result<usize, ScenarioError> {
        names.get(n.get_ref()).copied().ok_or_else(|| {
            lines.err(
                Some(n.span()),
                format!(
                    "{what} names domain {:?}, which no [[domain]] defines",
                    n.get_ref()
                ),
            )
        })
    };

    let mut domains = Vec::new();
    let mut total_units = 0usize;
    for d in &raw.domain {
        let span = d.span();
        let d = d.get_ref();
        let name = d.name.get_ref().clone();
        let vcpus = opt_int(lines, &d.vcpus, "vcpus", 1, MAX_UNITS as i64, 1)? as u16;
        total_units += usize::from(vcpus);
        if total_units > MAX_UNITS {
            return Err(lines.err(
                Some(span),
                format!("too many vCPUs in all: at most {MAX_UNITS}"),
            ));
        }
        let mut dp = DomParams::DEFAULT;
        if let Some(w) = &d.weight {
            // The core's weight is 16 bits: anything wider is out of its range.
            dp.weight = u16::try_from(*w.get_ref()).map_err(|_| {
                lines.err(
                    Some(w.span()),
                    format!(
                        "weight = {} is out of range {WEIGHT_MIN}..={WEIGHT_MAX}",
                        w.get_ref()
                    ),
                )
            })?;
        }
        if let Some(c) = &d.cap {
            dp.cap = u16::try_from(*c.get_ref()).map_err(|_| {
                let max = commaware_sched::params::CAP_PER_UNIT_MAX * u32::from(vcpus);
                lines.err(
                    Some(c.span()),
                    format!("cap = {} is out of range 0..={max}", c.get_ref()),
                )
            })?;
        }
        if let Some(b) = d.boost {
            dp.boost = b;
        }
        if let Some(b) = d.donation {
            dp.donation = b;
        }
        dp.driver = d.driver.as_ref().is_some_and(|b| *b.get_ref());
        if let Err(e) = dp.validate(u32::from(vcpus)) {
            let s = match e.knob {
                Knob::Weight => d.weight.as_ref().map(|x| x.span()),
                Knob::Cap => d.cap.as_ref().map(|x| x.span()),
                _ => None,
            };
            return Err(lines.err(
                s.or(Some(span)),
                format!("domain {name:?}: {}", param_msg(&e)),
            ));
        }
        let packet_cost = match &d.packet_cost_us {
            Some(p) if !dp.driver => {
                return Err(lines.err(
                    Some(p.span()),
                    format!(
                        "packet_cost_us is only for driver domains; set driver = true on {name:?}"
                    ),
                ));
            }
            Some(p) => int(lines, p, "packet_cost_us", 0, US_MAX)? * NS_PER_US,
            None => 20 * NS_PER_US,
        };
        let workload = match &d.workload {
            None => Workload::None,
            Some(w) => workload(lines, w, &name, &lookup, &names)?,
        };
        if dp.driver && workload != Workload::None {
            let s = d.workload.as_ref().map(|w| w.span());
            return Err(lines.err(
                s,
                format!("driver domain {name:?} cannot also run a workload"),
            ));
        }
        let cpus = match &d.cpus {
            None => None,
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(lines.err(Some(list.span()), "cpus must name at least one pCPU"));
                }
                let mut v = Vec::new();
                for c in list.get_ref() {
                    v.push(int(lines, c, "cpus entry", 0, i64::from(pcpus) - 1)? as u16);
                }
                Some(v)
            }
        };
        domains.push(DomainSpec {
            name,
            vcpus,
            params: dp,
            packet_cost,
            cpus,
            workload,
        });
    }

    let mut pairs = Vec::new();
    let mut endpoint: HashMap<usize, usize> = HashMap::new();
    for (i, p) in raw.pair.iter().enumerate() {
        let pspan = p.span();
        let p = p.get_ref();
        let client = lookup(&p.client, "pair client")?;
        let server = lookup(&p.server, "pair server")?;
        if client == server {
            return Err(lines.err(
                Some(p.server.span()),
                "a pair's client and server must be different domains",
            ));
        }
        for (idx, n) in [(client, &p.client), (server, &p.server)] {
            let dom = bare(&domains, lines, idx, n, "pair endpoints")?;
            if let Some(prev) = endpoint.insert(idx, i) {
                return Err(lines.err(
                    Some(n.span()),
                    format!(
                        "domain {:?} is already an endpoint of pair {}; one pair per domain",
                        dom.name,
                        prev + 1
                    ),
                ));
            }
        }
        let path = match &p.path {
            None => Path::Direct,
            Some(s) if s.get_ref() == "direct" => Path::Direct,
            Some(s) => {
                let d = lookup(s, "pair path")?;
                if !domains.get(d).is_some_and(|x| x.params.driver) {
                    return Err(lines.err(
                        Some(s.span()),
                        format!(
                            "pair path {:?} is not a driver domain (set driver = true on it)",
                            s.get_ref()
                        ),
                    ));
                }
                Path::Via(d)
            }
        };
        let client_work =
            opt_int(lines, &p.client_work_us, "client_work_us", 0, US_MAX, 100)? * NS_PER_US;
        let server_work =
            opt_int(lines, &p.server_work_us, "server_work_us", 0, US_MAX, 200)? * NS_PER_US;
        let think = opt_int(lines, &p.think_us, "think_us", 0, US_MAX, 0)? * NS_PER_US;
        let name = p.name.clone().unwrap_or_else(|| {
            let via = match path {
                Path::Direct => "direct".to_string(),
                Path::Via(d) => format!("via {}", domains.get(d).map_or("?", |x| x.name.as_str())),
            };
            format!("{}->{} ({via})", p.client.get_ref(), p.server.get_ref())
        });
        let _ = pspan;
        pairs.push(PairSpec {
            name,
            client,
            server,
            path,
            client_work,
            server_work,
            think,
        });
    }

    // Rings: a member runs nothing of its own and serves no pair or other
    // ring, so that every turn ends in a notify-then-block (work of its own
    // queued behind the token would keep it runnable past the notify).
    // Events others send it (a storm) may come on top, as they would.
    let mut rings = Vec::new();
    let mut ring_of: HashMap<usize, usize> = HashMap::new();
    for (i, r) in raw.ring.iter().enumerate() {
        let r = r.get_ref();
        let list = r.members.get_ref();
        if list.len() < 2 {
            return Err(lines.err(
                Some(r.members.span()),
                format!("a ring needs at least 2 members, {} given", list.len()),
            ));
        }
        let mut members = Vec::new();
        for n in list {
            let idx = lookup(n, "ring member")?;
            let dom = bare(&domains, lines, idx, n, "ring members")?;
            if let Some(p) = endpoint.get(&idx) {
                return Err(lines.err(
                    Some(n.span()),
                    format!(
                        "domain {:?} is an endpoint of pair {}; a ring member can be nothing else",
                        dom.name,
                        p + 1
                    ),
                ));
            }
            if let Some(prev) = ring_of.insert(idx, i) {
                let msg = if prev == i {
                    format!("domain {:?} appears twice in this ring", dom.name)
                } else {
                    format!(
                        "domain {:?} is already a member of ring {}; one ring per domain",
                        dom.name,
                        prev + 1
                    )
                };
                return Err(lines.err(Some(n.span()), msg));
            }
            members.push(idx);
        }
        // hostile.sh runs evring with no --work-us: a turn is then the
        // guest kernel's wake-up and event send, ~0.3-1 ms under QEMU TCG.
        let work = opt_int(lines, &r.work_us, "work_us", 1, US_MAX, 300)? * NS_PER_US;
        let name = r.name.clone().unwrap_or_else(|| {
            list.iter()
                .map(|n| n.get_ref().as_str())
                .collect::<Vec<_>>()
                .join(" -> ")
        });
        rings.push(RingSpec {
            name,
            members,
            work,
        });
    }

    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| "scenario".to_string()),
        description: raw.description.unwrap_or_default(),
        pcpus,
        duration,
        seed,
        ipi_latency,
        event_cost,
        jitter_pct,
        warmup,
        params,
        domains,
        pairs,
        rings,
    })
}

/// Resolves a domain name (with its span, for errors).
type Lookup<'a> = dyn Fn(&Spanned<String>, &str) -> Result<usize, ScenarioError> + 'a;

fn workload(
    lines: &Lines,
    w: &Spanned<RawWorkload>,
    dom: &str,
    lookup: &Lookup,
    names: &HashMap<String, usize>,
) -> Result<Workload, ScenarioError> {
    let wr = w.get_ref();
    let kind = wr.kind.get_ref().as_str();
    // Which parameters each kind takes; anything else is refused.
    let given: [(&str, Option<Range<usize>>); 6] = [
        ("period_us", wr.period_us.as_ref().map(|x| x.span())),
        ("work_us", wr.work_us.as_ref().map(|x| x.span())),
        ("peer", wr.peer.as_ref().map(|x| x.span())),
        ("peer_work_us", wr.peer_work_us.as_ref().map(|x| x.span())),
        ("send_cost_us", wr.send_cost_us.as_ref().map(|x| x.span())),
        ("targets", wr.targets.as_ref().map(|x| x.span())),
    ];
    let allowed: &[&str] = match kind {
        "hog" => &[],
        "periodic" => &["period_us", "work_us", "peer", "peer_work_us"],
        "storm" => &["send_cost_us", "targets"],
        other => {
            return Err(lines.err(
                Some(wr.kind.span()),
                format!("unknown workload kind {other:?} for domain {dom:?} (expected \"hog\", \"periodic\" or \"storm\")"),
            ));
        }
    };
    for (k, span) in given.iter() {
        if span.is_some() && !allowed.contains(k) {
            return Err(lines.err(
                span.clone(),
                format!("{k} is not a parameter of a {kind} workload"),
            ));
        }
    }
    let need = |v: &Option<Spanned<i64>>, k: &str, lo: i64| -> Result<Time, ScenarioError> {
        match v {
            Some(v) => Ok(int(lines, v, k, lo, US_MAX)? * NS_PER_US),
            None => Err(lines.err(
                Some(w.span()),
                format!("{kind} workload of {dom:?} needs {k}"),
            )),
        }
    };
    match kind {
        "hog" => Ok(Workload::Hog),
        "periodic" => {
            let period = need(&wr.period_us, "period_us", 1)?;
            let work = need(&wr.work_us, "work_us", 1)?;
            let peer = match &wr.peer {
                Some(p) => {
                    let i = lookup(p, "periodic peer")?;
                    if names.get(dom) == Some(&i) {
                        return Err(lines.err(
                            Some(p.span()),
                            "a periodic workload cannot notify its own domain",
                        ));
                    }
                    Some(i)
                }
                None => None,
            };
            let peer_work = match &wr.peer_work_us {
                Some(v) => int(lines, v, "peer_work_us", 0, US_MAX)? * NS_PER_US,
                None => 50 * NS_PER_US,
            };
            Ok(Workload::Periodic {
                period,
                work,
                peer,
                peer_work,
            })
        }
        _ => {
            let send_cost = need(&wr.send_cost_us, "send_cost_us", 1)?;
            let Some(ts) = &wr.targets else {
                return Err(lines.err(
                    Some(w.span()),
                    format!("storm workload of {dom:?} needs targets"),
                ));
            };
            if ts.get_ref().is_empty() {
                return Err(lines.err(Some(ts.span()), "storm targets must not be empty"));
            }
            let mut targets = Vec::new();
            for t in ts.get_ref() {
                let i = lookup(t, "storm target")?;
                if names.get(dom) == Some(&i) {
                    return Err(lines.err(Some(t.span()), "a storm cannot target its own domain"));
                }
                targets.push(i);
            }
            Ok(Workload::Storm { send_cost, targets })
        }
    }
}
