//! The window: eframe with the wgpu renderer owns the window, the GPU device and queue, the
//! egui context and the frame loop. Each frame the shell takes the controllers' messages,
//! ticks the modules, runs every `apps` module's UI (the editor last), and then
//! reaches the safe point, where queued reloads (the editor's own included), live edit and
//! finished builds run, between two frames.
//!
//! The shell draws nothing of its own except the start-up build's progress (`startup.rs`),
//! before any module is built, and the fallback screen (`fallback.rs`) when the editor is
//! missing, did not build, did not load, or failed while drawing.
//!
//! Quiet when idle: frames are painted only when something asks for one: input, a message
//! from a controller, a log line, live edit's news (its watcher and builds wake the window so
//! it can poll), or a build or reload in flight.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use module_loader::Runtime;
use playground_api::egui::{self, ViewportCommand};
use playground_api::gpu::GpuSource;
use playground_api::host::{ModuleInfo, ModuleStatus, ReloadOutcome};
use playground_api::{eframe, serde_json, tracing};

use crate::control::{Control, Controllers, Next, Options};
use crate::fallback;
use crate::gpu;
use crate::inbox::{Inbox, Message, Op, Waker};
use crate::startup::{self, Startup};
use crate::workspace::Paths;

/// The editor module, the one whose absence the fallback screen covers.
const EDITOR: &str = "apps/editor";
/// How often the window polls while something is in flight.
const POLL: Duration = Duration::from_millis(30);

/// Where the last editor build that drew a frame is kept, for Roll back.
fn last_good_path(paths: &Paths, library: &Path) -> PathBuf {
    let name = library.file_name().map_or_else(|| "libapps_editor.so".into(), ToOwned::to_owned);
    paths.library_dir.join("playground-last-good").join(name)
}

/// Where the good build before the last one is kept: Roll back's target when the last good
/// build is the one that failed (it drew frames, then panicked on a later one).
fn previous_good_path(last_good: &Path) -> PathBuf {
    last_good.with_extension("previous")
}

/// Puts the last good editor build where cargo put the current one, as a new file (new
/// inode and mtime, as a rebuild would), so the loader's reload picks it up.
fn restore_last_good(last_good: &Path, library: &Path) -> Result<(), String> {
    let tmp = library.with_extension("rollback");
    std::fs::copy(last_good, &tmp).map_err(|e| format!("cannot copy {}: {e}", last_good.display()))?;
    let file = std::fs::File::options().write(true).open(&tmp).map_err(|e| e.to_string())?;
    file.set_modified(SystemTime::now()).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, library).map_err(|e| format!("cannot replace {}: {e}", library.display()))
}

struct Shell<'a> {
    runtime: &'a Runtime,
    paths: &'a Paths,
    next: &'a mut Next,
    /// Why the editor is not running, beyond its status: the start-up build's failure.
    build_error: Option<String>,
    /// The editor's generation whose UI failed, and the error; it is not called again
    /// until another generation is loaded.
    ui_error: Option<(u64, String)>,
    /// The editor generation last saved as the last good build.
    saved_generation: u64,
    notice: Option<String>,
    ready: bool,
    last_frame: Instant,
}

impl<'a> Shell<'a> {
    fn new(runtime: &'a Runtime, paths: &'a Paths, next: &'a mut Next, build_error: Option<String>) -> Shell<'a> {
        Shell {
            runtime,
            paths,
            next,
            build_error,
            ui_error: None,
            saved_generation: 0,
            notice: None,
            ready: false,
            last_frame: Instant::now(),
        }
    }

    /// Why the fallback screen must show instead of the editor, if it must.
    fn editor_problem(&self, editor: Option<&ModuleInfo>) -> Option<String> {
        // An app run on its own (`--app game`) has no editor to miss.
        if self.runtime.config().app.as_deref().is_some_and(|app| module_loader::apps::app_id(app) != EDITOR) {
            return None;
        }
        let Some(editor) = editor else {
            return Some(format!(
                "There is no editor module: {} has no module.toml.",
                self.paths.modules.join(EDITOR).display()
            ));
        };
        if let ModuleStatus::Failed(why) = &editor.status {
            let mut reason = format!("The editor did not load: {why}");
            if let Some(build) = &self.build_error {
                reason.push_str("\n\n");
                reason.push_str(build);
            }
            return Some(reason);
        }
        match &self.ui_error {
            Some((generation, error)) if *generation == editor.generation => {
                Some(format!("The editor failed while drawing: {error}"))
            }
            _ => None,
        }
    }

    /// The editor build Roll back would bring back: the last one that drew a frame, or, when
    /// that is the build that failed (it drew before it panicked), the good one before it.
    fn roll_back_source(&self) -> Option<PathBuf> {
        let graph = self.runtime.resolve().ok()?;
        let library = graph.get(EDITOR)?.library.clone()?;
        let last_good = last_good_path(self.paths, &library);
        let failed_after_drawing =
            self.ui_error.as_ref().is_some_and(|(generation, _)| *generation == self.saved_generation);
        Some(if failed_after_drawing { previous_good_path(&last_good) } else { last_good })
    }

    fn roll_back(&mut self) -> Result<String, String> {
        let graph = self.runtime.resolve().map_err(|e| e.to_string())?;
        let source = graph.get(EDITOR).ok_or("there is no editor module to roll back")?;
        let library = source.library.clone().ok_or("the editor module has no library")?;
        let good = self.roll_back_source().ok_or("the editor module has no library")?;
        if !good.is_file() {
            return Err("no earlier editor build has drawn a frame: nothing to roll back to".to_owned());
        }
        restore_last_good(&good, &library)?;
        let record = self.runtime.reload(EDITOR).map_err(|e| e.to_string())?;
        if record.outcome == ReloadOutcome::Swapped {
            self.ui_error = None;
            self.build_error = None;
            return Ok("rolled back to the last good editor".to_owned());
        }
        // The last good build could not take the broken build's state (a changed UI state
        // type). It is only the editor's UI state, and the user asked to go back: start the
        // editor fresh rather than leave them stuck on this screen.
        let fresh = self.runtime.reload_fresh(EDITOR).map_err(|e| e.to_string())?;
        match fresh.outcome {
            ReloadOutcome::Swapped => {
                self.ui_error = None;
                self.build_error = None;
                Ok("rolled back to the last good editor; it could not read the broken build's UI state, so it starts fresh".to_owned())
            }
            other => Err(format!("the roll back did not load: {other:?}")),
        }
    }

    /// After a failed Retry: when the rebuilt editor loaded but could not take the broken
    /// build's UI state (the reload was rolled back), load it once more without that state.
    fn retry_fresh(&mut self) -> Option<String> {
        let history = self.runtime.history();
        let last = history.last().filter(|r| r.requested == [EDITOR])?;
        if !matches!(last.outcome, ReloadOutcome::RolledBack(_)) {
            return None;
        }
        let record = self.runtime.reload_fresh(EDITOR).ok()?;
        (record.outcome == ReloadOutcome::Swapped).then(|| {
            self.ui_error = None;
            self.build_error = None;
            "the editor was rebuilt and loaded; it could not read the broken build's UI state, so it starts fresh"
                .to_owned()
        })
    }

    /// After a frame the editor drew without failing: keep its library as the last good one,
    /// and the one it replaces as the previous (copied on a thread, so the frame does not wait
    /// for the disk). The same build drawn again (a reload without a rebuild) changes nothing.
    fn remember_good(&mut self, editor: &ModuleInfo) {
        if editor.generation == self.saved_generation {
            return;
        }
        self.saved_generation = editor.generation;
        let Some(running) = editor.library.as_deref().map(PathBuf::from) else { return };
        let Ok(graph) = self.runtime.resolve() else { return };
        let Some(library) = graph.get(EDITOR).and_then(|s| s.library.clone()) else { return };
        let last_good = last_good_path(self.paths, &library);
        std::thread::spawn(move || {
            if std::fs::read(&running).ok().is_some_and(|bytes| std::fs::read(&last_good).ok() == Some(bytes)) {
                return;
            }
            let copied = last_good
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| {
                    if last_good.is_file() {
                        std::fs::rename(&last_good, previous_good_path(&last_good))
                    } else {
                        Ok(())
                    }
                })
                .and_then(|()| std::fs::copy(&running, last_good.with_extension("tmp")))
                .and_then(|_| std::fs::rename(last_good.with_extension("tmp"), &last_good));
            if let Err(e) = copied {
                tracing::warn!("cannot keep the editor build for Roll back: {e}");
            }
        });
    }
}

/// The app eframe runs: the start-up build's screen until the modules are built and loaded,
/// then the shell's frames.
struct Window<'a> {
    shell: Shell<'a>,
    /// Started once the modules are built (at once with `--no-build`).
    control: &'a mut Option<Control>,
    startup: Option<Startup>,
    options: &'a Options,
    waker: Waker,
    inbox: Inbox,
    messages: Receiver<Message>,
    /// Why the controllers could not start (the modules do not resolve).
    fatal: Option<String>,
    /// The frames' times, for the `reload_frame` event.
    frames: FrameTimes,
    /// The build a restart waits for (modules and shell), and how the last one ended.
    restarting: Option<Startup>,
    restart_error: Option<String>,
    /// Whether the modules were loaded (or tried to): once, in the first frame.
    started: bool,
}

impl eframe::App for Window<'_> {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        if let Some(startup) = &mut self.startup {
            let Some(result) = startup.poll() else {
                startup.show(ui);
                return;
            };
            self.startup = None;
            self.started = true;
            match start_control(self.shell.runtime, self.shell.paths, self.options, &self.inbox) {
                Ok(mut control) => {
                    // The start-up build is shown like any build: the editor's top bar says
                    // what it built, or that it failed while older builds of the modules run.
                    match result {
                        Ok(outcome) => control.note_build(self.shell.runtime, outcome),
                        Err(failed) => {
                            self.shell.build_error = Some(failed.message.clone());
                            control.note_failed_build(self.shell.runtime, failed);
                        }
                    }
                    *self.control = Some(control);
                }
                Err(e) => self.fatal = Some(e),
            }
            ui.ctx().request_repaint();
        }
        if self.control.is_none() && self.fatal.is_none() && !self.started {
            // Started without a build (`--no-build`): load now that the GPU is there.
            self.started = true;
            self.retry_start();
        }
        match (self.control.as_mut(), &self.fatal) {
            (Some(control), _) => {
                // eframe reports a frame's whole time (UI, tessellation, painting) on the next.
                if let Some(seconds) = frame.info().cpu_usage {
                    self.frames.note_last(f64::from(seconds) * 1000.0, control);
                }
                self.shell.frame(ui, control, &self.messages);
                self.restart(ui);
                self.frames.after(self.shell.runtime.last_reload_seq());
            }
            (None, Some(reason)) => {
                if startup::show_fatal(ui, reason) {
                    self.retry_start();
                }
            }
            (None, None) => {}
        }
    }
}

/// How many of the latest plain frames the baseline of a reload's frame is taken from.
const PLAIN_FRAMES: usize = 60;

/// What the window knows of its frames' times: the latest reload it has seen, whether the
/// last frame ran one, and the times of the latest frames that ran none, the baseline a
/// reload's frame is measured against (in software painting a plain frame costs a good part
/// of the budget on its own).
#[derive(Default)]
struct FrameTimes {
    reload_seq: u64,
    reloaded_last_frame: bool,
    plain: VecDeque<f64>,
}

impl FrameTimes {
    /// Notes the last frame's time (eframe reports it on the next frame); a frame that ran
    /// a reload is announced with the plain frames' median, for the window bench.
    fn note_last(&mut self, ms: f64, control: &Control) {
        if self.reloaded_last_frame {
            tracing::debug!("the frame that ran reload #{} took {ms:.2} ms", self.reload_seq);
            let mut sorted: Vec<f64> = self.plain.iter().copied().collect();
            sorted.sort_by(f64::total_cmp);
            let plain = sorted.get(sorted.len() / 2);
            control.announce(&serde_json::json!({
                "kind": "reload_frame", "seq": self.reload_seq, "ms": ms, "plain_ms": plain,
            }));
        } else {
            if self.plain.len() == PLAIN_FRAMES {
                self.plain.pop_front();
            }
            self.plain.push_back(ms);
        }
    }

    /// After a frame: whether it ran a reload, from the runtime's latest reload number.
    fn after(&mut self, seq: u64) {
        self.reloaded_last_frame = seq != self.reload_seq;
        self.reload_seq = seq;
    }
}

impl Window<'_> {
    /// Starts the modules again after they could not start (the user fixed the manifest).
    fn retry_start(&mut self) {
        match start_control(self.shell.runtime, self.shell.paths, self.options, &self.inbox) {
            Ok(control) => {
                *self.control = Some(control);
                self.fatal = None;
            }
            Err(e) => self.fatal = Some(e),
        }
    }

    /// A restart (the editor's Restart button after an api edit, or the `restart` command)
    /// first builds every module and the shell with the window open and working, showing the
    /// progress; only then does the window close and the process restart (`restart.rs`),
    /// so the user never faces a closed window for the minutes an api rebuild takes.
    fn restart(&mut self, ui: &mut egui::Ui) {
        let runtime = self.shell.runtime;
        if runtime.take_restart_request() && self.restarting.is_none() {
            match self.shell.paths.restart_plan(runtime) {
                Ok(plan) => {
                    tracing::info!("building the modules and the shell for the restart");
                    self.restart_error = None;
                    if let Some(control) = self.control.as_mut() {
                        control.build_elsewhere_started(runtime, &plan);
                    }
                    self.restarting = Some(Startup::spawn(plan, Arc::clone(&self.waker)));
                }
                Err(e) => self.restart_error = Some(e),
            }
        }
        if let Some(build) = &mut self.restarting {
            let result = build.poll();
            if let Some(control) = self.control.as_mut() {
                match &result {
                    None => {
                        if let Some(progress) = build.latest() {
                            control.build_elsewhere_progress(runtime, progress);
                        }
                    }
                    Some(result) => control.build_elsewhere_ended(runtime, result),
                }
            }
            match result {
                None => {
                    egui::Window::new("Restarting").collapsible(false).resizable(false).show(ui.ctx(), |ui| {
                        ui.label("Building the modules and the shell; the editor keeps running until then.");
                        build.show_bar(ui);
                    });
                }
                Some(Ok(_)) => {
                    self.restarting = None;
                    // Once the window closes it cannot come back: refuse a restart that would
                    // fail after that while everything still runs.
                    match crate::restart::preflight(runtime) {
                        Ok(()) => {
                            *self.shell.next = Next::Restart;
                            // Every state is handed back: the editor need not ask about unsaved text.
                            runtime.set_restarting();
                            ui.ctx().send_viewport_cmd(ViewportCommand::Close);
                        }
                        Err(message) => self.restart_error = Some(message),
                    }
                }
                Some(Err(failed)) => {
                    self.restarting = None;
                    tracing::error!("the restart's build failed: {}", failed.message);
                    self.restart_error = Some(failed.message);
                }
            }
        }
        if let Some(error) = &self.restart_error {
            let mut open = true;
            egui::Window::new("The restart did not happen").open(&mut open).show(ui.ctx(), |ui| {
                ui.label("Everything keeps running as it was. The build said:");
                egui::ScrollArea::vertical().max_height(300.0).show(ui, |ui| {
                    ui.monospace(error);
                });
            });
            if !open {
                self.restart_error = None;
            }
        }
    }
}

/// Loads the modules and starts live edit; a window keeps running when stdin ends.
fn start_control(runtime: &Runtime, paths: &Paths, options: &Options, inbox: &Inbox) -> Result<Control, String> {
    let mut control = Control::start(runtime, paths, options, inbox)?;
    control.keep_running_at_end_of_input();
    Ok(control)
}

impl Shell<'_> {
    /// One frame: messages, module code, the safe point, and the next repaint's schedule.
    fn frame(&mut self, ui: &mut egui::Ui, control: &mut Control, messages: &Receiver<Message>) {
        let ctx = ui.ctx().clone();
        // 1. The controllers' messages, at the safe point before any module code runs.
        while let Ok(message) = messages.try_recv() {
            match control.handle(self.runtime, message) {
                Next::Continue => {}
                // The window builds before it closes for a restart (see `Window`).
                Next::Restart => self.runtime.request_restart(),
                next => {
                    *self.next = next;
                    ctx.send_viewport_cmd(ViewportCommand::Close);
                }
            }
        }

        // 2. Module code: tick, then every apps module's UI, the editor unless it is broken.
        // Frames stop while idle: a module's first tick after a pause gets at most 0.1 s.
        let dt = self.last_frame.elapsed().as_secs_f32().min(0.1);
        self.last_frame = Instant::now();
        self.runtime.tick(dt);
        let modules = self.runtime.modules();
        let editor = modules.iter().find(|m| m.id == EDITOR).cloned();
        let mut problem = self.editor_problem(editor.as_ref());
        // The editor draws last: other apps add their panels (the game's view) first, and the
        // editor's central area takes what is left.
        let mut apps = self.runtime.ui_modules();
        apps.sort_by_key(|id| id == EDITOR);
        for id in apps {
            if id == EDITOR && problem.is_some() {
                continue;
            }
            if let Err(e) = self.runtime.ui(&id, ui) {
                tracing::error!("{e}");
                if id == EDITOR
                    && let Some(editor) = &editor
                {
                    self.ui_error = Some((editor.generation, e.into_message()));
                    problem = self.editor_problem(Some(editor));
                    ctx.request_repaint();
                }
            }
        }
        let mut action = None;
        if let Some(reason) = &problem {
            let screen = fallback::Screen {
                reason,
                can_roll_back: self.roll_back_source().is_some_and(|p| p.is_file()),
                busy: control.busy(),
                notice: self.notice.as_deref(),
            };
            action = screen.show(ui);
        } else if let Some(editor) = &editor {
            self.remember_good(editor);
        }

        // 3. The safe point: no module code is on the stack.
        let mut changed = control.safe_point(self.runtime);

        match action {
            Some(fallback::Action::Retry) => {
                self.notice = Some("building and loading the editor...".to_owned());
                // `ui_error` stays: it names the failing generation, so the broken UI is not
                // called again while the build runs, and a new generation clears it.
                control.run_local(self.runtime, Op::Reload { id: EDITOR.to_owned(), build: true });
                changed = true;
            }
            Some(fallback::Action::RollBack) => {
                self.notice = Some(self.roll_back().unwrap_or_else(|e| e));
                changed = true;
            }
            None => {}
        }
        for answer in control.take_local() {
            self.notice = Some(match answer {
                Ok(_) => {
                    self.ui_error = None;
                    self.build_error = None;
                    "the editor was rebuilt and loaded".to_owned()
                }
                Err(e) => self.retry_fresh().unwrap_or(e),
            });
        }

        if !self.ready {
            self.ready = true;
            control.announce_ready();
        }
        // 4. Repaint only when something changed or is in flight.
        if changed {
            ctx.request_repaint();
        }
        if control.busy() {
            ctx.request_repaint_after(POLL);
        }
        if let Some(settle) = control.next_poll() {
            ctx.request_repaint_after(settle);
        }
    }
}

/// The egui context the window will use, and a waker that asks it for a repaint from any
/// thread: what the inbox wakes the window with. Made before the window opens, so the
/// controllers can be started (in `main.rs`) before it.
pub(crate) fn wakeup() -> (egui::Context, Waker) {
    let ctx = egui::Context::default();
    // Every wake goes through one thread: a log line may be written on the main thread while
    // egui holds its context lock, and asking for a repaint there would wait for that lock.
    let (wake, wakes) = std::sync::mpsc::channel::<()>();
    {
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            for () in wakes {
                ctx.request_repaint();
            }
        });
    }
    let waker: Waker = {
        let wake = Mutex::new(wake);
        Arc::new(move || {
            let _ = wake.lock().unwrap_or_else(PoisonError::into_inner).send(());
        })
    };
    (ctx, waker)
}

/// Opens the window and runs the frame loop until it closes (or `quit`/`restart` arrives
/// on a controller). With `build`, the window opens at once and shows the build's progress
/// until the modules are built; then they load. `ctx` and `waker` come from [`wakeup`];
/// the inbox wakes the window with that waker.
pub(crate) fn run(
    runtime: &Runtime,
    paths: &Paths,
    options: &Options,
    build: bool,
    (ctx, waker): (egui::Context, Waker),
    (inbox, messages): (Inbox, Receiver<Message>),
    controllers: Controllers,
) -> Result<(), String> {
    playground_api::log::set_waker(Arc::clone(&waker));
    // Modules load once the window has opened its GPU device (the first frame), so that a
    // renderer finds it in `initialize`. Without a build, manifests that do not resolve
    // fail here, before any window.
    let startup = if build {
        Some(Startup::spawn(paths.build_plan(runtime)?, Arc::clone(&waker)))
    } else {
        runtime.resolve().map_err(|e| e.to_string())?;
        None
    };
    let mut control = None;
    let gpu = GpuSource::pending();
    runtime.set_gpu(Arc::clone(&gpu));

    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Playground")
            .with_app_id("playground")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([640.0, 400.0]),
        ..Default::default()
    };
    let mut next = Next::Continue;
    let window = Window {
        shell: Shell::new(runtime, paths, &mut next, None),
        control: &mut control,
        startup,
        options,
        waker,
        inbox,
        messages,
        fatal: None,
        frames: FrameTimes::default(),
        restarting: None,
        restart_error: None,
        started: false,
    };
    let result = eframe::run_native_ext(
        "Playground",
        native,
        Some(ctx),
        Box::new(move |cc| {
            match gpu::from_window(cc.wgpu_render_state.as_ref()) {
                Ok(device) => gpu.set(device),
                Err(why) => gpu.set_unavailable(why),
            }
            Ok(Box::new(window) as Box<dyn eframe::App + '_>)
        }),
    );
    if let Err(e) = result {
        return Err(format!("the window failed: {e} (no display? `playground --headless` runs without one)"));
    }
    // Closed by the user (not by `quit` or `restart`): quit.
    let next = if matches!(next, Next::Continue) { Next::Quit } else { next };
    match control {
        Some(control) => control.finish(runtime, paths, controllers, &next),
        None => {
            controllers.stop();
            Ok(())
        }
    }
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
