//! Fuzz target: `playground_fuzz::mcp_args` (see `fuzz/src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| playground_fuzz::mcp_args(data));
