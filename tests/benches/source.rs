//! The source panel's figures, in the real editor module driven by egui_kittest (no
//! painting: the frame's UI work, highlighting and text layout included): opening a
//! 3000-line Rust file, and the frame that handles one keystroke in it.
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

    let runtime = sandbox.runtime();
    runtime.load_all().expect("the modules load");
    let mut h =
        Harness::builder().with_size(egui::vec2(1280.0, 900.0)).with_max_steps(8).build_ui_state(frame, runtime);
    call(h.state(), "apps/editor", "select", json!("plugins/movement")).expect("select");
    h.run();
    h.get_by_label("Source").click();
    h.run();

    let started = Instant::now();
    h.get_by_label("src/lib.rs").click();
    h.step();
    let open = millis(started.elapsed());

    let path = src.join("lib.rs");
    let id = egui::Id::new(("source_text", &path));
    h.ctx.memory_mut(|m| m.request_focus(id));
    h.run();
    let mut keys = Vec::new();
    for i in 0..KEYS {
        h.event(egui::Event::Text(if i % 20 == 19 { "\n".to_owned() } else { "x".to_owned() }));
        let started = Instant::now();
        h.step();
        keys.push(millis(started.elapsed()));
    }
    // The baseline: frames of the same editor with the same file open, no key pressed.
    let mut idle = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        h.step();
        idle.push(millis(started.elapsed()));
    }
    let (idle, _, _) = median_p95_max(&mut idle);
    let (median, p95, max) = median_p95_max(&mut keys);
    println!("opening a {LINES}-line Rust file (read, highlight, lay out, first frame): {open:.1} ms");
    println!(
        "the frame that handles a keystroke in it ({KEYS} keys): median {median:.2} ms, p95 {p95:.2} ms, max {max:.2} ms"
    );
    println!(
        "  a frame with the file open and no key pressed: median {idle:.2} ms; keystroke / idle {:.1}",
        median / idle
    );
}
