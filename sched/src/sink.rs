//! What the core tells its host besides its return values: which pCPUs to
//! interrupt and which events to trace. The hypervisor's sink raises
//! `SCHEDULE_SOFTIRQ` and writes xentrace records; the simulator's records
//! them. Generic, not `dyn`: no indirect calls in the hypervisor object.

use crate::state::Pri;
use crate::{Cpu, UnitId};

/// A traced event (`xentrace` records in the hypervisor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trace {
    /// A communication boost was granted to `unit`.
    BoostStart { unit: UnitId },
    /// A communication boost was refused: the domain's budget is spent.
    BoostRefused { unit: UnitId },
    /// `donor` blocked and gave the rest of its slice to `donee`.
    DonationStart { donor: UnitId, donee: UnitId },
    /// The donation from `donor` ended.
    DonationEnd { donor: UnitId, donee: UnitId },
    /// `unit` woke from block with credit priority `pri` and `credit`
    /// (before credit1's wake boost); `migrating`: the wake earns no boost.
    Wake { unit: UnitId, pri: Pri, credit: i32, migrating: bool },
}

pub trait Sink {
    /// Ask `cpu` to run the scheduler (Xen: raise `SCHEDULE_SOFTIRQ`).
    fn tickle(&mut self, cpu: Cpu);
    /// Record an event.
    fn trace(&mut self, ev: Trace);
}

/// A sink that drops everything.
pub struct NullSink;

impl Sink for NullSink {
    fn tickle(&mut self, _cpu: Cpu) {}
    fn trace(&mut self, _ev: Trace) {}
}
