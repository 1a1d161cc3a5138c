//! The scheduler instance: its tables, the lifecycle of pCPUs, domains and
//! units, sleep/wake/yield, the per-pCPU tick and the accounting period.
//!
//! One [`Core`] per cpupool. The hypervisor serialises every call on one
//! instance with one lock (the shim makes it every pCPU's run-queue lock),
//! so `&mut self` is exactly Xen's locking and no Rust-side lock is needed.

use bytemuck::Zeroable;
use commaware_accounting::credit::{credits_per_tslice, Time};
use commaware_accounting::period::Period;
use commaware_accounting::share::boost_budget;
use commaware_accounting::DomCounters;

use crate::cpuset::CpuSet;
use crate::params::{DomParams, GlobalParams, ParamError};
use crate::runq;
use crate::sink::{Sink, Trace};
use crate::state::{link, unlink, Dom, DomFlags, Pcpu, Pri, Unit, UnitFlags};
use crate::{Cpu, DomId, UnitId, MAX_DOMAINS, MAX_PCPUS, MAX_UNITS};

/// Why a call was refused. Nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A parameter out of range.
    Param(ParamError),
    /// No such domain/unit/pCPU in this instance.
    NoSuchDomain,
    NoSuchUnit,
    NoSuchPcpu,
    /// The table is full.
    TooManyDomains,
    TooManyUnits,
    /// The pCPU number is beyond [`MAX_PCPUS`].
    PcpuOutOfRange,
    /// Already there.
    PcpuPresent,
    /// Still in use (a domain with units, a pCPU running a unit).
    Busy,
}

impl From<ParamError> for Error {
    fn from(e: ParamError) -> Self {
        Error::Param(e)
    }
}

/// A unit's state as dumps show it.
#[derive(Clone, Copy, Debug)]
pub struct UnitInfo {
    pub vcpu_id: u16,
    pub pri: Pri,
    pub flags: UnitFlags,
    pub credit: i32,
    pub cpu: Cpu,
    pub boost_left: Time,
    pub donation_left: Time,
    pub donor: Option<UnitId>,
}

/// One scheduler instance.
#[derive(Zeroable)]
pub struct Core {
    pub(crate) params: GlobalParams,
    pub(crate) units: [Unit; MAX_UNITS],
    pub(crate) doms: [Dom; MAX_DOMAINS],
    pub(crate) pcpus: [Pcpu; MAX_PCPUS],
    /// pCPUs in the pool.
    pub(crate) cpus: CpuSet,
    /// pCPUs idle and not yet tickled (credit1's `prv->idlers`).
    pub(crate) idlers: CpuSet,
    /// credit1's `credit_balance`.
    pub(crate) credit_balance: i64,
    /// Round-robin cursors (credit1's `balance_bias`, `last_tickle_cpu`).
    pub(crate) balance_bias: Cpu,
    pub(crate) last_tickle: Cpu,
    /// Conservation ledger: all running time, and all credit charged for it.
    pub(crate) ledger_run_ns: Time,
    pub(crate) ledger_charged: i64,
    /// Residuals of freed units (run time below one credit never charged).
    pub(crate) ledger_lost_residual: Time,
}

impl Core {
    /// Make a core ready, with validated parameters. Resets every table
    /// in place: the core is far too large to build on a hypervisor stack.
    pub fn init(&mut self, params: GlobalParams) -> Result<(), Error> {
        params.validate()?;
        // One memset per table: a loop of per-element stores may be lowered
        // to repeated memset calls through a register, an indirect call
        // the hypervisor object may not contain (objcheck).
        bytemuck::fill_zeroes(&mut self.units[..]);
        bytemuck::fill_zeroes(&mut self.doms[..]);
        bytemuck::fill_zeroes(&mut self.pcpus[..]);
        self.params = params;
        self.cpus = CpuSet::EMPTY;
        self.idlers = CpuSet::EMPTY;
        self.credit_balance = 0;
        self.balance_bias = 0;
        self.last_tickle = 0;
        self.ledger_run_ns = 0;
        self.ledger_charged = 0;
        self.ledger_lost_residual = 0;
        Ok(())
    }

    pub fn params(&self) -> GlobalParams {
        self.params
    }

    /// Change the pool-wide policy (`adjust_global`).
    pub fn set_params(&mut self, params: GlobalParams) -> Result<(), Error> {
        params.validate()?;
        self.params = params;
        // Boosts granted under the old policy are brought within the new
        // one: no longer than the new boost length (none when boosting is
        // off), and a queued unit that lost its boost is re-filed by its
        // credit priority instead of keeping its place in the BOOST queue.
        let len = if params.boost { params.boost_len() } else { 0 };
        for i in 0..MAX_UNITS {
            let Some(u) = self.units.get_mut(i).filter(|u| u.in_use) else { continue };
            if !params.boost {
                u.flags.remove(UnitFlags::BOOST_PENDING);
            }
            if u.boost_left <= len {
                continue;
            }
            let id = UnitId(i as u16);
            self.cut_boost(id, len);
            if len == 0 && self.unit_queued(id) {
                self.dequeue(id);
                self.enqueue(id);
            }
        }
        for d in self.doms.iter_mut().filter(|d| d.in_use) {
            d.boost_budget = d.boost_budget.max(-params.boost_len());
        }
        Ok(())
    }

    pub fn ncpus(&self) -> u32 {
        self.cpus.count()
    }

    pub fn cpus(&self) -> CpuSet {
        self.cpus
    }

    // ---- table access -------------------------------------------------

    pub(crate) fn unit(&self, u: UnitId) -> Option<&Unit> {
        self.units.get(usize::from(u.0)).filter(|x| x.in_use)
    }

    pub(crate) fn unit_mut(&mut self, u: UnitId) -> Option<&mut Unit> {
        self.units.get_mut(usize::from(u.0)).filter(|x| x.in_use)
    }

    pub(crate) fn dom_of(&self, u: UnitId) -> Option<&Dom> {
        let d = self.unit(u)?.dom;
        self.doms.get(usize::from(d))
    }

    pub(crate) fn dom_of_mut(&mut self, u: UnitId) -> Option<&mut Dom> {
        let d = self.unit(u)?.dom;
        self.doms.get_mut(usize::from(d))
    }

    pub(crate) fn pcpu(&self, cpu: Cpu) -> Option<&Pcpu> {
        self.pcpus.get(usize::from(cpu)).filter(|p| p.in_use)
    }

    /// The unit `cpu` runs (`None`: idle or no such pCPU).
    pub fn curr(&self, cpu: Cpu) -> Option<UnitId> {
        unlink(self.pcpu(cpu)?.curr)
    }

    /// The pCPU a unit is queued on or runs on.
    pub fn unit_cpu(&self, u: UnitId) -> Option<Cpu> {
        self.unit(u).map(|x| x.cpu)
    }

    pub fn unit_pri(&self, u: UnitId) -> Option<Pri> {
        self.unit(u).map(|x| x.pri)
    }

    pub fn unit_credit(&self, u: UnitId) -> Option<i32> {
        self.unit(u).map(|x| x.credit.credit)
    }

    pub fn unit_boosted(&self, u: UnitId) -> bool {
        self.unit(u).is_some_and(|x| x.boost_left > 0)
    }

    pub fn unit_queued(&self, u: UnitId) -> bool {
        self.unit(u).is_some_and(|x| x.flags.contains(UnitFlags::QUEUED))
    }

    pub fn unit_parked(&self, u: UnitId) -> bool {
        self.unit(u).is_some_and(|x| x.flags.contains(UnitFlags::PARKED))
    }

    pub fn unit_active(&self, u: UnitId) -> bool {
        self.unit(u).is_some_and(|x| x.flags.contains(UnitFlags::ACTIVE))
    }

    pub fn unit_domain(&self, u: UnitId) -> Option<DomId> {
        self.unit(u).map(|x| DomId(x.dom))
    }

    /// Xen's vCPU id of a unit.
    pub fn unit_vcpu(&self, u: UnitId) -> Option<u16> {
        self.unit(u).map(|x| x.vcpu_id)
    }

    /// A unit's state, for dumps.
    pub fn unit_info(&self, u: UnitId) -> Option<UnitInfo> {
        let x = self.unit(u)?;
        Some(UnitInfo {
            vcpu_id: x.vcpu_id,
            pri: x.eff_pri(),
            flags: x.flags,
            credit: x.credit.credit,
            cpu: x.cpu,
            boost_left: x.boost_left,
            donation_left: x.donation_left,
            donor: unlink(x.donor),
        })
    }

    /// The unit's donor while it runs on a donated slice.
    pub fn unit_donor(&self, u: UnitId) -> Option<UnitId> {
        unlink(self.unit(u)?.donor)
    }

    /// Units queued on `cpu`, in the order they would run.
    pub fn runq(&self, cpu: Cpu) -> impl Iterator<Item = UnitId> + '_ {
        let pc = self.pcpus.get(usize::from(cpu));
        pc.into_iter().flat_map(move |pc| runq::iter(&self.units, pc))
    }

    pub fn domain_counters(&self, d: DomId) -> Option<DomCounters> {
        let dom = self.doms.get(usize::from(d.0)).filter(|x| x.in_use)?;
        Some(dom.counters)
    }

    pub fn domain_params(&self, d: DomId) -> Option<DomParams> {
        self.doms.get(usize::from(d.0)).filter(|x| x.in_use).map(Dom::params)
    }

    pub fn domain_domid(&self, d: DomId) -> Option<u16> {
        self.doms.get(usize::from(d.0)).filter(|x| x.in_use).map(|x| x.domid)
    }

    /// Sum of its units' credit.
    pub fn domain_credit(&self, d: DomId) -> i64 {
        self.units.iter().filter(|u| u.in_use && u.dom == d.0).map(|u| i64::from(u.credit.credit)).sum()
    }

    pub fn domain_boost_budget(&self, d: DomId) -> Time {
        self.doms.get(usize::from(d.0)).map_or(0, |x| x.boost_budget)
    }

    /// Iterate the domains in use.
    pub fn domains(&self) -> impl Iterator<Item = DomId> + '_ {
        self.doms.iter().enumerate().filter(|(_, d)| d.in_use).map(|(i, _)| DomId(i as u16))
    }

    /// Iterate the units of a domain.
    pub fn domain_units(&self, d: DomId) -> impl Iterator<Item = UnitId> + '_ {
        self.units.iter().enumerate().filter(move |(_, u)| u.in_use && u.dom == d.0).map(|(i, _)| UnitId(i as u16))
    }

    /// All running time so far, and all credit charged for it.
    pub fn ledger(&self) -> (Time, i64) {
        (self.ledger_run_ns, self.ledger_charged)
    }

    /// Sum of every live unit's sub-credit residual.
    pub fn residual_total(&self) -> Time {
        self.units.iter().filter(|u| u.in_use).map(|u| u.credit.residual).sum()
    }

    // ---- pCPUs ----------------------------------------------------------

    /// A pCPU joins the pool (`switch_sched`/`init_pdata`). It starts idle.
    pub fn pcpu_add(&mut self, cpu: Cpu) -> Result<(), Error> {
        let pc = self.pcpus.get_mut(usize::from(cpu)).ok_or(Error::PcpuOutOfRange)?;
        if pc.in_use {
            return Err(Error::PcpuPresent);
        }
        *pc = Pcpu::zeroed();
        pc.in_use = true;
        self.cpus.insert(cpu);
        self.idlers.insert(cpu);
        Ok(())
    }

    /// A pCPU leaves the pool (`deinit_pdata`). It must be idle; units
    /// still queued on it, or blocked with it as their pCPU, move to the
    /// other pCPUs (ignoring affinity if nothing else can take them, as Xen
    /// does when a pCPU goes away).
    pub fn pcpu_remove<S: Sink>(&mut self, cpu: Cpu, now: Time, sink: &mut S) -> Result<(), Error> {
        let pc = self.pcpu(cpu).ok_or(Error::NoSuchPcpu)?;
        if pc.curr.is_some() {
            return Err(Error::Busy);
        }
        let mut others = self.cpus;
        others.remove(cpu);
        if others.is_empty() && pc.queued > 0 {
            return Err(Error::Busy);
        }
        while let Some(u) = self.pcpus.get(usize::from(cpu)).and_then(runq::head) {
            self.dequeue(u);
            let aff = self.unit(u).map_or(CpuSet::EMPTY, |x| x.affinity).and(&others);
            let dest = aff.first().or_else(|| others.first()).unwrap_or(cpu);
            if let Some(unit) = self.unit_mut(u) {
                unit.cpu = dest;
            }
            self.enqueue(u);
            self.tickle(u, now, sink);
        }
        // Units that are not queued (blocked, parked) but still name this
        // pCPU move too: a wake would queue them on a pCPU that is gone,
        // where nothing ever runs them.
        for unit in self.units.iter_mut().filter(|x| x.in_use && x.cpu == cpu) {
            let aff = unit.affinity.and(&others);
            unit.cpu = aff.first().or_else(|| others.first()).unwrap_or(cpu);
        }
        self.cpus.remove(cpu);
        self.idlers.remove(cpu);
        if let Some(pc) = self.pcpus.get_mut(usize::from(cpu)) {
            *pc = Pcpu::zeroed();
        }
        Ok(())
    }

    // ---- domains ------------------------------------------------------

    /// A domain joins (`alloc_domdata`), with credit1's default weight.
    pub fn dom_add(&mut self, domid: u16) -> Result<DomId, Error> {
        let (i, d) = self.doms.iter_mut().enumerate().find(|(_, d)| !d.in_use).ok_or(Error::TooManyDomains)?;
        *d = Dom::zeroed();
        d.in_use = true;
        d.domid = domid;
        d.set_params(&DomParams::DEFAULT);
        // Until its first accounting period, a domain may be boosted for up
        // to one slice (the most one unit could get in a period anyway).
        d.boost_budget = self.params.tslice();
        // Dom0 serves the others' I/O: it is the driver domain by default.
        if domid == 0 {
            d.flags.insert(DomFlags::DRIVER);
        }
        Ok(DomId(i as u16))
    }

    /// A domain leaves (`free_domdata`); its units must be gone.
    pub fn dom_remove(&mut self, d: DomId) -> Result<(), Error> {
        let dom = self.doms.get(usize::from(d.0)).filter(|x| x.in_use).ok_or(Error::NoSuchDomain)?;
        if dom.units != 0 {
            return Err(Error::Busy);
        }
        if let Some(dom) = self.doms.get_mut(usize::from(d.0)) {
            *dom = Dom::zeroed();
        }
        Ok(())
    }

    /// Change a domain's policy (`adjust`, putinfo). All or nothing.
    pub fn dom_set(&mut self, d: DomId, p: DomParams) -> Result<(), Error> {
        let dom = self.doms.get_mut(usize::from(d.0)).filter(|x| x.in_use).ok_or(Error::NoSuchDomain)?;
        p.validate(u32::from(dom.units))?;
        dom.set_params(&p);
        Ok(())
    }

    /// Start the domain's longest-wait counter again: what it reads next is
    /// the longest wait that ended after now, so a window's worst wait can
    /// be read without tracing (a wait in progress counts whole).
    pub fn dom_reset_wait_max(&mut self, d: DomId) -> Result<(), Error> {
        let dom = self.doms.get_mut(usize::from(d.0)).filter(|x| x.in_use).ok_or(Error::NoSuchDomain)?;
        dom.counters.wait_max_ns = 0;
        Ok(())
    }

    // ---- units ----------------------------------------------------------

    /// A unit is created (`alloc_udata`). It starts not runnable, UNDER,
    /// with credit1's zero credit, able to run anywhere.
    pub fn unit_add(&mut self, d: DomId, vcpu_id: u16) -> Result<UnitId, Error> {
        let dom = self.doms.get_mut(usize::from(d.0)).filter(|x| x.in_use).ok_or(Error::NoSuchDomain)?;
        let (i, u) = self.units.iter_mut().enumerate().find(|(_, u)| !u.in_use).ok_or(Error::TooManyUnits)?;
        dom.units = dom.units.saturating_add(1);
        *u = Unit::zeroed();
        u.in_use = true;
        u.dom = d.0;
        u.vcpu_id = vcpu_id;
        u.pri = Pri::Under;
        u.affinity = CpuSet::ALL;
        u.cpu = self.cpus.first().unwrap_or(0);
        Ok(UnitId(i as u16))
    }

    /// Put a unit on a pCPU (`insert_unit`): queued there if runnable.
    pub fn unit_insert<S: Sink>(&mut self, u: UnitId, runnable: bool, now: Time, sink: &mut S) -> Result<(), Error> {
        let cpu = self.pick_resource(u, now).ok_or(Error::NoSuchUnit)?;
        let unit = self.unit_mut(u).ok_or(Error::NoSuchUnit)?;
        unit.cpu = cpu;
        if runnable {
            unit.flags.insert(UnitFlags::RUNNABLE);
            unit.wait_start = now;
            self.enqueue(u);
            self.tickle(u, now, sink);
        }
        Ok(())
    }

    /// Take a unit off its pCPU (`remove_unit`): off the run queue, off the
    /// active list, out of every donation and every reference.
    pub fn unit_remove<S: Sink>(&mut self, u: UnitId, now: Time, sink: &mut S) -> Result<(), Error> {
        let unit = *self.unit(u).ok_or(Error::NoSuchUnit)?;
        let cpu = unit.cpu;
        if self.curr(cpu) == Some(u) {
            self.burn(u, now, sink);
            if let Some(pc) = self.pcpus.get_mut(usize::from(cpu)) {
                pc.curr = None;
            }
            self.idlers.insert(cpu);
            sink.tickle(cpu);
        }
        self.dequeue(u);
        self.acct_stop(u);
        self.end_donation_of_donee(u, sink);
        self.end_donation_of_donor(u, sink);
        self.forget(u);
        if let Some(x) = self.unit_mut(u) {
            x.flags = UnitFlags::empty();
        }
        Ok(())
    }

    /// Release a removed unit's slot (`free_udata`).
    pub fn unit_free<S: Sink>(&mut self, u: UnitId, now: Time, sink: &mut S) -> Result<(), Error> {
        if self.unit(u).is_none() {
            return Err(Error::NoSuchUnit);
        }
        self.unit_remove(u, now, sink)?;
        let residual = self.unit(u).map_or(0, |x| x.credit.residual);
        self.ledger_lost_residual = self.ledger_lost_residual.saturating_add(residual);
        if let Some(dom) = self.dom_of_mut(u) {
            dom.units = dom.units.saturating_sub(1);
        }
        if let Some(x) = self.units.get_mut(usize::from(u.0)) {
            *x = Unit::zeroed();
        }
        Ok(())
    }

    /// Where a unit may run (`adjust_affinity`, hard affinity). An empty
    /// set is refused: Xen never hands one, and it would strand the unit.
    pub fn set_affinity(&mut self, u: UnitId, aff: CpuSet) -> Result<(), Error> {
        if aff.is_empty() {
            return Err(Error::NoSuchPcpu);
        }
        let unit = self.unit_mut(u).ok_or(Error::NoSuchUnit)?;
        unit.affinity = aff;
        Ok(())
    }

    /// Xen moved the unit to `cpu` (`migrate`). It must not be queued or
    /// running; the wake that follows is not a wake from block.
    pub fn migrate(&mut self, u: UnitId, cpu: Cpu) -> Result<(), Error> {
        if self.pcpu(cpu).is_none() {
            return Err(Error::NoSuchPcpu);
        }
        let queued = self.unit(u).ok_or(Error::NoSuchUnit)?.flags.contains(UnitFlags::QUEUED);
        if queued {
            self.dequeue(u);
        }
        if let Some(unit) = self.unit_mut(u) {
            unit.cpu = cpu;
        }
        if queued {
            self.enqueue(u);
        }
        Ok(())
    }

    /// Xen has switched the unit's context out (`context_saved`): it may
    /// now be stolen by a peer.
    pub fn context_saved(&mut self, u: UnitId) {
        if let Some(unit) = self.unit_mut(u) {
            unit.flags.remove(UnitFlags::LIVE);
        }
    }

    // ---- sleep, wake, yield ---------------------------------------------

    /// A unit stops being runnable (`sleep`: paused, or going down).
    pub fn sleep<S: Sink>(&mut self, u: UnitId, now: Time, sink: &mut S) {
        let Some(unit) = self.unit(u) else { return };
        let cpu = unit.cpu;
        if self.curr(cpu) == Some(u) {
            // Descheduled at its pCPU's next schedule.
            sink.tickle(cpu);
        } else if unit.flags.contains(UnitFlags::QUEUED) {
            self.dequeue(u);
            self.unit_mut_flags(u, |f| f.remove(UnitFlags::RUNNABLE));
        } else {
            self.unit_mut_flags(u, |f| f.remove(UnitFlags::RUNNABLE));
        }
        let _ = now;
    }

    /// A unit becomes runnable (`wake`): credit1's wake boost, a pending
    /// communication boost, queueing and tickling.
    pub fn wake<S: Sink>(&mut self, u: UnitId, now: Time, sink: &mut S) {
        let Some(unit) = self.unit(u) else { return };
        if self.curr(unit.cpu) == Some(u) || unit.flags.contains(UnitFlags::QUEUED) {
            if let Some(x) = self.unit_mut(u) {
                x.flags.insert(UnitFlags::RUNNABLE);
            }
            return;
        }
        let flags = unit.flags;
        // A donor that wakes takes its own time back.
        if flags.contains(UnitFlags::DONATING) {
            if let Some(t) = unlink(unit.donee) {
                // What the donee ran so far was donated: charge it to us.
                self.charge_running(t, now, sink);
            }
            self.end_donation_of_donor(u, sink);
        }
        let Some(unit) = self.unit_mut(u) else { return };
        unit.flags.insert(UnitFlags::RUNNABLE);
        unit.wait_start = now;
        let migrating = unit.flags.contains(UnitFlags::MIGRATING);
        unit.flags.remove(UnitFlags::MIGRATING);
        // Whether a woken unit can take a pCPU starts with its priority
        // at the wake: traced, for `scripts/xen/trace-waits.py`.
        sink.trace(Trace::Wake { unit: u, pri: unit.pri, credit: unit.credit.credit, migrating });
        // credit1: boost a unit waking from block if it is UNDER and not
        // parked, so that I/O-bound units get low wake-to-run latency.
        if !migrating && unit.pri == Pri::Under && !unit.flags.contains(UnitFlags::PARKED) {
            unit.pri = Pri::Boost;
        }
        unit.flags.set(UnitFlags::WOKEN, !migrating);
        if unit.flags.contains(UnitFlags::BOOST_PENDING) {
            unit.flags.remove(UnitFlags::BOOST_PENDING);
            self.grant_boost(u, sink);
        }
        if self.unit(u).is_some_and(|x| x.flags.contains(UnitFlags::PARKED)) {
            // Stays off the run queue until accounting unparks it.
            return;
        }
        self.enqueue(u);
        self.mark_busy(u);
        self.tickle(u, now, sink);
    }

    /// A unit asks to yield (`yield`): it goes behind one lower-priority
    /// unit at its next deschedule, and ratelimit does not hold it.
    pub fn yield_unit(&mut self, u: UnitId) {
        self.unit_mut_flags(u, |f| f.insert(UnitFlags::YIELD));
    }

    fn unit_mut_flags(&mut self, u: UnitId, f: impl FnOnce(&mut UnitFlags)) {
        if let Some(x) = self.unit_mut(u) {
            f(&mut x.flags);
        }
    }

    pub(crate) fn mark_busy(&mut self, u: UnitId) {
        if let Some(d) = self.dom_of_mut(u) {
            d.flags.insert(DomFlags::BUSY);
        }
    }

    // ---- queueing with the counters kept right ---------------------------

    /// Put a runnable unit on its pCPU's run queue.
    pub(crate) fn enqueue(&mut self, u: UnitId) {
        let Some(cpu) = self.unit(u).map(|x| x.cpu) else { return };
        let Some(pc) = self.pcpus.get_mut(usize::from(cpu)) else { return };
        if !pc.in_use {
            return;
        }
        runq::insert(&mut self.units, pc, u);
    }

    pub(crate) fn dequeue(&mut self, u: UnitId) {
        let Some(cpu) = self.unit(u).map(|x| x.cpu) else { return };
        let Some(pc) = self.pcpus.get_mut(usize::from(cpu)) else { return };
        runq::remove(&mut self.units, pc, u);
    }

    /// Drop every reference other units hold to `u`.
    fn forget(&mut self, u: UnitId) {
        let me = link(u);
        for x in self.units.iter_mut().filter(|x| x.in_use) {
            if x.notified == me {
                x.notified = None;
            }
            if x.on_behalf == me {
                x.on_behalf = None;
                x.on_behalf_left = 0;
            }
            if x.donor == me {
                x.donor = None;
                x.donation_left = 0;
            }
            if x.donee == me {
                x.donee = None;
                x.flags.remove(UnitFlags::DONATING);
            }
        }
    }

    // ---- credit ---------------------------------------------------------

    /// Charge the running unit for the time since its run started, to
    /// whoever pays for it (itself, its donor, or the guest a driver domain
    /// works for), and count its run time. credit1's `burn_credits`.
    pub(crate) fn burn<S: Sink>(&mut self, u: UnitId, now: Time, sink: &mut S) {
        let Some(unit) = self.unit(u) else { return };
        let ran = now.saturating_sub(unit.run_start);
        if ran <= 0 {
            return;
        }
        self.ledger_run_ns = self.ledger_run_ns.saturating_add(ran);
        if let Some(dom) = self.dom_of_mut(u) {
            dom.counters.run_ns = dom.counters.run_ns.saturating_add(ran);
        }
        let Some(unit) = self.unit_mut(u) else { return };
        unit.run_start = now;
        let boosted = ran.min(unit.boost_left.max(0));
        if unit.boost_left > 0 {
            // The budget was drawn when the boost was granted; a late
            // timer's overrun runs at the unit's credit priority.
            unit.boost_left = unit.boost_left.saturating_sub(ran).max(0);
            if unit.boost_left == 0 {
                unit.flags.remove(UnitFlags::BOOST_FRESH);
            }
        }
        let burn = self.units.get_mut(usize::from(u.0)).map_or(0, |x| x.credit.burn(ran).credits);
        self.ledger_charged = self.ledger_charged.saturating_add(i64::from(burn));
        self.burned_through(u);
        let donated = crate::donation::settle(self, u, ran, burn, sink);
        // Running it paid for itself, beyond what the boost reserved, uses
        // up its fair share too (see `boost`).
        self.draw_share(u, ran.saturating_sub(donated).saturating_sub(boosted).max(0));
    }

    /// `ran` ns of running paid by `u`'s domain count against its fair
    /// share of the period: once it is used up, no more boosts. Never
    /// pushes the budget below zero (only a boost reservation may, by at
    /// most one boost length).
    pub(crate) fn draw_share(&mut self, u: UnitId, ran: Time) {
        if let Some(d) = self.dom_of_mut(u) {
            if d.boost_budget > 0 {
                d.boost_budget = d.boost_budget.saturating_sub(ran).max(0);
            }
        }
    }

    /// Charge `u` up to `now` if it is running (before its donation ends,
    /// so that the time it ran on the donation goes to the donor).
    pub(crate) fn charge_running<S: Sink>(&mut self, u: UnitId, now: Time, sink: &mut S) {
        let Some(cpu) = self.unit(u).map(|x| x.cpu) else { return };
        if self.curr(cpu) == Some(u) {
            self.burn(u, now, sink);
        }
    }

    /// The unit starts earning credit (credit1's `__csched_unit_acct_start`).
    fn acct_start(&mut self, u: UnitId) {
        let Some(unit) = self.unit_mut(u) else { return };
        if unit.flags.contains(UnitFlags::ACTIVE) {
            return;
        }
        unit.flags.insert(UnitFlags::ACTIVE);
        if let Some(d) = self.dom_of_mut(u) {
            d.active_units = d.active_units.saturating_add(1);
        }
    }

    /// A unit that left the active list at the credit peak and has since
    /// burned its halved credit below zero is using the CPU again: it goes
    /// back on the list now. credit1 waits for a tick to find it running,
    /// which for a unit that runs a millisecond at a time can take periods;
    /// meanwhile it earns nothing, sinks to the credit floor and wakes at
    /// OVER, behind every UNDER hog, though it uses a few percent of the
    /// pool. Only if its domain was within its share of the period before
    /// this charge (past it, credit1's sampling stands), and not for a
    /// driver domain: most of its running is charged to the guests it
    /// serves, so its own credit says little of its use (the simulator
    /// barely tells: with driver domains too, `jboss-db-storm`'s requests
    /// over 1 ms were 1.02 / 1.07 / 1.16% in three seeds, against 0.92 /
    /// 1.16 / 1.16% without).
    fn burned_through(&mut self, u: UnitId) {
        if self.params.boost
            && self.unit(u).is_some_and(|x| !x.flags.contains(UnitFlags::ACTIVE) && x.credit.credit < 0)
            && !self.share_spent(u)
            && !self.dom_of(u).is_some_and(|d| d.flags.contains(DomFlags::DRIVER))
        {
            self.acct_start(u);
        }
    }

    /// The unit stops earning credit (`__csched_unit_acct_stop_locked`).
    fn acct_stop(&mut self, u: UnitId) {
        let Some(unit) = self.unit_mut(u) else { return };
        if !unit.flags.contains(UnitFlags::ACTIVE) {
            return;
        }
        unit.flags.remove(UnitFlags::ACTIVE);
        if let Some(d) = self.dom_of_mut(u) {
            d.active_units = d.active_units.saturating_sub(1);
        }
    }

    /// The per-pCPU tick, every third of a slice (credit1's `csched_tick`):
    /// charge the running unit, end its credit1 boost (it is evidently
    /// using the CPU), and put it on the active list. Simplification:
    /// credit1's tick also re-runs the pCPU pick for a running unit that was
    /// already active and, if an idler would suit it better, makes it
    /// migrate; here only queued units move (an idle pCPU steals them).
    pub fn tick<S: Sink>(&mut self, cpu: Cpu, now: Time, sink: &mut S) {
        let Some(pc) = self.pcpus.get_mut(usize::from(cpu)).filter(|p| p.in_use) else { return };
        pc.ticks = pc.ticks.wrapping_add(1);
        let Some(u) = unlink(pc.curr) else { return };
        let mut demoted = false;
        if let Some(unit) = self.unit_mut(u) {
            if unit.pri == Pri::Boost {
                unit.pri = Pri::Under;
                demoted = true;
            }
        }
        self.burn(u, now, sink);
        self.acct_start(u);
        // If that boost took the pCPU from a unit serving a peer, the unit
        // gets it back now; a unit woken at BOOST behind it, which now
        // outranks it, runs now rather than at the end of its slice (see
        // `pick`).
        if demoted && (self.owes_resume(u, cpu) || self.outranked_here(u, cpu)) {
            sink.tickle(cpu);
        }
        self.age_scan(cpu, now, sink);
    }

    /// The accounting period, once per slice on one pCPU (credit1's
    /// `csched_acct`), followed by the run-queue re-sort and the new
    /// period's boost budgets.
    pub fn account<S: Sink>(&mut self, now: Time, sink: &mut S) {
        let cpt = credits_per_tslice(self.params.tslice_ms);
        let ncpus = self.ncpus();
        let weight_total: u64 = self
            .doms
            .iter()
            .filter(|d| d.in_use)
            .map(|d| u64::from(d.weight) * u64::from(d.active_units))
            .sum();
        if let Some(mut period) = Period::begin(cpt, ncpus, weight_total, self.credit_balance) {
            // Shares first, domain by domain in a fixed order (each one
            // depends on what the earlier ones left), then one pass over the
            // units: O(domains + units), not O(domains * units), under the
            // scheduler lock.
            for dom in self.doms.iter_mut() {
                dom.in_period = dom.in_use && dom.active_units > 0;
                if dom.in_period {
                    dom.period_share = period.domain(dom.weight, u32::from(dom.active_units), dom.cap);
                }
            }
            for ui in 0..MAX_UNITS {
                let Some(unit) = self.units.get_mut(ui) else { continue };
                if !unit.in_use || !unit.flags.contains(UnitFlags::ACTIVE) {
                    continue;
                }
                let Some(share) = self.doms.get(usize::from(unit.dom)).filter(|d| d.in_period).map(|d| d.period_share) else {
                    continue;
                };
                let parked = unit.flags.contains(UnitFlags::PARKED);
                let v = period.unit(&mut unit.credit.credit, &mut unit.debt, share, parked);
                unit.pri = if v.over { Pri::Over } else { Pri::Under };
                let u = UnitId(ui as u16);
                if v.park {
                    self.park(u, sink);
                }
                if v.unpark {
                    self.unpark(u, now, sink);
                }
                if v.deactivate {
                    self.acct_stop(u);
                }
            }
            self.credit_balance = period.finish();
        } else {
            self.credit_balance = 0;
        }
        for pc in self.pcpus.iter_mut().filter(|p| p.in_use) {
            runq::resort(&mut self.units, pc);
        }
        self.refill_boost_budgets();
    }

    /// Park a capped-out unit: off the run queue, and off its pCPU at the
    /// next schedule (credit1 pauses it; we keep it out of the queues).
    fn park<S: Sink>(&mut self, u: UnitId, sink: &mut S) {
        self.dequeue(u);
        let Some(unit) = self.unit_mut(u) else { return };
        unit.flags.insert(UnitFlags::PARKED);
        let cpu = unit.cpu;
        if self.curr(cpu) == Some(u) {
            sink.tickle(cpu);
        }
    }

    fn unpark<S: Sink>(&mut self, u: UnitId, now: Time, sink: &mut S) {
        let Some(unit) = self.unit_mut(u) else { return };
        unit.flags.remove(UnitFlags::PARKED);
        let runnable = unit.flags.contains(UnitFlags::RUNNABLE);
        let cpu = unit.cpu;
        if runnable && self.curr(cpu) != Some(u) {
            // No wake boost: it is unpausing, not waking from block. Its
            // wait starts now: time held back by its cap is not starvation
            // (`aging`), nor a wait for a pCPU.
            if let Some(x) = self.unit_mut(u) {
                x.wait_start = now;
            }
            self.enqueue(u);
            self.tickle(u, now, sink);
        }
    }

    fn refill_boost_budgets(&mut self) {
        // Units runnable right now make their domain busy for the next
        // period even if they never wake again; they were runnable during
        // the last one too, so they count in this share already (a hog
        // that never blocks never wakes, and would otherwise be missed).
        let mut still_busy = [false; MAX_DOMAINS];
        for u in self.units.iter().filter(|u| u.in_use && u.flags.contains(UnitFlags::RUNNABLE)) {
            if let Some(b) = still_busy.get_mut(usize::from(u.dom)) {
                *b = true;
            }
        }
        let busy_weight: u64 = self
            .doms
            .iter()
            .zip(still_busy.iter())
            .filter(|(d, busy)| d.in_use && (d.flags.contains(DomFlags::BUSY) || **busy))
            .map(|(d, _)| u64::from(d.weight) * u64::from(d.units))
            .sum();
        let tslice = self.params.tslice();
        let ncpus = self.ncpus();
        let pct = self.params.boost_budget_pct;
        // Boosts granted before now belong to the period that granted them.
        for u in self.units.iter_mut().filter(|u| u.in_use) {
            u.flags.remove(UnitFlags::BOOST_FRESH);
        }
        for (d, busy) in self.doms.iter_mut().zip(still_busy.iter()) {
            if !d.in_use {
                continue;
            }
            d.boost_budget = boost_budget(tslice, ncpus, d.weight, u32::from(d.units), busy_weight, pct);
            d.flags.set(DomFlags::BUSY, *busy);
        }
    }
}
