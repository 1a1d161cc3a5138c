//! What must hold after every step. The property tests and the fuzzer call
//! [`Core::check`] after each event; a violation names the rule and the
//! unit or pCPU that broke it.

use commaware_accounting::credit::{credits_per_tslice, tick_period, NS_PER_CREDIT};
use commaware_accounting::debt::MAX_DEBT_SLICES;

use crate::core::Core;
use crate::state::{link, unlink, Link, UnitFlags, NR_QUEUES};
use crate::{Cpu, UnitId, MAX_UNITS};

/// A broken invariant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Violation {
    pub rule: &'static str,
    pub unit: Option<UnitId>,
    pub cpu: Option<Cpu>,
}

fn fail(rule: &'static str, unit: Option<UnitId>, cpu: Option<Cpu>) -> Result<(), Violation> {
    Err(Violation { rule, unit, cpu })
}

impl Core {
    /// Check every invariant.
    pub fn check(&self) -> Result<(), Violation> {
        let mut queued = [0u8; MAX_UNITS];
        let mut running = [0u8; MAX_UNITS];

        for (ci, pc) in self.pcpus.iter().enumerate() {
            let cpu = Some(ci as Cpu);
            if !pc.in_use {
                if self.cpus.contains(ci as Cpu) {
                    return fail("pool set holds a pCPU that is not in use", None, cpu);
                }
                continue;
            }
            let mut count: u32 = 0;
            for q in 0..NR_QUEUES {
                let mut prev: Link = None;
                let mut cur = pc.heads.get(q).copied().flatten();
                let mut steps = 0;
                while let Some(u) = unlink(cur) {
                    steps += 1;
                    if steps > MAX_UNITS {
                        return fail("run queue does not terminate", Some(u), cpu);
                    }
                    let Some(unit) = self.unit(u) else {
                        return fail("run queue holds a freed unit", Some(u), cpu);
                    };
                    if unit.prev != prev {
                        return fail("run queue back link broken", Some(u), cpu);
                    }
                    if !unit.flags.contains(UnitFlags::QUEUED) || usize::from(unit.queue) != q {
                        return fail("queued unit not marked as queued there", Some(u), cpu);
                    }
                    if usize::from(unit.cpu) != ci {
                        return fail("queued unit names another pCPU", Some(u), cpu);
                    }
                    if let Some(n) = queued.get_mut(usize::from(u.0)) {
                        *n = n.saturating_add(1);
                    }
                    count += 1;
                    prev = cur;
                    cur = unit.next;
                }
                if pc.tails.get(q).copied().flatten() != prev {
                    return fail("run queue tail is not its last unit", None, cpu);
                }
            }
            if count != u32::from(pc.queued) {
                return fail("queued count differs from the run queue", None, cpu);
            }
            if let Some(u) = unlink(pc.curr) {
                let Some(unit) = self.unit(u) else { return fail("pCPU runs a freed unit", Some(u), cpu) };
                if usize::from(unit.cpu) != ci {
                    return fail("running unit names another pCPU", Some(u), cpu);
                }
                if let Some(n) = running.get_mut(usize::from(u.0)) {
                    *n = n.saturating_add(1);
                }
                if self.idlers.contains(ci as Cpu) {
                    return fail("busy pCPU is in the idlers set", Some(u), cpu);
                }
            }
        }
        if self.idlers.and(&self.cpus) != self.idlers {
            return fail("idlers set holds a pCPU outside the pool", None, None);
        }

        let mut dom_units = [0u16; crate::MAX_DOMAINS];
        let mut dom_active = [0u16; crate::MAX_DOMAINS];
        let boost_len = self.params.boost_len();
        let max_debt = credits_per_tslice(crate::params::TSLICE_MS_MAX).saturating_mul(MAX_DEBT_SLICES);
        let max_on_behalf = tick_period(crate::params::TSLICE_MS_MAX);
        for (ui, unit) in self.units.iter().enumerate() {
            if !unit.in_use {
                continue;
            }
            let u = Some(UnitId(ui as u16));
            let (q, r) = (queued.get(ui).copied().unwrap_or(0), running.get(ui).copied().unwrap_or(0));
            if r > 1 {
                return fail("unit runs on two pCPUs", u, None);
            }
            if q > 1 {
                return fail("unit is on two run queues", u, None);
            }
            if q + r > 1 {
                return fail("unit is both queued and running", u, None);
            }
            if unit.flags.contains(UnitFlags::QUEUED) && q == 0 {
                return fail("unit marked queued is on no run queue", u, None);
            }
            let runnable = unit.flags.contains(UnitFlags::RUNNABLE) && !unit.flags.contains(UnitFlags::PARKED);
            if runnable && q + r != 1 {
                return fail("runnable unit is neither queued nor running", u, None);
            }
            if !unit.flags.contains(UnitFlags::RUNNABLE) && q != 0 {
                return fail("unit that is not runnable is queued", u, None);
            }
            let Some(dom) = self.doms.get(usize::from(unit.dom)).filter(|d| d.in_use) else {
                return fail("unit belongs to a destroyed domain", u, None);
            };
            if let Some(n) = dom_units.get_mut(usize::from(unit.dom)) {
                *n += 1;
            }
            if unit.flags.contains(UnitFlags::ACTIVE) {
                if let Some(n) = dom_active.get_mut(usize::from(unit.dom)) {
                    *n += 1;
                }
            }
            let _ = dom;
            for l in [unit.notified, unit.on_behalf, unit.donor, unit.donee] {
                if let Some(t) = unlink(l) {
                    if self.unit(t).is_none() {
                        return fail("unit refers to a freed unit", u, None);
                    }
                }
            }
            if let Some(root) = unlink(unit.donor) {
                let Some(r) = self.unit(root) else { return fail("donor is gone", u, None) };
                if Some(root) == u {
                    return fail("unit donates to itself", u, None);
                }
                if r.donee != link(UnitId(ui as u16)) || !r.flags.contains(UnitFlags::DONATING) {
                    return fail("donation links disagree", u, None);
                }
                if r.donor.is_some() {
                    return fail("donor is itself running on a donation", u, None);
                }
                if r.flags.contains(UnitFlags::RUNNABLE) && !r.flags.contains(UnitFlags::DONATING) {
                    return fail("runnable unit still donating", u, None);
                }
                if unit.donation_left < 0 {
                    return fail("negative donation left", u, None);
                }
            }
            if unit.flags.contains(UnitFlags::DONATING) {
                let Some(t) = unlink(unit.donee) else { return fail("donating unit has no donee", u, None) };
                if self.unit(t).map(|x| x.donor) != Some(link(UnitId(ui as u16))) {
                    return fail("donee does not name its donor", u, None);
                }
            }
            // Donation chains are finite and acyclic.
            let mut cur = unit.donee;
            let mut steps = 0;
            while let Some(t) = unlink(cur) {
                steps += 1;
                if steps > 2 || Some(t) == u {
                    return fail("donation chain is cyclic or deeper than one link", u, None);
                }
                cur = self.unit(t).and_then(|x| x.donee);
            }
            if unit.boost_left < 0 || unit.boost_left > boost_len {
                return fail("boost longer than the boost length", u, None);
            }
            // The slice may have shrunk since the debt was settled: bound it
            // by the longest slice a pool may have.
            if unit.debt.owed < 0 || unit.debt.owed > max_debt || unit.debt.attributed < 0 {
                return fail("attribution debt negative or beyond its bound", u, None);
            }
            // Attribution lasts a tick from the guest's last notification.
            if unit.on_behalf_left < 0
                || unit.on_behalf_left > max_on_behalf
                || (unit.on_behalf.is_none() && unit.on_behalf_left != 0)
            {
                return fail("attribution outlasts its tick", u, None);
            }
        }
        for (di, dom) in self.doms.iter().enumerate() {
            if !dom.in_use {
                continue;
            }
            if dom_units.get(di).copied() != Some(dom.units) {
                return fail("domain unit count is wrong", None, None);
            }
            if dom_active.get(di).copied() != Some(dom.active_units) {
                return fail("domain active unit count is wrong", None, None);
            }
            if dom.boost_budget < -boost_len {
                return fail("domain ran boosted beyond its budget", None, None);
            }
        }
        // Credit is conserved: every ns run is charged to someone, once.
        let charged_ns = self.ledger_charged.saturating_mul(NS_PER_CREDIT);
        if charged_ns + self.residual_total() + self.ledger_lost_residual != self.ledger_run_ns {
            return fail("credit charged differs from time run", None, None);
        }
        Ok(())
    }
}
