//! Edit to live, as a user waits for it: N times, a one-line change is saved into a module's
//! source in a copy of the workspace, and the time is taken from the save to the running
//! editor's `reloaded` event for that module (headless, watching, over the copy's own
//! modules). Four rows: `plugins/movement`, a leaf; `apps/editor`, the editor's own UI; and
//! two of the editor's panels, modules of their own (`plugins/editor-timings`,
//! `plugins/editor-graph`).
//! In the same run, a bare `cargo build -p` after the same kind of edit is the baseline.
//! Prints median and p95 of both and their ratio. Then the first edit after a fresh start,
//! with and without the rustc commands an earlier session kept.
//!
//! `cargo bench -p playground-tests --bench edit_to_live --profile dev` (the editor and the
//! modules are built in the dev profile, as `cargo run` builds them; `--profile dev` only
//! changes how this driver is compiled). `EDIT_RUNS` sets N (20 by default).

#![allow(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]

use std::path::Path;
use std::time::{Duration, Instant};

use playground_api::serde_json::Value;
use playground_tests::{LiveWorkspace, Shell, median_p95_max, millis};

/// New sessions for the first-edit figures, each way.
const SESSIONS: u32 = 3;
const BUILD: Duration = Duration::from_secs(300);

/// One module to edit: its id, package, source file, and a line whose edit `n` changes code.
struct Row {
    id: &'static str,
    package: &'static str,
    file: &'static str,
    marker: &'static str,
    edit: fn(u32) -> String,
}

const ROWS: [Row; 4] = [
    Row {
        id: "plugins/movement",
        package: "plugins-movement",
        file: "modules/plugins/movement/src/lib.rs",
        marker: "Config { arena: 100.0 }",
        edit: |n| format!("Config {{ arena: {}.0 }}", 100 + n),
    },
    Row {
        id: "apps/editor",
        package: "apps-editor",
        file: "modules/apps/editor/src/lib.rs",
        marker: "why.unwrap_or(\"no diagnostics\")",
        edit: |n| format!("why.unwrap_or(\"no diagnostics ({n})\")"),
    },
    Row {
        id: "plugins/editor-timings",
        package: "plugins-editor-timings",
        file: "modules/plugins/editor-timings/src/lib.rs",
        marker: "\"No reloads yet.\"",
        edit: |n| format!("\"No reloads yet ({n}).\""),
    },
    Row {
        id: "plugins/editor-graph",
        package: "plugins-editor-graph",
        file: "modules/plugins/editor-graph/src/lib.rs",
        marker: "\"The graph panel was not initialized.\"",
        edit: |n| format!("\"The graph panel was not initialized ({n}).\""),
    },
];

/// Saves edit `n` of `row` and returns the milliseconds until the editor reported its reload,
/// with the `built` event's outcome.
fn save_and_wait(shell: &mut Shell, path: &Path, original: &str, row: &Row, n: u32) -> (f64, Value) {
    std::fs::write(path, original.replacen(row.marker, &(row.edit)(n), 1)).expect("save");
    let saved = Instant::now();
    loop {
        let events = shell.wait_for("reloaded", BUILD);
        let record = &events.last().expect("reloaded")["record"];
        if record["requested"].as_array().is_some_and(|r| r.iter().any(|m| m == row.id)) {
            let took = millis(saved.elapsed());
            assert_eq!(record["outcome"]["kind"], "swapped", "edit {n} of {}: {record}", row.id);
            let built = events.iter().rev().find(|e| e["kind"] == "built").map(|e| e["outcome"].clone());
            return (took, built.unwrap_or_default());
        }
    }
}

fn main() {
    let runs: u32 = std::env::var("EDIT_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(20);
    let live = LiveWorkspace::prepare();
    for row in &ROWS {
        let path = live.root.join(row.file);
        let original = std::fs::read_to_string(&path).expect("read the source");
        assert!(original.contains(row.marker), "{} lacks `{}`", row.file, row.marker);

        let mut shell = live.engine_shell();
        // One edit first: the session's first build may go through cargo (and records).
        save_and_wait(&mut shell, &path, &original, row, 1);
        let (mut edit_to_live, mut builds, mut fast) = (Vec::new(), Vec::new(), 0);
        for i in 0..runs {
            std::thread::sleep(Duration::from_millis(300));
            let (took, built) = save_and_wait(&mut shell, &path, &original, row, 1000 + i);
            edit_to_live.push(took);
            builds.push(built["duration_ms"].as_f64().unwrap_or(f64::NAN));
            fast += u32::from(built["fast_path"] == true);
        }
        assert!(shell.quit());

        let mut bare = Vec::new();
        for i in 0..runs {
            std::fs::write(&path, original.replacen(row.marker, &(row.edit)(2000 + i), 1)).expect("save");
            let saved = Instant::now();
            let status = live.cargo().args(["build", "-p", row.package]).output().expect("cargo runs").status;
            assert!(status.success());
            bare.push(millis(saved.elapsed()));
        }

        // The first edit after a fresh start: every other session starts without the commands
        // an earlier session kept, so its first edit goes through cargo (which keeps them).
        let kept = live.root.join("target/debug/playground-rustc-commands.json");
        let (mut first_kept, mut first_cargo) = (Vec::new(), Vec::new());
        for i in 0..SESSIONS * 2 {
            let keep = i % 2 == 1;
            if !keep {
                let _ = std::fs::remove_file(&kept);
            }
            let mut shell = live.engine_shell();
            let (took, built) = save_and_wait(&mut shell, &path, &original, row, 3000 + i);
            assert_eq!(built["fast_path"], keep, "session {i}: {built}");
            if keep { &mut first_kept } else { &mut first_cargo }.push(took);
            assert!(shell.quit());
        }
        std::fs::write(&path, &original).expect("restore the source");

        let (live_median, live_p95, _) = median_p95_max(&mut edit_to_live);
        let (build_median, _, _) = median_p95_max(&mut builds);
        let (bare_median, bare_p95, _) = median_p95_max(&mut bare);
        let (kept_median, _, kept_max) = median_p95_max(&mut first_kept);
        let (cargo_median, _, cargo_max) = median_p95_max(&mut first_cargo);
        println!("{}:", row.id);
        println!(
            "  edit to live over {runs} edits: median {live_median:.0} ms, p95 {live_p95:.0} ms ({fast} took the rustc fast path; build median {build_median:.0} ms)"
        );
        println!("  bare `cargo build -p {}`: median {bare_median:.0} ms, p95 {bare_p95:.0} ms", row.package);
        println!("  ratio: median {:.2}, p95 {:.2}", live_median / bare_median, live_p95 / bare_p95);
        println!(
            "  first edit after a fresh start ({SESSIONS} each): kept rustc command median {kept_median:.0} ms (max {kept_max:.0}); through cargo median {cargo_median:.0} ms (max {cargo_max:.0})"
        );
    }
}
