//! Bad manifests, as a user edits them while the modules run: each one is refused with a
//! message that names the problem, and the running generation keeps its state.

use playground_api::host::ReloadOutcome;
use playground_api::serde_json::json;
use playground_tests::{Sandbox, call, generation, state};

/// Loads the demo, gives it some state, applies `edit` to a manifest, reloads `reload`,
/// and checks the refusal's message and that every module still runs with its state.
fn check(manifest: &str, edit: impl Fn(&str) -> String, reload: &str, expected: &[&str]) {
    check_file(manifest, "module.toml", edit, reload, expected);
}

/// [`check`], editing `file` of module `module` (its `module.toml` or its `Cargo.toml`).
fn check_file(module: &str, file: &str, edit: impl Fn(&str) -> String, reload: &str, expected: &[&str]) {
    let sandbox = Sandbox::demo();
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the demo loads");
    call(&runtime, "systems/ecs", "spawn", json!({"position": {"x": 5.0, "y": 5.0}, "velocity": {"x": 1.0, "y": 0.0}}))
        .expect("spawn");
    call(&runtime, "plugins/movement", "step", json!(0.5)).expect("step");
    let world = state(&runtime, "systems/ecs");
    let stats = state(&runtime, "plugins/movement");
    let generations = (generation(&runtime, "systems/ecs"), generation(&runtime, "plugins/movement"));

    let path = sandbox.modules.join(module).join(file);
    let text = std::fs::read_to_string(&path).expect("read the file");
    std::fs::write(&path, edit(&text)).expect("write the file");
    let record = runtime.reload(reload).expect("the reload request is accepted");
    let ReloadOutcome::Refused(message) = &record.outcome else {
        panic!("expected a refusal, got {:?}", record.outcome)
    };
    for part in expected {
        assert!(message.contains(part), "message `{message}` should contain `{part}`");
    }
    assert_eq!(state(&runtime, "systems/ecs"), world, "the world survived");
    assert_eq!(state(&runtime, "plugins/movement"), stats, "the plugin's state survived");
    assert_eq!(
        (generation(&runtime, "systems/ecs"), generation(&runtime, "plugins/movement")),
        generations,
        "the same generations still run"
    );
    // And they still work.
    assert_eq!(call(&runtime, "plugins/movement", "step", json!(0.5)), Ok(json!(4)));
    let last_error = runtime.modules().into_iter().find(|m| m.id == reload).and_then(|m| m.last_error);
    assert!(last_error.is_some_and(|e| e.contains(expected[0])), "the error is shown on the module");
}

#[test]
fn syntax_error() {
    check(
        "plugins/movement",
        |text| text.replace("version = \"1.0.0\"", "version = \"1.0.0"),
        "plugins/movement",
        &["plugins/movement/module.toml: invalid TOML at line 2", "column"],
    );
}

#[test]
fn unknown_dependency() {
    check(
        "plugins/movement",
        |text| text.replace("\"core/ecs\" = \"^1.0\"", "\"core/ecs\" = \"^1.0\"\n\"core/physics\" = \"^1.0\""),
        "plugins/movement",
        &["`plugins/movement` depends on `core/physics`, which is not a module here"],
    );
}

#[test]
fn unsatisfied_version_requirement() {
    check(
        "plugins/movement",
        |text| text.replace("\"core/ecs\" = \"^1.0\"", "\"core/ecs\" = \">=2.0, <3.0\""),
        "plugins/movement",
        &["`plugins/movement` needs `core/ecs` >=2.0, <3.0, but `core/ecs` is version 1.0.0"],
    );
}

#[test]
fn missing_feature() {
    check(
        "plugins/movement",
        |text| text.replace("\"core/ecs\" = \"^1.0\"", "\"core/ecs\" = { version = \"^1.0\", features = [\"turbo\"] }"),
        "plugins/movement",
        &["`plugins/movement` asks `core/ecs` for feature `turbo`, which `core/ecs` does not offer"],
    );
}

#[test]
fn cycle_names_its_path() {
    check(
        "core/types",
        |text| format!("{text}\n[dependencies]\n\"core/ecs\" = \"^1.0\"\n"),
        "core/ecs",
        &["dependency cycle: core/ecs -> core/types -> core/ecs"],
    );
}

#[test]
fn layer_violation() {
    check(
        "plugins/movement",
        |text| text.replace("\"core/ecs\" = \"^1.0\"", "\"core/ecs\" = \"^1.0\"\n\"systems/ecs\" = \"^1.0\""),
        "plugins/movement",
        &["`plugins/movement` (plugins) may not depend on `systems/ecs` (systems)", "reach systems through"],
    );
}

#[test]
fn id_that_does_not_match_its_folder() {
    check(
        "plugins/movement",
        |text| text.replace("id = \"plugins/movement\"", "id = \"plugins/motion\""),
        "plugins/movement",
        &["the id `plugins/motion` does not match the folder"],
    );
}

#[test]
fn a_crate_dependency_on_a_hot_module_is_refused_with_the_way_out() {
    check_file(
        "plugins/movement",
        "Cargo.toml",
        |text| text.replace("[dependencies]", "[dependencies]\nsystems-ecs = { path = \"../../systems/ecs\" }"),
        "plugins/movement",
        &[
            "plugins/movement/Cargo.toml: `plugins/movement` depends on `systems-ecs`, the crate of the hot module `systems/ecs`",
            "which no reload of `systems/ecs` replaces",
            "call `systems/ecs` through the host",
        ],
    );
}

#[test]
fn a_bad_graph_loads_nothing() {
    let sandbox = Sandbox::demo();
    let text = sandbox.manifest("plugins/movement");
    sandbox.write_manifest("plugins/movement", &text.replace("^1.0", "^9"));
    let runtime = sandbox.runtime();
    let err = runtime.load_all().expect_err("an unsatisfiable graph is refused");
    assert!(err.message().contains("needs `core/ecs` ^9"), "{err}");
    assert!(runtime.modules().is_empty());
}

#[test]
fn optional_features_are_enabled_only_when_asked_for() {
    let sandbox = Sandbox::demo();
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the demo loads");
    let movement = runtime.modules().into_iter().find(|m| m.id == "plugins/movement").expect("movement");
    assert_eq!(movement.features, vec!["driven", "integrate", "wrap"]);
    assert_eq!(movement.enabled_features, vec!["integrate"], "`wrap` stays off: nobody asked for it");

    // An app that asks for `wrap` turns it on (and whatever it implies).
    let app = sandbox.modules.join("apps/arena");
    std::fs::create_dir_all(&app).expect("app dir");
    std::fs::write(
        app.join("module.toml"),
        "id = \"apps/arena\"\nversion = \"0.1.0\"\nlayer = \"apps\"\n\n[dependencies]\n\"plugins/movement\" = { version = \"^1\", features = [\"wrap\"] }\n",
    )
    .expect("write manifest");
    std::fs::copy(sandbox.modules.join("plugins/movement/Cargo.toml"), app.join("Cargo.toml")).expect("cargo toml");
    let graph = runtime.resolve().expect("the graph with the app resolves");
    let enabled: Vec<String> = graph.enabled_features("plugins/movement").into_iter().collect();
    assert_eq!(enabled, vec!["integrate", "wrap"]);
    assert_eq!(graph.order().last().map(String::as_str), Some("apps/arena"));
}
