//! The game's panel beside the editor, driven with egui_kittest as a user drives it: the real
//! `apps/game`, `systems/renderer` and `apps/editor` libraries, loaded by the real loader on
//! the harness's own wgpu device (Mesa's software Vulkan here), so the pixels the renderer
//! draws are the pixels the harness paints.

use std::sync::Arc;
use std::time::Duration;

use egui_kittest::kittest::Queryable;
use egui_kittest::wgpu::{WgpuTestRenderer, create_render_state, default_wgpu_setup};
use egui_kittest::{Harness, SnapshotOptions};
use module_loader::Runtime;
use playground_api::egui;
use playground_api::egui_wgpu;
use playground_api::gpu::{Device, GpuSource};
use playground_api::host::ReloadOutcome;
use playground_api::serde_json::Value;
use playground_tests::{Sandbox, call};

/// The seconds a harness frame stands for: one game tick at the game's 60 ticks a second.
const FRAME: f32 = 1.0 / 60.0;

/// The colours the game gives entities by id (`apps/game/src/view.rs`), in 0..=255.
const PALETTE: [[u8; 3]; 6] =
    [[242, 89, 77], [77, 191, 242], [115, 230, 102], [250, 204, 64], [191, 115, 242], [242, 140, 204]];

/// The engine's modules and the editor, loaded on the device the harness paints with.
fn game_harness() -> (Sandbox, Harness<'static, Runtime>) {
    let sandbox = Sandbox::engine();
    for id in ["apps/editor", "plugins/editor-graph", "plugins/editor-log", "plugins/editor-timings"] {
        sandbox.add(id, &playground_tests::module_dir(id));
    }
    let state = create_render_state(default_wgpu_setup(), egui_wgpu::RendererOptions::PREDICTABLE);
    let runtime = sandbox.runtime();
    let source = GpuSource::pending();
    source.set(Device::from_render_state(&state));
    runtime.set_gpu(Arc::clone(&source));
    let report = runtime.load_all().expect("the modules resolve");
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(8)
        .renderer(WgpuTestRenderer::from_render_state(state))
        .build_ui_state(frame, runtime);
    (sandbox, harness)
}

/// One frame as the window draws it: the modules tick, every apps module draws (the editor
/// last, so the game's panel comes first), then the safe point.
fn frame(ui: &mut egui::Ui, runtime: &mut Runtime) {
    runtime.tick(FRAME);
    let mut apps = runtime.ui_modules();
    apps.sort_by_key(|id| id == "apps/editor");
    for id in apps {
        runtime.ui(&id, ui).expect("the module draws");
    }
    runtime.run_queued();
}

fn status(h: &Harness<'_, Runtime>) -> Value {
    call(h.state(), "apps/game", "status", Value::Null).expect("the game answers")
}

fn ticks(h: &Harness<'_, Runtime>) -> u64 {
    status(h)["ticks"].as_u64().expect("ticks")
}

/// How many times the renderer has drawn the view.
fn draws(h: &Harness<'_, Runtime>) -> u64 {
    call(h.state(), "systems/renderer", "stats", Value::Null).expect("the renderer answers")["frames"]
        .as_u64()
        .expect("frames")
}

fn repaint_delay(h: &Harness<'_, Runtime>) -> Duration {
    h.output().viewport_output.get(&egui::ViewportId::ROOT).map_or(Duration::ZERO, |v| v.repaint_delay)
}

/// The game panel's outer rect, as egui keeps it.
fn panel(h: &Harness<'_, Runtime>) -> egui::Rect {
    egui::containers::panel::PanelState::load(&h.ctx, egui::Id::new("game_view")).expect("the game's panel").outer_rect
}

/// How many pixels of the panel's part of the painted window are near each entity colour.
fn palette_pixels(h: &mut Harness<'_, Runtime>) -> [usize; 6] {
    let area = panel(h);
    let image = h.render().expect("the harness paints");
    let mut counts = [0; 6];
    for (x, y, pixel) in image.enumerate_pixels() {
        if !area.contains(egui::pos2(x as f32, y as f32)) {
            continue;
        }
        for (count, colour) in counts.iter_mut().zip(PALETTE) {
            if pixel.0.iter().zip(colour).all(|(p, c)| p.abs_diff(c) <= 6) {
                *count += 1;
            }
        }
    }
    counts
}

#[test]
fn the_game_panel_shows_the_world_and_pause_play_and_step_drive_it() {
    let (_sandbox, mut h) = game_harness();
    // While it plays the game asks for a frame per tick: steps, not `run`, which waits for
    // the frames to stop.
    h.run_steps(2);
    assert!(h.query_by_label("Game").is_some(), "the panel is there");
    assert!(panel(&h).left() > 500.0, "beside the editor's graph, on the right: {:?}", panel(&h));
    // The renderer's view, painted inside the panel: every entity colour shows up.
    let seen = palette_pixels(&mut h);
    assert!(seen.iter().all(|&n| n >= 4), "each entity colour is painted in the panel: {seen:?}");

    // Playing: each frame ticks and draws, and asks for the next frame on the game's clock.
    let (t0, d0) = (ticks(&h), draws(&h));
    h.run_steps(3);
    assert!(ticks(&h) >= t0 + 3 && draws(&h) >= d0 + 3, "it plays: {} ticks, {} draws", ticks(&h), draws(&h));
    assert!(repaint_delay(&h) <= Duration::from_millis(17), "{:?}", repaint_delay(&h));

    // Pause: no more ticks, no more drawing, and the window may rest.
    h.get_by_label("⏸ Pause").click();
    h.run();
    assert_eq!(status(&h)["playing"], false);
    let (t1, d1) = (ticks(&h), draws(&h));
    h.run_steps(5);
    assert_eq!((ticks(&h), draws(&h)), (t1, d1), "paused: nothing ticks or draws");
    assert!(repaint_delay(&h) > Duration::from_secs(1), "the window rests: {:?}", repaint_delay(&h));
    assert!(h.query_by_label(&format!("tick {t1}")).is_some(), "the panel says where it stopped");
    // What the user sees (no reload yet, so no timings that differ from run to run).
    h.snapshot_options("game_beside_the_editor", &SnapshotOptions::new().output_path("snapshots"));

    // Step: exactly one tick, drawn, still paused.
    h.get_by_label("Step").click();
    h.run();
    assert_eq!(ticks(&h), t1 + 1);
    assert!(draws(&h) > d1, "the step is drawn");
    assert_eq!(status(&h)["playing"], false);
    h.run_steps(3);
    assert_eq!(ticks(&h), t1 + 1, "a step is one tick");

    // Play again.
    h.get_by_label("▶ Play").click();
    h.run_steps(4);
    assert_eq!(status(&h)["playing"], true);
    assert!(ticks(&h) > t1 + 3, "it plays again: {}", ticks(&h));
}

#[test]
fn the_game_panels_width_survives_reloads_of_the_editor_and_the_game() {
    let (_sandbox, mut h) = game_harness();
    h.get_by_label("⏸ Pause").click();
    h.run();
    let before = panel(&h);

    // The user drags the panel's left edge 150 points to the left.
    let grip = egui::pos2(before.left() + 1.0, before.center().y);
    h.hover_at(grip);
    h.run();
    h.drag_at(grip);
    h.run();
    for dx in [50.0, 100.0, 150.0] {
        h.hover_at(grip - egui::vec2(dx, 0.0));
        h.run();
    }
    h.drop_at(grip - egui::vec2(150.0, 0.0));
    h.run();
    let wider = panel(&h);
    assert!((wider.width() - before.width() - 150.0).abs() <= 2.0, "{before:?} -> {wider:?}");

    for id in ["apps/editor", "apps/game", "systems/renderer"] {
        let record = h.state().reload(id).expect("the reload runs");
        assert_eq!(record.outcome, ReloadOutcome::Swapped, "{id}");
        h.run();
        assert_eq!(panel(&h).width(), wider.width(), "the panel's width after reloading {id}");
        assert!(h.query_by_label("Game").is_some());
    }
    assert_eq!(status(&h)["playing"], false, "still paused");
    let seen = palette_pixels(&mut h);
    assert!(seen.iter().all(|&n| n >= 4), "the world is drawn after the reloads: {seen:?}");
}

/// The player's position, from the world.
fn player_position(h: &Harness<'_, Runtime>) -> (f64, f64) {
    let player = status(h)["player"].clone();
    let transform = call(h.state(), "systems/ecs", "get", player).expect("the world answers");
    let p = &transform["position"];
    (p["x"].as_f64().expect("x"), p["y"].as_f64().expect("y"))
}

#[test]
fn the_keyboard_moves_the_player_once_the_view_has_focus() {
    let (_sandbox, mut h) = game_harness();
    h.run_steps(2);
    let view = panel(&h).center();
    let start = player_position(&h);

    // Keys before the view has focus steer nothing (the editor may use them).
    h.key_down(egui::Key::D);
    h.run_steps(10);
    h.key_up(egui::Key::D);
    h.run_steps(1);
    assert!((player_position(&h).0 - start.0).abs() < 0.01, "{start:?} -> {:?}", player_position(&h));

    // A click on the view gives it the keyboard: D moves right, W up, at the player's speed.
    // A press and a release where the pointer is: a click (kittest's drag and drop).
    h.drag_at(view);
    h.drop_at(view);
    h.run_steps(2);
    let before = player_position(&h);
    h.key_down(egui::Key::D);
    h.run_steps(30);
    h.key_up(egui::Key::D);
    h.run_steps(2);
    let right = player_position(&h);
    // 30 ticks of 1/60 s at 30 units a second: 15 units, give or take a tick.
    assert!((right.0 - before.0 - 15.0).abs() <= 1.5, "right: {before:?} -> {right:?}");
    assert!((right.1 - before.1).abs() < 0.01, "only right: {before:?} -> {right:?}");
    h.key_down(egui::Key::ArrowUp);
    h.run_steps(20);
    h.key_up(egui::Key::ArrowUp);
    h.run_steps(2);
    let up = player_position(&h);
    assert!((up.1 - right.1 - 10.0).abs() <= 1.5, "up: {right:?} -> {up:?}");
    assert_eq!(selected_module(&h), Value::Null, "the arrows steered the player, not the editor's selection");
}

/// The editor's selection, as its saved UI state says.
fn selected_module(h: &Harness<'_, Runtime>) -> Value {
    call(h.state(), "apps/editor", "ui_state", Value::Null).expect("the editor answers")["selected"].clone()
}
