//! The shell's frame under egui_kittest (wgpu renderer, no display): the fallback screen
//! when the editor does not load, Roll back bringing the last good build back, and the
//! start-up build's progress screen.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use module_loader::Runtime;
use playground_api::egui;
use playground_tests::{Sandbox, build_all, workspace};

use std::time::Duration;

use module_loader::cargo::Progress;

use super::{EDITOR, Shell, last_good_path};
use crate::control::{Control, Next, Options};
use crate::startup;
use crate::workspace::Paths;

#[test]
fn a_broken_editor_shows_the_fallback_and_roll_back_restores_the_last_good_one() {
    build_all();
    let sandbox = Sandbox::with(&["core/types", "core/ecs", "systems/ecs", "plugins/movement", "apps/editor"]);
    let library = sandbox.library(EDITOR);
    let good = std::fs::read(&library).expect("the editor library");
    // A build that is not even a library: the editor cannot load.
    sandbox.replace_library(EDITOR, b"not a library");
    let paths = Paths {
        root: workspace(),
        modules: sandbox.modules.clone(),
        library_dir: sandbox.libs.clone(),
        generations: sandbox.path().join("generations"),
    };
    // The last build that drew a frame, as an earlier run of the window kept it.
    let last_good = last_good_path(&paths, &library);
    std::fs::create_dir_all(last_good.parent().expect("a folder")).expect("create the folder");
    std::fs::write(&last_good, &good).expect("keep the last good build");

    let runtime = Runtime::new(paths.loader_config());
    let options = Options { watch: false, restore: None, mcp: None };
    let mut control = Control::start(&runtime, &paths, &options, std::io::Cursor::new(""), None).expect("start");
    control.keep_running_at_end_of_input();
    let mut next = Next::Continue;
    let shell = Shell::new(&runtime, &paths, &mut next, None);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, (s, c): &mut (Shell<'_>, Control)| s.frame(ui, c), (shell, control));

    assert!(h.query_by_label("The editor is not running").is_some(), "the fallback screen shows");
    assert!(h.query_by_label_contains("The editor did not load").is_some(), "with the reason");
    assert!(h.query_by_label("Timings and log").is_none(), "no editor panel");

    h.get_by_label("Roll back to the last good version").click();
    h.run();
    assert!(h.query_by_label("The editor is not running").is_none(), "the fallback screen is gone");
    assert!(h.query_by_label("Timings and log").is_some(), "the editor draws again");
    assert_eq!(std::fs::read(&library).expect("the library"), good, "the good build is back in place");
}

#[test]
fn the_start_up_screen_shows_crates_done_out_of_total() {
    let mut latest = None;
    let mut h = Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(
        |ui, latest: &mut Option<Progress>| startup::show_progress(ui, *latest, Duration::ZERO),
        latest,
    );
    assert!(h.query_by_label("cargo is planning the build").is_some(), "before cargo knows the total");
    latest = Some(Progress { done: 3, total: 10 });
    *h.state_mut() = latest;
    h.run();
    assert!(h.query_by_label("3 of 10 crates compiled").is_some());
}
