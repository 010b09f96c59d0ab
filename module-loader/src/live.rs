//! Live edit: watch module sources, build what changed, and swap it in at the safe point.
//!
//! A file watcher (notify, debounced to tens of milliseconds) reports changed paths; each is
//! mapped to the module whose folder holds it (editor swap and temp files are ignored). One
//! cargo build runs on a background thread for every module the changes reach (the changed
//! modules and their dependents); changes that arrive during a build wait for the next one,
//! so a burst of saves costs at most two builds. When the build succeeds, the changed modules
//! and their dependents reload as one transaction at the next [`LiveEdit::poll`]; when it
//! fails, its diagnostics are kept and nothing is touched. What a path means is
//! `module_rules::paths`' call: an edit of immortal code (the api, the loader, the shell, the
//! workspace's build settings) cannot be swapped and is reported as a restart.
//!
//! The host does not poll on a timer: the watcher and the build thread call the host's
//! [`Wake`] whenever they have something, the host polls at its next safe point, and
//! [`LiveEdit::next_poll`] tells it when the pending changes will have settled. Every
//! millisecond between a save and the swap is the user's waiting time.
//!
//! Fast path: every cargo build records the rustc command it ran for each module crate. When
//! the next changes touch only the sources of dylib modules (no `Cargo.toml`, no contract),
//! those commands are re-run directly ([`crate::rustc`]), which skips cargo's overhead. The
//! commands outlive the session (kept beside the libraries), so a new session's first edit
//! takes the fast path too; a kept command that fails is checked with cargo once, since it
//! may be what is out of date.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use playground_api::host::{BuildOutcome, BuildStatus, ReloadRecord};
use playground_api::tracing;

use module_rules::commands::{self, FastUnit};
use module_rules::paths::{Layout, PathClass};

use crate::cargo::{self, Invocations, Progress};
use crate::error::{Error, Result};
use crate::runtime::Runtime;
use crate::rustc::{self, FastBuild};

/// How long the watcher holds an event to fold repeats of it (an editor's save is several
/// writes, or a write and a rename, within a millisecond or two) into one.
/// notify-debouncer-full delays each event by this much, checked every [`DEBOUNCE_TICK`];
/// it does not wait for quiet, so a long burst of saves leaks through it ([`SETTLE`] holds
/// those). Every edit waits this long before rustc starts.
const DEBOUNCE: Duration = Duration::from_millis(5);
/// The debouncer's thread wakes this often even when nothing happens: 2 ms cost 1.7% of a
/// core at idle with the window open, 5 ms costs 0.6% (BENCHMARKS.md).
const DEBOUNCE_TICK: Duration = Duration::from_millis(5);

/// How long after another build took a module ([`LiveEdit::built_elsewhere`]) its changes
/// still count as that build's. The watcher stamps an event when it receives it, which can
/// be a few milliseconds after the write; and that build reads the sources later still.
const CLAIM_GRACE: Duration = Duration::from_millis(100);

/// How long the modules folder must be quiet before a build starts, when the changes are
/// part of a burst (a formatter, "save all", an assistant writing files, saves arriving while
/// a build runs): this is what turns a burst into one build. 20 ms let a burst of saves 15 ms
/// apart through when the machine was busy (a sleep overshoots); 50 ms holds. A new edit
/// after calm does not wait for it.
const SETTLE: Duration = Duration::from_millis(50);

/// A change that follows this much calm is a new edit, not part of a burst: its build starts
/// as soon as the watcher reports it (leading edge), without [`SETTLE`]. A single save then
/// costs only [`DEBOUNCE`] before rustc starts.
const CALM: Duration = Duration::from_millis(200);

/// Asks the host to reach its safe point soon and call [`LiveEdit::poll`] (a window repaints,
/// the headless loop stops waiting). Called on the watcher's and the build's threads.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// Rebuilds each module with its recorded rustc command. `Err` means "use cargo instead".
/// `inherited` holds the crates whose command an earlier session recorded and this one has
/// not yet built with: such a command failing may mean it is out of date, so cargo decides.
fn rebuild_directly(
    workspace: &Path,
    modules: &[String],
    packages: &[String],
    fast: &[FastUnit],
    inherited: &Mutex<BTreeSet<String>>,
) -> std::result::Result<BuildOutcome, String> {
    let started = Instant::now();
    let mut outcome = BuildOutcome {
        modules: modules.to_vec(),
        packages: packages.to_vec(),
        fast_path: true,
        ..BuildOutcome::default()
    };
    outcome.success = true;
    for unit in fast {
        let from_earlier_session = inherited.lock().is_ok_and(|set| set.contains(&unit.krate));
        match rustc::rebuild(workspace, &unit.command, &unit.library) {
            FastBuild::Built(warnings) => {
                outcome.diagnostics.extend(warnings);
                if let Ok(mut set) = inherited.lock() {
                    set.remove(&unit.krate);
                }
            }
            FastBuild::Failed(_) if from_earlier_session => {
                return Err(format!("the rustc command kept from an earlier session for `{}` failed", unit.krate));
            }
            FastBuild::Failed(errors) => {
                outcome.success = false;
                outcome.diagnostics.extend(errors);
            }
            FastBuild::Unusable(why) => return Err(why),
        }
    }
    outcome.sort_errors_first();
    outcome.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    outcome.finished_at =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    Ok(outcome)
}

/// What [`LiveEdit::poll`] did.
#[derive(Clone, Debug)]
pub enum LiveEvent {
    /// A build started for these modules.
    BuildStarted(Vec<String>),
    /// A build ended (successfully or not); a success is followed by a reload.
    Built(BuildOutcome),
    /// The rebuilt modules were swapped in (or the reload was refused or rolled back).
    Reloaded(ReloadRecord),
    /// A module's folder is gone: it was unloaded, or kept because others need it.
    Removed { id: String, message: String },
    /// Immortal code changed: restart the shell to use it. The sentence names the file.
    RestartNeeded { reason: String },
}

/// How a build on the build thread ended.
enum Finished {
    Built(BuildOutcome),
    /// Not built: the changes ask the shared crates for other features, which only a
    /// restart's build may give the api. The sentence says which modules and crates.
    NeedsRestart(String),
}

struct RunningBuild {
    modules: Vec<String>,
    outcome: Receiver<Finished>,
    progress: Receiver<Progress>,
}

/// The watcher and the build pipeline. Driven from the shell's safe point.
pub struct LiveEdit {
    workspace: PathBuf,
    modules_root: PathBuf,
    /// What a changed path means.
    layout: Layout,
    release: bool,
    events: Receiver<DebounceEventResult>,
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
    pending: BTreeSet<String>,
    /// When the last change arrived, for [`SETTLE`] and [`CALM`].
    last_change: Option<Instant>,
    /// Modules another build (an MCP `module.create` or `module.reload` with a build) took
    /// over at this instant: changes made before it are in that build (see
    /// [`LiveEdit::built_elsewhere`]).
    claimed: BTreeMap<String, Instant>,
    /// Whether the pending changes began after [`CALM`] with no build running: they build at
    /// once instead of settling.
    leading: bool,
    build: Option<RunningBuild>,
    wake: Wake,
    status: BuildStatus,
    /// The rustc command of each module crate's last cargo build, for the fast path.
    invocations: Arc<Mutex<Invocations>>,
    /// Crates whose command came from an earlier session and has not built in this one.
    inherited: Arc<Mutex<BTreeSet<String>>>,
    /// Whether the commands an earlier session kept were looked for (at the first build,
    /// when the runtime says where the libraries are).
    looked_for_kept: bool,
    /// A change since the last build that only cargo can handle (a `Cargo.toml`, a module
    /// folder appearing or going).
    needs_cargo: bool,
    /// Builds that took the rustc fast path.
    pub fast_builds: u32,
    /// Builds started since the watcher started.
    pub builds: u32,
}

impl LiveEdit {
    /// Starts watching `modules_root` and the workspace's immortal code; builds run in
    /// `workspace` with cargo. `wake` is called whenever a poll would find something new: a
    /// file change, build progress, a finished build.
    pub fn watch(workspace: &Path, modules_root: &Path, release: bool, wake: Wake) -> Result<LiveEdit> {
        let (tx, events) = channel();
        let on_change = {
            let wake = Arc::clone(&wake);
            move |result: DebounceEventResult| {
                if tx.send(result).is_ok() {
                    wake();
                }
            }
        };
        let mut debouncer = new_debouncer(DEBOUNCE, Some(DEBOUNCE_TICK), on_change)
            .map_err(|e| Error::new(format!("cannot start the file watcher: {e}")))?;
        // The immortal code is the workspace's, wherever the modules come from (`--modules`):
        // an edit of it must ask for a restart even when it is outside the modules folder.
        let layout = Layout::new(workspace, modules_root);
        for (dir, recursive) in layout.watched() {
            // The modules folder must be watched; an immortal crate's folder may be missing
            // (a workspace laid out otherwise), and then it cannot change either.
            if dir != modules_root && !dir.is_dir() {
                continue;
            }
            let mode = if recursive { RecursiveMode::Recursive } else { RecursiveMode::NonRecursive };
            debouncer.watch(&dir, mode).map_err(|e| Error::new(format!("cannot watch {}: {e}", dir.display())))?;
        }
        Ok(LiveEdit {
            workspace: workspace.to_owned(),
            layout,
            modules_root: modules_root.to_owned(),
            release,
            events,
            _debouncer: debouncer,
            pending: BTreeSet::new(),
            last_change: None,
            claimed: BTreeMap::new(),
            leading: false,
            build: None,
            wake,
            status: BuildStatus::default(),
            invocations: Arc::new(Mutex::new(Invocations::new())),
            inherited: Arc::new(Mutex::new(BTreeSet::new())),
            looked_for_kept: false,
            needs_cargo: false,
            fast_builds: 0,
            builds: 0,
        })
    }

    /// The build pipeline's state, for the editor and MCP.
    pub fn status(&self) -> &BuildStatus {
        &self.status
    }

    /// Marks modules as changed, as if their files had been saved.
    pub fn touch(&mut self, ids: impl IntoIterator<Item = String>) {
        for id in ids {
            self.changed(id);
        }
    }

    /// Says a restart is needed, and why, as live edit does for an edit of immortal code (the
    /// host's start-up build, refused because a dependency asks shared crates for more).
    pub fn note_restart_needed(&mut self, reason: String) {
        self.status.restart_needed = true;
        self.status.restart_reason = Some(reason);
    }

    /// Takes `outcome` as the last build, as if live edit had run it (the host's start-up
    /// build): its errors show until the next good build.
    pub fn note_build(&mut self, outcome: BuildOutcome) {
        self.status.last = Some(outcome);
    }

    /// Another build of `ids` starts now (the host's own operations: an MCP create, or a
    /// reload with a build). Changes to them seen until `CLAIM_GRACE` after now are that
    /// build's, so live edit drops them instead of building and reloading the same modules a
    /// second time; later changes build as usual.
    pub fn built_elsewhere(&mut self, ids: &[String]) {
        let now = Instant::now();
        for id in ids {
            self.pending.remove(id);
            self.claimed.insert(id.clone(), now);
        }
    }

    /// When the host must poll again without being woken: when pending changes will have
    /// settled (at once for a new edit after calm). `None` when only a wake can bring news
    /// (nothing pending, or a build running).
    pub fn next_poll(&self) -> Option<Duration> {
        if self.build.is_some() || self.pending.is_empty() {
            return None;
        }
        match self.last_change {
            Some(at) if !self.leading => Some(SETTLE.saturating_sub(at.elapsed())),
            _ => Some(Duration::ZERO),
        }
    }

    /// Notes a change to module `id`: the first change after calm, with no build running,
    /// starts a new edit whose build need not wait for [`SETTLE`].
    fn changed(&mut self, id: String) {
        let now = Instant::now();
        if self.pending.is_empty() {
            self.leading = self.build.is_none() && self.last_change.is_none_or(|at| now - at >= CALM);
        }
        self.pending.insert(id);
        self.last_change = Some(now);
    }

    /// The safe-point step: takes in file changes, finishes a build (and swaps its result in),
    /// and starts the next build when changes are pending and have settled (`SETTLE`, or at
    /// once for a new edit after `CALM`).
    pub fn poll(&mut self, runtime: &Runtime) -> Vec<LiveEvent> {
        let mut events = Vec::new();
        self.take_changes(&mut events);
        self.finish_build(runtime, &mut events);
        if self.build.is_none() && !self.pending.is_empty() && self.next_poll().is_none_or(|d| d.is_zero()) {
            self.start_build(runtime, &mut events);
        }
        runtime.set_build_status(self.status.clone());
        events
    }

    fn take_changes(&mut self, events: &mut Vec<LiveEvent>) {
        while let Ok(result) = self.events.try_recv() {
            let Ok(batch) = result else { continue };
            for event in batch {
                // Reading is not changing: rustc opening the sources to compile them would
                // otherwise queue the next build, forever.
                if matches!(event.kind, EventKind::Access(_) | EventKind::Other) {
                    continue;
                }
                for path in &event.paths {
                    match self.layout.classify(path) {
                        PathClass::Module { id, edit } | PathClass::Contract { id, edit } => {
                            // Made before another build of this module started: it has it.
                            if self.claimed.get(&id).is_some_and(|at| event.time <= *at + CLAIM_GRACE) {
                                continue;
                            }
                            self.needs_cargo |= edit.needs_cargo();
                            self.changed(id);
                        }
                        PathClass::Immortal { part, file } if !self.status.restart_needed => {
                            let reason = format!(
                                "{} changed ({part}, compiled into the running process): restart to pick it up",
                                file.display()
                            );
                            tracing::warn!("{reason}");
                            self.status.restart_needed = true;
                            self.status.restart_reason = Some(reason.clone());
                            events.push(LiveEvent::RestartNeeded { reason });
                        }
                        PathClass::Immortal { .. } | PathClass::Ignored => {}
                    }
                }
            }
        }
    }

    fn finish_build(&mut self, runtime: &Runtime, events: &mut Vec<LiveEvent>) {
        let Some(build) = &self.build else { return };
        while let Ok(p) = build.progress.try_recv() {
            self.status.progress = Some((p.done, p.total));
        }
        let Ok(finished) = build.outcome.try_recv() else { return };
        let modules = build.modules.clone();
        self.build = None;
        self.status.building.clear();
        self.status.progress = None;
        let outcome = match finished {
            Finished::Built(outcome) => outcome,
            Finished::NeedsRestart(reason) => {
                tracing::warn!("{reason}");
                self.status.restart_needed = true;
                self.status.restart_reason = Some(reason.clone());
                events.push(LiveEvent::RestartNeeded { reason });
                return;
            }
        };
        self.status.last = Some(outcome.clone());
        events.push(LiveEvent::Built(outcome.clone()));
        if !outcome.success {
            let errors = outcome.errors().count();
            tracing::error!(
                "build of {} failed with {errors} error(s); the running code is untouched",
                modules.join(", ")
            );
            return;
        }
        let build_us = (outcome.duration_ms * 1000.0) as u64;
        match runtime.reload_set(&modules, build_us) {
            Ok(record) => events.push(LiveEvent::Reloaded(record)),
            Err(e) => tracing::error!("reload after the build: {e}"),
        }
    }

    fn start_build(&mut self, runtime: &Runtime, events: &mut Vec<LiveEvent>) {
        let changed: Vec<String> = std::mem::take(&mut self.pending).into_iter().collect();
        // Modules whose folder is gone are unloaded (or kept, if others need them).
        let (gone, present): (Vec<String>, Vec<String>) =
            changed.into_iter().partition(|id| !self.modules_root.join(id).join("module.toml").is_file());
        for id in gone {
            let message = runtime.remove(&id).describe(&id);
            tracing::warn!("{message}");
            events.push(LiveEvent::Removed { id, message });
        }
        if present.is_empty() {
            return;
        }
        let Ok(graph) = runtime.resolve() else {
            // A broken manifest: no build, but the reload reports the error with its file.
            if let Ok(record) = runtime.reload_set(&present, 0) {
                events.push(LiveEvent::Reloaded(record));
            }
            return;
        };
        let packages = graph.packages_for(&present);
        let library_dir = runtime.config().library_dir.clone();
        if !self.looked_for_kept {
            self.looked_for_kept = true;
            let kept = rustc::load(&library_dir, &rustc::inputs(&self.workspace, &self.modules_root));
            if let (Ok(mut known), Ok(mut inherited)) = (self.invocations.lock(), self.inherited.lock()) {
                inherited.extend(kept.keys().cloned());
                known.extend(kept);
            }
        }
        // The fast path: each changed module is a dylib whose rustc command we know.
        let known = self.invocations.lock().map(|i| i.clone()).unwrap_or_default();
        let fast = commands::fast_path(&graph, &present, self.needs_cargo, &known)
            .inspect_err(|why| tracing::debug!("building with cargo: {why}"))
            .ok();
        // A changed Cargo.toml (or a new module) may ask shared crates for new features.
        let check_shared = std::mem::take(&mut self.needs_cargo);
        let (outcome_tx, outcome) = channel();
        let (progress_tx, progress) = channel();
        let (workspace, release, modules) = (self.workspace.clone(), self.release, present.clone());
        let modules_root = self.modules_root.clone();
        let invocations = Arc::clone(&self.invocations);
        let inherited = Arc::clone(&self.inherited);
        let wake = Arc::clone(&self.wake);
        if fast.is_some() {
            self.fast_builds += 1;
        }
        // Opened on the build thread once built, so the frame that reloads does not wait for
        // the dynamic linker (see `Preopener`).
        let preopener = runtime.preopener();
        let libraries: Vec<PathBuf> =
            present.iter().filter_map(|id| graph.get(id).and_then(|source| source.library.clone())).collect();
        let open_ahead = move |outcome: &BuildOutcome| {
            if outcome.success {
                for library in &libraries {
                    preopener.open(library);
                }
            }
        };
        std::thread::spawn(move || {
            let started = Instant::now();
            if check_shared && let Some(reason) = cargo::shared_crates_veto(&workspace, &modules) {
                let _ = outcome_tx.send(Finished::NeedsRestart(reason));
                wake();
                return;
            }
            if let Some(fast) = fast {
                match rebuild_directly(&workspace, &modules, &packages, &fast, &inherited) {
                    Ok(outcome) => {
                        tracing::info!(
                            "rebuilt {} with rustc directly in {:.0} ms",
                            modules.join(", "),
                            outcome.duration_ms
                        );
                        open_ahead(&outcome);
                        let _ = outcome_tx.send(Finished::Built(outcome));
                        wake();
                        return;
                    }
                    Err(why) => tracing::info!("rustc fast path not usable ({why}); building with cargo"),
                }
            }
            // Taken before cargo reads them: a manifest saved during the build then makes the
            // kept commands miss rather than pass for the new manifest's.
            let inputs = rustc::inputs(&workspace, &modules_root);
            let mut recorded = Invocations::new();
            let mut result = cargo::build_recording(
                &workspace,
                &modules,
                &packages,
                release,
                |p| {
                    if progress_tx.send(p).is_ok() {
                        wake();
                    }
                },
                Some(&mut recorded),
            );
            if !recorded.is_empty()
                && let Ok(mut known) = invocations.lock()
            {
                if let Ok(mut inherited) = inherited.lock() {
                    inherited.retain(|krate| !recorded.contains_key(krate));
                }
                known.extend(recorded);
                rustc::save(&library_dir, &inputs, &known);
            }
            result.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            open_ahead(&result);
            let _ = outcome_tx.send(Finished::Built(result));
            wake();
        });
        self.builds += 1;
        self.status.building.clone_from(&present);
        events.push(LiveEvent::BuildStarted(present.clone()));
        self.build = Some(RunningBuild { modules: present, outcome, progress });
    }

    /// Whether a build is running or changes are waiting for one.
    pub fn busy(&self) -> bool {
        self.build.is_some() || !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::LiveEdit;

    /// Takes the watcher's events until `id` is pending or a second has passed.
    fn wait_for_pending(live: &mut LiveEdit, id: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            live.take_changes(&mut Vec::new());
            if live.pending.contains(id) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn changes_made_before_another_build_took_a_module_are_not_built_again() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let modules = dir.path().join("modules");
        let source = modules.join("plugins/fresh/src");
        std::fs::create_dir_all(&source).expect("the module folder");
        let mut live = LiveEdit::watch(dir.path(), &modules, false, Arc::new(|| {})).expect("watch");

        // Written (as `module.create` writes its files), then taken by the create's build.
        std::fs::write(source.join("lib.rs"), "// first").expect("write");
        live.built_elsewhere(&["plugins/fresh".to_owned()]);
        assert!(!wait_for_pending(&mut live, "plugins/fresh"), "the create's own files went to a second build");

        // A save after that build started is the user's next edit: it builds.
        std::thread::sleep(super::CLAIM_GRACE);
        std::fs::write(source.join("lib.rs"), "// second").expect("write");
        assert!(wait_for_pending(&mut live, "plugins/fresh"), "a later save was dropped");
    }
}
