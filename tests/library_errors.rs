//! Bad libraries where a module's build should be: each reload is refused with a message
//! that says what is wrong, before the running generation is touched.

use playground_api::host::ReloadOutcome;
use playground_api::serde_json::json;
use playground_tests::{Sandbox, built_library, call, generation, state};

/// Loads the fixtures, gives the counter state, replaces its library with `bytes`, reloads,
/// and checks the refusal and that the old generation runs on with its state.
fn check(bytes: &[u8], expected: &[&str]) {
    let sandbox = Sandbox::fixtures();
    let runtime = sandbox.runtime();
    let report = runtime.load_all().expect("the fixtures load");
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    call(&runtime, "plugins/counter", "add", json!(41)).expect("add");
    call(&runtime, "plugins/counter", "label", json!("kept")).expect("label");
    let before = state(&runtime, "plugins/counter");
    let generation_before = generation(&runtime, "plugins/counter");

    sandbox.replace_library("plugins/counter", bytes);
    let record = runtime.reload("plugins/counter").expect("the request is accepted");
    let ReloadOutcome::Refused(message) = &record.outcome else {
        panic!("expected a refusal, got {:?}", record.outcome)
    };
    for part in expected {
        assert!(message.contains(part), "message `{message}` should contain `{part}`");
    }
    assert_eq!(state(&runtime, "plugins/counter"), before);
    assert_eq!(generation(&runtime, "plugins/counter"), generation_before);
    assert_eq!(call(&runtime, "plugins/counter", "add", json!(1)), Ok(json!(42)));
}

fn counter_library() -> Vec<u8> {
    std::fs::read(built_library("fx_counter")).expect("the counter is built")
}

#[test]
fn a_library_that_is_not_a_module() {
    let bytes = std::fs::read(built_library("fx_not_a_module")).expect("built");
    check(&bytes, &["not a Playground module: it exports no `PLAYGROUND_ABI`", "export_module!"]);
}

#[test]
fn a_truncated_library() {
    let mut bytes = counter_library();
    bytes.truncate(bytes.len() / 2);
    check(&bytes, &["the file is truncated"]);
}

#[test]
fn a_corrupt_library() {
    check(&b"this is not a library at all, just some text".repeat(40), &["not a library: not an ELF file"]);
}

#[test]
fn a_library_with_a_corrupt_body() {
    // A valid ELF header over garbage: the dynamic linker refuses it, and we say so.
    let mut bytes = counter_library();
    let keep = 64;
    for (i, b) in bytes.iter_mut().enumerate().skip(keep) {
        *b = (i * 7) as u8;
    }
    check(&bytes, &["libfx_counter.so"]);
}

#[test]
fn a_module_built_against_a_different_api() {
    // The same module, with the api fingerprint it carries changed in one hex digit: what a
    // module built against an edited api looks like to the loader. (Building a second api
    // dylib for real would rebuild the 200 MB api and everything on it.)
    let mut bytes = counter_library();
    let marker = b"; api=";
    let at = bytes.windows(marker.len()).position(|w| w == marker).expect("the stamp is in the library");
    let digit = at + marker.len();
    bytes[digit] = if bytes[digit] == b'0' { b'1' } else { b'0' };
    check(&bytes, &["built against a different api", "api=", "(the shell has api="]);
}

#[test]
fn a_missing_library_fails_that_module_only() {
    let sandbox = Sandbox::fixtures();
    std::fs::remove_file(sandbox.library("plugins/counter")).expect("remove");
    let runtime = sandbox.runtime();
    let report = runtime.load_all().expect("the graph resolves");
    assert_eq!(report.loaded, vec!["core/probe", "systems/probe"]);
    let (id, why) = &report.failed[0];
    assert_eq!(id, "plugins/counter");
    assert!(why.contains("no library here: the module has not been built"), "{why}");
    assert_eq!(call(&runtime, "systems/probe", "add", json!(2)), Ok(json!(2)), "the rest runs");
}
