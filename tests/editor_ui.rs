//! The editor module's panels, driven by label with egui_kittest (wgpu renderer, no display):
//! the real `apps/editor` library, loaded by the real loader over the demo modules, drawn by
//! a harness that plays the shell's frame (every apps module's UI, then the safe point).

#[path = "common/editor.rs"]
mod editor;

use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotOptions};
use module_loader::Runtime;
use playground_api::egui;
use playground_api::host::ReloadOutcome;
use playground_tests::{Sandbox, generation};

/// The demo modules plus the editor, loaded.
fn editor_sandbox() -> (Sandbox, Runtime) {
    let sandbox = editor::sandbox();
    let runtime = sandbox.runtime();
    let report = runtime.load_all().expect("the modules resolve");
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    (sandbox, runtime)
}

/// One frame as the window draws it: every apps module's UI, then the safe point.
fn frame(ui: &mut egui::Ui, runtime: &mut Runtime) {
    for id in runtime.ui_modules() {
        runtime.ui(&id, ui).expect("the editor draws");
    }
    runtime.run_queued();
}

fn harness(runtime: Runtime) -> Harness<'static, Runtime> {
    Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(frame, runtime)
}

#[test]
fn clicking_a_node_selects_it_and_reload_adds_a_timings_row() {
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    assert!(h.query_by_label("Select a module in the graph.").is_some());
    assert!(h.query_by_label("#1").is_none(), "no reload yet");

    h.get_by_label("systems/ecs").click();
    h.run();
    assert!(h.query_by_label("Select a module in the graph.").is_none(), "the inspector shows the selection");
    assert!(h.query_by_label_contains("owns the world").is_some(), "the inspector shows the description");

    h.get_by_label("Reload").click();
    h.run();
    let history = h.state().history();
    assert_eq!(history.len(), 1, "the reload ran at the safe point after the click");
    assert_eq!(history[0].modules, ["systems/ecs", "plugins/movement"], "with its dependents");
    assert_eq!(history[0].outcome, ReloadOutcome::Swapped);
    h.run();
    assert!(h.query_by_label("#1").is_some(), "the timings table gained a row");
    assert!(h.query_by_label("swapped").is_some());
}

#[test]
fn the_inspector_shows_the_selected_modules_state_as_a_tree() {
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    h.get_by_label("systems/ecs").click();
    h.run();
    assert!(h.query_by_label("state {2}").is_some(), "the world state's two fields");
    assert!(h.query_by_label("next_id:").is_some());
    assert!(h.query_by_label("entities {3}").is_some(), "the three demo entities");
    assert!(h.query_by_label("1.0.0").is_some(), "the version");
    assert!(h.query_all_by_label("core/ecs").count() >= 2, "the graph's node and the dependency row");
}

#[test]
fn the_editor_reloads_itself_between_frames_and_keeps_its_ui_state() {
    let (sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    h.get_by_label("apps/editor").click();
    h.run();
    h.get_by_label("Log").click();
    h.run();
    let before = generation(h.state(), "apps/editor");
    // A new build of the editor (same code, new file), so the reload loads a new generation.
    sandbox.touch_library("apps/editor");
    h.get_by_label("Reload").click();
    h.run();
    let history = h.state().history();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].outcome, ReloadOutcome::Swapped, "{:?}", history[0].outcome);
    assert_eq!(generation(h.state(), "apps/editor"), before + 1, "the new code runs");
    // The selection and the open tab survived: the inspector still shows the editor, and
    // the log panel's filter is still there.
    assert!(h.query_by_label("Select a module in the graph.").is_none());
    assert!(h.query_by_label("Filter:").is_some(), "the Log tab is still open");
}

#[test]
fn snapshot_of_the_editor_at_rest() {
    // Deterministic: the demo modules, nothing selected, no reloads yet, no temp paths shown.
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    h.run();
    // `cargo test` runs in tests/; UPDATE_SNAPSHOTS=1 rewrites the PNG after a deliberate change.
    h.snapshot_options("editor_at_rest", &SnapshotOptions::new().output_path("snapshots"));
}

#[test]
fn the_log_panel_shows_tracing_events_filtered_by_level() {
    // The shell's subscriber, as far as the log panel is concerned: the api's buffer.
    static SUBSCRIBER: std::sync::Once = std::sync::Once::new();
    SUBSCRIBER.call_once(|| {
        use playground_api::tracing_subscriber::layer::SubscriberExt as _;
        let subscriber = playground_api::tracing_subscriber::registry().with(playground_api::log::layer());
        playground_api::tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    });
    let (_sandbox, runtime) = editor_sandbox();
    playground_api::tracing::warn!("a warning for the log panel");
    playground_api::tracing::info!("some information for the log panel");
    let mut h = harness(runtime);
    h.get_by_label("Log").click();
    h.run();
    assert!(h.query_by_label_contains("a warning for the log panel").is_some());
    assert!(h.query_by_label_contains("some information for the log panel").is_some());

    h.get_by_label("WARN").click();
    h.run();
    assert!(h.query_by_label_contains("a warning for the log panel").is_some(), "warnings stay");
    assert!(h.query_by_label_contains("some information for the log panel").is_none(), "info is filtered out");
}
