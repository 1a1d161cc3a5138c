//! Arbitrary event sequences and parameter changes on the scheduling core,
//! invariants checked after every step (see `src/events.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| commaware_fuzz::events::run(data));
