//! Credit accounting for commaware, `no_std`, no allocation, no floats.
//!
//! This crate owns the arithmetic of credit1 (`xen/common/sched/credit.c`):
//! how running time turns into spent credit ([`credit`]), how credit is
//! handed out every time slice ([`period`]), plus what commaware adds on top:
//! the per-domain counters a user reads ([`counters`]) and the fair-share
//! bound that caps communication boosts ([`share`]).
//!
//! It knows nothing about run queues or pCPUs; `commaware-sched` drives it.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod counters;
pub mod credit;
pub mod period;
pub mod share;

pub use counters::DomCounters;
pub use credit::{Burn, UnitCredit};
pub use period::{DomShare, Period, UnitVerdict};
