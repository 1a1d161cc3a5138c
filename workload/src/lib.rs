//! cw-workload: the benchmark workload that runs inside Xen guests.
//!
//! * [`server`] — the "db": answers fixed-size requests, burning a fixed
//!   amount of CPU per request.
//! * [`client`] — the "app": a closed loop of (burn CPU, send a request,
//!   wait for the reply), recording the request latency.
//! * [`hog`] — a CPU hog that reports how much work it got done.
//! * [`storm`] — small messages as fast as possible (a notify-storm
//!   approximation), and the sink that counts them.
//! * [`transport`] — what carries the client/server messages: TCP, or a
//!   direct guest↔guest vchan ([`xen::vchan`]).
//! * [`events`] — raw interdomain event channels for hostile-guest tests:
//!   `evstorm`/`evsink` and the `evring` donation-abuse ring.
//!
//! The Xen parts ([`xen`]) need the cargo feature `xen` (Xen's static tool
//! libraries; scripts/build-workload.sh enables it when they are built);
//! without it their modes fail with a message saying so.
//!
//! The CPU work is a calibrated busy loop ([`burn`]): real instructions,
//! never a sleep. Everything is std only, numeric addresses only (no DNS, no
//! NSS), so the binary links statically and runs in a busybox initramfs.
//! Every mode ends by itself (each has a duration bound), and every failure
//! is an [`Error`] whose message names what failed.

pub mod args;
pub mod burn;
pub mod client;
pub mod error;
pub mod events;
pub mod hist;
pub mod hog;
pub mod json;
pub mod proto;
pub mod server;
pub mod storm;
pub mod transport;
pub mod xen;

pub use error::{Error, Result};
