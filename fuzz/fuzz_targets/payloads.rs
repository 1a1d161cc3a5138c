//! Arbitrary hypercall payloads through `commaware::payload` and the C ABI
//! (see `src/payloads.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| commaware_fuzz::payloads::run(data));
