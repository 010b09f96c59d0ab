//! What the live-edit and build tests edit: the counter fixture's source and manifest in a
//! copy of the workspace, the line whose number tells one build from the next, and the
//! `built` event they read.

use std::time::Duration;

use playground_api::serde_json::Value;

pub(crate) const COUNTER: &str = "tests/fixtures/plugins/counter/src/lib.rs";
pub(crate) const COUNTER_CARGO: &str = "tests/fixtures/plugins/counter/Cargo.toml";
pub(crate) const VERSION_1: &str = "\"version\" => codec::encode(&1u32),";
/// How long a test waits for a build (a cold one in the copy compiles for a while).
pub(crate) const BUILD: Duration = Duration::from_secs(180);

/// The counter's `version` arm, answering `n`.
pub(crate) fn version(n: u32) -> String {
    format!("\"version\" => codec::encode(&{n}u32),")
}

/// The outcome of the last `built` event in `events`.
pub(crate) fn built(events: &[Value]) -> &Value {
    &events.iter().rev().find(|e| e["kind"] == "built").expect("a build ran")["outcome"]
}
