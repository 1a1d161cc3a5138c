//! The shim's callbacks, implemented in Rust for hosted builds (tests, the
//! fuzzer, tools linking this crate), so the C ABI can be driven end to end
//! without Xen.
//!
//! The callbacks are free functions with no context argument, so what they
//! record lives in a global. Several test threads may drive instances at
//! once, and this crate is `no_std`, so the global is a `spin::Mutex`: the
//! one place commaware needs a Rust-side lock (in the hypervisor, Xen's own
//! locks serialise everything and these functions are the shim's).

use spin::Mutex;

/// What the callbacks saw, most recent last (bounded).
pub struct Recorder {
    pub tickles: [u32; 64],
    pub nr_tickles: usize,
    pub traces: [(u32, u32, u32, u32, u32); 64],
    pub nr_traces: usize,
}

pub static RECORDER: Mutex<Recorder> =
    Mutex::new(Recorder { tickles: [0; 64], nr_tickles: 0, traces: [(0, 0, 0, 0, 0); 64], nr_traces: 0 });

impl Recorder {
    pub fn clear(&mut self) {
        self.nr_tickles = 0;
        self.nr_traces = 0;
    }
}

#[no_mangle]
pub extern "C" fn cw_cb_tickle(cpu: u32) {
    let mut r = RECORDER.lock();
    let i = r.nr_tickles % 64;
    if let Some(slot) = r.tickles.get_mut(i) {
        *slot = cpu;
    }
    r.nr_tickles += 1;
}

#[no_mangle]
pub extern "C" fn cw_cb_trace(event: u32, d1: u32, v1: u32, d2: u32, v2: u32) {
    let mut r = RECORDER.lock();
    let i = r.nr_traces % 64;
    if let Some(slot) = r.traces.get_mut(i) {
        *slot = (event, d1, v1, d2, v2);
    }
    r.nr_traces += 1;
}
