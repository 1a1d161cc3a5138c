//! The accounting period: credit1's `csched_acct`, run once per time slice.
//!
//! Every domain with active units earns a share of the credit the pool's
//! pCPUs produce in one slice (`credits_per_tslice * ncpus`), in proportion
//! to `weight * active units`. A domain is never given more than it can burn
//! in a slice (its *peak*), nor more than its cap; what it cannot use is
//! passed on to the domains that come after it. A unit whose credit goes
//! negative is OVER, capped units far below zero are parked, credit never
//! falls below minus one slice's worth (so a long CPU burst is forgiven
//! after a while), and a unit that piles up more than a slice's worth stops
//! earning ("inactive") and has its credit halved.
//!
//! The same arithmetic as credit.c, in 64 bits so no intermediate product
//! can wrap, and with every division guarded.
//!
//! One simplification: credit1 moves a domain that left credit unused to the
//! head of its active list ("lazily keep domains with extra credits at the
//! head"); we visit domains in a fixed order. That only changes which domain
//! gets the leftovers first when peaks or caps bind.

use crate::debt::Debt;

/// What the accounting period needs to know about the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    credits_per_tslice: i64,
    credit_total: i64,
    weight_total: i64,
    weight_left: i64,
    /// The pool's balance from the last period (credit1's `credit_balance`).
    prev_balance: i64,
    balance: i64,
}

/// A domain's share for this period, per unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Zeroable)]
pub struct DomShare {
    /// Credits each active unit earns.
    pub credit_fair: i32,
    /// Per-unit cap in credits (0 when the domain has no cap).
    pub credit_cap: i32,
    /// Whether the domain is capped.
    pub capped: bool,
}

/// What the period decided for one unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitVerdict {
    /// The unit's credit is negative: it runs at OVER priority.
    pub over: bool,
    /// Capped out: stop running it until its credit recovers.
    pub park: bool,
    /// Credit recovered: a parked unit may run again.
    pub unpark: bool,
    /// Piled up more than a slice's worth: stop earning (and credit halved).
    pub deactivate: bool,
}

impl Period {
    /// Start a period. `weight_total` is the sum of `weight` over every
    /// active unit, `prev_balance` what [`Period::finish`] returned last time.
    /// Returns `None` when nothing is active (credit1's `acct_no_work`).
    pub fn begin(credits_per_tslice: i32, ncpus: u32, weight_total: u64, prev_balance: i64) -> Option<Period> {
        if weight_total == 0 {
            return None;
        }
        let credits_per_tslice = i64::from(credits_per_tslice);
        let mut credit_total = credits_per_tslice.saturating_mul(i64::from(ncpus));
        // Converge the balance towards 0 when it drops negative.
        if prev_balance < 0 {
            credit_total = credit_total.saturating_sub(prev_balance);
        }
        let weight_total = i64::try_from(weight_total).unwrap_or(i64::MAX);
        Some(Period {
            credits_per_tslice,
            credit_total,
            weight_total,
            weight_left: weight_total,
            prev_balance,
            balance: 0,
        })
    }

    /// A domain's share. Call once per active domain, in a fixed order.
    /// `cap` is in percent of one pCPU (0 = none), as in credit1.
    pub fn domain(&mut self, weight: u16, active_units: u32, cap: u16) -> DomShare {
        let units = i64::from(active_units.max(1));
        let w = i64::from(weight).saturating_mul(units);
        self.weight_left = self.weight_left.saturating_sub(w).max(0);

        let mut peak = units.saturating_mul(self.credits_per_tslice);
        if self.prev_balance < 0 {
            peak = peak.saturating_add(
                ceil_div((-self.prev_balance).saturating_mul(w), self.weight_total),
            );
        }
        let mut credit_cap = 0;
        let capped = cap != 0;
        if capped {
            let dom_cap = ceil_div(i64::from(cap).saturating_mul(self.credits_per_tslice), 100);
            if dom_cap < peak {
                peak = dom_cap;
            }
            credit_cap = ceil_div(dom_cap, units);
        }

        let mut fair = ceil_div(self.credit_total.saturating_mul(w), self.weight_total);
        // Below its peak the domain takes its fair share as is; at or above
        // it, it is held to the peak and the rest is passed on.
        if fair >= peak {
            if self.weight_left != 0 {
                // Give the domains after this one a chance at the credit it
                // cannot use.
                self.credit_total = self.credit_total.saturating_add(ceil_div(
                    (fair - peak).saturating_mul(self.weight_total),
                    self.weight_left,
                ));
            }
            fair = peak;
        }
        DomShare {
            credit_fair: clamp_i32(ceil_div(fair, units)),
            credit_cap: clamp_i32(credit_cap),
            capped,
        }
    }

    /// Credit one unit of the domain whose share is `share`, and decide its
    /// priority. `parked` says whether the unit is parked now; `debt` is
    /// its attribution debt (see [`crate::debt`]), collected here.
    pub fn unit(&mut self, credit: &mut i32, debt: &mut Debt, share: DomShare, parked: bool) -> UnitVerdict {
        let mut c = debt.collect(credit.saturating_add(share.credit_fair));
        let cpt = clamp_i32(self.credits_per_tslice);
        let mut v = UnitVerdict { over: false, park: false, unpark: false, deactivate: false };
        let mut forgiven = 0;
        if c < 0 {
            v.over = true;
            if share.capped && c < -share.credit_cap && !parked {
                v.park = true;
            }
            // Lower bound on credits.
            if c < -cpt {
                forgiven = (-cpt).saturating_sub(c);
                c = -cpt;
            }
        } else {
            v.unpark = parked;
            // Upper bound: the unit stops earning, and starts a little
            // ahead when it becomes active again.
            if c > cpt {
                v.deactivate = true;
                c /= 2;
            }
        }
        debt.settle(forgiven, cpt);
        *credit = c;
        self.balance = self.balance.saturating_add(i64::from(c));
        v
    }

    /// End the period; returns the balance to pass to the next
    /// [`Period::begin`].
    pub fn finish(self) -> i64 {
        self.balance
    }
}

fn ceil_div(a: i64, b: i64) -> i64 {
    if b <= 0 {
        return 0;
    }
    a.saturating_add(b - 1) / b
}

fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debt::Debt;

    const CPT: i32 = 300;

    #[test]
    fn equal_weights_split_the_pool_evenly() {
        // 2 pCPUs, 4 single-unit domains of equal weight.
        let mut p = Period::begin(CPT, 2, 4 * 256, 0).unwrap();
        for _ in 0..4 {
            let s = p.domain(256, 1, 0);
            assert_eq!(s.credit_fair, 150);
        }
    }

    #[test]
    fn weight_twice_as_large_earns_twice_as_much() {
        let mut p = Period::begin(CPT, 1, 512 + 256, 0).unwrap();
        let a = p.domain(512, 1, 0);
        let b = p.domain(256, 1, 0);
        assert_eq!(a.credit_fair, 200);
        assert_eq!(b.credit_fair, 100);
    }

    #[test]
    fn peak_limits_a_domain_and_passes_the_rest_on() {
        // One pCPU worth for a single unit is its peak; the heavy domain
        // cannot take 2 pCPUs' worth, the rest goes to the next one.
        let mut p = Period::begin(CPT, 2, 1024 + 256, 0).unwrap();
        let a = p.domain(1024, 1, 0);
        assert_eq!(a.credit_fair, CPT);
        let b = p.domain(256, 1, 0);
        assert_eq!(b.credit_fair, CPT);
    }

    #[test]
    fn cap_limits_credit_and_parks_far_below_zero() {
        let mut p = Period::begin(CPT, 1, 256, 0).unwrap();
        let s = p.domain(256, 1, 50);
        assert_eq!(s.credit_fair, 150);
        assert_eq!(s.credit_cap, 150);
        let mut credit = -400;
        let v = p.unit(&mut credit, &mut Debt::default(), s, false);
        assert!(v.over && v.park);
        assert_eq!(credit, -250);
    }

    #[test]
    fn credit_is_floored_at_minus_one_slice() {
        let mut p = Period::begin(CPT, 1, 256, 0).unwrap();
        let s = p.domain(256, 1, 0);
        let mut credit = -1000;
        let v = p.unit(&mut credit, &mut Debt::default(), s, false);
        assert!(v.over && !v.park);
        assert_eq!(credit, -CPT);
    }

    #[test]
    fn attributed_work_below_the_floor_is_collected_next_period() {
        let mut p = Period::begin(CPT, 1, 256, 0).unwrap();
        let s = p.domain(256, 1, 0);
        let mut credit = -1000;
        let mut debt = Debt { attributed: 200, owed: 0 };
        p.unit(&mut credit, &mut debt, s, false);
        assert_eq!((credit, debt.owed), (-CPT, 200));
        // The next grant pays the debt first: without it the credit
        // would be back at 0.
        let mut p = Period::begin(CPT, 1, 256, 0).unwrap();
        let s = p.domain(256, 1, 0);
        let v = p.unit(&mut credit, &mut debt, s, false);
        assert!(v.over);
        assert_eq!((credit, debt.owed), (-200, 0));
    }

    #[test]
    fn unpark_once_credit_is_positive() {
        let mut p = Period::begin(CPT, 1, 256, 0).unwrap();
        let s = p.domain(256, 1, 50);
        let mut credit = 10;
        let v = p.unit(&mut credit, &mut Debt::default(), s, true);
        assert!(v.unpark && !v.over);
    }

    #[test]
    fn credit_above_a_slice_deactivates_and_halves() {
        let mut p = Period::begin(CPT, 1, 256, 0).unwrap();
        let s = p.domain(256, 1, 0);
        let mut credit = 200;
        let v = p.unit(&mut credit, &mut Debt::default(), s, false);
        assert!(v.deactivate);
        assert_eq!(credit, 250);
    }

    #[test]
    fn negative_balance_raises_the_total() {
        let mut p = Period::begin(CPT, 1, 256, -100).unwrap();
        let s = p.domain(256, 1, 0);
        assert_eq!(s.credit_fair, 400);
        let mut credit = -350;
        p.unit(&mut credit, &mut Debt::default(), s, false);
        assert_eq!(p.finish(), 50);
    }

    #[test]
    fn no_active_weight_means_no_period() {
        assert!(Period::begin(CPT, 4, 0, -50).is_none());
    }
}
