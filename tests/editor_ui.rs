//! The editor module's panels, driven by label with egui_kittest (wgpu renderer, no display):
//! the real `apps/editor` library, loaded by the real loader over the demo modules, drawn by
//! a harness that plays the shell's frame (every apps module's UI, then the safe point).

#[path = "common/editor.rs"]
mod editor;

use std::time::Duration;

use egui_kittest::kittest::{NodeT as _, Queryable};
use egui_kittest::{Harness, SnapshotOptions};
use module_loader::Runtime;
use playground_api::egui;
use playground_api::host::ReloadOutcome;
use playground_api::serde_json::{Value, json};
use playground_tests::{Sandbox, call, dock_leaves, generation};

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
    // `run` allows a few frames to settle: a new selection can change the inspector's width,
    // and so the graph's canvas, for a frame or two, and each change draws the graph again.
    Harness::builder().with_size(egui::vec2(1280.0, 800.0)).with_max_steps(8).build_ui_state(frame, runtime)
}

/// How often the graph ran `GraphView::show`, and how many node clicks egui_graphs reported.
fn graph_stats(h: &Harness<'_, Runtime>) -> (u64, u64) {
    let stats = call(h.state(), "plugins/editor-graph", "graph_stats", Value::Null).expect("the graph panel answers");
    (stats["shows"].as_u64().unwrap_or(u64::MAX), stats["graph_clicks"].as_u64().unwrap_or(u64::MAX))
}

/// How long the last frame asked the shell to wait before the next one (`Duration::MAX`:
/// only input wakes it).
fn repaint_delay(h: &Harness<'_, Runtime>) -> Duration {
    h.output().viewport_output.get(&egui::ViewportId::ROOT).map_or(Duration::ZERO, |v| v.repaint_delay)
}

/// A graph node, by its module id (the inspector may show the same id as a plain label).
fn node<'h>(h: &'h Harness<'_, Runtime>, id: &'h str) -> egui_kittest::Node<'h> {
    h.get_by_role_and_label(egui::accesskit::Role::Button, id)
}

/// The editor's selection, as its saved UI state says.
fn selected(h: &Harness<'_, Runtime>) -> Value {
    call(h.state(), "apps/editor", "ui_state", Value::Null).expect("the editor answers")["selected"].clone()
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
fn the_keyboard_walks_the_modules_reloads_and_toggles_the_panels() {
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    let shown = |h: &Harness<'_, Runtime>, panel: &str| {
        call(h.state(), "apps/editor", "ui_state", Value::Null).expect("the editor answers")[panel].clone()
    };
    let press = |h: &mut Harness<'_, Runtime>, modifiers: egui::Modifiers, key: egui::Key| {
        h.key_press_modifiers(modifiers, key);
        h.run();
    };
    let (none, ctrl) = (egui::Modifiers::NONE, egui::Modifiers::COMMAND);

    // The arrows walk the modules in load order, and stop at either end.
    press(&mut h, none, egui::Key::ArrowDown);
    assert_eq!(selected(&h), json!("core/types"));
    press(&mut h, none, egui::Key::ArrowDown);
    assert_eq!(selected(&h), json!("core/ecs"));
    press(&mut h, none, egui::Key::ArrowUp);
    press(&mut h, none, egui::Key::ArrowUp);
    assert_eq!(selected(&h), json!("core/types"));
    press(&mut h, none, egui::Key::ArrowDown);
    press(&mut h, none, egui::Key::ArrowDown);
    assert_eq!(selected(&h), json!("systems/ecs"));
    assert!(h.query_by_label_contains("owns the world").is_some(), "the inspector follows");

    // Ctrl+R reloads the selection with its dependents, at the safe point.
    press(&mut h, ctrl, egui::Key::R);
    let history = h.state().history();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].modules, ["systems/ecs", "plugins/movement"]);

    // Escape clears the selection; then Ctrl+R says what it needs instead of guessing.
    press(&mut h, none, egui::Key::Escape);
    assert_eq!(selected(&h), Value::Null);
    press(&mut h, ctrl, egui::Key::R);
    assert_eq!(h.state().history().len(), 1, "nothing more was reloaded");
    assert!(h.query_by_label_contains("select a module to reload").is_some());

    // Ctrl+I and Ctrl+J hide and show the inspector and the bottom panel.
    press(&mut h, ctrl, egui::Key::I);
    press(&mut h, ctrl, egui::Key::J);
    assert_eq!((shown(&h, "show_inspector"), shown(&h, "show_bottom")), (json!(false), json!(false)));
    assert!(h.query_by_label("Select a module in the graph.").is_none(), "the inspector is gone");
    press(&mut h, ctrl, egui::Key::I);
    press(&mut h, ctrl, egui::Key::J);
    assert_eq!((shown(&h, "show_inspector"), shown(&h, "show_bottom")), (json!(true), json!(true)));
}

#[test]
fn the_keys_leave_a_focused_text_field_alone() {
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    h.get_by_label("Log").click();
    h.run();
    // The log's filter field has the focus: the arrows are its own, not the selection's.
    h.get_by_role(egui::accesskit::Role::TextInput).click();
    h.run();
    h.key_press(egui::Key::ArrowDown);
    h.run();
    assert_eq!(selected(&h), Value::Null, "the arrow stayed in the text field");
}

#[test]
fn the_graph_goes_quiet_when_nothing_happens() {
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    // `run` stops at the first frame that asks for no immediate repaint; with GraphView shown
    // every frame it would never stop (egui_graphs asks for one on every `show`).
    h.run();
    let (shows, _) = graph_stats(&h);
    assert!(shows >= 1, "the graph was drawn");
    for _ in 0..5 {
        h.step();
        assert!(repaint_delay(&h) > Duration::from_secs(1), "an idle frame asked for another: {:?}", repaint_delay(&h));
    }
    assert_eq!(graph_stats(&h).0, shows, "idle frames repaint the cached drawing and never call GraphView::show");
    assert!(h.query_by_label("systems/ecs").is_some(), "the nodes stay findable on quiet frames");

    // Moving the pointer over the graph draws it again (hover), then it settles again.
    let centre = node(&h, "core/types").rect().center();
    h.hover_at(centre);
    h.run();
    let (after_hover, _) = graph_stats(&h);
    assert!(after_hover > shows, "hovering redraws the graph");
    h.step();
    assert!(repaint_delay(&h) > Duration::from_secs(1), "quiet again after the hover");
    assert_eq!(graph_stats(&h).0, after_hover);
}

#[test]
fn the_inspector_keeps_drawing_a_state_that_changes_and_lets_a_still_one_rest() {
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    let quiet = |h: &Harness<'_, Runtime>| repaint_delay(h) > Duration::from_secs(1);
    // plugins/movement counts its ticks in its state.
    node(&h, "plugins/movement").click();
    h.run();
    h.step();
    assert!(quiet(&h), "its state stands still while nothing ticks: {:?}", repaint_delay(&h));

    // The window ticks the modules on every frame it paints, and each tick changes this
    // state: the next frame comes on its own, so the inspector shows the module at work.
    for _ in 0..3 {
        h.state().tick(0.1);
        h.step();
        assert!(repaint_delay(&h) <= Duration::from_millis(100), "{:?}", repaint_delay(&h));
    }
    // Once the state stands still, the window rests within a frame or two.
    let rests = |h: &mut Harness<'_, Runtime>| {
        (0..5).any(|_| {
            h.step();
            quiet(h)
        })
    };
    assert!(rests(&mut h), "the frames never stopped");

    // A contract has no state to follow.
    node(&h, "core/types").click();
    h.run();
    h.state().tick(0.1);
    assert!(rests(&mut h), "{:?}", repaint_delay(&h));
}

#[test]
fn a_node_is_selected_by_mouse_through_egui_graphs_and_by_accesskit() {
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    h.run();
    // A pointer click at the node's centre lands on the GraphView canvas (the node's
    // accessibility rect is under it), so egui_graphs reports the click.
    node(&h, "plugins/movement").click();
    h.run();
    assert_eq!(selected(&h), json!("plugins/movement"));
    assert_eq!(graph_stats(&h).1, 1, "egui_graphs saw the click");
    assert!(h.query_by_label_contains("Moves every entity").is_some(), "the inspector shows it");

    // A screen reader's click reaches the node's own widget.
    node(&h, "core/ecs").click_accesskit();
    h.run();
    assert_eq!(selected(&h), json!("core/ecs"));
    assert_eq!(graph_stats(&h).1, 1, "that click did not go through the canvas");

    // A click on empty canvas clears the selection.
    let canvas_corner = node(&h, "core/types").rect().left_top() - egui::vec2(30.0, 30.0);
    h.hover_at(canvas_corner);
    // A press and a release where the pointer is: a click (kittest's drag and drop).
    h.drag_at(canvas_corner);
    h.drop_at(canvas_corner);
    h.run();
    assert_eq!(selected(&h), Value::Null);
}

#[test]
fn a_nodes_context_menu_reloads_it_and_the_graph_marks_what_moved() {
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    h.run();
    assert!(!node_value(&h, "systems/ecs").contains("reloaded"));
    node(&h, "systems/ecs").click_secondary();
    h.run();
    h.get_by_label("Reload with dependents").click();
    h.run();
    let history = h.state().history();
    assert_eq!(history.len(), 1, "the menu's reload ran at the safe point");
    assert_eq!(history[0].modules, ["systems/ecs", "plugins/movement"]);
    h.run();
    assert!(h.query_by_label("#1").is_some(), "the timings table gained a row");
    for moved in ["systems/ecs", "plugins/movement"] {
        assert!(node_value(&h, moved).contains("reloaded"), "{moved}: {}", node_value(&h, moved));
    }
    for still in ["core/types", "core/ecs", "apps/editor"] {
        assert!(!node_value(&h, still).contains("reloaded"), "{still} did not move");
    }
    h.step();
    assert!(repaint_delay(&h) > Duration::from_secs(1), "quiet after the reload");
}

/// What a node's accessibility node says besides its id: its status line, and `reloaded`
/// when the last reload swapped it.
fn node_value(h: &Harness<'_, Runtime>, id: &str) -> String {
    node(h, id).accesskit_node().value().unwrap_or_default()
}

#[test]
fn new_module_says_clearly_when_no_folder_dialog_can_be_shown() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).join("bus").exists())
    {
        // A session bus may have a portal that would open a real dialog and wait for a person.
        eprintln!("SKIPPED: this session has a D-Bus session bus");
        return;
    }
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    h.get_by_label("New module…").click();
    h.run();
    assert!(h.query_by_label_contains("no file dialog is available").is_some(), "the top bar says why");
    assert!(h.state().history().is_empty());
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
fn an_api_edit_offers_a_restart_that_the_host_takes_at_its_safe_point() {
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    assert!(h.query_by_label("Restart").is_none(), "no restart offered before the api changes");

    // What live edit reports when `api/` changes.
    let reason = "api/src/lib.rs changed (the api, compiled into the running process): restart to pick it up";
    let status = playground_api::host::BuildStatus {
        restart_needed: true,
        restart_reason: Some(reason.to_owned()),
        ..Default::default()
    };
    h.state().set_build_status(status);
    h.run();
    assert!(h.query_by_label_contains("api/src/lib.rs changed (the api").is_some(), "the editor says why");
    assert!(!h.state().take_restart_request(), "nothing asked yet");

    h.get_by_label("Restart").click();
    h.run();
    assert!(h.state().take_restart_request(), "the request reached the host");
    assert!(h.query_by_label("restarting…").is_some(), "the editor says it is restarting");
    assert_eq!(generation(h.state(), "apps/editor"), 1, "nothing was reloaded: the host restarts instead");
}

#[test]
fn a_running_build_shows_its_progress_bar() {
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    // What live edit reports while cargo builds: modules, then crates done out of total.
    let status = playground_api::host::BuildStatus {
        building: vec!["plugins/movement".to_owned()],
        progress: Some((3, 10)),
        ..Default::default()
    };
    h.state().set_build_status(status);
    // The harness cannot settle while a build runs (its spinner or bar asks for frames).
    h.run_steps(2);
    assert!(h.query_by_label("building plugins/movement").is_some());
    assert!(h.query_by_label("3/10 crates").is_some(), "the bar says crates done out of total");
    h.state().set_build_status(playground_api::host::BuildStatus::default());
    h.run();
    assert!(h.query_by_label("3/10 crates").is_none(), "the bar goes with the build");
}

#[test]
fn a_good_build_says_how_long_it_took_and_which_way() {
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    let built = |fast_path, duration_ms, modules: &[&str]| playground_api::host::BuildStatus {
        last: Some(playground_api::host::BuildOutcome {
            success: true,
            modules: modules.iter().map(|m| (*m).to_owned()).collect(),
            duration_ms,
            fast_path,
            ..Default::default()
        }),
        ..Default::default()
    };
    h.state().set_build_status(built(true, 288.4, &["plugins/movement"]));
    h.run();
    assert!(h.query_by_label("built plugins/movement in 288 ms (rustc)").is_some());
    h.state().set_build_status(built(false, 61_300.0, &["core/types", "systems/ecs", "apps/editor"]));
    h.run();
    assert!(h.query_by_label("built 3 modules in 61.3 s (cargo)").is_some(), "a start-up build");
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

    // The panel is a module of its own (`plugins/editor-log`): it reloads alone, with its
    // filter, while the editor runs on in the same generation with its arrangement.
    let editor = generation(h.state(), "apps/editor");
    let dock = call(h.state(), "apps/editor", "ui_state", Value::Null).expect("the editor answers")["dock"].clone();
    let record = h.state().reload("plugins/editor-log").expect("reload the log panel");
    assert_eq!(record.outcome, ReloadOutcome::Swapped);
    assert_eq!(record.modules, ["plugins/editor-log"], "nothing else reloads");
    h.run();
    assert_eq!(generation(h.state(), "apps/editor"), editor, "the editor was not reloaded");
    assert_eq!(call(h.state(), "apps/editor", "ui_state", Value::Null).expect("the editor answers")["dock"], dock);
    assert!(h.query_by_label_contains("a warning for the log panel").is_some(), "the new panel draws");
    assert!(h.query_by_label_contains("some information for the log panel").is_none(), "its filter survived");
}

#[test]
fn a_panel_whose_module_is_missing_says_so_and_the_editor_runs_on() {
    // Every panel module but the log's.
    let sandbox = Sandbox::with(&[
        "core/types",
        "core/ecs",
        "systems/ecs",
        "plugins/movement",
        "plugins/editor-graph",
        "plugins/editor-timings",
        "apps/editor",
    ]);
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the modules resolve");
    let mut h = harness(runtime);
    h.get_by_label("Log").click();
    h.run();
    assert!(
        h.query_by_label_contains("This panel is the module `plugins/editor-log`: there is no module").is_some(),
        "the tab says which module draws it and why it cannot"
    );
    assert!(h.query_by_label("systems/ecs").is_some(), "the graph still shows");
}

#[test]
fn the_panels_arrangement_is_the_users_and_survives_the_editors_reload() {
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    let arrangement = |h: &Harness<'_, Runtime>| {
        call(h.state(), "apps/editor", "ui_state", Value::Null).expect("the editor answers")["dock"].clone()
    };
    let fresh = arrangement(&h);

    // Ctrl+I closes the inspector; the Source button brings the source pane to the front.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::I);
    h.run();
    assert!(h.query_by_label("Select a module in the graph.").is_none(), "the inspector is closed");
    h.get_by_label("Source").click();
    h.run();
    assert!(h.query_by_label("Select a module in the graph to see its files.").is_some(), "the source pane shows");
    let arranged = arrangement(&h);
    assert_ne!(arranged, fresh);

    // The editor reloads itself: the same arrangement.
    let record = h.state().reload("apps/editor").expect("the reload runs");
    assert_eq!(record.outcome, ReloadOutcome::Swapped);
    h.run();
    assert_eq!(arrangement(&h), arranged, "the arrangement is kept");
    assert!(h.query_by_label("Select a module in the graph to see its files.").is_some());
    assert!(h.query_by_label("Select a module in the graph.").is_none(), "the inspector stays closed");

    // The Inspector button opens it again, at the right.
    h.get_by_label("Inspector").click();
    h.run();
    assert!(h.query_by_label("Select a module in the graph.").is_some());
}

/// The dock's leaves, as the editor saves them: each one's tabs, in order.
fn leaves(h: &Harness<'_, Runtime>) -> Vec<Vec<String>> {
    let state = call(h.state(), "apps/editor", "ui_state", Value::Null).expect("the editor answers");
    dock_leaves(&state).into_iter().map(|(tabs, _)| tabs).collect()
}

/// The rect (`rect` or `viewport`) of the dock leaf whose first tab is `first`, as the dock
/// saved it after the last frame.
fn leaf_rect(h: &Harness<'_, Runtime>, first: &str, which: &str) -> egui::Rect {
    let state = call(h.state(), "apps/editor", "ui_state", Value::Null).expect("the editor answers");
    let nodes = state["dock"]["surfaces"][0]["Main"]["nodes"].as_array().cloned().unwrap_or_default();
    let leaf = nodes
        .iter()
        .map(|n| &n["Leaf"])
        .find(|l| l["tabs"][0] == first)
        .unwrap_or_else(|| panic!("no leaf starting with {first}: {nodes:?}"));
    let at = |corner: &str, axis: &str| leaf[which][corner][axis].as_f64().expect("a coordinate") as f32;
    egui::Rect::from_min_max(egui::pos2(at("min", "x"), at("min", "y")), egui::pos2(at("max", "x"), at("max", "y")))
}

#[test]
fn a_tab_dragged_with_the_mouse_joins_another_pane_and_stays_there_through_the_editors_reload() {
    let (_sandbox, runtime) = editor_sandbox();
    let mut h = harness(runtime);
    h.run();
    let with_graph = |leaves: &[Vec<String>]| {
        leaves.iter().any(|l| l.contains(&"graph".to_owned()) && l.contains(&"timings".to_owned()))
    };
    assert!(!with_graph(&leaves(&h)), "the timings start below the graph: {:?}", leaves(&h));

    // Press on the Timings tab (the lower pane's first: egui_dock draws its tab bar above
    // the pane's viewport, after the collapse button; the tab titles are not AccessKit nodes),
    // move over the middle of the graph's pane in small steps (egui_dock shows its drop
    // targets there), and let go on the middle one: "add as a tab".
    let lower = leaf_rect(&h, "timings", "rect");
    let lower_body = leaf_rect(&h, "timings", "viewport");
    let tab = egui::pos2(lower.left() + 60.0, (lower.top() + lower_body.top()) / 2.0);
    let target = leaf_rect(&h, "graph", "viewport").center();
    h.hover_at(tab);
    h.step();
    h.drag_at(tab);
    h.step();
    for step in 1..=20 {
        h.hover_at(tab + (target - tab) * (step as f32 / 20.0));
        h.step();
    }
    h.step();
    h.drop_at(target);
    h.run();
    let arranged = leaves(&h);
    assert!(with_graph(&arranged), "the timings joined the graph's pane: {arranged:?}");

    // The editor reloads itself: the arrangement is the user's still.
    let record = h.state().reload("apps/editor").expect("the reload runs");
    assert_eq!(record.outcome, ReloadOutcome::Swapped);
    h.run();
    assert_eq!(leaves(&h), arranged, "the arrangement is kept");
}
