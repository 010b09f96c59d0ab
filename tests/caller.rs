//! Calls into modules from other threads and async tasks (`ModuleCaller`, the seed's
//! `MODULE_LOADER.call_module(...).await`), as a module's IO thread or a tool makes them: each
//! runs on the main thread at its next safe point, and each failure says what went wrong.

use std::time::{Duration, Instant};

use module_loader::Runtime;
use playground_api::codec;
use playground_api::host::ReloadOutcome;
use playground_api::serde_json::json;
use playground_tests::{Sandbox, call};

fn fixtures() -> (Sandbox, Runtime) {
    let sandbox = Sandbox::fixtures();
    let runtime = sandbox.runtime();
    let report = runtime.load_all().expect("the fixtures load");
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    (sandbox, runtime)
}

/// Plays the main loop: safe points until `done` (bounded).
fn safe_points_until(runtime: &Runtime, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        runtime.run_queued();
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn calls_from_another_thread_run_at_the_safe_point_and_each_failure_says_why() {
    let (_sandbox, runtime) = fixtures();
    let caller = runtime.caller();
    let thread = std::thread::spawn(move || {
        let added = caller.call_blocking("plugins/counter", "add", &codec::encode(&5u64).expect("encode"));
        // The same through a future, as an async task awaits it.
        let got = futures_executor::block_on(caller.request::<(), u64>("plugins/counter", "get", &()));
        let unknown = caller.call_blocking("plugins/nothing", "get", &[]);
        let panicked = caller.call_blocking("plugins/counter", "panic", &[]);
        let after = futures_executor::block_on(caller.request::<(), u64>("plugins/counter", "get", &()));
        (added, got, unknown, panicked, after)
    });
    safe_points_until(&runtime, "the calling thread finished", || thread.is_finished());
    let (added, got, unknown, panicked, after) = thread.join().expect("the calling thread");
    assert_eq!(added.map(|b| codec::decode::<u64>(&b)), Ok(Ok(5)));
    assert_eq!(got, Ok(5));
    let unknown = unknown.expect_err("no such module");
    assert!(unknown.contains("there is no module `plugins/nothing`"), "{unknown}");
    let panicked = panicked.expect_err("the method panics");
    assert!(panicked.contains("deliberate panic in call"), "{panicked}");
    assert_eq!(after, Ok(5), "a panicking call harms nothing: the module still answers");

    // On the main thread a blocking call would wait for itself: refused at once.
    let refused = runtime.caller().call_blocking("plugins/counter", "get", &[]).expect_err("refused");
    assert!(refused.contains("main thread would wait for itself"), "{refused}");
}

#[test]
fn a_call_to_a_module_that_is_not_running_or_to_a_stopped_host_says_so() {
    // The counter needs the probe, whose library is not a library: the counter does not run.
    let sandbox = Sandbox::fixtures();
    sandbox.replace_library("systems/probe", b"not a library");
    let runtime = sandbox.runtime();
    let report = runtime.load_all().expect("the graph resolves");
    assert!(!report.failed.is_empty());
    let caller = runtime.caller();
    let asked = caller.call_module("plugins/counter", "get", &[]);
    assert_eq!(runtime.run_calls(), 1);
    let not_running = futures_executor::block_on(asked).expect_err("not running");
    assert!(not_running.contains("`plugins/counter` is not running"), "{not_running}");
    assert!(not_running.contains("`systems/probe`"), "and why: {not_running}");

    // Queued, then the host stops before its next safe point.
    let unanswered = caller.call_module("plugins/counter", "get", &[]);
    runtime.shutdown_all();
    drop(runtime);
    let gone = futures_executor::block_on(unanswered).expect_err("the host stopped");
    assert!(gone.contains("the host stopped before the call could run"), "{gone}");
    let later = std::thread::spawn(move || caller.call_blocking("plugins/counter", "get", &[]))
        .join()
        .expect("the calling thread");
    assert!(later.as_ref().is_err_and(|e| e.contains("the host has stopped")), "{later:?}");
}

#[test]
fn a_module_worker_calling_through_the_host_stops_promptly_with_its_generation() {
    let (_sandbox, runtime) = fixtures();
    call(&runtime, "plugins/counter", "start_caller", json!(null)).expect("the worker starts");
    let answered =
        || call(&runtime, "plugins/counter", "caller_counts", json!(null)).expect("counts")[0].as_u64().unwrap_or(0);
    safe_points_until(&runtime, "the worker's calls were answered", || answered() >= 20);

    // The reload joins the worker while it may be waiting for an answer that only this
    // thread gives: its call is refused, it sees its stop request, and returns.
    let record = runtime.reload("plugins/counter").expect("accepted");
    assert_eq!(record.outcome, ReloadOutcome::Swapped);
    assert!(record.warnings.iter().all(|w| !w.contains("did not stop")), "{:?}", record.warnings);
    let count = call(&runtime, "plugins/counter", "get", json!(null)).expect("get");
    assert!(count.as_u64().is_some_and(|c| c >= 20), "the calls added up, kept across the reload: {count}");
}
