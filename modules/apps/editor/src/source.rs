//! The source panel: the selected module's files (its `src/` tree, `module.toml`,
//! `Cargo.toml`, and the shaders its manifest names) in tabs, edited in place with Rust, TOML
//! and WGSL highlighting and line numbers. Ctrl+S saves the tab (to a temporary file renamed
//! over the old one, so a failed write never truncates it), and live edit takes it from there:
//! build, reload, state kept. The last build's diagnostics for the open file are marked at
//! their lines and listed; a click puts the cursor there. A file changed elsewhere reloads if
//! its tab has no unsaved text, and otherwise says so and lets the user choose.
//!
//! Everything a tab holds (its text, what is on disk, the cursor) is the editor's saved state,
//! so unsaved text survives the editor's own reload; the undo history is egui's, in the shell's
//! egui memory, which a reload does not touch.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use playground_api::egui;
use playground_api::egui_extras::syntax_highlighting::CodeTheme;
use playground_api::host::{BuildStatus, Diagnostic};
use playground_api::serde::{Deserialize, Serialize};

/// Files larger than this open read-only, and only their start is shown: the editor is for
/// source, not data, and laying out megabytes of text would stall every frame.
const EDITABLE_BYTES: u64 = 2 << 20;

/// How much of a file too large to edit is shown.
const SHOWN_BYTES: usize = 64 << 10;

/// One open file, as the editor's saved state keeps it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
pub(crate) struct Tab {
    pub(crate) path: PathBuf,
    /// The text being edited.
    pub(crate) text: String,
    /// The file's text when it was opened, saved or reloaded: the tab is modified when
    /// `text` differs from it.
    pub(crate) disk: String,
    /// Why it cannot be edited (not UTF-8, too large), if so.
    pub(crate) read_only: Option<String>,
    /// The file changed on disk while the tab had unsaved text.
    pub(crate) changed_on_disk: bool,
    /// The file cannot be read any more (deleted, moved away): a save writes it again.
    pub(crate) gone: bool,
    /// The file's modification time and length when `disk` was read, to notice a change.
    #[serde(skip)]
    stamp: Option<(SystemTime, u64)>,
    /// The text highlighted and laid out line by line, so a keystroke redoes only its lines
    /// and a frame without one redoes nothing.
    #[serde(skip)]
    highlighted: source_text::Highlighted,
}

impl Tab {
    pub(crate) fn modified(&self) -> bool {
        self.text != self.disk
    }

    /// The file's name, as its tab shows it.
    pub(crate) fn name(&self) -> String {
        self.path.file_name().map_or_else(|| self.path.display().to_string(), |n| n.to_string_lossy().into())
    }

    fn title(&self) -> String {
        let name = self.name();
        // A bullet, not "●": egui's default fonts have no glyph for that one (a box in the window).
        if self.modified() { format!("{name} •") } else { name }
    }

    /// The language the highlighter knows it as (WGSL reads well as Rust).
    fn language(&self) -> &'static str {
        match self.path.extension().and_then(|e| e.to_str()) {
            Some("toml") => "toml",
            _ => "rs",
        }
    }
}

/// The open tabs, what the editor saves of them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
pub(crate) struct Tabs {
    pub(crate) open: Vec<Tab>,
    pub(crate) active: usize,
    /// The tab whose closing waits for the user to say what happens to its unsaved text.
    pub(crate) closing: Option<usize>,
    /// What the last save or open said (an error, or where it went).
    pub(crate) notice: Option<Result<String, String>>,
    /// The find bar (Ctrl+F): open or not, and what it looks for.
    pub(crate) finding: bool,
    pub(crate) find: String,
    /// Where the cursor goes in the active tab on the next frame (1-based line and column),
    /// asked for from outside the panel (`open`, an assistant showing the user a place).
    pub(crate) jump: Option<(u32, u32)>,
}

/// What the editor's `open` call asks: a file under the modules root, and where the cursor
/// goes in it.
#[derive(Clone, Debug, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub(crate) struct OpenAt {
    /// The file's path under the modules root: `apps/editor/src/lib.rs`.
    pub(crate) file: String,
    #[serde(default)]
    pub(crate) line: Option<u32>,
    #[serde(default)]
    pub(crate) column: Option<u32>,
}

/// The stamp of a file now, if it can be read.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// A file's text for a tab, or why it is read-only.
fn read(path: &Path) -> Result<(String, Option<String>), String> {
    let too_large = |len: u64| {
        format!("{:.1} MiB: too large to edit here; its first 64 KiB are shown", len as f64 / f64::from(1 << 20))
    };
    let len = std::fs::metadata(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?.len();
    if len > EDITABLE_BYTES {
        let mut start = Vec::with_capacity(SHOWN_BYTES);
        let file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        std::io::Read::read_to_end(&mut std::io::Read::take(file, SHOWN_BYTES as u64), &mut start)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        return Ok((String::from_utf8_lossy(&start).into_owned(), Some(too_large(len))));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok((text, None)),
        Err(e) => Ok((
            String::from_utf8_lossy(e.as_bytes()).into_owned(),
            Some("not UTF-8 text: shown read-only, with the bad bytes replaced".to_owned()),
        )),
    }
}

/// Writes `text` over `path` without ever leaving it half-written: a temporary file beside
/// it, then a rename. On failure the file on disk is as it was.
pub(crate) fn save(path: &Path, text: &str) -> Result<(), String> {
    // The rename below would replace a read-only file as easily as any other: ask first.
    if std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly()) {
        return Err(format!(
            "cannot save {}: the file is read-only; the file on disk is unchanged and your text is still here",
            path.display()
        ));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.playground-save"));
    let written = std::fs::write(&temporary, text).and_then(|()| {
        // Keep the file's permissions (a script stays executable).
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&temporary, meta.permissions())?;
        }
        std::fs::rename(&temporary, path)
    });
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        format!("cannot save {}: {e}; the file on disk is unchanged and your text is still here", path.display())
    })
}

/// The files of module `id` the panel offers: its manifest, its Cargo.toml, its `src/`
/// tree, and the shaders its manifest names (paths ending in `.wgsl`).
pub(crate) fn module_files(root: &Path, id: &str) -> Vec<PathBuf> {
    let dir = root.join(id);
    let mut files = vec![dir.join("module.toml"), dir.join("Cargo.toml")];
    let mut sources = Vec::new();
    collect_rust(&dir.join("src"), &mut sources);
    sources.sort();
    files.extend(sources);
    if let Ok(manifest) = std::fs::read_to_string(dir.join("module.toml")) {
        for quoted in manifest.split('"').skip(1).step_by(2).filter(|s| s.ends_with(".wgsl")) {
            files.push(normalize(&root.join(quoted)));
        }
    }
    files.retain(|f| f.is_file());
    files
}

fn collect_rust(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            collect_rust(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// `a/b/../c` as `a/c`, so a shader named from the manifest shows a plain path.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

impl Tabs {
    /// Opens `path` in a tab (or shows the tab it is in).
    pub(crate) fn open(&mut self, path: &Path) {
        if let Some(at) = self.open.iter().position(|t| t.path == path) {
            self.active = at;
            return;
        }
        match read(path) {
            Ok((text, read_only)) => {
                let stamp = stamp(path);
                let tab = Tab { path: path.to_owned(), disk: text.clone(), text, read_only, stamp, ..Tab::default() };
                self.open.push(tab);
                self.active = self.open.len() - 1;
                self.notice = None;
            }
            Err(e) => self.notice = Some(Err(e)),
        }
    }

    /// Opens `at.file` under `root` in a tab with the cursor at its line and column (the
    /// panel places it on its next frame), and says which module the file belongs to.
    pub(crate) fn open_at(&mut self, root: &Path, at: &OpenAt) -> Result<String, String> {
        let path = normalize(&root.join(&at.file));
        let module = module_of(root, &path)
            .filter(|_| path.starts_with(root))
            .ok_or_else(|| format!("{} is not a file of a module under {}", at.file, root.display()))?;
        self.open(&path);
        match &self.notice {
            Some(Err(e)) if self.open.get(self.active).is_none_or(|t| t.path != path) => return Err(e.clone()),
            _ => {}
        }
        self.jump = Some((at.line.unwrap_or(1), at.column.unwrap_or(1)));
        Ok(module)
    }

    /// Saves the active tab.
    pub(crate) fn save_active(&mut self) {
        let Some(tab) = self.open.get_mut(self.active) else { return };
        if let Some(why) = &tab.read_only {
            self.notice = Some(Err(format!("{} is read-only here: {why}", tab.path.display())));
            return;
        }
        self.notice = Some(match save(&tab.path, &tab.text) {
            Ok(()) => {
                tab.disk.clone_from(&tab.text);
                tab.stamp = stamp(&tab.path);
                tab.changed_on_disk = false;
                tab.gone = false;
                Ok(format!("saved {}; live edit builds and reloads it", tab.path.display()))
            }
            Err(e) => Err(e),
        });
    }

    /// Saves every tab with unsaved text; whether all of them are saved now (a failure is the
    /// notice, and that tab keeps its text).
    pub(crate) fn save_all(&mut self) -> bool {
        let active = self.active;
        for at in 0..self.open.len() {
            if self.open[at].modified() {
                self.active = at;
                self.save_active();
            }
        }
        self.active = active;
        self.open.iter().all(|t| !t.modified())
    }

    /// Looks at every open file on disk: a tab without unsaved text follows it; one with
    /// unsaved text is marked, and keeps the user's text.
    pub(crate) fn follow_disk(&mut self) {
        for tab in &mut self.open {
            let now = stamp(&tab.path);
            // A file that cannot be looked at is gone; when it is back, it is read afresh.
            tab.gone = now.is_none();
            if tab.gone {
                tab.stamp = None;
                continue;
            }
            if tab.stamp.is_none() {
                // Just restored after a reload: the stamp was not saved; take the file's as seen.
                tab.stamp = now;
                if let Ok((text, _)) = read(&tab.path)
                    && text != tab.disk
                {
                    Self::changed(tab, text);
                }
                continue;
            }
            if now == tab.stamp {
                continue;
            }
            tab.stamp = now;
            match read(&tab.path) {
                Ok((text, _)) if text != tab.disk => Self::changed(tab, text),
                Ok(_) => {}
                Err(_) => tab.gone = true,
            }
        }
    }

    fn changed(tab: &mut Tab, text: String) {
        if tab.modified() {
            tab.changed_on_disk = true;
        } else {
            tab.text.clone_from(&text);
        }
        tab.disk = text;
    }
}

/// What the panel asks of the editor: a cursor to place in the text (a click on a diagnostic).
pub(crate) struct Panel<'a> {
    pub(crate) tabs: &'a mut Tabs,
    pub(crate) files: &'a [PathBuf],
    pub(crate) root: Option<&'a Path>,
    pub(crate) build: &'a BuildStatus,
}

/// The diagnostics of the last build of `path`'s module (or of the last build, for a file
/// of no module) and the shaders' problems that point into `path`. Cargo names files from the
/// workspace root; shader problems from the modules root.
fn diagnostics_for<'b>(build: &'b BuildStatus, path: &Path, root: Option<&Path>) -> Vec<&'b Diagnostic> {
    let outcome = match root.and_then(|r| module_of(r, path)) {
        Some(module) => build.of(&module),
        None => build.last.as_ref(),
    };
    let last = outcome.iter().flat_map(|l| l.diagnostics.iter());
    let points_here = |file: &str| {
        let file = Path::new(file);
        (file.is_relative() && !file.starts_with("..") && path.ends_with(file))
            || file == path
            || root.is_some_and(|r| normalize(&r.join(file)) == path)
    };
    last.chain(build.assets.iter()).filter(|d| d.file.as_deref().is_some_and(points_here)).collect()
}

/// The module a file under the modules root belongs to (`plugins/movement`), if any.
fn module_of(root: &Path, file: &Path) -> Option<String> {
    let mut parts = file.strip_prefix(root).ok()?.components();
    let (layer, name) = (parts.next()?, parts.next()?);
    Some(format!("{}/{}", layer.as_os_str().to_string_lossy(), name.as_os_str().to_string_lossy()))
}

/// What live edit is doing with `module` after a save: building it, or how its last build
/// went (the top bar says the same for every module).
fn build_line(ui: &mut egui::Ui, build: &BuildStatus, module: &str) {
    if build.building.iter().any(|m| m == module) {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!("building {module}…"));
        });
        return;
    }
    let Some(last) = build.of(module) else { return };
    if last.success {
        ui.weak(format!("{module}: built in {:.0} ms", last.duration_ms));
    } else {
        let errors = last.errors().count();
        ui.colored_label(
            ui.visuals().error_fg_color,
            format!("the last build of {module} failed with {errors} error(s); the running code is the older build"),
        );
    }
}

/// The character index of 1-based `line` and `column` in `text`.
fn char_index(text: &str, line: u32, column: u32) -> usize {
    let mut index = 0;
    for (n, content) in text.split('\n').enumerate() {
        if n + 1 == line as usize {
            return index + content.chars().count().min(column.saturating_sub(1) as usize);
        }
        index += content.chars().count() + 1;
    }
    index
}

impl Panel<'_> {
    pub(crate) fn show(self, ui: &mut egui::Ui) {
        let Panel { tabs, files, root, build } = self;
        // Ctrl+S is taken first, so the text does not see it, and acted on last, after the
        // text took this frame's keys: a key typed in the same frame as Ctrl+S is saved too.
        let save =
            ui.input_mut(|i| i.consume_shortcut(&egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::S)));
        Self::tabs(ui, tabs, files, root, build);
        if save {
            tabs.save_active();
        }
    }

    /// The file list, the tabs and the active tab's text.
    fn tabs(ui: &mut egui::Ui, tabs: &mut Tabs, files: &[PathBuf], root: Option<&Path>, build: &BuildStatus) {
        let find_asked =
            ui.input_mut(|i| i.consume_shortcut(&egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::F)));
        tabs.finding |= find_asked;
        tabs.follow_disk();
        egui::Panel::left("source_files").resizable(true).default_size(200.0).show(ui, |ui| {
            egui::ScrollArea::vertical().id_salt("source_file_list").show(ui, |ui| {
                if files.is_empty() {
                    ui.weak("Select a module in the graph to see its files.");
                }
                // A module's own files by their path in its folder, a shader from the workspace.
                let module = files.first().and_then(|f| f.parent());
                for file in files {
                    let shown = module
                        .and_then(|m| file.strip_prefix(m).ok())
                        .or_else(|| root.and_then(|r| file.strip_prefix(r.parent().unwrap_or(r)).ok()))
                        .unwrap_or(file);
                    let open = tabs.open.get(tabs.active).is_some_and(|t| &t.path == file);
                    if ui.selectable_label(open, shown.display().to_string()).clicked() {
                        tabs.open(file);
                    }
                }
            });
        });
        Self::tab_row(ui, tabs);
        match &tabs.notice {
            Some(Ok(text)) => {
                ui.weak(text);
            }
            Some(Err(text)) => {
                ui.colored_label(ui.visuals().error_fg_color, text);
            }
            None => {}
        }
        let active = tabs.active;
        let Some(tab) = tabs.open.get_mut(active) else {
            ui.weak("Open a file from the list: Ctrl+S saves it, and live edit builds and reloads the module.");
            return;
        };
        if tab.gone {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "The file is gone from disk: Ctrl+S writes your text back to it, or close the tab.",
            );
        }
        if tab.changed_on_disk {
            ui.horizontal(|ui| {
                ui.colored_label(ui.visuals().warn_fg_color, "The file changed on disk; your text here is not saved.");
                if ui.button("Reload from disk").clicked() {
                    tab.text.clone_from(&tab.disk);
                    tab.changed_on_disk = false;
                }
                if ui.button("Keep mine").clicked() {
                    tab.changed_on_disk = false;
                }
            });
        }
        if let Some(why) = &tab.read_only {
            ui.colored_label(ui.visuals().warn_fg_color, format!("Read-only: {why}"));
        }
        if let Some(module) = root.and_then(|r| module_of(r, &tab.path)) {
            build_line(ui, build, &module);
        }
        let diagnostics = diagnostics_for(build, &tab.path, root);
        let editor_id = egui::Id::new(("source_text", &tab.path));
        if tabs.finding {
            Self::find_bar(ui, &mut tabs.finding, &mut tabs.find, find_asked, &tab.text, editor_id);
        }
        if !diagnostics.is_empty() {
            egui::Panel::bottom("source_diagnostics").resizable(true).default_size(90.0).show(ui, |ui| {
                egui::ScrollArea::vertical().id_salt("source_diagnostic_list").show(ui, |ui| {
                    for d in &diagnostics {
                        let colour =
                            if d.level.is_error() { ui.visuals().error_fg_color } else { ui.visuals().warn_fg_color };
                        let text = egui::RichText::new(format!("{}:{}: {}", d.line, d.column, d.message)).color(colour);
                        if ui.link(text).on_hover_text(&d.rendered).clicked() {
                            tabs.jump = Some((d.line, d.column));
                        }
                    }
                });
            });
        }
        if tab.read_only.is_none() && ui.memory(|m| m.has_focus(editor_id)) {
            Self::indent_keys(ui, tab, editor_id);
        }
        // A clicked diagnostic, or a place asked for from outside (`open`): the cursor goes
        // there, the text gets the keyboard, and the view follows.
        let jumped = tabs.jump.take().map(|(line, column)| {
            let at = egui::text::CCursor::new(char_index(&tab.text, line, column));
            let mut state = egui::TextEdit::load_state(ui.ctx(), editor_id).unwrap_or_default();
            state.cursor.set_char_range(Some(egui::text::CCursorRange::one(at)));
            egui::TextEdit::store_state(ui.ctx(), editor_id, state);
            ui.memory_mut(|m| m.request_focus(editor_id));
            at
        });
        Self::editor(ui, tab, &diagnostics, editor_id, jumped);
    }

    /// Tab and Shift+Tab, taken before the text sees them: four spaces, or the selected lines
    /// moved by a level (egui's own Tab replaces a selection with a tab character).
    fn indent_keys(ui: &mut egui::Ui, tab: &mut Tab, id: egui::Id) {
        let outdent = ui.input_mut(|i| i.consume_key(egui::Modifiers::SHIFT, egui::Key::Tab));
        let indent = !outdent && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Tab));
        if !indent && !outdent {
            return;
        }
        let mut state = egui::TextEdit::load_state(ui.ctx(), id).unwrap_or_default();
        let Some(range) = state.cursor.char_range() else { return };
        let (text, anchor, cursor) =
            source_text::indent(&tab.text, range.secondary.index.0, range.primary.index.0, outdent);
        tab.text = text;
        let range = egui::text::CCursorRange::two(egui::text::CCursor::new(anchor), egui::text::CCursor::new(cursor));
        state.cursor.set_char_range(Some(range));
        egui::TextEdit::store_state(ui.ctx(), id, state);
    }

    /// Looks for `find` in `text`: Enter selects the next match after the cursor (around
    /// the end to the start) and gives the text the keyboard; Esc closes the bar.
    fn find_bar(ui: &mut egui::Ui, open: &mut bool, find: &mut String, asked: bool, text: &str, editor: egui::Id) {
        ui.horizontal(|ui| {
            ui.label("Find");
            let field = ui.add(egui::TextEdit::singleline(find).desired_width(220.0).hint_text("text to look for"));
            if asked {
                field.request_focus();
            }
            let count = if find.is_empty() { 0 } else { text.matches(find.as_str()).count() };
            ui.weak(match count {
                0 if find.is_empty() => String::new(),
                0 => "no match".to_owned(),
                1 => "1 match".to_owned(),
                n => format!("{n} matches"),
            });
            // The Enter that leaves the field is used up here: the text, which gets the
            // keyboard in this same frame, must not see it too.
            let entered =
                field.lost_focus() && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Enter));
            let next = ui.button("Next").clicked() || entered;
            if ui.button("Close").clicked() || (field.has_focus() && ui.input(|i| i.key_pressed(egui::Key::Escape))) {
                *open = false;
            }
            if next && count > 0 {
                let mut state = egui::TextEdit::load_state(ui.ctx(), editor).unwrap_or_default();
                let from = state.cursor.char_range().map_or(0, |r| r.primary.index.0.max(r.secondary.index.0));
                let byte_from = text.char_indices().nth(from).map_or(text.len(), |(b, _)| b);
                let found =
                    text[byte_from..].find(find.as_str()).map(|at| at + byte_from).or_else(|| text.find(find.as_str()));
                if let Some(byte) = found {
                    let start = text[..byte].chars().count();
                    let end = start + find.chars().count();
                    let range =
                        egui::text::CCursorRange::two(egui::text::CCursor::new(start), egui::text::CCursor::new(end));
                    state.cursor.set_char_range(Some(range));
                    egui::TextEdit::store_state(ui.ctx(), editor, state);
                    ui.memory_mut(|m| m.request_focus(editor));
                }
            }
        });
    }

    fn tab_row(ui: &mut egui::Ui, tabs: &mut Tabs) {
        let mut close = None;
        ui.horizontal_wrapped(|ui| {
            for (at, tab) in tabs.open.iter().enumerate() {
                if ui
                    .selectable_label(at == tabs.active, tab.title())
                    .on_hover_text(tab.path.display().to_string())
                    .clicked()
                {
                    tabs.active = at;
                }
                if ui.small_button("×").on_hover_text("Close").clicked() {
                    close = Some(at);
                }
            }
        });
        if let Some(at) = close {
            if tabs.open[at].modified() {
                tabs.closing = Some(at);
            } else {
                Self::close(tabs, at);
            }
        }
        if let Some(at) = tabs.closing.filter(|at| *at < tabs.open.len()) {
            let name = tabs.open[at].title();
            ui.horizontal(|ui| {
                ui.colored_label(ui.visuals().warn_fg_color, format!("{name} has unsaved changes."));
                if ui.button("Save and close").clicked() {
                    tabs.active = at;
                    tabs.save_active();
                    if !tabs.open[at].modified() {
                        Self::close(tabs, at);
                    }
                    tabs.closing = None;
                } else if ui.button("Discard them").clicked() {
                    Self::close(tabs, at);
                    tabs.closing = None;
                } else if ui.button("Keep the tab").clicked() {
                    tabs.closing = None;
                }
            });
        }
    }

    fn close(tabs: &mut Tabs, at: usize) {
        if at < tabs.open.len() {
            tabs.open.remove(at);
        }
        tabs.active = tabs.active.min(tabs.open.len().saturating_sub(1));
    }

    /// Line numbers (a diagnostic's line marked) beside the highlighted text.
    fn editor(
        ui: &mut egui::Ui,
        tab: &mut Tab,
        diagnostics: &[&Diagnostic],
        id: egui::Id,
        jumped: Option<egui::text::CCursor>,
    ) {
        let language = tab.language();
        let theme = CodeTheme::from_memory(ui.ctx(), ui.style());
        // The marked lines, underlined in their diagnostic's colour.
        let marks: Vec<(usize, egui::Color32)> = diagnostics
            .iter()
            .map(|d| {
                let colour = if d.level.is_error() { ui.visuals().error_fg_color } else { ui.visuals().warn_fg_color };
                (d.line as usize, colour)
            })
            .collect();
        let plain = ui.visuals().weak_text_color();
        let Tab { text, highlighted, read_only, path, .. } = tab;
        egui::ScrollArea::both().id_salt(("source_scroll", &*path)).auto_shrink(false).show(ui, |ui| {
            ui.horizontal_top(|ui| {
                // The line numbers' column, painted after the text (beside its rows) for the
                // rows in view only: laying out a number for each of 3000 lines cost more than
                // the rest of opening the file.
                let lines = source_text::line_count(text);
                let font = egui::TextStyle::Monospace.resolve(ui.style());
                let digits = lines.to_string().len().max(4);
                let digit = ui.fonts_mut(|f| f.glyph_width(&font, '0'));
                let (column, _) = ui.allocate_exact_size(egui::vec2(digit * digits as f32, 0.0), egui::Sense::hover());
                // Code does not wrap (the pane scrolls sideways): a wrapped line would take
                // rows the line numbers beside it do not have. The layout is made for the
                // text the field shows, which after a keystroke is not yet `text` outside it.
                let mut layouter = |ui: &egui::Ui, shown: &dyn egui::TextBuffer, _wrap_width: f32| {
                    let style = source_text::Style { ctx: ui.ctx(), style: ui.style(), theme: &theme, language };
                    highlighted.text(&style, shown.as_str(), &marks)
                };
                let editable = read_only.is_none();
                let output = egui::TextEdit::multiline(text)
                    .id(id)
                    .code_editor()
                    .interactive(editable)
                    .desired_width(f32::INFINITY)
                    .desired_rows(20)
                    .layouter(&mut layouter)
                    .show(ui);
                let visible = ui.clip_rect();
                for (number, row) in (1..).zip(&output.galley.rows) {
                    let rect = row.rect().translate(output.galley_pos.to_vec2());
                    if rect.bottom() < visible.top() {
                        continue;
                    }
                    if rect.top() > visible.bottom() {
                        break;
                    }
                    let colour = marks.iter().find(|(line, _)| *line == number).map_or(plain, |(_, colour)| *colour);
                    let at = egui::pos2(column.right(), rect.top());
                    ui.painter().text(at, egui::Align2::RIGHT_TOP, number.to_string(), font.clone(), colour);
                }
                if let Some(at) = jumped {
                    let place = output.galley.pos_from_cursor(at).translate(output.galley_pos.to_vec2());
                    ui.scroll_to_rect(place, Some(egui::Align::Center));
                }
                // Hovering a marked line shows its diagnostics' messages.
                let hovered_line = output.response.hover_pos().map(|pos| {
                    let cursor = output.galley.cursor_from_pos(pos - output.galley_pos);
                    text.chars().take(cursor.index.0).filter(|c| *c == '\n').count() + 1
                });
                let messages: Vec<&str> = diagnostics
                    .iter()
                    .filter(|d| hovered_line == Some(d.line as usize))
                    .map(|d| d.message.as_str())
                    .collect();
                if !messages.is_empty() {
                    output.response.response.on_hover_text(messages.join("\n"));
                }
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::save;

    /// A save whose write fails part-way leaves the file as it was and nothing beside it. The
    /// write is made to fail as a full disk would, by a limit on how large a file this process
    /// may write: the test runs itself again under `prlimit --fsize`, with the signal that
    /// limit sends ignored (so the write returns an error instead of killing the process).
    #[test]
    fn a_write_that_fails_part_way_leaves_the_file_as_it_was() {
        const LIMITED: &str = "SOURCE_SAVE_UNDER_A_FILE_SIZE_LIMIT";
        if std::env::var_os(LIMITED).is_none() {
            let exe = std::env::current_exe().expect("the test binary");
            let test = "source::tests::a_write_that_fails_part_way_leaves_the_file_as_it_was";
            let status = Command::new("sh")
                .args(["-c", "trap '' XFSZ; exec prlimit --fsize=65536 -- \"$0\" --exact \"$1\" --nocapture"])
                .arg(exe)
                .arg(test)
                .env(LIMITED, "1")
                .status()
                .expect("run the test under a file size limit");
            assert!(status.success(), "the limited run failed: {status}");
            return;
        }
        let dir = std::env::temp_dir().join(format!("playground-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder");
        let file = dir.join("lib.rs");
        std::fs::write(&file, "fn before() {}\n").expect("the file as it was");
        let large = "// a line the disk has no room for\n".repeat(10_000);
        let error = save(&file, &large).expect_err("the write cannot finish");
        assert!(error.contains("cannot save") && error.contains("your text is still here"), "{error}");
        assert_eq!(std::fs::read_to_string(&file).expect("the file"), "fn before() {}\n", "as it was");
        let beside: Vec<_> = std::fs::read_dir(&dir).expect("the folder").flatten().map(|e| e.file_name()).collect();
        assert_eq!(beside, ["lib.rs"], "no half-written file left beside it");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
