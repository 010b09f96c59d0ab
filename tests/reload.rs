//! Reloads that work: chains, many in a row, state that changes shape, and reloads requested
//! from inside a reload.

use playground_api::host::ReloadOutcome;
use playground_api::serde_json::json;
use playground_tests::{Sandbox, built_library, call, generation, state};

#[test]
fn a_contract_reload_reloads_its_whole_chain_and_keeps_every_state() {
    let sandbox = Sandbox::demo();
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the demo loads");
    call(&runtime, "plugins/movement", "step", json!(1.0)).expect("step");
    let world = state(&runtime, "systems/ecs");
    let stats = state(&runtime, "plugins/movement");
    sandbox.touch_library("systems/ecs");
    sandbox.touch_library("plugins/movement");

    let record = runtime.reload("core/ecs").expect("accepted");
    assert_eq!(record.outcome, ReloadOutcome::Swapped);
    assert_eq!(record.modules, vec!["core/ecs", "systems/ecs", "plugins/movement"]);
    assert_eq!(state(&runtime, "systems/ecs"), world);
    assert_eq!(state(&runtime, "plugins/movement"), stats);
    assert_eq!(generation(&runtime, "systems/ecs"), 2);
    assert_eq!(generation(&runtime, "plugins/movement"), 2);
    // The new movement moves the new world through the new service.
    assert_eq!(call(&runtime, "plugins/movement", "step", json!(1.0)), Ok(json!(3)));
    assert_eq!(call(&runtime, "plugins/movement", "ticks", json!(null)), Ok(json!(2)));
    let t = record.timings;
    assert!(t.total_us >= t.save_us + t.unload_us + t.load_us, "phases fit in the total: {t:?}");
    assert_eq!(runtime.history().len(), 1);
}

#[test]
fn reloading_a_provider_reloads_its_dependents_not_its_dependencies() {
    let sandbox = Sandbox::demo();
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the demo loads");
    let record = runtime.reload("systems/ecs").expect("accepted");
    assert_eq!(record.modules, vec!["systems/ecs", "plugins/movement"]);
    let record = runtime.reload("plugins/movement").expect("accepted");
    assert_eq!(record.modules, vec!["plugins/movement"]);
}

#[test]
fn a_hundred_reloads_in_a_row_keep_the_state_exact() {
    let sandbox = Sandbox::fixtures();
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the fixtures load");
    call(&runtime, "plugins/counter", "fill", json!(4096)).expect("fill");
    call(&runtime, "plugins/counter", "label", json!("hundred")).expect("label");
    for i in 1..=100u64 {
        call(&runtime, "plugins/counter", "add", json!(i)).expect("add");
        let checksum = call(&runtime, "plugins/counter", "checksum", json!(null)).expect("checksum");
        sandbox.touch_library("plugins/counter");
        let record = runtime.reload("plugins/counter").expect("accepted");
        assert_eq!(record.outcome, ReloadOutcome::Swapped, "reload {i}");
        assert_eq!(
            call(&runtime, "plugins/counter", "checksum", json!(null)),
            Ok(checksum),
            "checksum after reload {i}"
        );
    }
    assert_eq!(call(&runtime, "plugins/counter", "get", json!(null)), Ok(json!(5050)));
    assert_eq!(generation(&runtime, "plugins/counter"), 101, "every reload loaded a fresh library");
    assert_eq!(runtime.history().len(), 100);
}

#[test]
fn an_added_field_keeps_every_other_value_and_an_incompatible_change_is_refused() {
    let sandbox = Sandbox::new();
    sandbox.add("plugins/evolve", &playground_tests::workspace().join("tests/fixtures/variants/evolve-v1"));
    let runtime = sandbox.runtime();
    runtime.load_all().expect("v1 loads");
    call(&runtime, "plugins/evolve", "set", json!({"name": "ada", "score": 42, "tags": ["a", "b"]})).expect("set");

    // v2 adds `level` with a default: name, score and tags come through by name.
    sandbox.replace_library("plugins/evolve", &std::fs::read(built_library("fx_evolve_v2")).expect("v2 built"));
    let record = runtime.reload("plugins/evolve").expect("accepted");
    assert_eq!(record.outcome, ReloadOutcome::Swapped);
    assert_eq!(call(&runtime, "plugins/evolve", "version", json!(null)), Ok(json!(2)));
    assert_eq!(state(&runtime, "plugins/evolve"), json!({"name": "ada", "level": 1, "score": 42, "tags": ["a", "b"]}));

    // v3 turns `score` into text: the saved number cannot be read, so v2 keeps running.
    sandbox.replace_library("plugins/evolve", &std::fs::read(built_library("fx_evolve_v3")).expect("v3 built"));
    let record = runtime.reload("plugins/evolve").expect("accepted");
    let ReloadOutcome::RolledBack(message) = &record.outcome else {
        panic!("expected a rollback: {:?}", record.outcome)
    };
    assert!(message.contains("`plugins/evolve` refused its saved state in restore_state"), "{message}");
    assert!(message.contains("cannot decode State"), "{message}");
    assert_eq!(call(&runtime, "plugins/evolve", "version", json!(null)), Ok(json!(2)));
    assert_eq!(state(&runtime, "plugins/evolve"), json!({"name": "ada", "level": 1, "score": 42, "tags": ["a", "b"]}));
    assert_eq!(generation(&runtime, "plugins/evolve"), 2);
}

#[test]
fn a_reload_requested_during_a_reload_is_queued_not_nested() {
    let sandbox = Sandbox::fixtures();
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the fixtures load");
    call(&runtime, "plugins/counter", "add", json!(3)).expect("add");
    // The counter asks for its own reload from inside restore_state, twice over.
    call(&runtime, "plugins/counter", "reload_again", json!(2)).expect("arm");

    let first = runtime.reload("plugins/counter").expect("accepted");
    assert_eq!(first.outcome, ReloadOutcome::Swapped, "the running reload finishes first");
    assert_eq!(runtime.history().len(), 1, "nothing ran inside it");

    let queued = runtime.run_queued();
    assert_eq!(queued.len(), 2, "the requests ran one after the other at the safe point");
    assert!(queued.iter().all(|r| r.outcome == ReloadOutcome::Swapped));
    assert!(runtime.run_queued().is_empty());
    assert_eq!(call(&runtime, "plugins/counter", "restores", json!(null)), Ok(json!(3)));
    assert_eq!(call(&runtime, "plugins/counter", "get", json!(null)), Ok(json!(3)));
}

#[test]
fn duplicate_requests_merge_and_unknown_ones_are_refused() {
    let sandbox = Sandbox::fixtures();
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the fixtures load");
    let host = runtime.host();
    host.request_reload("plugins/counter").expect("queued");
    host.request_reload("plugins/counter").expect("merged");
    let err = host.request_reload("plugins/nothing").expect_err("unknown");
    assert!(err.contains("there is no module `plugins/nothing`"), "{err}");
    assert_eq!(runtime.run_queued().len(), 1);
    let err = runtime.reload("plugins/nothing").expect_err("unknown");
    assert!(err.message().contains("there is no module `plugins/nothing`"), "{err}");
}

#[test]
fn modules_reach_each_other_through_the_host() {
    let sandbox = Sandbox::fixtures();
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the fixtures load");
    let host = runtime.host();
    let bytes =
        host.call("systems/probe", "add", &playground_api::codec::encode(&5u64).expect("encode")).expect("call");
    assert_eq!(playground_api::codec::decode::<u64>(&bytes), Ok(5));
    let ids: Vec<String> = host.modules().into_iter().map(|m| m.id).collect();
    assert_eq!(ids, vec!["core/probe", "systems/probe", "plugins/counter"]);
    // The typed path from the host's side (what the benchmark measures).
    let probe = runtime.service::<dyn fx_probe_contract::Probe>().expect("the probe service");
    assert_eq!(probe.with(|p| p.add(1)), Ok(6));
}

#[test]
fn a_kept_callee_follows_its_module_across_reloads() {
    let sandbox = Sandbox::fixtures();
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the fixtures load");
    let host = runtime.host();
    let probe = host.callee("systems/probe").expect("a callee");
    let add = |x: u64| probe.call("add", &playground_api::codec::encode(&x).expect("encode"));
    assert!(add(40).is_ok());

    // A new generation of the probe: the callee finds it, with the state it kept.
    sandbox.touch_library("systems/probe");
    assert_eq!(runtime.reload("systems/probe").expect("accepted").outcome, ReloadOutcome::Swapped);
    assert_eq!(generation(&runtime, "systems/probe"), 2);
    let total = add(2).expect("the callee reaches the new generation");
    assert_eq!(playground_api::codec::decode::<u64>(&total), Ok(42));

    // Errors are the module's, and a module that is gone says so.
    assert!(probe.call("nope", &[]).is_err_and(|e| e.contains("unknown method `nope`")));
    assert!(host.callee("plugins/nowhere").is_err_and(|e| e.contains("plugins/nowhere")));
    assert!(host.callee("core/probe").is_err_and(|e| e.contains("contract")), "a contract has no methods");
}

/// The generation copy `id` runs from.
fn running_copy(runtime: &module_loader::Runtime, id: &str) -> String {
    let info = runtime.modules().into_iter().find(|m| m.id == id).expect("the module is loaded");
    info.library.expect("a library")
}

#[test]
fn a_library_opened_ahead_is_what_its_reload_runs_unless_it_was_rebuilt_since() {
    let sandbox = Sandbox::fixtures();
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the fixtures load");
    call(&runtime, "plugins/counter", "add", json!(5)).expect("add");

    // A new build, opened on another thread as a build thread does, then reloaded.
    sandbox.touch_library("plugins/counter");
    let (preopener, library) = (runtime.preopener(), sandbox.library("plugins/counter"));
    std::thread::spawn(move || preopener.open(&library)).join().expect("opened ahead");
    let record = runtime.reload("plugins/counter").expect("accepted");
    assert_eq!(record.outcome, ReloadOutcome::Swapped);
    assert!(
        running_copy(&runtime, "plugins/counter").contains(".ahead"),
        "{}",
        running_copy(&runtime, "plugins/counter")
    );
    assert_eq!(generation(&runtime, "plugins/counter"), 2);
    assert_eq!(call(&runtime, "plugins/counter", "get", json!(null)), Ok(json!(5)), "with its state");

    // Opened ahead, then rebuilt once more before the reload: the newer build runs.
    sandbox.touch_library("plugins/counter");
    runtime.preopener().open(&sandbox.library("plugins/counter"));
    sandbox.touch_library("plugins/counter");
    let record = runtime.reload("plugins/counter").expect("accepted");
    assert_eq!(record.outcome, ReloadOutcome::Swapped);
    let copy = running_copy(&runtime, "plugins/counter");
    assert!(!copy.contains(".ahead") && copy.contains(".g3"), "the stale copy opened ahead is not used: {copy}");
    assert_eq!(call(&runtime, "plugins/counter", "get", json!(null)), Ok(json!(5)));
}
