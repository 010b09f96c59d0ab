//! The build service as its users meet it: a request that joins a running build, the
//! editor's Reload of a module whose sources changed, the fast path's compiler errors beside
//! cargo's, a recorded rustc command that no longer applies, and a module crate deleted
//! while it builds. Real builds of the counter fixture in a copy
//! of the workspace (`LiveWorkspace`), under a running `playground`.

#[path = "common/counter.rs"]
mod counter;

use std::time::Duration;

use counter::{BUILD, COUNTER, COUNTER_CARGO, VERSION_1, built, version};
use playground_api::serde_json::{self, Value, json};
use playground_tests::LiveWorkspace;

/// Errors as (file, line, column, message): what a user reads of a diagnostic.
fn errors(diagnostics: &[Value]) -> Vec<(String, u64, u64, String)> {
    diagnostics.iter().filter(|d| d["level"] == "error").map(playground_tests::diagnostic_place).collect()
}

#[test]
fn a_build_asked_for_while_live_edit_builds_the_same_module_is_one_build_answering_both() {
    let live = LiveWorkspace::prepare();
    let mut shell = live.shell();
    shell.ok("call plugins/counter add 6");
    // A manifest edit goes through cargo: seconds, long enough for the request to join it.
    live.edit(COUNTER_CARGO, "[lib]", "# Joined by a request.\n[lib]");
    live.edit(COUNTER, VERSION_1, &version(2));
    let started = shell.wait_for("build_started", BUILD);
    assert_eq!(started.last().expect("build_started")["requested_by"], json!(["live edit"]));

    // What MCP's `module.reload` runs: answered when the build it joined has reloaded.
    let record = shell.ok("rebuild plugins/counter");
    assert_eq!(record["outcome"]["kind"], "swapped", "{record}");
    let mut events = shell.wait_for("reloaded", BUILD);
    let joined = events
        .iter()
        .filter(|e| e["kind"] == "built")
        .find(|e| e["outcome"]["requested_by"] == json!(["live edit", "module.reload"]));
    assert!(joined.is_some(), "one build answered both: {events:?}");
    // The two saves may have reached the watcher apart (two builds); either way the new
    // code runs with the old state, and no third build ran for the request.
    while shell.ok("call plugins/counter version") != json!(2) {
        events.extend(shell.wait_for("reloaded", BUILD));
    }
    let builds = events.iter().filter(|e| e["kind"] == "build_started").count();
    assert!(builds <= 1, "the request started no build of its own: {events:?}");
    assert_eq!(shell.ok("call plugins/counter get"), json!(6));
    let status = shell.ok("build");
    assert_eq!(status["building"], json!([]), "{status}");
    assert!(shell.quit());
}

#[test]
fn fast_path_compile_errors_are_the_ones_cargo_reports() {
    let live = LiveWorkspace::prepare();
    let mut shell = live.shell();
    // A good build first: it records (or re-runs) the counter's rustc command in this session.
    live.edit(COUNTER, VERSION_1, &version(2));
    shell.wait_for("reloaded", BUILD);

    live.edit(COUNTER, &version(2), "\"version\" => codec::encode(&(2u32 + true)),");
    let events = shell.wait_for("built", BUILD);
    let outcome = built(&events);
    assert_eq!((outcome["success"].clone(), outcome["fast_path"].clone()), (json!(false), json!(true)), "{outcome}");
    let ours = errors(outcome["diagnostics"].as_array().expect("diagnostics"));
    assert_eq!(shell.ok("call plugins/counter version"), json!(2), "the old code still answers");
    assert!(shell.quit());

    // Cargo's own report of the same source.
    let output =
        live.cargo().args(["build", "-p", "fx-counter", "--message-format=json"]).output().expect("cargo runs");
    assert!(!output.status.success(), "the source does not compile");
    let cargo: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-message")
        .map(|m| {
            let d = &m["message"];
            let span = d["spans"].as_array().and_then(|s| s.iter().find(|s| s["is_primary"] == true)).cloned();
            let span = span.unwrap_or(Value::Null);
            json!({
                "level": d["level"],
                "message": d["message"],
                "file": span["file_name"],
                "line": span["line_start"],
                "column": span["column_start"],
            })
        })
        .collect();
    assert!(!ours.is_empty(), "the fast path reported the error: {outcome}");
    assert_eq!(ours, errors(&cargo), "the fast path's errors are cargo's");
}

#[test]
fn a_recorded_command_that_no_longer_applies_falls_back_to_cargo_and_says_so() {
    let live = LiveWorkspace::prepare();
    // Live edit off: the watcher does not see the manifest change, the command's check must.
    let mut shell = live.shell_not_watching();
    live.edit(COUNTER, VERSION_1, &version(2));
    shell.ok("rebuild plugins/counter");
    live.edit(COUNTER, &version(2), &version(3));
    shell.ok("rebuild plugins/counter");
    assert_eq!(shell.ok("build")["last"]["fast_path"], true, "the second build re-ran the recorded command");

    // A changed feature: the recorded command would build without it.
    live.edit(COUNTER_CARGO, "[lib]", "[features]\nextra = []\n\n[lib]");
    live.edit(COUNTER, &version(3), &version(4));
    shell.ok("rebuild plugins/counter");
    let last = shell.ok("build")["last"].clone();
    assert_eq!((last["success"].clone(), last["fast_path"].clone()), (json!(true), json!(false)), "{last}");
    let note = last["note"].as_str().unwrap_or_default();
    assert!(note.contains("no longer applies") && note.contains("Cargo.toml changed"), "{note}");
    assert!(note.contains("built with cargo"), "{note}");
    assert_eq!(shell.ok("call plugins/counter version"), json!(4));

    // A library the command links is gone.
    let kept = std::fs::read_to_string(live.root.join("target/debug/playground-rustc-commands.json")).expect("kept");
    let kept: Value = serde_json::from_str(&kept).expect("kept commands are JSON");
    let command = kept["commands"]["fx_counter"].as_str().expect("the counter's command").to_owned();
    let hack = command
        .split_whitespace()
        .find_map(|w| w.strip_prefix("workspace_hack="))
        .expect("the command links the workspace-hack")
        .to_owned();
    std::fs::remove_file(&hack).expect("remove the workspace-hack's rlib");
    live.edit(COUNTER, &version(4), &version(5));
    shell.ok("rebuild plugins/counter");
    let last = shell.ok("build")["last"].clone();
    assert_eq!(last["fast_path"], false, "{last}");
    let note = last["note"].as_str().unwrap_or_default();
    assert!(note.contains("no longer applies") && note.contains("is gone"), "{note}");
    assert_eq!(shell.ok("call plugins/counter version"), json!(5));
    assert!(shell.quit());
}

#[test]
fn a_module_crate_deleted_mid_build_is_unloaded_and_the_rest_runs_on() {
    let live = LiveWorkspace::prepare();
    let mut shell = live.shell();
    shell.ok("call systems/probe add 3");
    // Through cargo (a manifest edit): the build runs long enough to lose its crate.
    live.edit(COUNTER_CARGO, "[lib]", "# About to be deleted.\n[lib]");
    shell.wait_for("build_started", BUILD);
    std::fs::remove_dir_all(live.modules().join("plugins/counter")).expect("delete the counter");

    let events = shell.wait_for("removed", BUILD);
    let removed = events.last().expect("removed");
    assert_eq!(removed["id"], "plugins/counter");
    assert!(removed["message"].as_str().is_some_and(|m| m.contains("has been unloaded")), "{removed}");
    assert!(shell.err("call plugins/counter get").contains("there is no module `plugins/counter`"));
    assert_eq!(shell.ok("call systems/probe total"), json!(3), "the rest runs on");
    // The build ended either way; a failure says why in words.
    let last = shell.ok("build")["last"].clone();
    if last["success"] == false {
        let said = last["error"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| last["diagnostics"][0]["message"].as_str().map(str::to_owned));
        assert!(said.is_some_and(|s| !s.is_empty()), "{last}");
    }
    assert_eq!(shell.ok("build")["building"], json!([]));
    assert!(shell.quit());
}

#[test]
fn a_reload_asked_for_while_the_sources_changed_builds_them_first() {
    let live = LiveWorkspace::prepare();
    // Live edit off: only the reload can notice the change.
    let mut shell = live.shell_not_watching();
    shell.ok("call plugins/counter add 2");
    live.edit(COUNTER, VERSION_1, &version(2));
    // What the editor's Reload does: queue a reload through the host (the module asks for
    // its own here). Its sources are newer than its library, so it is built first.
    shell.ok("call plugins/counter request_reload");
    let events = shell.wait_for("reloaded", BUILD);
    let outcome = built(&events);
    assert_eq!(outcome["success"], true, "{outcome}");
    assert_eq!(outcome["requested_by"], json!(["the editor's Reload"]), "{outcome}");
    assert_eq!(shell.ok("call plugins/counter version"), json!(2), "the new code runs");
    assert_eq!(shell.ok("call plugins/counter get"), json!(2), "with the old state");

    // Nothing changed since: the next reload swaps the library as it is, without a build.
    let before = shell.ok("history").as_array().map_or(0, Vec::len);
    shell.ok("call plugins/counter request_reload");
    // Queued reloads run at the loop's next safe point, a tick away at most.
    let mut history = shell.ok("history");
    for _ in 0..100 {
        if history.as_array().is_some_and(|h| h.len() > before) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        history = shell.ok("history");
    }
    let records = history.as_array().expect("the history is a list");
    assert_eq!(records.len(), before + 1, "one more reload: {history}");
    assert_eq!(records[before]["timings"]["build_us"], 0, "no build: {history}");
    assert_eq!(shell.ok("call plugins/counter get"), json!(2));
    assert!(shell.quit());
}

#[test]
fn a_request_after_a_save_made_during_a_build_waits_for_a_build_that_reads_it() {
    let live = LiveWorkspace::prepare();
    // Live edit off: only the two requests below build.
    let mut shell = live.shell_not_watching();
    shell.ok("call plugins/counter add 4");
    // A manifest edit goes through cargo: seconds, a build long enough to save during.
    live.edit(COUNTER_CARGO, "[lib]", "# A slow build.\n[lib]");
    live.edit(COUNTER, VERSION_1, &version(2));
    shell.ok("call plugins/counter request_reload");
    shell.wait_for("build_started", BUILD);
    // Saved while that build runs, which may have read the file before.
    live.edit(COUNTER, &version(2), &version(3));
    let record = shell.ok("rebuild plugins/counter");
    assert_eq!(record["outcome"]["kind"], "swapped", "{record}");
    // The request did not join the build that was running: it waited for one of its own.
    let mut events = Vec::new();
    while let Some(event) = shell.event(Duration::from_millis(300)) {
        events.push(event);
    }
    let asked = |e: &&Value| e["kind"] == "built" && e["outcome"]["requested_by"] == json!(["module.reload"]);
    assert!(events.iter().any(|e| asked(&e)), "a build for the request alone: {events:?}");
    assert_eq!(shell.ok("call plugins/counter version"), json!(3), "the answer is for the text saved last");
    assert_eq!(shell.ok("call plugins/counter get"), json!(4), "with the state");
    assert!(shell.quit());
}
