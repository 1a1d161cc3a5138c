//! Attribution debt: the driver domain's work that credit1's floor would
//! forgive.
//!
//! Attribution charges a driver domain's work for a guest to the guest's
//! credit. credit1 floors credit at minus one slice every period, which is
//! how a unit that ran a long burst is forgiven. A guest that wants its whole
//! vCPU *and* keeps the driver domain busy (a notify storm at dom0) sits at
//! that floor already, so every charge for dom0's work would be forgiven at
//! the next period: the guest's own CPU shrinks a little, but what it costs
//! the host (own time plus dom0's time for it) stays above its share.
//!
//! The rule: what the floor takes away is forgiven as in credit1, except the
//! part that was charged for someone else's work on the unit's behalf in
//! this period (or carried from earlier periods). That part is owed, and
//! taken from the unit's next grants before its credit can rise. Owed credit
//! is bounded by [`MAX_DEBT_SLICES`] slices' worth, so a unit is never kept
//! OVER for longer than that by old debt, and OVER units still run (round
//! robin with the other OVER units), so debt delays, never starves.
//!
//! Only attribution runs up debt. A unit's own running is forgiven at the
//! floor exactly as credit1 forgives it; donated time is bounded by the
//! donor's fair share when it is given (see `commaware-sched`'s donation).

use bytemuck::Zeroable;

/// The most a unit may owe, in time slices' worth of credit.
pub const MAX_DEBT_SLICES: i32 = 3;

/// A unit's attribution debt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Zeroable)]
pub struct Debt {
    /// Credits charged for work done on the unit's behalf since the last
    /// period.
    pub attributed: i32,
    /// Credits owed from earlier periods.
    pub owed: i32,
}

impl Debt {
    /// `credits` were charged to the unit for work done on its behalf.
    pub fn note_attributed(&mut self, credits: i32) {
        self.attributed = self.attributed.saturating_add(credits.max(0));
    }

    /// The period settles the unit's credit `c` (after this period's grant,
    /// before the floor): returns the credit with what is owed taken.
    pub fn collect(&self, c: i32) -> i32 {
        c.saturating_sub(self.owed)
    }

    /// The floor took `forgiven` credits (0 if it took none): keep the
    /// attributed part of that as debt, bounded, and start a new period.
    pub fn settle(&mut self, forgiven: i32, credits_per_tslice: i32) {
        let max = credits_per_tslice.saturating_mul(MAX_DEBT_SLICES).max(0);
        let attributable = self.owed.saturating_add(self.attributed);
        self.owed = forgiven.max(0).min(attributable).min(max);
        self.attributed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPT: i32 = 300;

    #[test]
    fn own_running_is_forgiven_as_in_credit1() {
        let mut d = Debt::default();
        d.settle(500, CPT);
        assert_eq!(d.owed, 0);
    }

    #[test]
    fn attributed_work_the_floor_took_is_owed() {
        let mut d = Debt::default();
        d.note_attributed(120);
        d.settle(500, CPT);
        assert_eq!(d.owed, 120);
        assert_eq!(d.attributed, 0);
        assert_eq!(d.collect(-100), -220);
    }

    #[test]
    fn nothing_is_owed_when_the_floor_took_nothing() {
        let mut d = Debt { attributed: 120, owed: 50 };
        d.settle(0, CPT);
        assert_eq!(d, Debt::default());
    }

    #[test]
    fn debt_is_bounded() {
        let mut d = Debt { attributed: 10_000, owed: 0 };
        d.settle(10_000, CPT);
        assert_eq!(d.owed, MAX_DEBT_SLICES * CPT);
    }

    #[test]
    fn a_negative_charge_runs_up_no_debt() {
        let mut d = Debt::default();
        d.note_attributed(-5);
        assert_eq!(d.attributed, 0);
    }
}
