//! The editor's source panel, driven with egui_kittest by label and keys: open a module's
//! file, type, Ctrl+S; unsaved text across the editor's own reload; a save that fails; a file
//! changed on disk, with and without unsaved text; a diagnostic clicked to its line.

#[path = "common/editor.rs"]
mod editor;

use std::path::{Path, PathBuf};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use module_loader::Runtime;
use playground_api::egui;
use playground_api::host::{BuildOutcome, BuildStatus, Diagnostic, Level};
use playground_api::serde_json::{Value, json};
use playground_tests::{Sandbox, call, module_dir};

/// The demo and the editor, with plugins/movement's sources copied in to edit.
fn source_sandbox() -> (Sandbox, PathBuf) {
    let sandbox = editor::sandbox();
    let src = sandbox.modules.join("plugins/movement/src");
    std::fs::create_dir_all(&src).expect("a src folder");
    std::fs::copy(module_dir("plugins/movement").join("src/lib.rs"), src.join("lib.rs")).expect("copy the source");
    (sandbox, src.join("lib.rs"))
}

fn frame(ui: &mut egui::Ui, runtime: &mut Runtime) {
    for id in runtime.ui_modules() {
        runtime.ui(&id, ui).expect("the editor draws");
    }
    runtime.run_queued();
}

fn harness(sandbox: &Sandbox) -> Harness<'static, Runtime> {
    let runtime = sandbox.runtime();
    let report = runtime.load_all().expect("the modules resolve");
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    Harness::builder().with_size(egui::vec2(1280.0, 900.0)).with_max_steps(8).build_ui_state(frame, runtime)
}

/// The source panel's saved state (open tabs, their text).
fn tabs(h: &Harness<'_, Runtime>) -> Value {
    call(h.state(), "apps/editor", "ui_state", Value::Null).expect("the editor answers")["source"].clone()
}

/// A compiler's (or a shader checker's) message about `file` at `line` and `column`, as the
/// build status carries it.
fn diagnostic(level: Level, file: &str, line: u32, column: u32, message: &str) -> Diagnostic {
    let kind = if level.is_error() { "error" } else { "warning" };
    Diagnostic {
        level,
        message: message.to_owned(),
        file: Some(file.to_owned()),
        line,
        column,
        rendered: format!("{kind}: {message}\n --> {file}:{line}:{column}"),
    }
}

/// Tells the editor that plugins/movement's last build went as `success` says, with
/// `diagnostics`.
fn movement_built(h: &Harness<'_, Runtime>, success: bool, diagnostics: Vec<Diagnostic>) {
    let modules = vec!["plugins/movement".to_owned()];
    let mut status = BuildStatus::default();
    status.record(BuildOutcome { success, modules, diagnostics, ..BuildOutcome::default() });
    h.state().set_build_status(status);
}

/// Selects plugins/movement, shows the Source tab and opens its `src/lib.rs`.
fn open_movement(h: &mut Harness<'_, Runtime>) {
    call(h.state(), "apps/editor", "select", json!("plugins/movement")).expect("select");
    h.run();
    h.get_by_label("Source").click();
    h.run();
    h.get_by_label("src/lib.rs").click();
    h.run();
}

/// Puts the cursor at the start of the file, gives the text the keyboard, and types `text`.
fn type_text(h: &mut Harness<'_, Runtime>, text: &str) {
    let id = editor_id(h);
    let mut state = egui::TextEdit::load_state(&h.ctx, id).unwrap_or_default();
    state.cursor.set_char_range(Some(egui::text::CCursorRange::one(egui::text::CCursor::new(0))));
    egui::TextEdit::store_state(&h.ctx, id, state);
    h.ctx.memory_mut(|m| m.request_focus(id));
    h.run();
    h.event(egui::Event::Text(text.to_owned()));
    h.run();
}

fn editor_id(h: &Harness<'_, Runtime>) -> egui::Id {
    let path = PathBuf::from(tabs(h)["open"][0]["path"].as_str().expect("an open tab"));
    egui::Id::new(("source_text", &path))
}

fn save(h: &mut Harness<'_, Runtime>) {
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
}

#[test]
fn a_file_is_opened_typed_into_saved_with_ctrl_s_and_unsaved_text_survives_the_editors_reload() {
    let (sandbox, file) = source_sandbox();
    let mut h = harness(&sandbox);
    open_movement(&mut h);
    assert_eq!(tabs(&h)["open"].as_array().map(Vec::len), Some(1), "{}", tabs(&h));

    type_text(&mut h, "// typed in the editor\n");
    assert!(h.query_by_label_contains("lib.rs •").is_some(), "the tab says it has unsaved text");
    save(&mut h);
    let on_disk = std::fs::read_to_string(&file).expect("the file");
    assert!(on_disk.starts_with("// typed in the editor\n"), "saved: {}", &on_disk[..60]);
    assert!(h.query_by_label_contains("lib.rs •").is_none(), "nothing unsaved now");
    assert!(h.query_by_label_contains("live edit builds and reloads it").is_some());

    // More text, not saved; then the editor reloads itself: the text is still there.
    type_text(&mut h, "// not saved yet\n");
    let record = h.state().reload("apps/editor").expect("the reload runs");
    assert_eq!(record.outcome, playground_api::host::ReloadOutcome::Swapped);
    h.run();
    let tab = &tabs(&h)["open"][0];
    assert!(tab["text"].as_str().is_some_and(|t| t.starts_with("// not saved yet\n// typed")), "{tab}");
    assert!(h.query_by_label_contains("lib.rs •").is_some(), "still marked unsaved after the reload");
    assert_eq!(std::fs::read_to_string(&file).expect("the file"), on_disk, "and not written");
}

#[test]
fn a_key_typed_in_the_same_frame_as_ctrl_s_is_saved_with_the_rest() {
    let (sandbox, file) = source_sandbox();
    let mut h = harness(&sandbox);
    open_movement(&mut h);
    type_text(&mut h, "// one\n");
    // The text and Ctrl+S arrive in one frame, as from a fast typist or a slow frame (kittest
    // gives each queued event a frame of its own, so they go into the next frame's input).
    let events = &mut h.input_mut().events;
    events.push(egui::Event::Text("// two\n".to_owned()));
    for pressed in [true, false] {
        let modifiers = egui::Modifiers::COMMAND;
        events.push(egui::Event::Key { key: egui::Key::S, physical_key: None, pressed, repeat: false, modifiers });
    }
    h.run();
    let on_disk = std::fs::read_to_string(&file).expect("the file");
    assert!(on_disk.starts_with("// one\n// two\n"), "saved: {}", &on_disk[..40]);
    assert!(h.query_by_label_contains("lib.rs •").is_none(), "nothing unsaved");
}

#[test]
fn a_save_that_fails_says_why_and_keeps_both_the_text_and_the_file() {
    let (sandbox, file) = source_sandbox();
    let mut h = harness(&sandbox);
    open_movement(&mut h);
    type_text(&mut h, "// precious\n");
    // The file's folder is gone (deleted while open): the save cannot write.
    let folder = file.parent().expect("src").to_owned();
    std::fs::remove_dir_all(&folder).expect("delete the folder");
    save(&mut h);
    assert!(h.query_by_label_contains("cannot save").is_some(), "the error is shown");
    assert!(h.query_by_label_contains("your text is still here").is_some());
    assert!(tabs(&h)["open"][0]["text"].as_str().is_some_and(|t| t.starts_with("// precious\n")));
    assert!(!folder.exists(), "nothing was half-written");
    assert!(leftovers(&sandbox.modules.join("plugins/movement")).is_empty());
}

/// Temporary save files left anywhere under `dir`.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(leftovers(&path));
        } else if path.to_string_lossy().contains(".playground-save") {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_file_changed_on_disk_follows_a_clean_tab_and_never_overwrites_unsaved_text() {
    let (sandbox, file) = source_sandbox();
    let mut h = harness(&sandbox);
    open_movement(&mut h);
    let original = std::fs::read_to_string(&file).expect("the file");

    // Changed elsewhere (another editor, git) while the tab has nothing unsaved: it follows.
    std::fs::write(&file, format!("// from elsewhere\n{original}")).expect("write");
    h.run();
    assert!(tabs(&h)["open"][0]["text"].as_str().is_some_and(|t| t.starts_with("// from elsewhere\n")));

    // Changed again while the tab has unsaved text: the text stays, and the panel says so.
    type_text(&mut h, "// mine\n");
    std::fs::write(&file, format!("// elsewhere again\n{original}")).expect("write");
    h.run();
    assert!(h.query_by_label_contains("The file changed on disk").is_some());
    assert!(tabs(&h)["open"][0]["text"].as_str().is_some_and(|t| t.starts_with("// mine\n")));
    h.get_by_label("Reload from disk").click();
    h.run();
    assert!(tabs(&h)["open"][0]["text"].as_str().is_some_and(|t| t.starts_with("// elsewhere again\n")));
}

#[test]
fn a_diagnostic_is_marked_listed_and_a_click_puts_the_cursor_on_it() {
    let (sandbox, _file) = source_sandbox();
    let mut h = harness(&sandbox);
    movement_built(&h, false, vec![diagnostic(Level::Error, "plugins/movement/src/lib.rs", 3, 5, "expected `;`")]);
    open_movement(&mut h);
    assert!(h.query_by_label_contains("the last build of plugins/movement failed with 1 error(s)").is_some());
    h.get_by_label_contains("3:5: expected `;`").click();
    h.run();
    let state = egui::TextEdit::load_state(&h.ctx, editor_id(&h)).expect("the editor's state");
    let text = tabs(&h)["open"][0]["text"].as_str().expect("text").to_owned();
    let lines: Vec<&str> = text.split('\n').collect();
    let expected = lines[0].chars().count() + 1 + lines[1].chars().count() + 1 + 4;
    let cursor = state.cursor.char_range().map(|r| r.primary.index.0);
    assert_eq!(cursor, Some(expected), "line 3, column 5");
    // The inspector shows the api's fingerprint, which every api change moves: not in the picture.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::I);
    h.run();
    h.snapshot_options("source_panel_with_an_error", &egui_kittest::SnapshotOptions::new().output_path("snapshots"));

    // The marked line, hovered, says why.
    assert!(h.query_by_label("expected `;`").is_none(), "no tooltip yet");
    let field = h.get_by_role(egui::accesskit::Role::MultilineTextInput).rect();
    let font = h.ctx.global_style().text_styles[&egui::TextStyle::Monospace].clone();
    let row = h.ctx.fonts_mut(|f| f.row_height(&font));
    h.hover_at(egui::pos2(field.left() + 40.0, field.top() + 2.5 * row));
    h.run();
    assert!(h.query_by_label("expected `;`").is_some(), "hovering line 3 shows its error");
}

#[test]
fn ctrl_f_finds_text_and_enter_selects_each_match_in_turn() {
    let (sandbox, file) = source_sandbox();
    let mut h = harness(&sandbox);
    open_movement(&mut h);
    let text = std::fs::read_to_string(&file).expect("the file");
    let wanted = "Movement";
    let starts: Vec<usize> = text.match_indices(wanted).map(|(byte, _)| text[..byte].chars().count()).collect();
    assert!(starts.len() >= 2, "the file has a few matches");

    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run();
    h.event(egui::Event::Text(wanted.to_owned()));
    h.run();
    assert!(h.query_by_label(&format!("{} matches", starts.len())).is_some(), "the bar counts them");
    let selection = |h: &Harness<'_, Runtime>| {
        let state = egui::TextEdit::load_state(&h.ctx, editor_id(h)).expect("the editor's state");
        state.cursor.char_range().map(|r| (r.secondary.index.0, r.primary.index.0))
    };
    h.key_press(egui::Key::Enter);
    h.run();
    assert_eq!(selection(&h), Some((starts[0], starts[0] + wanted.len())), "the first match is selected");
    // Next, clicked: the cursor goes to the next match (the click itself may collapse the
    // selection to its end, where the cursor stands).
    h.get_by_label("Next").click();
    h.run();
    assert_eq!(selection(&h).map(|s| s.1), Some(starts[1] + wanted.len()), "then the next");
    let text_after = tabs(&h)["open"][0]["text"].as_str().map(str::to_owned);
    assert_eq!(text_after.as_deref(), Some(text.as_str()), "finding changed nothing in the text");
}

#[test]
fn the_undo_history_and_the_cursor_outlive_the_editors_reload() {
    let (sandbox, file) = source_sandbox();
    let mut h = harness(&sandbox);
    open_movement(&mut h);
    let original = std::fs::read_to_string(&file).expect("the file");
    type_text(&mut h, "// one\n");
    let cursor = egui::TextEdit::load_state(&h.ctx, editor_id(&h)).and_then(|s| s.cursor.char_range());
    let record = h.state().reload("apps/editor").expect("the reload runs");
    assert_eq!(record.outcome, playground_api::host::ReloadOutcome::Swapped);
    h.run();
    let after = egui::TextEdit::load_state(&h.ctx, editor_id(&h)).and_then(|s| s.cursor.char_range());
    assert_eq!(after, cursor, "the cursor is where it was");
    h.ctx.memory_mut(|m| m.request_focus(editor_id(&h)));
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run();
    assert_eq!(tabs(&h)["open"][0]["text"].as_str(), Some(original.as_str()), "Ctrl+Z undid the typing");
    h.key_press_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, egui::Key::Z);
    h.run();
    assert!(tabs(&h)["open"][0]["text"].as_str().is_some_and(|t| t.starts_with("// one\n")), "and redo did it again");
}

#[test]
fn closing_the_window_with_unsaved_text_asks_first_and_saves_or_stays() {
    let (sandbox, file) = source_sandbox();
    let mut h = harness(&sandbox);
    open_movement(&mut h);
    type_text(&mut h, "// typed before closing\n");
    // The window's × (or a `quit`): egui tells the app the root viewport is asked to close.
    let close = |h: &mut Harness<'_, Runtime>| {
        h.input_mut().viewports.entry(egui::ViewportId::ROOT).or_default().events.push(egui::ViewportEvent::Close);
        h.step();
    };
    let sent = |h: &Harness<'_, Runtime>, command: &egui::ViewportCommand| {
        h.output().viewport_output.get(&egui::ViewportId::ROOT).is_some_and(|v| v.commands.contains(command))
    };

    close(&mut h);
    assert!(sent(&h, &egui::ViewportCommand::CancelClose), "the window stays open");
    h.run();
    assert!(h.query_by_label("Quit with unsaved changes?").is_some(), "and asks");
    assert!(h.query_by_label_contains("Not saved: lib.rs").is_some(), "naming the file");
    h.get_by_label("Cancel").click();
    h.run();
    assert!(h.query_by_label("Quit with unsaved changes?").is_none(), "Cancel keeps working");
    assert!(tabs(&h)["open"][0]["text"].as_str().is_some_and(|t| t.starts_with("// typed before closing")));

    close(&mut h);
    h.run();
    h.get_by_label("Save all and quit").click();
    h.step();
    assert!(sent(&h, &egui::ViewportCommand::Close), "then it quits");
    let saved = std::fs::read_to_string(&file).expect("the file");
    assert!(saved.starts_with("// typed before closing"), "with the text saved");
}

#[test]
fn a_clicked_diagnostic_far_down_the_file_scrolls_its_line_into_view() {
    let (sandbox, file) = source_sandbox();
    let mut h = harness(&sandbox);
    let lines = std::fs::read_to_string(&file).expect("the file").split('\n').count();
    let far = u32::try_from(lines - 4).expect("a line number");
    movement_built(
        &h,
        true,
        vec![diagnostic(Level::Warning, "plugins/movement/src/lib.rs", far, 1, "unused variable")],
    );
    open_movement(&mut h);
    let font = h.ctx.global_style().text_styles[&egui::TextStyle::Monospace].clone();
    let row = h.ctx.fonts_mut(|f| f.row_height(&font));
    // Where line `far` is drawn: its row in the text field, wherever the field has scrolled to.
    let line_y = |h: &Harness<'_, Runtime>| {
        h.get_by_role(egui::accesskit::Role::MultilineTextInput).rect().top() + (far as f32 - 0.5) * row
    };
    let label = format!("{far}:1: unused variable");
    let (pane_top, pane_bottom) =
        (h.get_by_label("lib.rs").rect().bottom(), h.get_by_label_contains(&label).rect().top());
    assert!(line_y(&h) > pane_bottom, "line {far} starts out of view, below the pane");

    h.get_by_label_contains(&label).click();
    h.run();
    let y = line_y(&h);
    assert!(pane_top < y && y < pane_bottom, "line {far} is in view ({pane_top} < {y} < {pane_bottom})");
}

#[test]
fn a_modules_errors_stay_at_their_lines_while_another_module_builds_fine() {
    let (sandbox, _file) = source_sandbox();
    let mut h = harness(&sandbox);
    let failed = BuildOutcome {
        success: false,
        modules: vec!["plugins/movement".to_owned()],
        diagnostics: vec![diagnostic(Level::Error, "plugins/movement/src/lib.rs", 4, 1, "mismatched types")],
        ..BuildOutcome::default()
    };
    let editor_built =
        BuildOutcome { success: true, modules: vec!["apps/editor".to_owned()], ..BuildOutcome::default() };
    // What the build service reports after movement failed and the editor then built.
    let mut status = BuildStatus::default();
    status.record(failed);
    status.record(editor_built);
    h.state().set_build_status(status);
    open_movement(&mut h);
    assert!(h.query_by_label_contains("the last build of plugins/movement failed with 1 error(s)").is_some());
    assert!(h.query_by_label_contains("4:1: mismatched types").is_some(), "the error is still listed");
}

#[test]
fn tab_indents_the_selected_lines_by_four_spaces_and_shift_tab_takes_them_back() {
    let (sandbox, _file) = source_sandbox();
    let mut h = harness(&sandbox);
    open_movement(&mut h);
    let before = tabs(&h)["open"][0]["text"].as_str().expect("text").to_owned();
    let lines: Vec<&str> = before.split('\n').collect();
    // Select the first two lines, as a drag or Shift+Down would.
    let id = editor_id(&h);
    let mut state = egui::TextEdit::load_state(&h.ctx, id).unwrap_or_default();
    let end = lines[0].chars().count() + 1 + lines[1].chars().count();
    let range = egui::text::CCursorRange::two(egui::text::CCursor::new(0), egui::text::CCursor::new(end));
    state.cursor.set_char_range(Some(range));
    egui::TextEdit::store_state(&h.ctx, id, state);
    h.ctx.memory_mut(|m| m.request_focus(id));
    h.run();

    h.key_press(egui::Key::Tab);
    h.run();
    let text = tabs(&h)["open"][0]["text"].as_str().expect("text").to_owned();
    let indented: Vec<&str> = text.split('\n').collect();
    // An empty line stays empty (no trailing spaces).
    let moved = |line: &str| if line.is_empty() { String::new() } else { format!("    {line}") };
    assert_eq!(indented[0], moved(lines[0]), "the first line moved a level");
    assert_eq!(indented[1], moved(lines[1]), "and the second: the selection was not replaced");
    assert_eq!(indented[2], lines[2], "the rest stays");
    assert!(!text.contains('\t'), "spaces, not a tab character");

    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::Tab);
    h.run();
    assert_eq!(tabs(&h)["open"][0]["text"].as_str(), Some(before.as_str()), "Shift+Tab takes it back");

    // Without a selection, Tab puts the cursor on the next level.
    let mut state = egui::TextEdit::load_state(&h.ctx, id).unwrap_or_default();
    state.cursor.set_char_range(Some(egui::text::CCursorRange::one(egui::text::CCursor::new(0))));
    egui::TextEdit::store_state(&h.ctx, id, state);
    h.key_press(egui::Key::Tab);
    h.run();
    let text = tabs(&h)["open"][0]["text"].as_str().expect("text").to_owned();
    assert!(text.starts_with(&format!("    {}", lines[0])), "four spaces at the cursor");
    let cursor = egui::TextEdit::load_state(&h.ctx, id).and_then(|s| s.cursor.char_range()).map(|r| r.primary.index.0);
    assert_eq!(cursor, Some(4), "after them");
}

#[test]
fn a_read_only_file_is_not_saved_over_and_the_text_stays() {
    let (sandbox, file) = source_sandbox();
    let mut h = harness(&sandbox);
    open_movement(&mut h);
    let before = std::fs::read(&file).expect("the file");
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o444)).expect("chmod");
    type_text(&mut h, "// mine\n");
    save(&mut h);
    assert!(h.query_by_label_contains("the file is read-only").is_some(), "the error is shown");
    assert!(h.query_by_label_contains("lib.rs •").is_some(), "the tab still has unsaved text");
    assert!(tabs(&h)["open"][0]["text"].as_str().is_some_and(|t| t.starts_with("// mine\n")));
    assert_eq!(std::fs::read(&file).expect("the file"), before, "the file on disk is as it was");
    assert!(leftovers(&sandbox.modules.join("plugins/movement")).is_empty());
}

#[test]
fn a_file_not_utf8_or_too_large_opens_read_only_and_says_why() {
    let (sandbox, file) = source_sandbox();
    let src = file.parent().expect("src").to_owned();
    std::fs::write(src.join("bad.rs"), b"// caf\xe9\nfn x() {}\n").expect("a file that is not UTF-8");
    let line = format!("// {}\n", "x".repeat(1000));
    std::fs::write(src.join("big.rs"), line.repeat(3 * 1024)).expect("a 3 MiB file");
    let mut h = harness(&sandbox);
    open_movement(&mut h);

    h.get_by_label("src/bad.rs").click();
    h.run();
    assert!(h.query_by_label_contains("Read-only: not UTF-8 text").is_some(), "it says why");
    let text = tabs(&h)["open"][1]["text"].as_str().expect("text").to_owned();
    assert!(text.starts_with("// caf\u{fffd}\n"), "the bad byte replaced: {text:?}");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    assert!(h.query_by_label_contains("is read-only here").is_some(), "a save is refused");
    assert_eq!(std::fs::read(src.join("bad.rs")).expect("the file"), b"// caf\xe9\nfn x() {}\n", "and the file kept");

    h.get_by_label("src/big.rs").click();
    h.run();
    assert!(h.query_by_label_contains("Read-only: 2.9 MiB: too large to edit here").is_some(), "it says why");
    let shown = tabs(&h)["open"][2]["text"].as_str().map_or(0, str::len);
    assert_eq!(shown, 64 << 10, "only its start is shown");
}

#[test]
fn a_file_deleted_while_open_keeps_its_text_and_a_save_writes_it_back() {
    let (sandbox, file) = source_sandbox();
    let mut h = harness(&sandbox);
    open_movement(&mut h);
    type_text(&mut h, "// keep me\n");
    std::fs::remove_file(&file).expect("delete the file");
    h.run();
    assert!(h.query_by_label_contains("The file is gone from disk").is_some(), "the tab says so");
    assert!(tabs(&h)["open"][0]["text"].as_str().is_some_and(|t| t.starts_with("// keep me\n")));
    save(&mut h);
    assert!(std::fs::read_to_string(&file).is_ok_and(|t| t.starts_with("// keep me\n")), "written back");
    h.run();
    assert!(h.query_by_label_contains("The file is gone from disk").is_none(), "and it is there again");
}

#[test]
fn a_shaders_problem_is_marked_in_the_shader_like_a_compile_error() {
    let (sandbox, _file) = source_sandbox();
    let shader = sandbox.modules.join("plugins/movement/trail.wgsl");
    std::fs::write(&shader, "@fragment\nfn main() -> vec4<f32> {\n    return vec4<f32>(1.0)\n}\n").expect("a shader");
    let mut h = harness(&sandbox);
    // As a renderer reports a shader that does not compile: the file from the modules root.
    let problem = diagnostic(Level::Error, "plugins/movement/trail.wgsl", 3, 26, "expected `;`, found `}`");
    h.state().report_problems("plugins/movement", vec![problem]);
    let args = json!({ "file": "plugins/movement/trail.wgsl", "line": 1, "column": 1 });
    assert_eq!(call(h.state(), "apps/editor", "open", args).expect("open"), json!("plugins/movement"));
    h.run();
    h.get_by_label_contains("3:26: expected `;`, found `}`").click();
    h.run();
    let id = egui::Id::new(("source_text", &shader));
    let cursor = egui::TextEdit::load_state(&h.ctx, id).and_then(|s| s.cursor.char_range()).map(|r| r.primary.index.0);
    let text = std::fs::read_to_string(&shader).expect("the shader");
    let expected = text.split('\n').take(2).map(|l| l.chars().count() + 1).sum::<usize>() + 25;
    assert_eq!(cursor, Some(expected), "line 3, column 26 of the shader: where the `;` is missing");
}

/// Clicks the × beside the source tab titled `title` (the one nearest to its right).
fn close_tab(h: &mut Harness<'_, Runtime>, title: &str) {
    let tab = h.get_by_label(title).rect();
    let beside = |r: &egui::Rect| r.left() >= tab.right() && (r.center().y - tab.center().y).abs() < tab.height();
    h.get_all_by_label("×")
        .filter(|n| beside(&n.rect()))
        .min_by(|a, b| a.rect().left().total_cmp(&b.rect().left()))
        .expect("the tab's close button")
        .click();
    h.run();
}

#[test]
fn closing_a_tab_with_unsaved_text_asks_and_keeps_saves_or_discards_it() {
    let (sandbox, file) = source_sandbox();
    let before = std::fs::read_to_string(&file).expect("the file");
    let mut h = harness(&sandbox);
    open_movement(&mut h);
    type_text(&mut h, "// draft\n");

    close_tab(&mut h, "lib.rs •");
    assert!(h.query_by_label_contains("lib.rs • has unsaved changes.").is_some(), "it asks");
    h.get_by_label("Keep the tab").click();
    h.run();
    assert_eq!(tabs(&h)["open"].as_array().map(Vec::len), Some(1), "the tab stays");
    assert!(tabs(&h)["open"][0]["text"].as_str().is_some_and(|t| t.starts_with("// draft\n")), "with its text");

    close_tab(&mut h, "lib.rs •");
    h.get_by_label("Discard them").click();
    h.run();
    assert_eq!(tabs(&h)["open"].as_array().map(Vec::len), Some(0), "the tab is closed");
    assert_eq!(std::fs::read_to_string(&file).expect("the file"), before, "and the file untouched");

    h.get_by_label("src/lib.rs").click();
    h.run();
    type_text(&mut h, "// kept\n");
    close_tab(&mut h, "lib.rs •");
    h.get_by_label("Save and close").click();
    h.run();
    assert_eq!(tabs(&h)["open"].as_array().map(Vec::len), Some(0), "the tab is closed");
    assert!(std::fs::read_to_string(&file).is_ok_and(|t| t.starts_with("// kept\n")), "after saving its text");
}
