//! The per-unit, per-domain and per-pCPU state. Plain data: every table
//! entry is valid when all-zero (an unused slot), which is what lets the
//! hypervisor hand the core zeroed memory.

use core::num::NonZeroU16;

use bitflags::bitflags;
use bytemuck::Zeroable;
use commaware_accounting::credit::{Time, UnitCredit};
use commaware_accounting::debt::Debt;
use commaware_accounting::period::DomShare;
use commaware_accounting::DomCounters;

use crate::cpuset::CpuSet;
use crate::params::DomParams;
use crate::UnitId;

/// credit1's priorities. The discriminants are credit.c's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Zeroable)]
#[repr(i8)]
pub enum Pri {
    Idle = -64,
    Over = -2,
    Under = -1,
    Boost = 0,
}

/// A link to a unit in the unit table (`None` = no unit); index + 1 so
/// that the all-zero pattern means "none".
pub type Link = Option<NonZeroU16>;

pub fn link(u: UnitId) -> Link {
    NonZeroU16::new(u.0.wrapping_add(1))
}

pub fn unlink(l: Link) -> Option<UnitId> {
    l.map(|n| UnitId(n.get() - 1))
}

bitflags! {
    /// Scheduling state of a unit.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Zeroable)]
    pub struct UnitFlags: u16 {
        /// Wants a pCPU: queued or running.
        const RUNNABLE = 1 << 0;
        /// On a run queue.
        const QUEUED = 1 << 1;
        /// Its context is still live on a pCPU (picked, and Xen has not yet
        /// called `context_saved`): peers must not steal it.
        const LIVE = 1 << 2;
        /// On the credit active list: earns credit each period.
        const ACTIVE = 1 << 3;
        /// Capped out: may not run until its credit recovers.
        const PARKED = 1 << 4;
        /// Asked to yield at its next deschedule.
        const YIELD = 1 << 5;
        /// Being moved by `pick_resource`/`migrate`: its next wake is not
        /// a wake from block and earns no credit1 boost.
        const MIGRATING = 1 << 6;
        /// A communication boost arrived while it was blocked: apply it at
        /// the wake that follows.
        const BOOST_PENDING = 1 << 7;
        /// Gave the rest of its slice away and is blocked.
        const DONATING = 1 << 8;
        /// Its current run started on a communication boost (it got the
        /// pCPU by the boost): once the boost is spent, ratelimit does not
        /// hold the pCPU for it.
        const BOOSTED_RUN = 1 << 9;
        /// Its boost was granted in the current accounting period: what it
        /// does not use goes back to its domain's budget.
        const BOOST_FRESH = 1 << 10;
        /// Its current stint started on a communication boost or a
        /// donation, or right after a wake from block (with the boost
        /// feature on), or resumed one: it is doing work someone waits for.
        const SERVING = 1 << 11;
        /// Preempted while serving, before its slice ended: queued at the
        /// front of its priority, and the preemptor gives the pCPU back
        /// when the priority it preempted with ends (see `pick`).
        const RESUME = 1 << 12;
        /// Woke from block and has not run since: its next stint answers
        /// whatever woke it (an event, a timer, I/O).
        const WOKEN = 1 << 13;
        /// Picked by the starvation guard (`aging`): keeps the pCPU for a
        /// tick.
        const AGED = 1 << 14;
    }
}

bitflags! {
    /// Per-domain policy switches.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Zeroable)]
    pub struct DomFlags: u8 {
        const NO_BOOST = 1 << 0;
        const NO_DONATION = 1 << 1;
        const DRIVER = 1 << 2;
        /// Had a runnable unit during the current period.
        const BUSY = 1 << 3;
    }
}

/// One unit (vCPU).
#[derive(Clone, Copy, Debug, Zeroable)]
pub struct Unit {
    pub in_use: bool,
    pub dom: u16,
    /// Xen's unit/vCPU id inside its domain (for dumps and traces).
    pub vcpu_id: u16,
    pub flags: UnitFlags,
    /// credit1 priority (BOOST/UNDER/OVER).
    pub pri: Pri,
    /// The run queue it sits in when QUEUED (see [`crate::runq`]).
    pub queue: u8,
    /// The pCPU it is queued on or runs on (Xen's `sched_unit_master`).
    pub cpu: u16,
    pub next: Link,
    pub prev: Link,
    pub credit: UnitCredit,
    /// Driver-domain work charged to it that the floor may not forgive.
    pub debt: Debt,
    pub affinity: CpuSet,
    /// When its current run started (the credit1 `start_time`).
    pub run_start: Time,
    /// When it last started running after running something else (Xen's
    /// `state_entry_time`, for ratelimit).
    pub stint_start: Time,
    /// When it was last descheduled (cache-hotness for stealing).
    pub last_sched: Time,
    /// When it became runnable-but-waiting (for the wait counter).
    pub wait_start: Time,
    /// When the slice it runs in ends (what a donation gives away).
    pub slice_end: Time,
    /// When its time slice ends: `slice_end` is that or earlier, cut to
    /// the end of a boost or a donation.
    pub tslice_end: Time,
    /// While RESUME: what was left of its time slice when it was preempted.
    pub resume_left: Time,
    /// Running time left in its communication boost (0 = not boosted).
    pub boost_left: Time,
    /// Last peer it notified, and when.
    pub notified: Link,
    pub notified_at: Time,
    /// While running on a donated slice: the blocked unit that pays.
    pub donor: Link,
    /// Donated time left.
    pub donation_left: Time,
    /// While donating: the unit it donated to.
    pub donee: Link,
    /// Driver-domain units: the guest unit whose request it is serving.
    pub on_behalf: Link,
    /// Running time left that is charged to `on_behalf`: a tick from the
    /// guest's last notification (see `donation`).
    pub on_behalf_left: Time,
}

impl Unit {
    /// Effective priority for queueing: a communication boost ranks as BOOST.
    pub fn eff_pri(&self) -> Pri {
        if self.boost_left > 0 {
            Pri::Boost
        } else {
            self.pri
        }
    }

    /// Communication-bound: running on a boost or a donation, i.e. serving
    /// a peer right now. A communication boost does not preempt those.
    pub fn comm_bound(&self) -> bool {
        self.boost_left > 0 || self.donor.is_some()
    }

    /// It notified `peer` during its current run. The communication boost
    /// `peer` got from that event does not preempt it: it is about to block
    /// (and donate) or has more work queued, and preempted it would go to
    /// the back of its queue, behind CPU hogs, for a whole slice.
    pub fn sent_to(&self, peer: UnitId) -> bool {
        self.notified == link(peer) && self.notified_at >= self.stint_start
    }

    /// Running, it gives the pCPU to `waiter` (`w`) on a communication
    /// boost: it is not serving a peer itself, and not the sender of the
    /// event behind the boost.
    pub fn yields_to_boost(&self, waiter: UnitId, w: &Unit) -> bool {
        w.boost_left > 0 && self.preemptible_by(waiter)
    }

    /// Neither serving a peer right now nor the sender of what woke
    /// `waiter`: the two runners no wake preempts at equal priority.
    pub fn preemptible_by(&self, waiter: UnitId) -> bool {
        !self.comm_bound() && !self.sent_to(waiter)
    }
}

/// One domain.
#[derive(Clone, Copy, Debug, Zeroable)]
pub struct Dom {
    pub in_use: bool,
    /// Xen's domid.
    pub domid: u16,
    pub weight: u16,
    pub cap: u16,
    pub flags: DomFlags,
    pub units: u16,
    pub active_units: u16,
    /// Boosted running time left this period.
    pub boost_budget: Time,
    pub counters: DomCounters,
    /// Its share in the accounting period being computed (scratch space
    /// kept here, not on the hypervisor's small stack).
    pub period_share: DomShare,
    /// Whether `period_share` is set (the domain is active this period).
    pub in_period: bool,
}

impl Dom {
    pub fn params(&self) -> DomParams {
        DomParams {
            weight: self.weight,
            cap: self.cap,
            boost: !self.flags.contains(DomFlags::NO_BOOST),
            donation: !self.flags.contains(DomFlags::NO_DONATION),
            driver: self.flags.contains(DomFlags::DRIVER),
        }
    }

    pub fn set_params(&mut self, p: &DomParams) {
        self.weight = p.weight;
        self.cap = p.cap;
        self.flags.set(DomFlags::NO_BOOST, !p.boost);
        self.flags.set(DomFlags::NO_DONATION, !p.donation);
        self.flags.set(DomFlags::DRIVER, p.driver);
    }
}

/// Number of run queues per pCPU (BOOST, UNDER, OVER).
pub const NR_QUEUES: usize = 3;

/// One pCPU.
#[derive(Clone, Copy, Debug, Zeroable)]
pub struct Pcpu {
    pub in_use: bool,
    pub heads: [Link; NR_QUEUES],
    pub tails: [Link; NR_QUEUES],
    /// Units on its run queues.
    pub queued: u16,
    /// The unit it runs (`None` = idle).
    pub curr: Link,
    /// A unit its last tick found starving on its queue (`aging`).
    pub aged: Link,
    pub ticks: u64,
}
