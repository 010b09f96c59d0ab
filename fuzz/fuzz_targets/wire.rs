//! Fuzz target: `playground_fuzz::wire` (see `fuzz/src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| playground_fuzz::wire(data));
