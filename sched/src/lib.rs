//! The commaware scheduling core: credit1's proportional-share scheduler
//! with communication-aware boosting and credit donation.
//!
//! `no_std`, no allocation, no floats, no panics: this code runs inside the
//! Xen hypervisor, called from a thin C shim that owns Xen's locks, timers
//! and memory. The same code runs in the simulator (`commaware-sim`), which
//! is how every rule here is tested in simulated time.
//!
//! Where each rule lives:
//! - [`runq`]: per-pCPU run queues ordered BOOST > UNDER > OVER, FIFO within
//!   a priority, yield behind one lower-priority unit;
//! - [`pick`]: `do_schedule`: ratelimit, pick-next, stealing from peers;
//! - [`aging`]: the starvation guard: a unit within its share that has
//!   waited four slices runs next;
//! - [`tickle`]: which pCPU to interrupt when a unit becomes runnable, and
//!   where a unit should run (`pick_resource`);
//! - [`boost`]: the communication boost and its fair-share budget;
//! - [`donation`]: donating the rest of a slice to the peer one waits for,
//!   and driver-domain attribution;
//! - [`core`]: the state, the lifecycle of pCPUs, domains and units, ticks
//!   and the accounting period (credit arithmetic is `commaware-accounting`);
//! - [`params`]: every knob, its range, and the one place it is validated;
//! - [`invariants`]: what must hold after every step (tests and fuzzing).
//!
//! Storage is fixed-size tables indexed by small integers, so the whole
//! scheduler is one plain object that the hypervisor allocates zeroed
//! ([`bytemuck::Zeroable`] proves an all-zero [`Core`] is valid) and that
//! policy code reaches without a single `unsafe`.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

#[cfg(test)]
extern crate std;

pub mod aging;
pub mod boost;
pub mod core;
pub mod cpuset;
pub mod donation;
pub mod invariants;
pub mod params;
pub mod pick;
pub mod runq;
pub mod sink;
pub mod state;
pub mod tickle;

pub use crate::core::{Core, Error};
pub use crate::cpuset::CpuSet;
pub use crate::params::{DomParams, GlobalParams, ParamError};
pub use crate::pick::{Decision, PrevState};
pub use crate::sink::{NullSink, Sink, Trace};
pub use crate::state::Pri;
pub use commaware_accounting::credit::Time;
pub use commaware_accounting::DomCounters;

/// Largest number of pCPUs one scheduler instance (cpupool) can drive.
pub const MAX_PCPUS: usize = 128;
/// Largest number of domains one instance can hold.
pub const MAX_DOMAINS: usize = 256;
/// Largest number of units (vCPUs) one instance can hold.
pub const MAX_UNITS: usize = 4096;

/// A unit (Xen's `sched_unit`; one vCPU at the default granularity): an
/// index into the core's unit table, handed out by [`Core::unit_add`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitId(pub u16);

/// A domain: an index into the core's domain table (not Xen's domid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DomId(pub u16);

/// A physical CPU number, as Xen numbers them.
pub type Cpu = u16;
