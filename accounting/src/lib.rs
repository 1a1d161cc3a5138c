//! Credit accounting for commaware, `no_std`, no allocation, no floats.
//!
//! This crate owns the arithmetic of credit1 (`xen/common/sched/credit.c`):
//! how running time turns into spent credit ([`credit`]) and how credit is
//! handed out every time slice ([`period`]), plus what commaware adds on top:
//! the per-domain counters a user reads ([`counters`]), the fair-share
//! bound that caps communication boosts ([`share`]) and the attribution debt
//! credit1's floor may not forgive ([`debt`]).
//!
//! It knows nothing about run queues or pCPUs; `commaware-sched` drives it.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod counters;
pub mod credit;
pub mod debt;
pub mod period;
pub mod share;

pub use counters::DomCounters;
pub use credit::{Burn, UnitCredit};
pub use debt::Debt;
pub use period::{DomShare, Period, UnitVerdict};
