//! The editor edits its own code in its real window, as a user does: under Xvfb, a
//! `playground` over a copy of the workspace (live edit on) opens `apps/editor`'s sources in
//! its source panel, real key presses (xdotool, through X and winit) type a change into one
//! tab and leave a draft in another, Ctrl+S saves, live edit builds the editor with rustc or
//! cargo and the editor reloads itself: the new code answers, and the tabs, the draft, the
//! cursor and the keyboard focus are all still there. A save that breaks the build leaves the
//! running editor, marks the error and loses nothing; fixing it reloads again. Skipped, saying so, where Xvfb or
//! xdotool is missing (scripts/install-deps.sh installs both).

use std::process::Command;
use std::time::{Duration, Instant};

use playground_api::serde_json::{self, Value, json};
use playground_tests::{LiveWorkspace, Shell, Xvfb, have, window_home};

/// A build of the editor with cargo on a loaded machine can take a while.
const BUILD: Duration = Duration::from_secs(300);

/// Real key presses into the window that has the focus.
fn keys(xvfb: &Xvfb, args: &[&str]) {
    let status = Command::new("xdotool").env("DISPLAY", &xvfb.display).args(args).status().expect("run xdotool");
    assert!(status.success(), "xdotool {args:?} failed");
}

/// Types `text` into the window, a key at a time.
fn type_text(xvfb: &Xvfb, text: &str) {
    keys(xvfb, &["type", "--delay", "40", "--", text]);
}

/// The editor's source tabs as it saves them.
fn tabs(shell: &mut Shell) -> Value {
    shell.ok("call apps/editor ui_state")["source"].clone()
}

/// The open tab whose path ends with `name`.
fn tab<'a>(tabs: &'a Value, name: &str) -> &'a Value {
    tabs["open"]
        .as_array()
        .and_then(|open| open.iter().find(|t| t["path"].as_str().is_some_and(|p| p.ends_with(name))))
        .unwrap_or_else(|| panic!("no tab of {name}: {tabs}"))
}

/// Polls the editor's tabs until `done` holds (the window handles key presses on its own
/// frames), or fails saying what they were.
fn until(shell: &mut Shell, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = tabs(shell);
        if done(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "{what}: the tabs are {now}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Opens `file` (under the modules root) in the source panel at `line` and `column`, and
/// waits until the panel shows it.
fn open(shell: &mut Shell, file: &str, line: usize, column: usize) {
    let args = json!({ "file": file, "line": line, "column": column });
    assert_eq!(shell.ok(&format!("call apps/editor open {args}")), json!("apps/editor"));
    until(shell, &format!("{file} open"), |t| {
        t["open"][t["active"].as_u64().unwrap_or(0) as usize]["path"].as_str().is_some_and(|p| p.ends_with(file))
            && t["jump"].is_null()
    });
}

#[test]
fn the_editor_edits_its_own_code_in_its_window_saves_and_reloads_itself_keeping_the_tabs() {
    if !have(&["Xvfb", "xdotool"]) {
        return;
    }
    let live = LiveWorkspace::prepare();
    let xvfb = Xvfb::start();
    let home = window_home();
    let mut shell = xvfb.spawn(live.engine_command(), home.path());
    // No window manager runs: the window gets X's keyboard focus by being asked directly.
    keys(&xvfb, &["search", "--sync", "--onlyvisible", "--name", "^Playground$", "windowfocus", "--sync"]);

    // A draft in one tab, never saved.
    open(&mut shell, "apps/editor/src/keys.rs", 1, 1);
    type_text(&xvfb, "// draft ");
    until(&mut shell, "the draft typed", |t| {
        tab(t, "keys.rs")["text"].as_str().is_some_and(|text| text.starts_with("// draft //!"))
    });

    // A new method in the editor's own `call`, typed where its last arm starts, and saved.
    let lib = live.root.join("modules/apps/editor/src/lib.rs");
    let source = std::fs::read_to_string(&lib).expect("the editor's source");
    let arm = "other => Err(playground_api::module::unknown_method(other)),";
    let (line, text) = source.lines().enumerate().find(|(_, l)| l.trim_start() == arm).expect("the call's last arm");
    let column = text.len() - text.trim_start().len() + 1;
    open(&mut shell, "apps/editor/src/lib.rs", line + 1, column);
    assert!(shell.err("call apps/editor edited").contains("edited"), "no such method yet");
    type_text(&xvfb, "\"edited\" => codec::encode(&true), ");
    let typed = "\"edited\" => codec::encode(&true), other =>";
    until(&mut shell, "the arm typed", |t| tab(t, "lib.rs")["text"].as_str().is_some_and(|text| text.contains(typed)));
    keys(&xvfb, &["key", "ctrl+s"]);

    // Live edit builds the editor and it reloads itself.
    let events = shell.wait_for("reloaded", BUILD);
    let built = events.iter().find(|e| e["kind"] == "built").expect("a build before the reload");
    assert_eq!(built["outcome"]["success"], true, "{built}");
    eprintln!(
        "the editor built in {} ms (fast path: {}) and reloaded itself",
        built["outcome"]["duration_ms"], built["outcome"]["fast_path"]
    );
    let reloaded = events.last().expect("the reload");
    assert!(serde_json::to_string(reloaded).is_ok_and(|r| r.contains("apps/editor")), "{reloaded}");
    assert_eq!(shell.ok("call apps/editor edited"), json!(true), "the editor runs the code typed into it");
    assert!(std::fs::read_to_string(&lib).expect("saved").contains(typed), "the save is on disk");

    // The tabs, the draft and the cursor are still there: the next key lands after the arm.
    let after = tabs(&mut shell);
    assert_eq!(after["open"].as_array().map(Vec::len), Some(2), "{after}");
    let draft = tab(&after, "keys.rs");
    assert!(draft["text"].as_str().is_some_and(|t| t.starts_with("// draft ")), "the draft survived: {draft}");
    assert_ne!(draft["text"], draft["disk"], "and is still unsaved");
    type_text(&xvfb, "X");
    until(&mut shell, "the key after the reload landed at the cursor", |t| {
        tab(t, "lib.rs")["text"].as_str().is_some_and(|text| text.contains("codec::encode(&true), Xother =>"))
    });

    // That X broke the arm (`Xother` binds, `other` is gone). Saved, it fails to build: the
    // running editor stays, says where, and nothing typed is lost.
    keys(&xvfb, &["key", "ctrl+s"]);
    let events = shell.wait_for("built", BUILD);
    let failed = &events.last().expect("the build")["outcome"];
    assert_eq!(failed["success"], false, "{failed}");
    let error = failed["diagnostics"].as_array().and_then(|d| d.iter().find(|d| d["level"] == "error")).cloned();
    let error = error.unwrap_or_else(|| panic!("an error diagnostic: {failed}"));
    assert_eq!(error["line"], json!(line + 1), "{error}");
    assert_eq!(shell.ok("call apps/editor edited"), json!(true), "the running editor is the last good build");
    let kept = tabs(&mut shell);
    assert!(tab(&kept, "keys.rs")["text"].as_str().is_some_and(|t| t.starts_with("// draft ")), "{kept}");
    assert!(std::fs::read_to_string(&lib).expect("saved").contains("Xother =>"), "the broken text is saved");

    // Backspace takes the X away; saved again, the editor builds and reloads once more.
    // Both keys at once, likely in one frame: the save takes the key typed before it.
    keys(&xvfb, &["key", "BackSpace", "ctrl+s"]);
    let events = shell.wait_for("reloaded", BUILD);
    assert!(events.iter().any(|e| e["kind"] == "built" && e["outcome"]["success"] == true), "{events:?}");
    assert_eq!(shell.ok("call apps/editor edited"), json!(true));
    let last = tabs(&mut shell);
    assert_eq!(tab(&last, "lib.rs")["text"], tab(&last, "lib.rs")["disk"], "lib.rs saved: {last}");
    assert!(tab(&last, "keys.rs")["text"].as_str().is_some_and(|t| t.starts_with("// draft ")), "{last}");

    let shot = playground_tests::workspace().join("target/window-shots/self-edit.png");
    std::fs::create_dir_all(shot.parent().expect("a folder")).expect("a folder for the screenshot");
    xvfb.screenshot(&shot);
    // The draft is still unsaved: quitting would ask first; the test's end kills the process.
    drop(shell);
}
