//! The fuzz targets' logic, as plain functions of the input bytes, so that
//! `cargo fuzz` (fuzz_targets/*.rs), the replay test (tests/replay.rs:
//! every seed and every saved crash input, under plain `cargo test`) and a
//! debugger all run exactly the same code.
//!
//! - [`events::run`]: arbitrary event sequences and parameter changes
//!   driving a real [`commaware_sched::Core`] the way Xen does, with
//!   [`commaware_sched::Core::check`] and a model of Xen's view checked
//!   after every step;
//! - [`payloads::run`]: arbitrary hypercall payloads through
//!   `commaware::payload` and the C ABI (`cw_adjust_global`, `cw_adjust`).

pub mod events;
pub mod payloads;

use arbitrary::{Result, Unstructured};

/// A `u32` that is one of `interesting` three times in four (boundaries,
/// the defaults, one past each limit), else any value: selector bytes
/// 0..192 pick from the list, 192..=255 read a raw value.
pub(crate) fn pick_u32(u: &mut Unstructured<'_>, interesting: &[u32]) -> Result<u32> {
    let sel: u8 = u.arbitrary()?;
    if sel < 192 && !interesting.is_empty() {
        Ok(interesting[usize::from(sel) % interesting.len()])
    } else {
        u.arbitrary()
    }
}

pub(crate) fn pick_u16(u: &mut Unstructured<'_>, interesting: &[u16]) -> Result<u16> {
    let sel: u8 = u.arbitrary()?;
    if sel < 192 && !interesting.is_empty() {
        Ok(interesting[usize::from(sel) % interesting.len()])
    } else {
        u.arbitrary()
    }
}

pub mod seeds;
