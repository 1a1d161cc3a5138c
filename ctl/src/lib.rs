//! commaware-ctl: the dom0 tool for the commaware scheduler.
//!
//! Layers, bottom up:
//! - [`xen`]: Xen 4.17's sysctl/domctl envelopes as `#[repr(C)]` types,
//!   every size and offset pinned against the real headers; commaware's
//!   payloads are `commaware::abi`'s;
//! - [`hypervisor`]: the seam, a [`hypervisor::Hypervisor`] trait of typed
//!   sysctl/domctl calls;
//! - [`privcmd`]: the real implementation (`/dev/xen/privcmd`, hypercall
//!   buffers): the crate's only `unsafe` code;
//! - [`client`]: one function per question to Xen, errno mapped to an
//!   [`error::Error`] that says what to do;
//! - [`names`]: domain and cpupool names from xenstore;
//! - [`raw`]: hostile-input cases for both hypercalls (`commaware-badpayload`);
//! - [`cli`], [`commands`], [`output`]: `xl sched-credit`'s command line and
//!   layout, with commaware's switches and counters.
//!
//! Every value is validated by `commaware::payload` (the same code the
//! hypervisor runs) before anything is sent; setters send one request.

pub mod cli;
pub mod client;
pub mod commands;
pub mod error;
#[cfg(test)]
pub mod fake;
pub mod hypervisor;
pub mod names;
pub mod output;
pub mod privcmd;
pub mod raw;
#[cfg(test)]
mod tests;
pub mod xen;

pub use error::{Error, Result};
