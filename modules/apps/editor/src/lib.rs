//! The editor UI, loaded and reloaded like any other module: the inspector of the selected
//! module and the source panel, and the tabs that show the dependency graph, the reload
//! timings and the log, which are modules of their own (`plugins/editor-graph`,
//! `plugins/editor-timings`, `plugins/editor-log`, shown with `Host::show`): a change to one
//! of them rebuilds and reloads that panel alone.
//!
//! Everything it shows comes from the [`Host`] it receives in `initialize`; it never touches
//! the loader. A Reload it offers is only queued (`Host::request_reload`): the shell runs it
//! at the safe point after the frame, so reloading the editor itself never unloads code that
//! is on the stack. What must survive the editor's own reload (selection, open panels, the
//! source panel's tabs) is its saved state; panel sizes and scroll offsets are egui's
//! own types in the shell's egui memory, which the reload does not touch. The editor stores
//! none of its own types in egui memory (ARCHITECTURE.md, invariant 4).

mod inspector;
mod keys;
mod new_module;
mod panes;
mod source;

use std::rc::Rc;
use std::time::{Duration, Instant};

use playground_api::egui;
use playground_api::egui_dock::{DockArea, DockState, Style, TabViewer};
use playground_api::host::{BuildOutcome, ModuleInfo, ReloadRecord};
use playground_api::serde::{Deserialize, Serialize};
use playground_api::{Context, Host, Module, codec, serde_json};

use crate::panes::Pane;

/// The editor's UI state: what survives its reload.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct UiState {
    /// The module the inspector shows.
    selected: Option<String>,
    /// Where the panels are: tabs and splits the user arranged.
    dock: DockState<Pane>,
    /// Whether the inspector, and the timings and log, are open (read from `dock` each
    /// frame; for tests and assistants).
    show_inspector: bool,
    show_bottom: bool,
    /// The source panel's open files, unsaved text included.
    source: source::Tabs,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            selected: None,
            dock: panes::arrangement(),
            show_inspector: true,
            show_bottom: true,
            source: source::Tabs::default(),
        }
    }
}

/// The modules that draw the Graph, Timings and Log tabs.
const GRAPH_PANEL: &str = "plugins/editor-graph";
const TIMINGS_PANEL: &str = "plugins/editor-timings";
const LOG_PANEL: &str = "plugins/editor-log";

/// Shows the panel module `id` in its tab, or why it cannot (not loaded, failed, panicked:
/// the tab says so and everything else keeps working).
fn show_panel(ui: &mut egui::Ui, host: &dyn Host, id: &str) {
    if let Err(why) = host.show(id, ui) {
        ui.colored_label(egui::Color32::LIGHT_RED, format!("This panel is the module `{id}`: {why}"));
    }
}

/// What the graph panel says the user did: whether the selection changed and to what
/// (`None` clears it), and the modules whose reload they asked for.
type GraphEvents = (bool, Option<String>, Vec<String>);

/// What a panel asks the editor to do after drawing.
enum Action {
    Reload(String),
}

struct Editor {
    state: UiState,
    host: Option<Rc<dyn Host>>,
    id: String,
    /// The answer to the last Reload request, shown in the top bar.
    notice: Option<Result<String, String>>,
    /// The "New module…" dialog and form.
    new_module: new_module::NewModule,
    /// The module the inspector showed last frame, and its state's hash (see
    /// [`Editor::follow_state`]).
    inspected: Option<(String, Option<u64>)>,
    /// Where closing the window with unsaved text stands (see [`Editor::guard_quit`]).
    quit: Quit,
    /// The selected module's files as the source panel lists them, and when they were
    /// listed (see [`Editor::module_files`]).
    files: Option<(String, Instant, Vec<std::path::PathBuf>)>,
}

/// How long the source panel's list of a module's files is reused before the folder is read
/// again: a new file shows within it, and a frame does not walk the folder.
const FILES_FRESH: Duration = Duration::from_secs(1);

/// Closing the window while source tabs hold unsaved text: asked first, never lost silently.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Quit {
    #[default]
    Open,
    /// The window was asked to close; the editor asks the user what happens to the text.
    Asking,
    /// The user chose to quit without saving: the next close goes through.
    Anyway,
}

/// How often the inspector redraws a state that is changing. The window paints only when
/// something changes, and modules tick only on painted frames: without this, a world the
/// inspector shows would stand still until the mouse moved.
const FOLLOW: Duration = Duration::from_millis(100);

impl Editor {
    /// Keeps frames coming, [`FOLLOW`] apart, while the inspected module's state changes
    /// from one frame to the next, and once after a new selection to find out; a state that
    /// stands still lets the window go idle.
    fn follow_state(&mut self, ctx: &egui::Context, selected: Option<&str>, digest: Option<u64>) {
        let now = selected.map(|id| (id.to_owned(), digest));
        let changed = match (&self.inspected, &now) {
            (Some((before, old)), Some((id, new))) if before == id => old != new,
            (_, Some(_)) => true,
            _ => false,
        };
        if changed && digest.is_some() {
            ctx.request_repaint_after(FOLLOW);
        }
        self.inspected = now;
    }

    /// Keeps the window open when it is asked to close (the window's ×, `quit`) while source
    /// tabs hold unsaved text, and asks: save them all and quit, quit without them, or stay.
    /// A close for a restart goes through: the restart hands the text back.
    fn guard_quit(&mut self, ctx: &egui::Context, host: &dyn Host, tabs: &mut source::Tabs) {
        let closing = ctx.input(|i| i.viewport().close_requested());
        if !closing && self.quit != Quit::Asking {
            return;
        }
        let unsaved: Vec<String> = tabs.open.iter().filter(|t| t.modified()).map(source::Tab::name).collect();
        if closing && !unsaved.is_empty() && self.quit != Quit::Anyway && !host.restarting() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.quit = Quit::Asking;
        }
        if self.quit != Quit::Asking {
            return;
        }
        if unsaved.is_empty() {
            self.quit = Quit::Open;
            return;
        }
        egui::Modal::new(egui::Id::new("editor_quit")).show(ctx, |ui| {
            ui.heading("Quit with unsaved changes?");
            ui.label(format!("Not saved: {}.", unsaved.join(", ")));
            ui.horizontal(|ui| {
                if ui.button("Save all and quit").clicked() {
                    if tabs.save_all() {
                        self.quit = Quit::Anyway;
                        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                    } else {
                        // The source panel says why; the window stays.
                        self.quit = Quit::Open;
                    }
                }
                if ui.button("Quit without saving").clicked() {
                    self.quit = Quit::Anyway;
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
                if ui.button("Cancel").clicked() {
                    self.quit = Quit::Open;
                }
            });
        });
    }

    /// The files of module `selected` under `root`, listed again when the selection changed
    /// or [`FILES_FRESH`] has passed.
    fn module_files(&mut self, root: Option<&std::path::Path>, selected: Option<&str>) -> Vec<std::path::PathBuf> {
        let (Some(root), Some(id)) = (root, selected) else { return Vec::new() };
        match &self.files {
            Some((listed, at, files)) if listed == id && at.elapsed() < FILES_FRESH => files.clone(),
            _ => {
                let files = source::module_files(root, id);
                self.files = Some((id.to_owned(), Instant::now(), files.clone()));
                files
            }
        }
    }

    fn reload(&mut self, host: &dyn Host, id: &str) {
        self.notice = Some(match host.request_reload(id) {
            Ok(()) => Ok(format!("reload of {id} queued")),
            Err(e) => Err(e),
        });
    }

    fn top_bar(&mut self, ui: &mut egui::Ui, host: &dyn Host, state: &mut UiState, open_new_module: bool) {
        ui.horizontal(|ui| {
            ui.strong("Playground");
            ui.separator();
            let ctx = ui.ctx().clone();
            panes::buttons(ui, &mut state.dock, |pane| match pane {
                Pane::Inspector => Some(keys::hint(&ctx, "Show the inspector; the key hides it too", &keys::INSPECTOR)),
                Pane::Timings => {
                    Some(keys::hint(&ctx, "Show the timings; the key shows or hides the lower panels", &keys::BOTTOM))
                }
                _ => None,
            });
            ui.separator();
            if let Some(notice) = self.new_module.show(ui, host, open_new_module) {
                self.notice = Some(notice);
            }
            ui.separator();
            let build = host.build_status();
            if build.restart_needed {
                let reason = build.restart_reason.as_deref().unwrap_or("immortal code changed: restart to pick it up");
                ui.colored_label(egui::Color32::YELLOW, reason);
                let restart = ui.button("Restart").on_hover_text(
                    "Rebuild the shell and the api, and start again; every module's state is saved and restored",
                );
                if restart.clicked() {
                    self.notice = Some(host.request_restart().map(|()| "restarting…".to_owned()));
                }
            } else if !build.building.is_empty() {
                ui.label(format!("building {}", build.building.join(", ")))
                    .on_hover_text(asked_for("A build".to_owned(), &build.requested_by));
                // Crates compiled out of total, once cargo has planned the build (the rustc
                // fast path has no crates to count: it is one compiler run).
                match build.progress {
                    Some((done, all)) if all > 0 => {
                        let bar = egui::ProgressBar::new(done as f32 / all as f32)
                            .text(format!("{done}/{all} crates"))
                            .desired_width(160.0);
                        ui.add(bar);
                    }
                    _ => {
                        ui.spinner();
                    }
                }
            } else if let Some(last) = build.last.as_ref().filter(|l| !l.success) {
                let why = last.diagnostics.first().map(|d| d.rendered.as_str()).or(last.error.as_deref());
                ui.colored_label(egui::Color32::LIGHT_RED, format!("build of {} failed", last.modules.join(", ")))
                    .on_hover_text(why.unwrap_or("no diagnostics"));
            } else if let Some(last) = &build.last {
                // A save that landed says so, how long it took and which way it was built.
                let how = if last.fast_path {
                    "Re-ran the module's recorded rustc command, without cargo".to_owned()
                } else {
                    last.note.clone().unwrap_or_else(|| "Built with cargo".to_owned())
                };
                ui.weak(built_label(last)).on_hover_text(asked_for(how, &last.requested_by));
            }
            match &self.notice {
                Some(Ok(text)) => {
                    ui.label(text);
                }
                Some(Err(text)) => {
                    ui.colored_label(egui::Color32::LIGHT_RED, text);
                }
                None => {}
            }
        });
    }
}

/// A build's hover text: how it ran, and who asked for it when known.
fn asked_for(how: String, requested_by: &[String]) -> String {
    if requested_by.is_empty() { how } else { format!("{how}; asked for by {}", requested_by.join(", ")) }
}

/// "built plugins/movement in 288 ms (rustc)": what the top bar says of a good build.
fn built_label(last: &BuildOutcome) -> String {
    let what = match last.modules.as_slice() {
        [one] => one.clone(),
        many => format!("{} modules", many.len()),
    };
    let took = if last.duration_ms < 1000.0 {
        format!("{:.0} ms", last.duration_ms)
    } else {
        format!("{:.1} s", last.duration_ms / 1000.0)
    };
    let warnings = last.diagnostics.iter().filter(|d| !d.level.is_error()).count();
    let warnings = match warnings {
        0 => String::new(),
        1 => ", 1 warning".to_owned(),
        n => format!(", {n} warnings"),
    };
    let how = if last.fast_path { "rustc" } else { "cargo" };
    format!("built {what} in {took} ({how}{warnings})")
}

impl Module for Editor {
    fn create() -> Self {
        Editor {
            state: UiState::default(),
            host: None,
            id: String::new(),
            notice: None,
            new_module: new_module::NewModule::default(),
            inspected: None,
            quit: Quit::Open,
            files: None,
        }
    }

    fn initialize(&mut self, ctx: &Context) -> Result<(), String> {
        self.host = Some(ctx.host());
        ctx.module_id().clone_into(&mut self.id);
        Ok(())
    }

    fn call(&mut self, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        match method {
            // For tests and assistants: what the editor shows and remembers.
            "ui_state" => codec::encode(&self.state),
            "select" => {
                self.state.selected = codec::decode::<Option<String>>(args)?;
                codec::encode(&self.state.selected)
            }
            // Shows a module's file in the source panel with the cursor at a line and column
            // (an assistant pointing the user at a place): `{"file": "apps/editor/src/lib.rs",
            // "line": 3, "column": 5}`. Answers the module the file belongs to, now selected.
            "open" => {
                let at = codec::decode::<source::OpenAt>(args)?;
                let root = self.host.as_ref().and_then(|h| h.modules_root()).ok_or("no modules folder to open from")?;
                let module = self.state.source.open_at(&root, &at)?;
                self.state.selected = Some(module.clone());
                panes::show(&mut self.state.dock, Pane::Source);
                codec::encode(&module)
            }
            other => Err(playground_api::module::unknown_method(other)),
        }
    }

    playground_api::persist!(state);

    fn ui(&mut self, ui: &mut egui::Ui) {
        let Some(host) = self.host.clone() else {
            egui::CentralPanel::default().show(ui, |ui| ui.label("The editor was not initialized."));
            return;
        };
        let modules: Vec<ModuleInfo> = host.modules();
        let history = host.reload_history();
        let mut state = std::mem::take(&mut self.state);
        let mut actions = Vec::new();

        let pressed = keys::read(ui.ctx(), &modules, &mut state.selected);
        if pressed.toggle_inspector {
            if panes::is_open(&state.dock, Pane::Inspector) {
                panes::close(&mut state.dock, Pane::Inspector);
            } else {
                panes::show(&mut state.dock, Pane::Inspector);
            }
        }
        if pressed.toggle_bottom {
            let lower = Pane::LOWER.iter().any(|pane| panes::is_open(&state.dock, *pane));
            for pane in Pane::LOWER {
                if lower {
                    panes::close(&mut state.dock, pane);
                } else {
                    panes::show(&mut state.dock, pane);
                }
            }
        }
        if pressed.reload {
            match &state.selected {
                Some(id) => actions.push(Action::Reload(id.clone())),
                None => {
                    self.notice = Some(Err("select a module to reload: click it, or use the arrow keys".to_owned()));
                }
            }
        }
        egui::Panel::top("editor_top").show(ui, |ui| self.top_bar(ui, host.as_ref(), &mut state, pressed.new_module));
        self.guard_quit(ui.ctx(), host.as_ref(), &mut state.source);
        let build = host.build_status();
        let mut dock = std::mem::replace(&mut state.dock, DockState::new(Vec::new()));
        let mut viewer = Viewer {
            editor: self,
            state: &mut state,
            host: host.as_ref(),
            modules: &modules,
            history: &history,
            build: &build,
            actions: &mut actions,
            drew_inspector: false,
        };
        egui::CentralPanel::default().show(ui, |ui| {
            DockArea::new(&mut dock)
                .id(egui::Id::new("editor_dock"))
                .style(Style::from_egui(ui.style()))
                .show_inside(ui, &mut viewer);
        });
        if !viewer.drew_inspector {
            self.inspected = None;
        }
        state.dock = dock;
        state.show_inspector = panes::is_open(&state.dock, Pane::Inspector);
        state.show_bottom = Pane::LOWER.iter().any(|pane| panes::is_open(&state.dock, *pane));
        self.state = state;
        for action in actions {
            match action {
                Action::Reload(id) => self.reload(host.as_ref(), &id),
            }
        }
    }
}

/// Draws each pane in the tab the user put it in.
struct Viewer<'a> {
    editor: &'a mut Editor,
    state: &'a mut UiState,
    host: &'a dyn Host,
    modules: &'a [ModuleInfo],
    history: &'a [ReloadRecord],
    build: &'a playground_api::host::BuildStatus,
    actions: &'a mut Vec<Action>,
    /// Whether the inspector was drawn this frame (it is not while another tab covers it).
    drew_inspector: bool,
}

impl TabViewer for Viewer<'_> {
    type Tab = Pane;

    fn id(&mut self, tab: &mut Pane) -> egui::Id {
        egui::Id::new(("editor_pane", tab.title()))
    }

    fn title(&mut self, tab: &mut Pane) -> egui::WidgetText {
        tab.title().into()
    }

    fn ui(&mut self, ui: &mut egui::Ui, tab: &mut Pane) {
        let state = &mut *self.state;
        match tab {
            Pane::Graph => {
                // The selection is the editor's: the panel is told it, and says what the user
                // did with it (and which reloads they asked for).
                let selected = codec::encode(&state.selected).unwrap_or_default();
                let _ = self.host.call(GRAPH_PANEL, "select", &selected);
                show_panel(ui, self.host, GRAPH_PANEL);
                let events = self.host.call(GRAPH_PANEL, "events", &[]);
                if let Ok((changed, picked, reloads)) = events.and_then(|bytes| codec::decode::<GraphEvents>(&bytes)) {
                    if changed {
                        state.selected = picked;
                    }
                    self.actions.extend(reloads.into_iter().map(Action::Reload));
                }
            }
            Pane::Inspector => {
                let own = serde_json::to_value(&*state).unwrap_or(serde_json::Value::Null);
                let view = inspector::View {
                    host: self.host,
                    modules: self.modules,
                    history: self.history,
                    own_id: &self.editor.id,
                    own,
                };
                let shown = view.show(ui, state.selected.as_deref());
                self.actions.extend(shown.action);
                self.editor.follow_state(ui.ctx(), state.selected.as_deref(), shown.state);
                self.drew_inspector = true;
            }
            Pane::Timings => show_panel(ui, self.host, TIMINGS_PANEL),
            Pane::Log => show_panel(ui, self.host, LOG_PANEL),
            Pane::Source => {
                let root = self.host.modules_root();
                let files = self.editor.module_files(root.as_deref(), state.selected.as_deref());
                let panel =
                    source::Panel { tabs: &mut state.source, files: &files, root: root.as_deref(), build: self.build };
                panel.show(ui);
            }
        }
    }

    fn is_closeable(&self, tab: &Pane) -> bool {
        // The graph is the editor's ground: every other pane can go and come back.
        *tab != Pane::Graph
    }

    fn scroll_bars(&self, _tab: &Pane) -> [bool; 2] {
        // Each pane scrolls what it needs itself.
        [false, false]
    }
}

playground_api::export_module!(Editor);
