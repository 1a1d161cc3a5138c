//! Every policy knob, its range, and the one place it is validated.
//!
//! The hypervisor's `adjust`/`adjust_global` hooks, the dom0 tools and the
//! simulator's scenario files all go through [`GlobalParams::validate`] and
//! [`DomParams::validate`]: a value out of range is a [`ParamError`] naming
//! the knob and its range, and nothing is changed.
//!
//! The credit1 knobs keep credit1's names, ranges and defaults
//! (`sched_credit_tslice_ms`, `sched_ratelimit_us`, `vcpu_migration_delay`,
//! weight, cap).

use commaware_accounting::credit::{Time, DEFAULT_WEIGHT, NS_PER_MS, NS_PER_US};

pub const TSLICE_MS_MIN: u32 = 1;
pub const TSLICE_MS_MAX: u32 = 1000;
pub const TSLICE_MS_DEFAULT: u32 = 30;
pub const RATELIMIT_US_MIN: u32 = 100;
pub const RATELIMIT_US_MAX: u32 = 500_000;
pub const RATELIMIT_US_DEFAULT: u32 = 1000;
pub const MIGRATION_DELAY_US_MAX: u32 = 100_000;
pub const BOOST_US_MIN: u32 = 50;
pub const BOOST_US_MAX: u32 = 10_000;
pub const BOOST_US_DEFAULT: u32 = 500;
pub const BOOST_BUDGET_PCT_MAX: u32 = 100;
pub const BOOST_BUDGET_PCT_DEFAULT: u32 = 100;
pub const WEIGHT_MIN: u16 = 1;
pub const WEIGHT_MAX: u16 = u16::MAX;
/// A cap is a percentage of one pCPU: at most 100 per unit.
pub const CAP_PER_UNIT_MAX: u32 = 100;

/// Pool-wide policy (the sysctl scheduler op).
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Zeroable)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct GlobalParams {
    /// Time slice, ms (credit1's `tslice_ms`).
    pub tslice_ms: u32,
    /// Minimum run before a preemption, µs; 0 = off (`ratelimit_us`).
    pub ratelimit_us: u32,
    /// A unit that ran this recently is not stolen by a peer, µs.
    pub migration_delay_us: u32,
    /// Communication-aware boost on event-channel notifications.
    pub boost: bool,
    /// Longest run a communication boost buys, µs.
    pub boost_us: u32,
    /// Share of its fair share a domain may run boosted per period, %.
    pub boost_budget_pct: u32,
    /// A blocking sender donates the rest of its slice to its peer.
    pub donation: bool,
    /// Time a driver domain spends on a guest's request is charged to it.
    pub attribution: bool,
}

impl GlobalParams {
    /// commaware's defaults: credit1's, plus every commaware feature on.
    pub const DEFAULT: GlobalParams = GlobalParams {
        tslice_ms: TSLICE_MS_DEFAULT,
        ratelimit_us: RATELIMIT_US_DEFAULT,
        migration_delay_us: 0,
        boost: true,
        boost_us: BOOST_US_DEFAULT,
        boost_budget_pct: BOOST_BUDGET_PCT_DEFAULT,
        donation: true,
        attribution: true,
    };

    /// Stock credit1: every commaware feature off.
    pub const CREDIT1: GlobalParams = GlobalParams {
        boost: false,
        donation: false,
        attribution: false,
        ..GlobalParams::DEFAULT
    };

    /// Check every knob against its range; the first offender is reported.
    pub fn validate(&self) -> Result<(), ParamError> {
        range(Knob::TsliceMs, self.tslice_ms, TSLICE_MS_MIN, TSLICE_MS_MAX)?;
        if self.ratelimit_us != 0 {
            range(Knob::RatelimitUs, self.ratelimit_us, RATELIMIT_US_MIN, RATELIMIT_US_MAX)?;
            // credit1 refuses a ratelimit longer than the slice.
            let max = self.tslice_ms.saturating_mul(1000).min(RATELIMIT_US_MAX);
            range(Knob::RatelimitUs, self.ratelimit_us, RATELIMIT_US_MIN, max)?;
        }
        range(Knob::MigrationDelayUs, self.migration_delay_us, 0, MIGRATION_DELAY_US_MAX)?;
        let boost_max = self.tslice_ms.saturating_mul(1000).min(BOOST_US_MAX);
        range(Knob::BoostUs, self.boost_us, BOOST_US_MIN, boost_max.max(BOOST_US_MIN))?;
        range(Knob::BoostBudgetPct, self.boost_budget_pct, 0, BOOST_BUDGET_PCT_MAX)?;
        Ok(())
    }

    pub fn tslice(&self) -> Time {
        Time::from(self.tslice_ms) * NS_PER_MS
    }

    pub fn ratelimit(&self) -> Time {
        Time::from(self.ratelimit_us) * NS_PER_US
    }

    pub fn migration_delay(&self) -> Time {
        Time::from(self.migration_delay_us) * NS_PER_US
    }

    pub fn boost_len(&self) -> Time {
        Time::from(self.boost_us) * NS_PER_US
    }
}

impl Default for GlobalParams {
    fn default() -> Self {
        GlobalParams::DEFAULT
    }
}

/// Per-domain policy (the domctl scheduler op).
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Zeroable)]
pub struct DomParams {
    /// Proportional weight, 1..=65535 (credit1's weight).
    pub weight: u16,
    /// Cap in percent of one pCPU, 0 = none, at most 100 per unit.
    pub cap: u16,
    /// Accept communication boosts.
    pub boost: bool,
    /// Donate to peers when blocking, and accept donations.
    pub donation: bool,
    /// A driver domain (netback/blkback): work it does after a guest's
    /// notification is charged to that guest.
    pub driver: bool,
}

impl DomParams {
    pub const DEFAULT: DomParams = DomParams {
        weight: DEFAULT_WEIGHT,
        cap: 0,
        boost: true,
        donation: true,
        driver: false,
    };

    /// Check against the ranges; `units` is the domain's number of units
    /// (the cap may go up to 100 per unit, as libxl allows).
    pub fn validate(&self, units: u32) -> Result<(), ParamError> {
        range(Knob::Weight, u32::from(self.weight), u32::from(WEIGHT_MIN), u32::from(WEIGHT_MAX))?;
        let cap_max = CAP_PER_UNIT_MAX.saturating_mul(units.max(1));
        range(Knob::Cap, u32::from(self.cap), 0, cap_max)?;
        Ok(())
    }
}

impl Default for DomParams {
    fn default() -> Self {
        DomParams::DEFAULT
    }
}

/// The knobs, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Knob {
    TsliceMs,
    RatelimitUs,
    MigrationDelayUs,
    BoostUs,
    BoostBudgetPct,
    Weight,
    Cap,
}

impl Knob {
    /// The knob's name as `xl sched-commaware` and `ctl` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Knob::TsliceMs => "tslice_ms",
            Knob::RatelimitUs => "ratelimit_us",
            Knob::MigrationDelayUs => "migration_delay_us",
            Knob::BoostUs => "boost_us",
            Knob::BoostBudgetPct => "boost_budget_pct",
            Knob::Weight => "weight",
            Knob::Cap => "cap",
        }
    }
}

/// A value out of range: the knob, what was given, and what is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamError {
    pub knob: Knob,
    pub got: u32,
    pub min: u32,
    pub max: u32,
}

fn range(knob: Knob, got: u32, min: u32, max: u32) -> Result<(), ParamError> {
    if got < min || got > max {
        Err(ParamError { knob, got, min, max })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(GlobalParams::DEFAULT.validate(), Ok(()));
        assert_eq!(GlobalParams::CREDIT1.validate(), Ok(()));
        assert_eq!(DomParams::DEFAULT.validate(1), Ok(()));
    }

    #[test]
    fn tslice_out_of_range_names_the_knob_and_range() {
        let p = GlobalParams { tslice_ms: 0, ..GlobalParams::DEFAULT };
        assert_eq!(p.validate(), Err(ParamError { knob: Knob::TsliceMs, got: 0, min: 1, max: 1000 }));
        let p = GlobalParams { tslice_ms: 1001, ..GlobalParams::DEFAULT };
        assert!(p.validate().is_err());
    }

    #[test]
    fn ratelimit_zero_is_off_but_small_or_longer_than_slice_is_refused() {
        assert!(GlobalParams { ratelimit_us: 0, ..GlobalParams::DEFAULT }.validate().is_ok());
        assert!(GlobalParams { ratelimit_us: 99, ..GlobalParams::DEFAULT }.validate().is_err());
        let p = GlobalParams { tslice_ms: 1, ratelimit_us: 2000, boost_us: 500, ..GlobalParams::DEFAULT };
        assert_eq!(p.validate().map_err(|e| e.max), Err(1000));
    }

    #[test]
    fn boost_longer_than_the_slice_is_refused() {
        let p = GlobalParams { tslice_ms: 1, boost_us: 1500, ratelimit_us: 0, ..GlobalParams::DEFAULT };
        assert_eq!(p.validate().map_err(|e| e.knob), Err(Knob::BoostUs));
    }

    #[test]
    fn weight_zero_and_cap_above_units_are_refused() {
        assert_eq!(
            DomParams { weight: 0, ..DomParams::DEFAULT }.validate(1).map_err(|e| e.knob),
            Err(Knob::Weight)
        );
        assert!(DomParams { cap: 200, ..DomParams::DEFAULT }.validate(2).is_ok());
        assert_eq!(
            DomParams { cap: 201, ..DomParams::DEFAULT }.validate(2),
            Err(ParamError { knob: Knob::Cap, got: 201, min: 0, max: 200 })
        );
    }
}
