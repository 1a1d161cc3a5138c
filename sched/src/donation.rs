//! Credit donation and driver-domain attribution.
//!
//! **Donation.** A unit that blocks right after notifying a peer is waiting
//! for that peer. Instead of letting the rest of its slice go to whoever is
//! next in line (often a CPU hog), it donates it: the peer runs now, on the
//! donor's pCPU, and the time it runs there is charged to the donor's
//! credit, not its own. The donor paid for that slice; it spends it on the
//! work it is waiting for.
//!
//! - Target: the last peer the donor notified during its current run (the
//!   one whose answer it most likely waits for), if that peer is in another
//!   domain, both domains allow donation, the peer is queued (runnable, not
//!   running, not parked), not already holding another donation, not about
//!   to run on an idle pCPU anyway, and may run on this pCPU.
//! - Length: what was left of the donor's slice, at least `MIN_TIMER`, and
//!   never more than what is left of the donor domain's fair share of the
//!   period (the budget of [`crate::boost`]): a domain gives away only CPU
//!   it is entitled to, and the donated time is drawn from that budget.
//! - End: the donated time is used up, the peer blocks, the peer notifies
//!   the donor back, the donor wakes, or either side is removed.
//! - Chains: a unit running on a donation that blocks after notifying a
//!   third unit passes the *same* donation on (guest → dom0 netback → guest:
//!   the guest's slice pays for both hops). The donor link always points at
//!   the root donor, which is blocked, so chains cannot form cycles and are
//!   one link deep whatever the number of hops.
//!
//! **Attribution** (SEDF-DC's debt collector, Gupta et al. 2006). A driver
//! domain's unit notified by a guest is working for that guest until it
//! blocks, for at most a tick of running from the guest's last
//! notification: that running time is charged to the guest's credit.
//! Without the tick, work the driver domain does for itself after a guest's
//! event was charged to that guest: `xl create` had dom0 build a domain for
//! 1.2 s without blocking, all of it charged to a booting guest whose debt
//! is bounded (`commaware_accounting::debt`), so past that bound nobody
//! paid, dom0's credit stayed up and hogs queued behind it waited up to
//! 0.5-1.2 s (Xen's MaxWait, booted, 7 Dec). A guest that keeps the driver domain busy keeps
//! notifying it, and each notification starts a new tick.
//!
//! Both only move charges between units: the ledger's total charge always
//! equals the total running time (donations never create credit).

use commaware_accounting::credit::{Time, MIN_TIMER};

use crate::core::Core;
use crate::sink::{Sink, Trace};
use crate::state::{link, unlink, DomFlags, UnitFlags};
use crate::{Cpu, UnitId};

/// A donation decided at block time.
pub(crate) struct Donation {
    pub root: UnitId,
    pub target: UnitId,
    pub left: Time,
}

impl Core {
    /// `prev` blocked on `cpu`: pick the peer it donates to, if any.
    pub(crate) fn donation_target(&self, prev: UnitId, cpu: Cpu, now: Time) -> Option<Donation> {
        if !self.params.donation {
            return None;
        }
        let p = self.unit(prev)?;
        let target = unlink(p.notified)?;
        if p.notified_at < p.stint_start {
            return None;
        }
        let t = self.unit(target)?;
        let allows = |u: UnitId| self.dom_of(u).is_some_and(|d| !d.flags.contains(DomFlags::NO_DONATION));
        if t.dom == p.dom || !allows(prev) || !allows(target) {
            return None;
        }
        if !t.flags.contains(UnitFlags::QUEUED) || t.flags.contains(UnitFlags::PARKED) {
            return None;
        }
        // A peer still holding another donation (preempted, or left queued
        // by tasklet work) keeps that one: a second would leave the first
        // donor pointing at a donee that no longer names it.
        if t.donor.is_some() {
            return None;
        }
        if t.flags.contains(UnitFlags::LIVE) && t.cpu != cpu {
            return None;
        }
        // The peer woke onto an idle pCPU, which its wake tickled: it runs
        // there at once. Pulling it here would only migrate it (on every
        // round trip of an uncontended pair) and leave that pCPU's wakeup
        // with nothing to run; a donation is for a peer that would wait.
        if t.cpu != cpu && self.curr(t.cpu).is_none() {
            return None;
        }
        if !t.affinity.contains(cpu) {
            return None;
        }
        let (root, left) = match unlink(p.donor) {
            Some(r) => (r, p.donation_left),
            // A donor gives only what is left of its domain's fair share
            // of the period (the budget boosts draw on too): donating can
            // never lift a group of domains above their combined share, even
            // though credit1's floor forgives the donor's debt.
            None => {
                let share_left = self.dom_of(prev).map_or(0, |d| d.boost_budget.max(0));
                (prev, p.slice_end.saturating_sub(now).min(share_left))
            }
        };
        // The root paying for itself is not a donation.
        if root == target || left < MIN_TIMER {
            return None;
        }
        Some(Donation { root, target, left })
    }

    /// Start (or pass on) a donation chosen by [`Core::donation_target`].
    pub(crate) fn start_donation<S: Sink>(&mut self, prev: UnitId, d: &Donation, sink: &mut S) {
        if d.root != prev {
            // Passing the root's donation on: prev stops receiving it.
            if let Some(p) = self.unit_mut(prev) {
                p.donor = None;
                p.donation_left = 0;
            }
            sink.trace(Trace::DonationEnd { donor: d.root, donee: prev });
        } else if let Some(dom) = self.dom_of_mut(prev) {
            dom.counters.donations = dom.counters.donations.saturating_add(1);
        }
        if let Some(r) = self.unit_mut(d.root) {
            r.flags.insert(UnitFlags::DONATING);
            r.donee = link(d.target);
        }
        if let Some(t) = self.unit_mut(d.target) {
            t.donor = link(d.root);
            t.donation_left = d.left;
        }
        sink.trace(Trace::DonationStart { donor: d.root, donee: d.target });
    }

    /// `u` stops running on a donation.
    pub(crate) fn end_donation_of_donee<S: Sink>(&mut self, u: UnitId, sink: &mut S) {
        let Some(unit) = self.unit_mut(u) else { return };
        let Some(root) = unlink(unit.donor) else { return };
        unit.donor = None;
        unit.donation_left = 0;
        if let Some(r) = self.unit_mut(root) {
            if r.donee == link(u) {
                r.donee = None;
                r.flags.remove(UnitFlags::DONATING);
            }
        }
        sink.trace(Trace::DonationEnd { donor: root, donee: u });
    }

    /// `u` stops donating.
    pub(crate) fn end_donation_of_donor<S: Sink>(&mut self, u: UnitId, sink: &mut S) {
        let Some(unit) = self.unit_mut(u) else { return };
        let donee = unlink(unit.donee);
        unit.donee = None;
        unit.flags.remove(UnitFlags::DONATING);
        let Some(t) = donee else { return };
        if let Some(tu) = self.unit_mut(t) {
            if tu.donor == link(u) {
                tu.donor = None;
                tu.donation_left = 0;
            }
        }
        sink.trace(Trace::DonationEnd { donor: u, donee: t });
    }
}

/// The runner `u` was just debited `credits` for `ran` ns of its own
/// running; move that charge to whoever pays for it.
/// Returns the part of `ran` a donation covered (charged to the donor).
pub(crate) fn settle<S: Sink>(core: &mut Core, u: UnitId, ran: Time, credits: i32, sink: &mut S) -> Time {
    let Some(unit) = core.unit(u) else { return 0 };
    if let Some(root) = unlink(unit.donor) {
        let covered = ran.min(unit.donation_left).max(0);
        // The share of this debit that the donation covers.
        let c = if ran > 0 { (i64::from(credits) * covered / ran) as i32 } else { 0 };
        transfer(core, u, root, c);
        if let Some(unit) = core.unit_mut(u) {
            unit.donation_left = unit.donation_left.saturating_sub(covered);
        }
        if let Some(d) = core.dom_of_mut(root) {
            d.counters.donated_ns = d.counters.donated_ns.saturating_add(covered);
        }
        if let Some(d) = core.dom_of_mut(u) {
            d.counters.received_ns = d.counters.received_ns.saturating_add(covered);
        }
        core.draw_share(root, covered);
        if core.unit(u).is_some_and(|x| x.donation_left <= 0) {
            core.end_donation_of_donee(u, sink);
        }
        return covered;
    } else if let Some(guest) = unlink(unit.on_behalf) {
        let covered = ran.min(unit.on_behalf_left).max(0);
        if core.params.attribution {
            let c = if ran > 0 { (i64::from(credits) * covered / ran) as i32 } else { 0 };
            transfer(core, u, guest, c);
            if let Some(g) = core.unit_mut(guest) {
                g.debt.note_attributed(c);
            }
        }
        if let Some(unit) = core.unit_mut(u) {
            unit.on_behalf_left = unit.on_behalf_left.saturating_sub(covered);
            if unit.on_behalf_left <= 0 {
                unit.on_behalf = None;
                unit.on_behalf_left = 0;
            }
        }
    }
    0
}

fn transfer(core: &mut Core, from: UnitId, to: UnitId, credits: i32) {
    if credits == 0 || core.unit(to).is_none() {
        return;
    }
    if let Some(f) = core.unit_mut(from) {
        f.credit.credit = f.credit.credit.saturating_add(credits);
    }
    if let Some(t) = core.unit_mut(to) {
        t.credit.charge(credits);
    }
    if let Some(d) = core.dom_of_mut(to) {
        d.counters.charged_for_others = d.counters.charged_for_others.saturating_add(i64::from(credits));
    }
}
