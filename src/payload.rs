//! Hypercall payloads, validated in one place.
//!
//! A payload from dom0 is untrusted: every field is checked here, by the
//! core's own validation ([`commaware_sched::params`]), before anything is
//! changed. The hypervisor's `adjust`/`adjust_global`, the `ctl` tool and
//! the fuzzer all decode through these functions, so they accept and
//! refuse exactly the same things.

use commaware_sched::params::{DomParams, GlobalParams, ParamError};
use commaware_sched::DomCounters;

use crate::abi::{
    xen_commaware_counters, xen_domctl_sched_commaware, xen_sysctl_commaware_schedule, XEN_DOMCTL_COMMAWARE_CAP_KEEP,
    XEN_DOMCTL_COMMAWARE_DRIVER, XEN_DOMCTL_COMMAWARE_FLAGS_ALL, XEN_DOMCTL_COMMAWARE_NO_BOOST,
    XEN_DOMCTL_COMMAWARE_NO_DONATION, XEN_DOMCTL_COMMAWARE_RESET_ALL, XEN_DOMCTL_COMMAWARE_RESET_WAIT_MAX,
    XEN_DOMCTL_COMMAWARE_WEIGHT_KEEP, XEN_SYSCTL_COMMAWARE_ATTRIBUTION,
    XEN_SYSCTL_COMMAWARE_BOOST, XEN_SYSCTL_COMMAWARE_DONATION, XEN_SYSCTL_COMMAWARE_FLAGS_ALL,
};

/// Why a payload was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// A value out of range.
    Range(ParamError),
    /// Flag bits this version does not know.
    UnknownFlags(u32),
    /// Counters to reset that this version does not know.
    UnknownReset(u32),
}

impl From<ParamError> for PayloadError {
    fn from(e: ParamError) -> Self {
        PayloadError::Range(e)
    }
}

/// The pool-wide parameters a sysctl putinfo asks for.
pub fn global_from_abi(p: &xen_sysctl_commaware_schedule) -> Result<GlobalParams, PayloadError> {
    if p.flags & !XEN_SYSCTL_COMMAWARE_FLAGS_ALL != 0 {
        return Err(PayloadError::UnknownFlags(p.flags & !XEN_SYSCTL_COMMAWARE_FLAGS_ALL));
    }
    let g = GlobalParams {
        tslice_ms: p.tslice_ms,
        ratelimit_us: p.ratelimit_us,
        migration_delay_us: p.migration_delay_us,
        boost: p.flags & XEN_SYSCTL_COMMAWARE_BOOST != 0,
        boost_us: p.boost_us,
        boost_budget_pct: p.boost_budget_pct,
        donation: p.flags & XEN_SYSCTL_COMMAWARE_DONATION != 0,
        attribution: p.flags & XEN_SYSCTL_COMMAWARE_ATTRIBUTION != 0,
    };
    g.validate()?;
    Ok(g)
}

/// The sysctl getinfo answer.
pub fn global_to_abi(g: &GlobalParams) -> xen_sysctl_commaware_schedule {
    let mut flags = 0;
    if g.boost {
        flags |= XEN_SYSCTL_COMMAWARE_BOOST;
    }
    if g.donation {
        flags |= XEN_SYSCTL_COMMAWARE_DONATION;
    }
    if g.attribution {
        flags |= XEN_SYSCTL_COMMAWARE_ATTRIBUTION;
    }
    xen_sysctl_commaware_schedule {
        tslice_ms: g.tslice_ms,
        ratelimit_us: g.ratelimit_us,
        migration_delay_us: g.migration_delay_us,
        boost_us: g.boost_us,
        boost_budget_pct: g.boost_budget_pct,
        flags,
    }
}

/// Apply a domctl putinfo to a domain's current parameters: weight 0 and
/// cap 0xFFFF keep the current values (as credit1), only flags named in
/// `flags_mask` change. `units` bounds the cap (100 per unit). The
/// counters named in `reset` are the caller's to reset once the parameters
/// are set: only known bits pass, so a refused request resets nothing.
pub fn dom_update(cur: DomParams, p: &xen_domctl_sched_commaware, units: u32) -> Result<DomParams, PayloadError> {
    if p.reset & !XEN_DOMCTL_COMMAWARE_RESET_ALL != 0 {
        return Err(PayloadError::UnknownReset(p.reset & !XEN_DOMCTL_COMMAWARE_RESET_ALL));
    }
    let unknown = (p.flags | p.flags_mask) & !XEN_DOMCTL_COMMAWARE_FLAGS_ALL;
    if unknown != 0 {
        return Err(PayloadError::UnknownFlags(unknown));
    }
    let mut d = cur;
    if u32::from(p.weight) != XEN_DOMCTL_COMMAWARE_WEIGHT_KEEP {
        d.weight = p.weight;
    }
    if u32::from(p.cap) != XEN_DOMCTL_COMMAWARE_CAP_KEEP {
        d.cap = p.cap;
    }
    let set = |bit: u32, cur: bool| if p.flags_mask & bit != 0 { p.flags & bit != 0 } else { cur };
    d.boost = !set(XEN_DOMCTL_COMMAWARE_NO_BOOST, !cur.boost);
    d.donation = !set(XEN_DOMCTL_COMMAWARE_NO_DONATION, !cur.donation);
    d.driver = set(XEN_DOMCTL_COMMAWARE_DRIVER, cur.driver);
    d.validate(units)?;
    Ok(d)
}

/// Whether an accepted domctl putinfo also restarts the domain's
/// longest-wait counter (after its parameters are set).
pub fn resets_wait_max(p: &xen_domctl_sched_commaware) -> bool {
    p.reset & XEN_DOMCTL_COMMAWARE_RESET_WAIT_MAX != 0
}

/// The domctl getinfo answer.
pub fn dom_to_abi(d: &DomParams, c: &DomCounters, credit: i64) -> xen_domctl_sched_commaware {
    let mut flags = 0;
    if !d.boost {
        flags |= XEN_DOMCTL_COMMAWARE_NO_BOOST;
    }
    if !d.donation {
        flags |= XEN_DOMCTL_COMMAWARE_NO_DONATION;
    }
    if d.driver {
        flags |= XEN_DOMCTL_COMMAWARE_DRIVER;
    }
    xen_domctl_sched_commaware {
        weight: d.weight,
        cap: d.cap,
        flags,
        flags_mask: 0,
        reset: 0,
        counters: counters_to_abi(c, credit),
    }
}

fn ns(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

pub fn counters_to_abi(c: &DomCounters, credit: i64) -> xen_commaware_counters {
    xen_commaware_counters {
        run_ns: ns(c.run_ns),
        wait_ns: ns(c.wait_ns),
        boosts: c.boosts,
        boosts_refused: c.boosts_refused,
        donated_ns: ns(c.donated_ns),
        received_ns: ns(c.received_ns),
        donations: c.donations,
        charged: c.charged_for_others,
        credit,
        wait_max_ns: ns(c.wait_max_ns),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commaware_sched::params::Knob;

    fn abi_defaults() -> xen_sysctl_commaware_schedule {
        global_to_abi(&GlobalParams::DEFAULT)
    }

    #[test]
    fn global_round_trips() {
        assert_eq!(global_from_abi(&abi_defaults()), Ok(GlobalParams::DEFAULT));
        assert_eq!(global_from_abi(&global_to_abi(&GlobalParams::CREDIT1)), Ok(GlobalParams::CREDIT1));
    }

    #[test]
    fn global_out_of_range_is_refused_with_the_knob() {
        let p = xen_sysctl_commaware_schedule { tslice_ms: 5000, ..abi_defaults() };
        assert!(matches!(global_from_abi(&p), Err(PayloadError::Range(e)) if e.knob == Knob::TsliceMs));
        let p = xen_sysctl_commaware_schedule { boost_budget_pct: 101, ..abi_defaults() };
        assert!(matches!(global_from_abi(&p), Err(PayloadError::Range(e)) if e.knob == Knob::BoostBudgetPct));
    }

    #[test]
    fn unknown_global_flags_are_refused() {
        let p = xen_sysctl_commaware_schedule { flags: 1 << 7, ..abi_defaults() };
        assert_eq!(global_from_abi(&p), Err(PayloadError::UnknownFlags(1 << 7)));
    }

    #[test]
    fn dom_keep_values_keep() {
        let cur = DomParams { weight: 512, cap: 50, ..DomParams::DEFAULT };
        let p = xen_domctl_sched_commaware { weight: 0, cap: 0xFFFF, ..Default::default() };
        assert_eq!(dom_update(cur, &p, 1), Ok(cur));
    }

    #[test]
    fn dom_flags_change_only_under_the_mask() {
        let cur = DomParams::DEFAULT;
        let p = xen_domctl_sched_commaware {
            weight: 0,
            cap: 0xFFFF,
            flags: XEN_DOMCTL_COMMAWARE_NO_BOOST | XEN_DOMCTL_COMMAWARE_DRIVER,
            flags_mask: XEN_DOMCTL_COMMAWARE_NO_BOOST,
            ..Default::default()
        };
        let d = dom_update(cur, &p, 1).unwrap();
        assert!(!d.boost);
        assert!(!d.driver, "DRIVER was not in the mask");
        assert!(d.donation);
    }

    #[test]
    fn dom_bad_input_is_refused() {
        let cur = DomParams::DEFAULT;
        let over_cap = xen_domctl_sched_commaware { weight: 0, cap: 101, ..Default::default() };
        assert!(matches!(dom_update(cur, &over_cap, 1), Err(PayloadError::Range(e)) if e.knob == Knob::Cap));
        let reset = xen_domctl_sched_commaware { weight: 0, cap: 0xFFFF, reset: 1 << 5, ..Default::default() };
        assert_eq!(dom_update(cur, &reset, 1), Err(PayloadError::UnknownReset(1 << 5)));
        let both = xen_domctl_sched_commaware { weight: 0, cap: 101, reset: 1, ..Default::default() };
        assert!(matches!(dom_update(cur, &both, 1), Err(PayloadError::Range(_))), "a known reset does not excuse a bad cap");
        let flags = xen_domctl_sched_commaware { weight: 0, cap: 0xFFFF, flags_mask: 1 << 9, ..Default::default() };
        assert_eq!(dom_update(cur, &flags, 1), Err(PayloadError::UnknownFlags(1 << 9)));
    }
}
