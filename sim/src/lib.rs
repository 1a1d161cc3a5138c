//! commaware-sim: a deterministic discrete-event simulator that drives the
//! real commaware scheduling core ([`commaware_sched::Core`]) in simulated
//! time.
//!
//! It is how commaware's policy is tested deterministically, how a user
//! evaluates a configuration before booting it, and the quickest demo:
//!
//! ```text
//! commaware-sim compare scenarios/jboss-db.toml
//! ```
//!
//! - [`scenario`]: the TOML scenario files and their validation;
//! - [`sim`]: the engine (pCPUs, vCPUs, event channels, driver-domain hops,
//!   timers) — it plays Xen's part and has no policy of its own;
//! - [`report`]: latency, throughput, CPU share against entitlement, and
//!   the core's boost/donation counters, as text or JSON.
#![forbid(unsafe_code)]
// Reports are ratios and percentiles; the no-float rule is the core's.
#![allow(clippy::float_arithmetic)]

pub mod report;
pub mod rng;
pub mod scenario;
pub mod sim;

use commaware_sched::GlobalParams;

pub use report::RunResult;
pub use scenario::{Scenario, ScenarioError};

/// The two schedulers `compare` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// Stock credit1: `GlobalParams::CREDIT1`.
    Credit,
    /// commaware with the scenario's `[scheduler]` knobs.
    Commaware,
}

impl Which {
    pub fn name(self) -> &'static str {
        match self {
            Which::Credit => "credit",
            Which::Commaware => "commaware",
        }
    }

    pub fn params(self, sc: &Scenario) -> GlobalParams {
        match self {
            Which::Credit => GlobalParams::CREDIT1,
            Which::Commaware => sc.params,
        }
    }
}

/// Run `sc` under one scheduler and summarize.
pub fn run(sc: &Scenario, which: Which, checks: bool) -> Result<RunResult, String> {
    let s = sim::Sim::new(sc, which.params(sc), which.name())?.with_checks(checks);
    let o = s.run(which.name());
    Ok(report::summarize(sc, &o))
}

/// Run `sc` and return the raw outcome (tests, tools).
pub fn run_raw(sc: &Scenario, which: Which, checks: bool) -> Result<sim::Outcome, String> {
    let s = sim::Sim::new(sc, which.params(sc), which.name())?.with_checks(checks);
    Ok(s.run(which.name()))
}
