//! Fuzz target: `playground_fuzz::codec` (see `fuzz/src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| playground_fuzz::codec(data));
