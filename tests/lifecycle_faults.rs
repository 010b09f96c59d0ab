//! Faults in module code, provoked in the real `playground` binary: a panic in each
//! lifecycle step, and a module refusing its saved state. Every answer names the step, and
//! the module keeps running with the state it had.
//!
//! The counter fixture reads one-shot faults from the file `FIXTURE_FAULTS` names (see its
//! crate docs), so the step fails in the new generation and succeeds in the rollback.

use playground_api::serde_json::{Value, json};
use playground_tests::{Sandbox, Shell};

/// Starts the shell over the fixtures and gives the counter some state.
fn start() -> (Sandbox, Shell, Value) {
    let sandbox = Sandbox::fixtures();
    let mut shell = sandbox.shell();
    shell.ok("call plugins/counter add 7");
    shell.ok("call plugins/counter label \"precious\"");
    shell.ok("call systems/probe add 100");
    let state = shell.ok("state plugins/counter");
    (sandbox, shell, state)
}

/// Module `id`'s entry in `modules`.
fn info(shell: &mut Shell, id: &str) -> Value {
    let modules = shell.ok("modules");
    modules.as_array().and_then(|all| all.iter().find(|m| m["id"] == id)).cloned().unwrap_or_default()
}

fn generation(shell: &mut Shell, id: &str) -> u64 {
    info(shell, id)["generation"].as_u64().unwrap_or(0)
}

/// A reload of the counter with `fault` armed must fail with `expected`, and leave the
/// counter's state (and its provider's) as they were.
fn check_reload_fails(fault: &str, expected: &[&str]) {
    let (sandbox, mut shell, before) = start();
    let generation_before = generation(&mut shell, "plugins/counter");
    sandbox.touch_library("plugins/counter");
    sandbox.set_faults(fault);
    let message = shell.err("reload plugins/counter");
    for part in expected {
        assert!(message.contains(part), "message `{message}` should contain `{part}`");
    }
    let mut after = shell.ok("state plugins/counter");
    // A rollback restores the saved state once more; everything else is identical.
    after["restores"] = before["restores"].clone();
    assert_eq!(after, before, "the counter's state survived");
    assert_eq!(generation(&mut shell, "plugins/counter"), generation_before, "the old generation runs");
    assert_eq!(shell.ok("call plugins/counter add 1"), json!(8), "and it still works");
    assert_eq!(shell.ok("call plugins/counter probe_add 1"), json!(101), "its typed service too");
    assert!(shell.quit(), "the shell exits cleanly");
}

#[test]
fn panic_in_create_rolls_back() {
    check_reload_fails(
        "create",
        &["rolled back", "`plugins/counter` failed in create: panicked at", "injected panic in create"],
    );
}

#[test]
fn panic_in_initialize_rolls_back() {
    check_reload_fails(
        "initialize",
        &["rolled back", "failed in initialize: panicked at", "injected panic in initialize"],
    );
}

#[test]
fn panic_in_restore_state_rolls_back() {
    check_reload_fails("restore_state", &["rolled back", "refused its saved state", "injected panic in restore_state"]);
}

#[test]
fn restore_state_error_rolls_back() {
    check_reload_fails(
        "restore_error",
        &["rolled back", "refused its saved state", "injected refusal: this state is not mine"],
    );
}

#[test]
fn panic_in_save_state_refuses_before_anything_changes() {
    check_reload_fails(
        "save_state",
        &[
            "refused; what ran before still runs, untouched",
            "could not save its state: panicked at",
            "injected panic in save_state",
        ],
    );
}

#[test]
fn panic_in_shutdown_is_a_warning_and_the_state_moves_on() {
    // The old code's shutdown is broken; refusing the reload would make it impossible to
    // ship the fix. The state was saved before shutdown, so the reload goes on.
    let (sandbox, mut shell, before) = start();
    sandbox.touch_library("plugins/counter");
    sandbox.set_faults("shutdown");
    let record = shell.ok("reload plugins/counter");
    assert_eq!(record["outcome"]["kind"], "swapped");
    let warnings = record["warnings"].to_string();
    assert!(warnings.contains("`plugins/counter` failed in shutdown: panicked at"), "{warnings}");
    assert!(warnings.contains("injected panic in shutdown"), "{warnings}");
    let after = shell.ok("state plugins/counter");
    assert_eq!(after["count"], before["count"]);
    assert_eq!(after["label"], before["label"]);
    assert_eq!(generation(&mut shell, "plugins/counter"), 2, "the new generation runs");
    assert!(shell.quit());
}

#[test]
fn panic_in_call_is_an_error_and_the_module_lives() {
    let (_sandbox, mut shell, before) = start();
    let message = shell.err("call plugins/counter panic");
    assert!(message.contains("`plugins/counter` failed in `panic`: panicked at"), "{message}");
    assert!(message.contains("deliberate panic in call"), "{message}");
    assert_eq!(shell.ok("state plugins/counter"), before);
    assert_eq!(shell.ok("call plugins/counter add 1"), json!(8));
    let counter = info(&mut shell, "plugins/counter");
    assert!(counter["last_error"].as_str().is_some_and(|e| e.contains("deliberate panic")), "{counter}");
    assert!(shell.quit());
}

#[test]
fn a_failure_in_a_dependent_rolls_back_the_whole_chain() {
    // Reloading the provider reloads the counter too; the counter's restore fails, so the
    // provider's new generation is undone as well and both keep their state.
    let (sandbox, mut shell, before) = start();
    sandbox.touch_library("systems/probe");
    sandbox.set_faults("restore_error");
    let message = shell.err("reload systems/probe");
    assert!(message.contains("rolled back"), "{message}");
    assert!(message.contains("`plugins/counter` refused its saved state"), "{message}");
    assert_eq!(generation(&mut shell, "systems/probe"), 1);
    assert_eq!(shell.ok("call systems/probe total"), json!(100));
    let mut after = shell.ok("state plugins/counter");
    after["restores"] = before["restores"].clone();
    assert_eq!(after, before);
    assert_eq!(shell.ok("call plugins/counter probe_add 1"), json!(101), "the counter holds the live provider");
    assert!(shell.quit());
}

#[test]
fn a_panic_in_tick_pauses_the_modules_ticks_until_it_reloads() {
    let (sandbox, mut shell, _) = start();
    sandbox.set_faults("tick");
    // The next tick panics: the counter says so, answers calls, and ticks no more.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let error = loop {
        let error = info(&mut shell, "plugins/counter")["last_error"].as_str().unwrap_or_default().to_owned();
        if !error.is_empty() {
            break error;
        }
        assert!(std::time::Instant::now() < deadline, "the tick never panicked");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(error.contains("injected panic in tick") && error.contains("paused until it is reloaded"), "{error}");
    let ticks = shell.ok("call plugins/counter ticks");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(shell.ok("call plugins/counter ticks"), ticks, "no tick since the panic");
    assert_eq!(shell.ok("call plugins/counter add 1"), json!(8), "calls still work");

    // Its next generation ticks again, with the state.
    sandbox.touch_library("plugins/counter");
    shell.ok("reload plugins/counter");
    while shell.ok("call plugins/counter ticks") == json!(0) {
        assert!(std::time::Instant::now() < deadline, "the new generation never ticked");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(shell.ok("call plugins/counter get"), json!(8));
    assert!(shell.quit());
}
