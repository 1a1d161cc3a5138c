//! Credit: credit1's currency. Running costs 10 credits per millisecond; a
//! unit's credit is topped up every time slice by [`crate::period`].
//!
//! Time is kept in nanoseconds (Xen's `s_time_t`). Like credit1's
//! `burn_credits`, the sub-credit remainder of each debit is carried in a
//! residual so that no running time is ever lost or invented by rounding:
//! `credits_charged * NS_PER_CREDIT + residual == ns_run` holds exactly,
//! which is what the conservation checks rely on.

use bytemuck::Zeroable;

/// Nanoseconds (Xen's `s_time_t`).
pub type Time = i64;

pub const NS_PER_US: Time = 1_000;
pub const NS_PER_MS: Time = 1_000_000;
/// credit1's `CSCHED_CREDITS_PER_MSEC`.
pub const CREDITS_PER_MSEC: i32 = 10;
/// One credit is worth this much running time.
pub const NS_PER_CREDIT: Time = NS_PER_MS / CREDITS_PER_MSEC as Time;
/// credit1's `CSCHED_DEFAULT_WEIGHT`.
pub const DEFAULT_WEIGHT: u16 = 256;
/// credit1's `CSCHED_TICKS_PER_TSLICE`.
pub const TICKS_PER_TSLICE: u32 = 3;
/// credit1's `CSCHED_MIN_TIMER`: never arm a slice shorter than this.
pub const MIN_TIMER: Time = 100 * NS_PER_US;

/// The credit state of one unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Zeroable)]
pub struct UnitCredit {
    /// Credit balance (credit1's `svc->credit`); negative means OVER.
    pub credit: i32,
    /// Running time not yet turned into a whole credit, in ns.
    pub residual: Time,
}

/// What one debit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Burn {
    /// Whole credits taken from the payer.
    pub credits: i32,
}

impl UnitCredit {
    /// Debit `ran` nanoseconds of running time: credit1's `burn_credits`.
    /// A non-positive interval costs nothing.
    pub fn burn(&mut self, ran: Time) -> Burn {
        if ran <= 0 {
            return Burn { credits: 0 };
        }
        let total = ran.saturating_add(self.residual);
        // One debit is at most i32::MAX credits (60 hours: a unit is ticked
        // far more often); what does not fit stays in the residual, so no
        // running time is ever lost.
        let whole = (total / NS_PER_CREDIT).min(Time::from(i32::MAX));
        self.residual = total - whole * NS_PER_CREDIT;
        let credits = i32::try_from(whole).unwrap_or(i32::MAX);
        self.credit = self.credit.saturating_sub(credits);
        Burn { credits }
    }

    /// Take `credits` that another unit's running time costs (donation,
    /// driver-domain attribution). The residual stays with the runner.
    pub fn charge(&mut self, credits: i32) {
        self.credit = self.credit.saturating_sub(credits);
    }
}

/// credit1's `credits_per_tslice` for a time slice of `tslice_ms`.
pub const fn credits_per_tslice(tslice_ms: u32) -> i32 {
    // tslice_ms is validated to 1..=1000, so this cannot overflow.
    CREDITS_PER_MSEC * tslice_ms as i32
}

/// credit1's tick period for a time slice: three ticks per slice, or one
/// tick when the slice is shorter than three milliseconds.
pub const fn tick_period(tslice_ms: u32) -> Time {
    let ticks = if tslice_ms < TICKS_PER_TSLICE { 1 } else { TICKS_PER_TSLICE };
    (tslice_ms as Time * NS_PER_MS) / ticks as Time
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_takes_ten_credits_per_ms_and_keeps_the_remainder() {
        let mut c = UnitCredit { credit: 300, residual: 0 };
        assert_eq!(c.burn(NS_PER_MS + 150_000).credits, 11);
        assert_eq!(c.credit, 289);
        assert_eq!(c.residual, 50_000);
        // The remainder completes the next credit.
        assert_eq!(c.burn(50_000).credits, 1);
        assert_eq!(c.residual, 0);
        assert_eq!(c.credit, 288);
    }

    #[test]
    fn burn_of_nothing_costs_nothing() {
        let mut c = UnitCredit { credit: 5, residual: 7 };
        assert_eq!(c.burn(0).credits, 0);
        assert_eq!(c.burn(-10).credits, 0);
        assert_eq!(c, UnitCredit { credit: 5, residual: 7 });
    }

    #[test]
    fn tick_period_is_a_third_of_the_slice() {
        assert_eq!(tick_period(30), 10 * NS_PER_MS);
        assert_eq!(tick_period(2), 2 * NS_PER_MS);
        assert_eq!(credits_per_tslice(30), 300);
    }
}
