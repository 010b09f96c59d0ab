//! Edit to live: N times, a one-line change is saved into a leaf plugin's source, and the
//! time is taken until the running editor (headless, watching) answers a call with the new
//! code and the old state (the call is sent when the editor reports the reload). In the same run, a bare `cargo build -p` after the same kind of
//! edit is timed as the baseline. Prints median and p95 of both and their ratio. Then the
//! first edit of a new session, with and without the rustc commands an earlier session kept.
//!
//! `cargo bench -p playground-tests --bench edit_to_live` (the editor and module are built
//! in the dev profile, as `cargo run` builds them, in a copy of the workspace).

#![allow(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]

use std::time::{Duration, Instant};

use playground_api::serde_json::json;
use playground_tests::{LiveWorkspace, median_p95_max, millis};

const RUNS: u32 = 20;
/// New sessions for the first-edit figures, each way.
const SESSIONS: u32 = 5;
const COUNTER: &str = "tests/fixtures/plugins/counter/src/lib.rs";
const MARKER: &str = "\"version\" => codec::encode(&1u32),";

fn with_version(original: &str, version: u32) -> String {
    original.replacen(MARKER, &format!("\"version\" => codec::encode(&{version}u32),"), 1)
}

fn main() {
    let live = LiveWorkspace::prepare();
    let path = live.root.join(COUNTER);
    let original = std::fs::read_to_string(&path).expect("read the counter");

    let mut shell = live.shell();
    shell.ok("call plugins/counter add 7");
    let mut edit_to_live = Vec::new();
    let mut builds = Vec::new();
    let mut swaps = Vec::new();
    for i in 0..RUNS {
        let version = 1000 + i;
        std::fs::write(&path, with_version(&original, version)).expect("save");
        let saved = Instant::now();
        // Wait for the shell's own `reloaded` event, then ask: polling with calls every
        // millisecond took a share of the CPU that rustc needed on this 2-core machine.
        shell.wait_for("reloaded", Duration::from_secs(120));
        assert_eq!(shell.ok("call plugins/counter version"), json!(version), "edit {i} is live");
        edit_to_live.push(millis(saved.elapsed()));
        assert_eq!(shell.ok("call plugins/counter get"), json!(7), "the state survived edit {i}");
        let history = shell.ok("history");
        let last = history.as_array().and_then(|h| h.last()).cloned().unwrap_or_default();
        builds.push(last["timings"]["build_us"].as_f64().unwrap_or(0.0) / 1000.0);
        swaps.push(last["timings"]["total_us"].as_f64().unwrap_or(0.0) / 1000.0);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(shell.quit());

    let mut bare = Vec::new();
    for i in 0..RUNS {
        std::fs::write(&path, with_version(&original, 2000 + i)).expect("save");
        let saved = Instant::now();
        let status = live.cargo().args(["build", "-p", "fx-counter"]).output().expect("cargo runs").status;
        assert!(status.success());
        bare.push(millis(saved.elapsed()));
    }

    // The first edit of a new session: every other session starts without the commands an
    // earlier session kept, so its first edit goes through cargo (which keeps them again).
    let kept = live.root.join("target/debug/playground-rustc-commands.json");
    let (mut first_kept, mut first_cargo) = (Vec::new(), Vec::new());
    for i in 0..SESSIONS * 2 {
        let keep = i % 2 == 1;
        if !keep {
            let _ = std::fs::remove_file(&kept);
        }
        let mut shell = live.shell();
        let version = 3000 + i;
        std::fs::write(&path, with_version(&original, version)).expect("save");
        let saved = Instant::now();
        let events = shell.wait_for("reloaded", Duration::from_secs(120));
        assert_eq!(shell.ok("call plugins/counter version"), json!(version), "session {i}'s edit is live");
        let took = millis(saved.elapsed());
        let built = events.iter().rev().find(|e| e["kind"] == "built").expect("a build ran");
        assert_eq!(built["outcome"]["fast_path"], json!(keep), "session {i}: {built}");
        if keep { &mut first_kept } else { &mut first_cargo }.push(took);
        assert!(shell.quit());
    }
    std::fs::write(&path, &original).expect("restore the counter");

    let (live_median, live_p95, _) = median_p95_max(&mut edit_to_live);
    let (bare_median, bare_p95, _) = median_p95_max(&mut bare);
    let (build_median, _, _) = median_p95_max(&mut builds);
    let (swap_median, swap_p95, _) = median_p95_max(&mut swaps);
    println!("edit-to-live over {RUNS} edits: median {live_median:.0} ms, p95 {live_p95:.0} ms");
    println!(
        "  of which the build (as recorded): median {build_median:.0} ms; the swap: median {swap_median:.2} ms, p95 {swap_p95:.2} ms"
    );
    println!("bare `cargo build -p fx-counter` after an edit: median {bare_median:.0} ms, p95 {bare_p95:.0} ms");
    println!(
        "ratio edit-to-live / bare build: median {:.2}, p95 {:.2}",
        live_median / bare_median,
        live_p95 / bare_p95
    );
    let (kept_median, _, kept_max) = median_p95_max(&mut first_kept);
    let (cargo_median, _, cargo_max) = median_p95_max(&mut first_cargo);
    println!(
        "first edit of a new session over {SESSIONS} sessions each: with the kept rustc command median {kept_median:.0} ms (max {kept_max:.0}); through cargo median {cargo_median:.0} ms (max {cargo_max:.0}); ratio {:.2}",
        kept_median / cargo_median
    );
}
