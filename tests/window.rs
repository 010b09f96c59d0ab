//! The real window under Xvfb (Mesa's software Vulkan, no GPU): start `playground` with the
//! demo modules and the editor, wait for its first frame, take a screenshot and check it is
//! not blank, reload the editor module through the stdin control path, take another, and
//! quit cleanly; and the game run as the only app. Skipped, saying so, where Xvfb or ImageMagick's `import` is missing (CI
//! installs them: scripts/install-deps.sh).

#[path = "common/editor.rs"]
mod editor;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use playground_api::serde_json;
use playground_tests::{Sandbox, Xvfb, dock_leaves, have, module_dir, profile_dir, window_home, workspace};

/// How many distinct colours a picture has: a blank (or black) window has one or two.
fn colours(png: &Path) -> u64 {
    let output = Command::new("identify").args(["-format", "%k"]).arg(png).output().expect("run identify");
    String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or(0)
}

fn shots_dir() -> PathBuf {
    let dir = workspace().join("target/window-test");
    std::fs::create_dir_all(&dir).expect("a folder for the screenshots");
    dir
}

#[test]
fn the_editor_opens_draws_reloads_itself_and_quits_under_xvfb() {
    if !have(&["Xvfb", "import"]) {
        return;
    }
    let sandbox = editor::sandbox();
    let xvfb = Xvfb::start();
    let home = window_home();

    let started = Instant::now();
    // `ready` comes after the first frame the editor drew.
    let mut shell = xvfb.playground(&sandbox, home.path(), false);
    let first_frame = started.elapsed();
    eprintln!("cold start to the first editor frame: {:.0} ms", first_frame.as_secs_f64() * 1000.0);
    std::thread::sleep(Duration::from_millis(500));
    let first = shots_dir().join("first-frame.png");
    xvfb.screenshot(&first);
    let first_colours = colours(&first);
    assert!(first_colours > 16, "the first screenshot is blank ({first_colours} colours): {}", first.display());

    // A new build of the editor (same code, new file), reloaded through the control path.
    sandbox.touch_library("apps/editor");
    let record = shell.ok("reload apps/editor");
    assert_eq!(record["outcome"]["kind"], "swapped", "{record}");
    eprintln!("editor reload: {} us", record["timings"]["total_us"]);
    let modules = shell.ok("modules");
    let editor = modules.as_array().and_then(|m| m.iter().find(|m| m["id"] == "apps/editor")).expect("the editor");
    assert_eq!(editor["generation"], 2, "the new generation runs");

    std::thread::sleep(Duration::from_millis(500));
    let second = shots_dir().join("after-reload.png");
    xvfb.screenshot(&second);
    let second_colours = colours(&second);
    assert!(second_colours > 16, "the screenshot after the reload is blank: {}", second.display());

    // A restart (the way to pick up an api edit): the window builds the modules and the
    // shell first (here cargo finds nothing to do), then the process restarts into a new
    // window, and the modules come back with their state.
    let world = shell.ok("state systems/ecs");
    // A file open in the source panel brings its pane to the front: the arrangement and the
    // tab must come back after the restart.
    let file = serde_json::json!({ "file": "plugins/movement/module.toml", "line": 2, "column": 1 });
    assert_eq!(shell.ok(&format!("call apps/editor open {file}")), "plugins/movement");
    let editor_before = shell.ok("call apps/editor ui_state");
    assert_eq!(shell.ok("restart"), serde_json::json!("restarting"));
    shell.expect_line("ready");
    let modules = shell.ok("modules");
    let editor = modules.as_array().and_then(|m| m.iter().find(|m| m["id"] == "apps/editor")).expect("the editor");
    assert_eq!(editor["generation"], 1, "a new process");
    // Positions move on every tick; the entities and the id counter must be the same ones.
    let after = shell.ok("state systems/ecs");
    let ids = |state: &serde_json::Value| state["entities"].as_object().map(|e| e.keys().cloned().collect::<Vec<_>>());
    assert_eq!(ids(&after), ids(&world), "the world's entities survived the restart");
    assert_eq!(after["next_id"], world["next_id"]);
    let editor_after = shell.ok("call apps/editor ui_state");
    assert_eq!(dock_leaves(&editor_after), dock_leaves(&editor_before), "the panes are arranged as before");
    assert_eq!(editor_after["source"]["open"], editor_before["source"]["open"], "the source tab is back");
    std::thread::sleep(Duration::from_millis(500));
    let third = shots_dir().join("after-restart.png");
    xvfb.screenshot(&third);
    assert!(colours(&third) > 16, "the screenshot after the restart is blank: {}", third.display());

    assert!(shell.quit(), "playground did not exit cleanly after quit");
}

/// The RGB pixel at (x, y) of a screenshot.
fn pixel(png_path: &Path, x: u32, y: u32) -> [u8; 3] {
    let file = std::fs::File::open(png_path).expect("the screenshot");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file)).read_info().expect("a PNG");
    let mut data = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut data).expect("its pixels");
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("a screenshot in {other:?}"),
    };
    let at = (y as usize * info.width as usize + x as usize) * channels;
    [data[at], data[at + 1], data[at + 2]]
}

#[test]
fn the_game_run_as_the_only_app_fills_the_window_without_the_editor() {
    if !have(&["Xvfb", "import"]) {
        return;
    }
    let sandbox = Sandbox::engine();
    sandbox.add("apps/editor", &module_dir("apps/editor"));
    let xvfb = Xvfb::start();
    let home = window_home();
    let mut command = Command::new(profile_dir().join("playground"));
    command.args(["--no-build", "--no-watch", "--app", "game", "--modules"]).arg(&sandbox.modules);
    command.arg("--library-dir").arg(&sandbox.libs);
    let mut shell = xvfb.spawn(command, home.path());
    let modules = shell.ok("modules");
    let ids: Vec<&str> = modules.as_array().expect("modules").iter().filter_map(|m| m["id"].as_str()).collect();
    assert!(!ids.contains(&"apps/editor"), "{ids:?}");
    assert_eq!(shell.ok("call apps/game pause")["view"], serde_json::Value::Null, "the game can draw");
    std::thread::sleep(Duration::from_millis(500));
    let shot = shots_dir().join("game-alone.png");
    xvfb.screenshot(&shot);
    // Where the editor's graph would be, the game's view: its background, beside the arena.
    assert_eq!(pixel(&shot, 30, 400), [15, 18, 26], "the game's view at the left: {}", shot.display());
    assert!(colours(&shot) > 8, "the world is drawn: {}", shot.display());

    // Mid-game in the window, the game's modules reload with everything it knows intact.
    let everything = |shell: &mut playground_tests::Shell| {
        serde_json::json!([
            shell.ok("call apps/game status"),
            shell.ok("call plugins/combat fighters"),
            shell.ok("call systems/ecs entities"),
        ])
    };
    shell.ok(r#"call apps/game input {"x":1,"y":0}"#);
    for _ in 0..20 {
        shell.ok("call apps/game step");
    }
    let before = everything(&mut shell);
    for id in ["plugins/combat", "plugins/movement", "apps/game", "systems/networking"] {
        let record = shell.ok(&format!("reload {id}"));
        assert_eq!(record["outcome"]["kind"], "swapped", "{id}: {record}");
        assert_eq!(everything(&mut shell), before, "after reloading {id} in the window");
    }
    assert!(shell.quit(), "playground did not exit cleanly after quit");
}
