//! The communication boost.
//!
//! Xen calls [`Core::notify`] when a vCPU sends an interdomain event, just
//! before the receiver is woken. credit1 boosts a waking unit only if it was
//! blocked *and* UNDER; a receiver that was already runnable (say dom0's
//! netback vCPU, busy with someone else's packets) or OVER (an I/O-bound
//! unit that, by credit1's bookkeeping, often is) waits behind CPU hogs for
//! up to a 30 ms slice per hop. So:
//!
//! - **Who**: the receiving unit, whatever its credit priority, when the
//!   sender is another domain, boosting is on globally and the receiving
//!   domain has not opted out. Sending never boosts the sender.
//! - **How much**: one boost lets the unit run at BOOST for at most
//!   `boost_us` (default 500 µs) of running time, or until it blocks; it
//!   goes to the front of its pCPU's BOOST queue, and it may preempt the
//!   running unit (ratelimit notwithstanding) unless that one is itself
//!   communication-bound (boosted or on a donation) or is the sender of the
//!   event (it is about to block and donate, or has more to send; preempted
//!   it would queue behind CPU hogs for a whole slice).
//! - **The bound**: boosted time is burned from the unit's own credit like
//!   any other, and a domain may be boosted only while the running it paid
//!   for in the current accounting period (boosted or not) is below its
//!   fair share of the period (`commaware_accounting::share`); a boost
//!   reserves its whole length from that budget when granted. When the
//!   budget is spent the boost is refused and counted, and the domain is
//!   scheduled exactly as credit1 would until the next period refills it.
//!   So a domain runs boosted only while it is within its fair share, plus
//!   at most one boost length, however many events it is sent: events buy
//!   latency, not CPU. (Donations are bounded separately: a donor only
//!   gives credit it has, see `donation`.)

use commaware_accounting::credit::{tick_period, Time};

use crate::core::Core;
use crate::sink::{Sink, Trace};
use crate::state::{link, DomFlags, UnitFlags};
use crate::UnitId;

impl Core {
    /// `src` sent an interdomain event to `dst` (Xen's `evtchn_send`,
    /// called before the wake). Records who talked to whom (for donation and
    /// attribution), ends a donation the peer answers, and boosts `dst`.
    pub fn notify<S: Sink>(&mut self, src: UnitId, dst: UnitId, now: Time, sink: &mut S) {
        let (Some(s), Some(d)) = (self.unit(src), self.unit(dst)) else { return };
        if s.dom == d.dom {
            return;
        }
        let src_driver = self.dom_of(src).is_some_and(|x| x.flags.contains(DomFlags::DRIVER));
        let dst_dom_flags = self.dom_of(dst).map_or(DomFlags::empty(), |x| x.flags);
        let answers_donor = s.donor == link(dst);
        if let Some(s) = self.unit_mut(src) {
            s.notified = link(dst);
            s.notified_at = now;
        }
        // The peer answered whoever donated to it: the donation did its job.
        if answers_donor {
            // What it ran on the donation so far is still the donor's to pay.
            self.charge_running(src, now, sink);
            self.end_donation_of_donee(src, sink);
        }
        // A driver domain notified by a guest works for that guest until it
        // blocks, for a tick of running at most (see `donation`).
        if self.params.attribution && dst_dom_flags.contains(DomFlags::DRIVER) && !src_driver {
            let tick = tick_period(self.params.tslice_ms);
            if let Some(d) = self.unit_mut(dst) {
                d.on_behalf = link(src);
                d.on_behalf_left = tick;
            }
        }
        if !self.params.boost || dst_dom_flags.contains(DomFlags::NO_BOOST) {
            return;
        }
        let Some(d) = self.unit(dst) else { return };
        if self.curr(d.cpu) == Some(dst) || d.boost_left > 0 {
            return;
        }
        if d.flags.contains(UnitFlags::QUEUED) {
            if self.grant_boost(dst, sink) {
                self.dequeue(dst);
                self.enqueue(dst);
                self.tickle(dst, now, sink);
            }
        } else if !d.flags.contains(UnitFlags::RUNNABLE) {
            // Blocked: the wake that follows applies it.
            if let Some(d) = self.unit_mut(dst) {
                d.flags.insert(UnitFlags::BOOST_PENDING);
            }
        }
    }

    /// Grant a communication boost if the domain's budget allows.
    pub(crate) fn grant_boost<S: Sink>(&mut self, u: UnitId, sink: &mut S) -> bool {
        if !self.params.boost {
            return false;
        }
        let len = self.params.boost_len();
        let Some(dom) = self.dom_of_mut(u) else { return false };
        if dom.flags.contains(DomFlags::NO_BOOST) {
            return false;
        }
        if dom.boost_budget <= 0 {
            dom.counters.boosts_refused = dom.counters.boosts_refused.saturating_add(1);
            sink.trace(Trace::BoostRefused { unit: u });
            return false;
        }
        dom.counters.boosts = dom.counters.boosts.saturating_add(1);
        // Reserve the whole boost now: several units of one domain boosted
        // at once cannot overdraw the budget by more than one boost length.
        dom.boost_budget = dom.boost_budget.saturating_sub(len);
        if let Some(unit) = self.unit_mut(u) {
            unit.boost_left = len;
            unit.flags.insert(UnitFlags::BOOST_FRESH);
        }
        sink.trace(Trace::BoostStart { unit: u });
        true
    }

    /// Cut `u`'s boost to at most `to` (it blocked, or the policy changed).
    /// What a boost granted in this period leaves unused goes back to its
    /// domain's budget; a boost from an earlier period was paid for there.
    pub(crate) fn cut_boost(&mut self, u: UnitId, to: Time) {
        let Some(unit) = self.unit_mut(u) else { return };
        let to = to.max(0);
        if unit.boost_left <= to {
            return;
        }
        let unused = unit.boost_left - to;
        unit.boost_left = to;
        let fresh = unit.flags.contains(UnitFlags::BOOST_FRESH);
        if to == 0 {
            unit.flags.remove(UnitFlags::BOOST_FRESH);
        }
        if fresh {
            if let Some(d) = self.dom_of_mut(u) {
                d.boost_budget = d.boost_budget.saturating_add(unused);
            }
        }
    }
}
