//! Live edit as a user lives it: real saves into real module crates (in a copy of the
//! workspace, see `LiveWorkspace`), watched and rebuilt by a running `playground`.

use std::time::Duration;

#[path = "common/counter.rs"]
mod counter;

use counter::{BUILD, COUNTER, COUNTER_CARGO, VERSION_1, built, version};
use playground_api::serde_json::json;
use playground_tests::LiveWorkspace;

/// The same arm with a syntax error in it (a stray parenthesis).
fn broken_version(n: u32) -> String {
    format!("\"version\" => codec::encode(&{n}u32)),")
}

#[test]
fn a_saved_change_goes_live_with_its_state() {
    let live = LiveWorkspace::prepare();
    let mut shell = live.shell();
    shell.ok("call plugins/counter add 5");
    assert_eq!(shell.ok("call plugins/counter version"), json!(1));

    live.edit(COUNTER, VERSION_1, &version(2));
    let events = shell.wait_for("reloaded", BUILD);
    let built = events.iter().find(|e| e["kind"] == "built").expect("a build ran");
    assert_eq!(built["outcome"]["success"], true);
    let record = &events.last().expect("reloaded")["record"];
    assert_eq!(record["outcome"]["kind"], "swapped");
    assert!(record["timings"]["build_us"].as_u64().unwrap_or(0) > 0, "the build time is recorded");
    assert_eq!(shell.ok("call plugins/counter version"), json!(2), "the new code answers");
    assert_eq!(shell.ok("call plugins/counter get"), json!(5), "with the old state");
    assert!(shell.quit());
}

#[test]
fn a_syntax_error_shows_its_diagnostic_and_the_old_code_keeps_answering() {
    let live = LiveWorkspace::prepare();
    let mut shell = live.shell();
    shell.ok("call plugins/counter add 3");

    live.edit(COUNTER, VERSION_1, &broken_version(3));
    let events = shell.wait_for("built", BUILD);
    let outcome = &events.last().expect("built")["outcome"];
    assert_eq!(outcome["success"], false);
    let error = &outcome["diagnostics"][0];
    assert_eq!(error["level"], "error");
    assert!(error["file"].as_str().is_some_and(|f| f.ends_with("plugins/counter/src/lib.rs")), "{error}");
    assert!(error["line"].as_u64().unwrap_or(0) > 0 && error["column"].as_u64().unwrap_or(0) > 0, "{error}");
    assert!(error["rendered"].as_str().is_some_and(|r| r.contains("-->")), "{error}");
    assert_eq!(shell.ok("call plugins/counter version"), json!(1), "the old code still answers");
    assert_eq!(shell.ok("call plugins/counter get"), json!(3));
    let status = shell.ok("build");
    assert_eq!(status["last"]["success"], false, "the errors stay shown: {status}");

    // Fixing it goes live.
    live.edit(COUNTER, &broken_version(3), &version(3));
    let events = shell.wait_for("reloaded", BUILD);
    assert_eq!(events.last().expect("reloaded")["record"]["outcome"]["kind"], "swapped");
    assert_eq!(shell.ok("call plugins/counter version"), json!(3));
    assert_eq!(shell.ok("call plugins/counter get"), json!(3));
    assert_eq!(shell.ok("build")["last"]["success"], true);
    assert!(shell.quit());
}

#[test]
fn a_contract_edit_reloads_the_whole_chain() {
    let live = LiveWorkspace::prepare();
    let mut shell = live.shell();
    shell.ok("call systems/probe add 40");
    shell.ok("call plugins/counter add 2");

    live.edit(
        "tests/fixtures/core/probe/src/lib.rs",
        "    fn noop(&mut self);",
        "    fn noop(&mut self);\n    /// Added by a live edit.\n    fn twice(&mut self, x: u64) -> u64 {\n        self.add(x) + x\n    }",
    );
    let events = shell.wait_for("reloaded", BUILD);
    let record = &events.last().expect("reloaded")["record"];
    assert_eq!(record["outcome"]["kind"], "swapped");
    assert_eq!(record["modules"], json!(["core/probe", "systems/probe", "plugins/counter"]));
    assert_eq!(shell.ok("call systems/probe total"), json!(40));
    assert_eq!(shell.ok("call plugins/counter get"), json!(2));
    assert_eq!(shell.ok("call plugins/counter probe_add 1"), json!(41), "the counter holds the new provider");
    assert!(shell.quit());
}

#[test]
fn a_new_session_builds_its_first_edit_with_the_kept_rustc_command() {
    let live = LiveWorkspace::prepare();
    // A first session's edit records the rustc command (with cargo, unless an earlier test in
    // this copy already did) and keeps it beside the libraries.
    let mut shell = live.shell();
    live.edit(COUNTER, VERSION_1, &version(2));
    shell.wait_for("reloaded", BUILD);
    assert!(shell.quit());

    // The next session's very first edit takes the fast path.
    let mut shell = live.shell();
    shell.ok("call plugins/counter add 4");
    live.edit(COUNTER, &version(2), &version(3));
    let events = shell.wait_for("reloaded", BUILD);
    assert_eq!(built(&events)["fast_path"], true, "{:?}", built(&events));
    assert_eq!(shell.ok("call plugins/counter version"), json!(3));
    assert_eq!(shell.ok("call plugins/counter get"), json!(4));
    assert!(shell.quit());

    // A kept command that fails may be out of date: cargo confirms the error, and it shows.
    let mut shell = live.shell();
    live.edit(COUNTER, &version(3), &broken_version(4));
    let events = shell.wait_for("built", BUILD);
    let outcome = built(&events);
    assert_eq!((outcome["success"].clone(), outcome["fast_path"].clone()), (json!(false), json!(false)), "{outcome}");
    assert_eq!(outcome["diagnostics"][0]["level"], "error", "{outcome}");
    assert_eq!(shell.ok("call plugins/counter version"), json!(3), "the old code still answers");
    assert!(shell.quit());

    // A manifest changed between sessions: the kept commands no longer apply, cargo builds.
    live.edit("tests/fixtures/plugins/counter/Cargo.toml", "[lib]", "# Edited between two sessions.\n[lib]");
    let mut shell = live.shell();
    live.edit(COUNTER, &broken_version(4), &version(5));
    let events = shell.wait_for("reloaded", BUILD);
    assert_eq!(built(&events)["fast_path"], false, "{:?}", built(&events));
    assert_eq!(shell.ok("call plugins/counter version"), json!(5));
    assert!(shell.quit());
}

#[test]
fn the_start_up_build_keeps_the_rustc_commands_for_the_first_edit() {
    let live = LiveWorkspace::prepare();
    let _ = std::fs::remove_file(live.root.join("target/debug/playground-rustc-commands.json"));
    // Changed while no editor ran: the start-up build compiles the counter, and records how.
    live.edit(COUNTER, VERSION_1, &version(2));
    let mut shell = live.shell_building();
    assert_eq!(shell.ok("call plugins/counter version"), json!(2));

    live.edit(COUNTER, &version(2), &version(3));
    let events = shell.wait_for("reloaded", BUILD);
    assert_eq!(built(&events)["fast_path"], true, "{:?}", built(&events));
    assert_eq!(shell.ok("call plugins/counter version"), json!(3));
    assert!(shell.quit());
}

#[test]
fn fifty_saves_in_a_second_cost_at_most_two_builds() {
    let live = LiveWorkspace::prepare();
    let mut shell = live.shell();
    let path = live.root.join(COUNTER);
    let original = std::fs::read_to_string(&path).expect("read");
    let started = std::time::Instant::now();
    for i in 0..50u32 {
        let version = 100 + i;
        std::fs::write(
            &path,
            original.replacen(VERSION_1, &format!("\"version\" => codec::encode(&{version}u32),"), 1),
        )
        .expect("save");
        std::thread::sleep(Duration::from_millis(15));
    }
    assert!(started.elapsed() < Duration::from_secs(2), "the saves took {:?}", started.elapsed());
    // Wait until the last save is live.
    let deadline = std::time::Instant::now() + BUILD;
    let mut builds = 0;
    loop {
        while let Some(event) = shell.event(Duration::from_millis(100)) {
            if event["kind"] == "build_started" {
                builds += 1;
            }
        }
        if shell.ok("call plugins/counter version") == json!(149) && shell.ok("build")["building"] == json!([]) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the last save never went live");
    }
    assert!((1..=2).contains(&builds), "{builds} builds for 50 saves");
    assert!(shell.quit());
}

#[test]
fn deleting_a_module_folder_unloads_only_what_nobody_needs() {
    let live = LiveWorkspace::prepare();
    let mut shell = live.shell();
    shell.ok("call systems/probe add 7");

    // core/probe is needed by both other modules: it is kept, and the reason is reported.
    let contract = live.modules().join("core/probe");
    let kept = live.root.join("target/kept-probe");
    let _ = std::fs::remove_dir_all(&kept);
    std::fs::rename(&contract, &kept).expect("move the contract away");
    let events = shell.wait_for("removed", BUILD);
    let removed = events.last().expect("removed");
    assert_eq!(removed["id"], "core/probe");
    let message = removed["message"].as_str().unwrap_or_default();
    assert!(message.contains("keeps running"), "{message}");
    assert!(message.contains("depends on `core/probe`"), "{message}");
    assert_eq!(shell.ok("call systems/probe total"), json!(7), "the provider still runs");
    std::fs::rename(&kept, &contract).expect("put the contract back");
    shell.wait_for("reloaded", BUILD);

    // plugins/counter is a leaf: it is unloaded, and the rest runs on.
    std::fs::remove_dir_all(live.modules().join("plugins/counter")).expect("delete the counter");
    let events = shell.wait_for("removed", BUILD);
    let removed = events.last().expect("removed");
    assert_eq!(removed["id"], "plugins/counter");
    assert!(removed["message"].as_str().is_some_and(|m| m.contains("has been unloaded")), "{removed}");
    assert!(shell.err("call plugins/counter get").contains("there is no module `plugins/counter`"));
    assert_eq!(shell.ok("call systems/probe total"), json!(7));
    assert!(shell.quit());
}

#[test]
fn a_start_whose_build_fails_runs_the_older_builds_and_shows_the_errors() {
    let live = LiveWorkspace::prepare();
    live.edit(COUNTER, VERSION_1, &broken_version(7));
    let mut shell = live.shell_building();
    let status = shell.ok("build");
    assert_eq!(status["last"]["success"], false, "{status}");
    assert_eq!(status["last"]["diagnostics"][0]["level"], "error", "{status}");
    assert_eq!(shell.ok("call plugins/counter version"), json!(1), "the older build runs");
    assert!(shell.quit());

    // Fixed, the next start builds it and says so.
    live.edit(COUNTER, &broken_version(7), &version(7));
    let mut shell = live.shell_building();
    let status = shell.ok("build");
    assert_eq!(status["last"]["success"], true, "{status}");
    assert_eq!(shell.ok("call plugins/counter version"), json!(7));
    assert!(shell.quit());
}

#[test]
fn a_start_whose_modules_do_not_resolve_waits_for_the_fix() {
    let live = LiveWorkspace::prepare();
    let manifest = live.root.join("tests/fixtures/plugins/counter/module.toml");
    let good = std::fs::read_to_string(&manifest).expect("read the manifest");
    std::fs::write(&manifest, "id = [broken").expect("break the manifest");

    // The shell starts anyway, and says why nothing runs.
    let mut shell = live.shell();
    let status = shell.ok("build");
    let error = status["last"]["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("module.toml"), "{status}");
    assert!(shell.err("call plugins/counter get").contains("plugins/counter"));

    // Fixing the file is a change live edit sees: the modules load.
    std::fs::write(&manifest, good).expect("fix the manifest");
    let events = shell.wait_for("loaded", BUILD);
    let loaded = &events.last().expect("loaded")["modules"];
    assert!(loaded.as_array().is_some_and(|m| m.contains(&json!("plugins/counter"))), "{loaded}");
    assert_eq!(shell.ok("call plugins/counter add 2"), json!(2));
    assert!(shell.quit());
}

#[test]
fn a_restart_whose_build_fails_leaves_everything_running() {
    let live = LiveWorkspace::prepare();
    let mut shell = live.shell();
    shell.ok("call plugins/counter add 5");
    live.edit("api/src/lib.rs", "pub mod abi;", "pub mod abi;\nthis does not compile");
    shell.wait_for("restart_needed", BUILD);

    // The build runs on a thread: the modules answer meanwhile, and a failure is an event.
    assert_eq!(shell.ok("restart"), json!("restarting"));
    assert_eq!(shell.ok("call plugins/counter get"), json!(5), "the modules answer during the build");
    let events = shell.wait_for("restart_failed", BUILD);
    let message = events.last().expect("restart_failed")["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("did not build") && message.contains("this does not compile"), "{message}");
    // The restart's build is shown like any other: its start, and how it ended.
    let started = events.iter().find(|e| e["kind"] == "build_started").expect("the build was announced");
    assert_eq!(started["requested_by"], json!(["restart"]), "{started}");
    let last = shell.ok("build")["last"].clone();
    assert_eq!((last["success"].clone(), last["requested_by"].clone()), (json!(false), json!(["restart"])), "{last}");
    assert_eq!(shell.ok("call plugins/counter add 1"), json!(6), "everything runs on, state intact");
    assert!(shell.quit());
    // The next `LiveWorkspace::prepare` puts the workspace's api back.
}

#[test]
fn a_restart_that_could_not_save_a_state_is_refused_before_anything_stops() {
    let live = LiveWorkspace::prepare();
    let faults = live.root.join("target/restart-faults");
    std::fs::write(&faults, "save_state").expect("write the faults file");
    let mut shell = live.shell_with_faults(&faults);
    shell.ok("call plugins/counter add 5");

    assert_eq!(shell.ok("restart"), json!("restarting"));
    let events = shell.wait_for("restart_failed", BUILD);
    let message = events.last().expect("restart_failed")["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("not restarting") && message.contains("injected panic in save_state"), "{message}");
    assert_eq!(shell.ok("call plugins/counter get"), json!(5), "the counter runs on with its state");

    // The fault was one-shot: the next restart goes through, and the state crosses it.
    assert_eq!(shell.ok("restart"), json!("restarting"));
    shell.expect_line_within("ready", BUILD);
    assert_eq!(shell.ok("call plugins/counter get"), json!(5));
    assert!(shell.quit());
}

#[test]
fn an_api_edit_asks_for_a_restart_that_rebuilds_everything_and_keeps_every_state() {
    let live = LiveWorkspace::prepare();
    let mut shell = live.shell();
    shell.ok("call plugins/counter add 5");
    shell.ok("call systems/probe add 3");

    // Any edit of the immortal api changes its ABI stamp: no reload can take it.
    live.edit(
        "api/src/lib.rs",
        "pub mod abi;",
        "// Edited by the live-edit test: the stamp changes with the source.\npub mod abi;",
    );
    let events = shell.wait_for("restart_needed", BUILD);
    assert!(events.iter().all(|e| e["kind"] != "build_started"), "no reload was tried: {events:?}");
    assert_eq!(shell.ok("build")["restart_needed"], json!(true));
    assert_eq!(shell.ok("call plugins/counter get"), json!(5), "the running modules are untouched");

    // The restart builds the api, every module and the shell, then restores every state.
    assert_eq!(shell.ok("restart"), json!("restarting"));
    shell.expect_line_within("ready", Duration::from_secs(900));
    assert_eq!(shell.ok("call plugins/counter get"), json!(5), "the counter's state survived");
    assert_eq!(shell.ok("call systems/probe total"), json!(3), "the probe's state survived");
    assert_eq!(shell.ok("call plugins/counter probe_add 1"), json!(4), "the service is wired to the new build");
    assert_eq!(shell.ok("build")["restart_needed"], json!(false), "the new process runs the new api");

    // The restart's build kept the rustc commands it ran, for the new api: the first edit
    // after the restart takes the fast path.
    live.edit(COUNTER, VERSION_1, &version(2));
    let events = shell.wait_for("reloaded", BUILD);
    assert_eq!(built(&events)["fast_path"], true, "{:?}", built(&events));
    assert_eq!(shell.ok("call plugins/counter get"), json!(5));
    assert!(shell.quit());
    // The next `LiveWorkspace::prepare` puts the workspace's api back and rebuilds.
}

/// The `restart_needed` event's message after `file` of the copy is edited (a comment added
/// at `anchor`), checking that nothing was built, reloaded or unloaded and the counter kept
/// its state.
fn restart_for_edit(live: &LiveWorkspace, file: &str, anchor: &str) -> String {
    let mut shell = live.shell();
    shell.ok("call plugins/counter add 5");
    live.edit(file, anchor, &format!("// Edited by the live-edit test.\n{anchor}"));
    let events = shell.wait_for("restart_needed", BUILD);
    assert!(
        events.iter().all(|e| e["kind"] != "build_started" && e["kind"] != "removed"),
        "immortal code is neither built nor unloaded: {events:?}"
    );
    let status = shell.ok("build");
    assert_eq!(status["restart_needed"], json!(true), "{status}");
    assert_eq!(shell.ok("call plugins/counter get"), json!(5), "the running modules are untouched");
    assert!(shell.quit());
    events.last().expect("restart_needed")["message"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn edits_of_the_loader_and_the_shell_ask_for_a_restart_not_a_reload() {
    let live = LiveWorkspace::prepare();
    let message = restart_for_edit(&live, "module-loader/src/lib.rs", "pub mod cargo;");
    assert!(message.contains("module-loader/src/lib.rs changed (the loader"), "{message}");
    let message = restart_for_edit(&live, "module-rules/src/lib.rs", "pub mod commands;");
    assert!(message.contains("module-rules/src/lib.rs changed (the loader"), "{message}");
    let message = restart_for_edit(&live, "editor-shell/src/main.rs", "mod control;");
    assert!(message.contains("editor-shell/src/main.rs changed (the shell"), "{message}");
    // The next `LiveWorkspace::prepare` puts the workspace's sources back.
}

/// The api library of the copy, as (length, modification time): whether a build rewrote it.
fn api_library(live: &LiveWorkspace) -> (u64, std::time::SystemTime) {
    let meta = std::fs::metadata(live.root.join("target/debug/libplayground_api.so")).expect("the api is built");
    (meta.len(), meta.modified().expect("a modification time"))
}

#[test]
fn a_plain_new_dependency_just_builds_and_reloads() {
    let live = LiveWorkspace::prepare();
    let api = api_library(&live);
    let mut shell = live.shell();
    shell.ok("call plugins/counter add 4");
    // A crate from the registry that asks nothing new of the shared crates.
    live.edit(COUNTER_CARGO, "[dependencies]", "[dependencies]\nitoa = \"1\"");
    let events = shell.wait_for("reloaded", BUILD);
    assert!(events.iter().all(|e| e["kind"] != "restart_needed"), "no restart for a plain crate: {events:?}");
    assert_eq!(events.last().expect("reloaded")["record"]["outcome"]["kind"], "swapped");
    assert_eq!(shell.ok("call plugins/counter get"), json!(4));
    assert_eq!(api_library(&live), api, "the api was not rebuilt");
    assert!(shell.quit());
    // The next `LiveWorkspace::prepare` puts the counter's Cargo.toml back.
}

#[test]
fn a_dependency_that_asks_shared_crates_for_more_is_explained_and_runs_after_a_restart() {
    let live = LiveWorkspace::prepare();
    let api = api_library(&live);
    // No cargo-hakari: the check and the restart's update need only what the run command
    // installs.
    let mut shell = live.shell_without_cargo_hakari();
    shell.ok("call plugins/counter add 5");

    // serde_json is linked by the api; `preserve_order` is a feature the api does not use.
    live.edit(
        COUNTER_CARGO,
        "[dependencies]",
        "[dependencies]\nserde_json = { version = \"1\", features = [\"preserve_order\"] }",
    );
    let events = shell.wait_for("restart_needed", BUILD);
    let message = events.last().expect("restart_needed")["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("plugins/counter"), "names the module: {message}");
    assert!(message.contains("serde_json gains preserve_order"), "names the crate and the feature: {message}");
    assert!(events.iter().all(|e| e["kind"] != "reloaded" && e["kind"] != "built"), "nothing built: {events:?}");
    assert_eq!(api_library(&live), api, "the running api was not rebuilt under the editor");
    assert_eq!(shell.ok("call plugins/counter get"), json!(5), "the running modules keep their state");

    // The restart updates the shared crates' features, rebuilds the api and every module,
    // and hands the states back: the module with its new dependency runs.
    assert_eq!(shell.ok("restart"), json!("restarting"));
    shell.expect_line_within("ready", Duration::from_secs(900));
    assert_eq!(shell.ok("call plugins/counter get"), json!(5), "the state crossed the restart");
    assert_eq!(shell.ok("build")["restart_needed"], json!(false));
    let hack = std::fs::read_to_string(live.root.join("workspace-hack/Cargo.toml")).expect("the workspace-hack");
    assert!(hack.contains("preserve_order"), "every build now asks for it:\n{hack}");
    assert!(shell.quit());
    // The next `LiveWorkspace::prepare` puts the workspace's files back and rebuilds.
}

#[test]
fn a_shared_crates_check_that_cannot_run_builds_nothing_and_says_why() {
    let live = LiveWorkspace::prepare();
    let mut shell = live.shell_without_cargo_hakari();
    shell.ok("call plugins/counter add 6");
    // A setting the check does not know: it cannot say what hakari would.
    let config = live.root.join(".config/hakari.toml");
    let text = std::fs::read_to_string(&config).expect("hakari.toml");
    std::fs::write(&config, format!("{text}\nunify-target-host = \"replicate-target-on-host\"\n")).expect("write");
    live.edit(COUNTER_CARGO, "[dependencies]", "[dependencies]\nitoa = \"1\"");
    let events = shell.wait_for("built", BUILD);
    let outcome = &events.last().expect("built")["outcome"];
    let error = outcome["error"].as_str().unwrap_or_default();
    assert_eq!(outcome["success"], false, "{outcome}");
    assert!(
        error.contains("cannot check whether the dependencies of plugins/counter change the shared crates"),
        "{error}"
    );
    assert!(error.contains("unify-target-host") && error.contains("nothing was built"), "{error}");
    assert!(events.iter().all(|e| e["kind"] != "reloaded"), "nothing reloaded: {events:?}");
    assert_eq!(shell.ok("call plugins/counter get"), json!(6), "the running module keeps its state");
    assert!(shell.quit());
    // The next `LiveWorkspace::prepare` puts hakari.toml and the counter's Cargo.toml back.
}
