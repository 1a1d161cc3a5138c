//! The fair-share bound on communication boosts.
//!
//! A communication boost lets a unit run *earlier*, never for free: the time
//! it runs is burned from its own credit like any other. But credit1 forgives
//! debt (credit is floored at minus one slice), so a unit that is boosted
//! while far in debt could still run more than its share. commaware closes
//! that door: a domain may be boosted only while the time it ran in the
//! current accounting period is below its fair share of the period,
//!
//! ```text
//! share = tslice * ncpus * weight * units / sum(weight * units of busy domains)
//! ```
//!
//! capped at `tslice * units` (a unit cannot run more than one pCPU). "Busy"
//! domains are those that had a runnable unit during the last period, so the
//! share grows when others are idle, as a work-conserving fair share should.
//! `budget_pct` scales the share (100 = the whole share may be boosted).
//!
//! The bound: a domain runs boosted at most `share * budget_pct / 100` plus
//! one boost length per period, whatever events it receives.

use crate::credit::Time;

/// The boost budget of a domain for one period, in ns of running time.
pub fn boost_budget(
    tslice: Time,
    ncpus: u32,
    weight: u16,
    units: u32,
    busy_weight_total: u64,
    budget_pct: u32,
) -> Time {
    let units = i64::from(units.max(1));
    let cap = tslice.saturating_mul(units);
    // 64-bit only: a 128-bit division would pull in compiler_builtins'
    // `__udivti3`, which the hypervisor object may not call.
    let w = u64::from(weight).saturating_mul(units as u64);
    let t = u64::try_from(tslice).unwrap_or(0);
    let num = u64::from(ncpus).saturating_mul(w);
    let share = match t.checked_mul(num) {
        Some(p) => p.checked_div(busy_weight_total),
        // Only for absurd slices and weights: divide first, lose a little
        // precision, never overflow.
        None => t.checked_div(busy_weight_total).map(|q| q.saturating_mul(num)),
    };
    // Nobody busy: the whole slice per unit.
    let share = share.map_or(cap, |s| i64::try_from(s).unwrap_or(i64::MAX).min(cap));
    let pct = i64::from(budget_pct.min(100));
    share.saturating_mul(pct) / 100
}

#[cfg(test)]
mod tests {
    use super::*;
    const MS: Time = 1_000_000;

    #[test]
    fn share_is_proportional_to_weight_among_busy_domains() {
        // 7 busy domains of equal weight on 2 pCPUs with a 30 ms slice.
        let b = boost_budget(30 * MS, 2, 256, 1, 7 * 256, 100);
        assert_eq!(b, 60 * MS / 7);
    }

    #[test]
    fn share_never_exceeds_one_pcpu_per_unit() {
        let b = boost_budget(30 * MS, 8, 256, 1, 256, 100);
        assert_eq!(b, 30 * MS);
    }

    #[test]
    fn budget_pct_scales_the_share() {
        let b = boost_budget(30 * MS, 1, 256, 1, 512, 50);
        assert_eq!(b, 15 * MS / 2);
    }

    #[test]
    fn nobody_busy_gives_the_full_slice() {
        assert_eq!(boost_budget(30 * MS, 2, 256, 2, 0, 100), 60 * MS);
    }
}
