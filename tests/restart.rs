//! `restart`: the way to pick up an edit of the immortal api. The shell rebuilds itself, saves
//! every module's state, replaces its process with the new binary, and the modules come back
//! with their state.

use playground_api::serde_json::json;
use playground_tests::Sandbox;

#[test]
fn a_restart_keeps_every_module_state() {
    let sandbox = Sandbox::fixtures();
    let mut shell = sandbox.shell();
    shell.ok("call plugins/counter add 12");
    shell.ok("call plugins/counter label \"survivor\"");
    shell.ok("call systems/probe add 30");
    let counter = shell.ok("state plugins/counter");

    assert_eq!(shell.ok("restart"), json!("restarting"));
    shell.expect_line("ready");

    let mut after = shell.ok("state plugins/counter");
    // The new process restored the saved state once.
    after["restores"] = counter["restores"].clone();
    assert_eq!(after, counter);
    assert_eq!(shell.ok("call systems/probe total"), json!(30));
    assert_eq!(shell.ok("call plugins/counter probe_add 1"), json!(31), "the services are wired again");
    let modules = shell.ok("modules");
    let generations: Vec<u64> =
        modules.as_array().into_iter().flatten().filter_map(|m| m["generation"].as_u64()).collect();
    assert_eq!(generations, vec![0, 1, 1], "a new process: first generations again");
    assert!(shell.quit());
}
