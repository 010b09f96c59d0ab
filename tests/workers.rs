//! Workers a module owns stop with its generation: after a reload no thread runs the old
//! generation's code, and a worker that ignores its stop request is named.

use std::time::{Duration, Instant};

use playground_api::host::ReloadOutcome;
use playground_api::serde_json::json;
use playground_tests::{Sandbox, call};

/// How many of this process's threads named `name` are alive now.
fn threads_named(name: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .flatten()
        .filter(|task| std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| comm.trim_end() == name))
        .count()
}

/// Calls `worker_counts` until the counter's worker has counted something (at most 10 s).
fn wait_for_counts(runtime: &module_loader::Runtime) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let counts = call(runtime, "plugins/counter", "worker_counts", json!(null)).expect("worker_counts");
        let counts = counts.as_u64().unwrap_or(0);
        if counts > 0 || Instant::now() > deadline {
            return counts;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The fixtures, loaded in-process.
fn loaded_fixtures() -> (Sandbox, module_loader::Runtime) {
    let sandbox = Sandbox::fixtures();
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the fixtures load");
    (sandbox, runtime)
}

/// Reloads the counter from a fresh copy of its library, as after a rebuild.
fn reload_counter(sandbox: &Sandbox, runtime: &module_loader::Runtime) -> playground_api::host::ReloadRecord {
    sandbox.touch_library("plugins/counter");
    runtime.reload("plugins/counter").expect("the reload runs")
}

fn workers_of(runtime: &module_loader::Runtime, id: &str) -> Vec<String> {
    runtime.modules().into_iter().find(|m| m.id == id).map(|m| m.workers).unwrap_or_default()
}

#[test]
fn a_worker_stops_and_is_joined_when_its_module_reloads() {
    let (sandbox, runtime) = loaded_fixtures();
    call(&runtime, "plugins/counter", "add", json!(7)).expect("add");
    call(&runtime, "plugins/counter", "start_worker", json!(null)).expect("the worker starts");
    assert!(wait_for_counts(&runtime) > 0, "the worker runs");
    assert_eq!(workers_of(&runtime, "plugins/counter"), ["counter-ticker"], "inspect names it");
    assert_eq!(threads_named("counter-ticker"), 1);

    let record = reload_counter(&sandbox, &runtime);
    assert_eq!(record.outcome, ReloadOutcome::Swapped);
    assert!(record.warnings.is_empty(), "a worker that listens stops quietly: {:?}", record.warnings);
    assert_eq!(threads_named("counter-ticker"), 0, "no thread runs the old generation's code");
    assert!(workers_of(&runtime, "plugins/counter").is_empty(), "the new generation started none");
    assert_eq!(call(&runtime, "plugins/counter", "get", json!(null)), Ok(json!(7)), "the state crossed the reload");
}

#[test]
fn a_worker_that_ignores_its_stop_request_is_named_and_the_reload_goes_on() {
    let (sandbox, runtime) = loaded_fixtures();
    call(&runtime, "plugins/counter", "add", json!(3)).expect("add");
    call(&runtime, "plugins/counter", "start_stubborn", json!(null)).expect("the worker starts");

    let record = reload_counter(&sandbox, &runtime);
    assert_eq!(record.outcome, ReloadOutcome::Swapped, "a stubborn worker does not block the fix");
    assert!(
        record
            .warnings
            .iter()
            .any(|w| w.contains("`plugins/counter`'s worker `counter-stubborn` did not stop within 2 s")),
        "{:?}",
        record.warnings
    );
    let inspected = runtime.history().last().map(|r| r.warnings.clone()).unwrap_or_default();
    assert_eq!(inspected, record.warnings, "the history (debug.inspect) keeps the warning");
    assert_eq!(call(&runtime, "plugins/counter", "get", json!(null)), Ok(json!(3)), "the state crossed the reload");
}

#[test]
fn only_a_module_starts_workers() {
    let (_sandbox, runtime) = loaded_fixtures();
    let refused = runtime.host().spawn_worker("orphan", Box::new(|_| {})).expect_err("the shell's host has no module");
    assert!(refused.contains("only a module's host starts workers"), "{refused}");
}

#[test]
fn a_bare_thread_a_module_leaves_behind_is_named() {
    // Through the real binary: the counter fixture reads its faults from the file the
    // shell's environment names.
    let sandbox = Sandbox::fixtures();
    let mut shell = sandbox.shell();
    shell.ok("call plugins/counter add 6");
    // The next generation starts a bare `std::thread` in `initialize`.
    sandbox.set_faults("bare_thread");
    sandbox.touch_library("plugins/counter");
    assert_eq!(shell.ok("reload plugins/counter")["outcome"]["kind"], "swapped");
    // Reloading it again stops that generation, whose thread runs on.
    sandbox.touch_library("plugins/counter");
    let record = shell.ok("reload plugins/counter");
    assert_eq!(record["outcome"]["kind"], "swapped", "the reload goes on");
    let warnings = record["warnings"].to_string();
    assert!(warnings.contains("`plugins/counter` left 1 thread(s) running after it stopped"), "{warnings}");
    assert_eq!(shell.ok("call plugins/counter get"), json!(6), "the state crossed both reloads");
    assert!(shell.quit());
}
