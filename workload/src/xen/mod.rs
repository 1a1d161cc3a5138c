//! Xen support: direct guest↔guest channels without dom0 on the data path.
//!
//! * [`xs`] — xenstore: our own domid, peer discovery (dom0's test writes
//!   the peer's domid into `/local/domain/<self>/data/cw-peer`), publishing
//!   an event-channel port readable by the peer.
//! * [`vchan`] — the `vchan` transport of the client/server pair
//!   (libxenvchan).
//! * [`crate::events`] uses [`sys::Evtchn`] for the raw event-channel modes.
//!
//! The libraries are Xen's static tool libraries, linked only with the cargo
//! feature `xen` (scripts/build-workload.sh turns it on when they exist).
//! Without it, [`sys`] is a stand-in whose constructors fail with
//! [`NO_XEN`]-style errors, so every mode still parses its arguments and
//! the crate builds and tests on a machine without Xen.

#[cfg(feature = "xen")]
pub mod sys;
#[cfg(not(feature = "xen"))]
#[path = "nosys.rs"]
pub mod sys;

pub mod vchan;
pub mod xs;

/// Whether this build can talk to Xen.
pub const SUPPORTED: bool = cfg!(feature = "xen");

/// The error message of every Xen mode in a build without the `xen` feature.
pub const NO_XEN: &str = "this cw-workload was built without Xen support (cargo feature `xen`); \
     build it with scripts/build-workload.sh after `make xen` so Xen's static tool libraries exist";

/// Fails with [`NO_XEN`] when this build has no Xen support (checked before
/// any waiting, so the error comes at once).
pub fn require(mode: &str) -> crate::Result<()> {
    if SUPPORTED {
        Ok(())
    } else {
        Err(crate::Error::Unsupported(format!("{mode}: {NO_XEN}")))
    }
}
