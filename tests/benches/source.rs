//! The source panel's figures, in the real editor module driven by egui_kittest (no
//! painting: the frame's UI work, highlighting and text layout included): opening a
//! 3000-line Rust file, and the frame that handles one keystroke in it.
//!
//! Measured twice: as the window runs it (AccessKit off: eframe turns it on only when a
//! screen reader asks), and with AccessKit on, as kittest runs by default (egui then builds
//! a node per text row of the file, every frame).
//!
//! `cargo bench -p playground-tests --bench source --profile dev`

#![allow(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]

#[path = "../common/editor.rs"]
mod editor;

use std::time::Instant;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use module_loader::Runtime;
use playground_api::egui;
use playground_api::serde_json::json;
use playground_tests::{call, median_p95_max, millis, module_dir};

const LINES: usize = 3000;
const KEYS: usize = 200;

fn frame(ui: &mut egui::Ui, runtime: &mut Runtime) {
    for id in runtime.ui_modules() {
        runtime.ui(&id, ui).expect("the editor draws");
    }
    runtime.run_queued();
}

fn main() {
    let sandbox = editor::sandbox();
    // plugins/movement's source, repeated to 3000 lines.
    let one = std::fs::read_to_string(module_dir("plugins/movement").join("src/lib.rs")).expect("the source");
    let mut text = String::new();
    while text.lines().count() < LINES {
        text.push_str(&one);
    }
    let text: String = text.lines().take(LINES).map(|l| format!("{l}\n")).collect();
    let src = sandbox.modules.join("plugins/movement/src");
    std::fs::create_dir_all(&src).expect("src");
    std::fs::write(src.join("lib.rs"), &text).expect("write the file");

    for accesskit in [false, true] {
        measure(&sandbox, &src.join("lib.rs"), accesskit);
    }
}

/// Opens the file, types into it and idles, with AccessKit on (kittest's frames) or off
/// (frames run on the harness's context directly, after kittest found the file's button);
/// prints the figures.
fn measure(sandbox: &playground_tests::Sandbox, path: &std::path::Path, accesskit: bool) {
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the modules load");
    let mut h =
        Harness::builder().with_size(egui::vec2(1280.0, 900.0)).with_max_steps(8).build_ui_state(frame, runtime);
    call(h.state(), "apps/editor", "select", json!("plugins/movement")).expect("select");
    h.run();
    h.get_by_label("Source").click();
    h.run();
    let button = h.get_by_label("src/lib.rs").rect().center();
    let ctx = h.ctx.clone();
    // One frame with `events`, timed: kittest's step, or the context's own run without AccessKit.
    let step = |h: &mut Harness<'_, Runtime>, events: Vec<egui::Event>| {
        let started = Instant::now();
        if accesskit {
            for event in events {
                h.event(event);
            }
            h.step();
        } else {
            let input = egui::RawInput {
                screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 900.0))),
                events,
                ..egui::RawInput::default()
            };
            let runtime = h.state_mut();
            let mut output = ctx.run_ui(input, |ui| frame(ui, runtime));
            // Nothing paints here: the font atlas' updates are dropped on purpose.
            output.textures_delta.clear();
        }
        millis(started.elapsed())
    };
    if !accesskit {
        ctx.disable_accesskit();
        step(&mut h, Vec::new());
    }

    let press = |pressed| egui::Event::PointerButton {
        pos: button,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    let open = step(&mut h, vec![egui::Event::PointerMoved(button), press(true), press(false)]);

    let id = egui::Id::new(("source_text", path));
    ctx.memory_mut(|m| m.request_focus(id));
    step(&mut h, Vec::new());
    step(&mut h, Vec::new());
    let mut keys = Vec::new();
    for i in 0..KEYS {
        let key = if i % 20 == 19 { "\n".to_owned() } else { "x".to_owned() };
        keys.push(step(&mut h, vec![egui::Event::Text(key)]));
    }
    let typed = ctx.memory(|m| m.has_focus(id));
    // The baseline: frames of the same editor with the same file open, no key pressed.
    let mut idle: Vec<f64> = (0..50).map(|_| step(&mut h, Vec::new())).collect();
    println!(
        "AccessKit {} (the text field {} the keyboard):",
        if accesskit { "on, as kittest runs" } else { "off, as the window runs without a screen reader" },
        if typed { "had" } else { "did NOT have" }
    );
    let (idle, _, _) = median_p95_max(&mut idle);
    let (median, p95, max) = median_p95_max(&mut keys);
    println!("  opening a {LINES}-line Rust file (read, highlight, lay out, first frame): {open:.1} ms");
    println!(
        "  the frame that handles a keystroke in it ({KEYS} keys): median {median:.2} ms, p95 {p95:.2} ms, max {max:.2} ms"
    );
    println!(
        "  a frame with the file open and no key pressed: median {idle:.2} ms; keystroke / idle {:.1}",
        median / idle
    );
}
