//! Fuzz target: `playground_fuzz::manifests` (see `fuzz/src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| playground_fuzz::manifests(data));
