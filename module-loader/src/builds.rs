//! The build service: the one way module code gets built, whoever asks (live edit, an MCP
//! `module.create` or `module.reload`, the graph's Reload, the start-up build, a restart).
//!
//! Two parts. [`Builder`] (`Send + Sync`) runs one build to its end on the calling thread:
//! [`Builder::plan`] is the one place that decides what a build of some modules covers (their
//! packages and their dependents', whether the recorded rustc commands may rebuild them, the
//! libraries to open ahead) and [`Builder::run`] runs it (the shared crates' check, the rustc
//! fast path or cargo, keeping the commands cargo ran). [`BuildService`] lives on the main
//! thread and queues requests: one build runs at a time, on a thread of its own; requests that
//! arrive while it runs wait and then build together, and a request for modules the running
//! build already covers joins it, so one build answers both. Its [`BuildStatus`] is the one
//! progress stream the editor's top bar, the line protocol and MCP's `build.status` read.
//!
//! The fast path (see [`crate::rustc`]): cargo builds run with `-vv` and the rustc command of
//! each module crate is recorded, with a digest of its `Cargo.toml`. When only a module's
//! own sources changed, its command is re-run directly, which skips cargo's start-up,
//! fingerprinting and locking (about half the time). A command that no longer applies (its
//! `Cargo.toml` changed, a file it names is gone) is not run: cargo builds instead, and the
//! build's `note` says why.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use module_rules::Graph;
use module_rules::commands::{self, FastUnit};
use playground_api::host::{BuildOutcome, BuildStatus};
use playground_api::tracing;

use crate::cargo::{self, Invocations, Progress};
use crate::runtime::{Preopener, Runtime};
use crate::rustc::{self, FastBuild};
use crate::shared::{self, Veto};

/// Asks the host to reach its safe point soon (a window repaints, the headless loop stops
/// waiting). Called on the watcher's and the build's threads.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// What a build does about the shared crates' features (ARCHITECTURE.md, invariant 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shared {
    /// Refuse to build when a dependency asks the shared crates for other features: that
    /// would rebuild the api under the running process.
    Veto,
    /// Bring `workspace-hack/` up to date first: a restart, which builds a new api anyway.
    Update,
}

/// One build, decided by [`Builder::plan`].
#[derive(Clone, Debug)]
pub struct Job {
    pub modules: Vec<String>,
    pub packages: Vec<String>,
    /// The rustc commands that rebuild the modules without cargo, when they apply.
    fast: Option<Vec<FastUnit>>,
    /// Why the fast path was not taken, when a recorded command no longer applies.
    note: Option<String>,
    shared: Shared,
    /// Whether the shared crates must be checked at all (a `Cargo.toml` or a module folder
    /// changed, a recorded command no longer applies, or the build is a start-up's or a
    /// restart's).
    check_shared: bool,
    /// The libraries opened ahead once built (see [`Preopener`]).
    ahead: Vec<PathBuf>,
    /// Each crate the build compiles and its `Cargo.toml`, whose digest is kept with the
    /// crate's recorded command.
    manifests: Vec<(String, PathBuf)>,
    pub requested_by: Vec<String>,
}

/// How a build ended.
#[derive(Clone, Debug)]
pub enum Finished {
    Built(BuildOutcome),
    /// Not built: the changes ask the shared crates for other features, which only a
    /// restart's build may give the api. The sentence says which modules and crates.
    NeedsRestart(String),
}

/// The recorded rustc commands, shared by every build of a process.
#[derive(Default)]
struct Recorded {
    commands: Invocations,
    /// A digest of each crate's `Cargo.toml` when its command was recorded.
    manifests: BTreeMap<String, String>,
    /// Crates whose command came from an earlier session and has not built in this one: such
    /// a command failing may mean it is out of date, so cargo decides.
    inherited: BTreeSet<String>,
    /// Whether the commands an earlier session kept were read.
    looked_for_kept: bool,
}

/// Runs builds in one workspace (`Send + Sync`: any thread may run one).
pub struct Builder {
    workspace: PathBuf,
    modules_root: PathBuf,
    /// Where cargo puts the module libraries, and where the commands are kept.
    library_dir: PathBuf,
    release: bool,
    recorded: Mutex<Recorded>,
}

impl Builder {
    pub fn new(workspace: &Path, modules_root: &Path, library_dir: &Path, release: bool) -> Builder {
        Builder {
            workspace: workspace.to_owned(),
            modules_root: modules_root.to_owned(),
            library_dir: library_dir.to_owned(),
            release,
            recorded: Mutex::new(Recorded::default()),
        }
    }

    fn recorded(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What building `modules` covers: their packages and their dependents' (a contract's
    /// change rebuilds every module it is compiled into), and, when `try_fast`, the rustc
    /// commands that may rebuild them without cargo. `needs_cargo` says a change was one only
    /// cargo can handle (a `Cargo.toml`, a module folder appearing).
    pub fn plan(&self, graph: &Graph, modules: &[String], try_fast: bool, needs_cargo: bool) -> Job {
        let packages = graph.packages_for(modules);
        let ahead = modules.iter().filter_map(|id| graph.get(id).and_then(|s| s.library.clone())).collect();
        let manifests = graph
            .sources()
            .filter(|s| packages.contains(&s.package))
            .filter_map(|s| Some((commands::crate_of(s.library.as_deref()?)?, s.dir.join("Cargo.toml"))))
            .collect();
        let (fast, note) = if try_fast { self.fast_units(graph, modules, needs_cargo) } else { (None, None) };
        // A manifest that changed since its command was recorded (`note`) may ask the shared
        // crates for more, as any change only cargo handles may.
        let check_shared = needs_cargo || !try_fast || note.is_some();
        Job {
            modules: modules.to_vec(),
            packages,
            fast,
            note,
            shared: Shared::Veto,
            check_shared,
            ahead,
            manifests,
            requested_by: Vec::new(),
        }
    }

    /// A build of every module with a library: the start-up build, or a restart's
    /// ([`Shared::Update`]).
    pub fn plan_all(&self, graph: &Graph, shared: Shared, requested_by: &str) -> Job {
        let modules: Vec<String> = graph.sources().map(|s| s.manifest.id.clone()).collect();
        let mut job = self.plan(graph, &modules, false, true);
        job.shared = shared;
        job.ahead.clear();
        job.requested_by = vec![requested_by.to_owned()];
        job
    }

    /// The recorded commands that rebuild `modules`, or `None` (with the reason, when a
    /// command exists but no longer applies).
    fn fast_units(
        &self,
        graph: &Graph,
        modules: &[String],
        needs_cargo: bool,
    ) -> (Option<Vec<FastUnit>>, Option<String>) {
        let mut recorded = self.recorded();
        if !recorded.looked_for_kept {
            recorded.looked_for_kept = true;
            let kept = rustc::load(&self.library_dir, &rustc::inputs(&self.workspace, &self.modules_root));
            recorded.inherited.extend(kept.commands.keys().cloned());
            recorded.commands.extend(kept.commands);
            recorded.manifests.extend(kept.manifests);
        }
        let units = match commands::fast_path(graph, modules, needs_cargo, &recorded.commands) {
            Ok(units) => units,
            Err(why) => {
                tracing::debug!("building with cargo: {why}");
                return (None, None);
            }
        };
        for (unit, id) in units.iter().zip(modules) {
            let manifest = graph.get(id).map(|source| source.dir.join("Cargo.toml"));
            match (manifest, recorded.manifests.get(&unit.krate)) {
                (Some(manifest), Some(then)) if *then != digest(&manifest) => {
                    let why = format!("{} changed since it was recorded", manifest.display());
                    return (None, Some(no_longer_applies(&unit.krate, &why)));
                }
                (Some(_), Some(_)) => {}
                // Recorded before manifests were digested: cargo decides, and records both.
                _ => return (None, None),
            }
            if let Some(missing) = rustc::missing_input(&unit.command, &self.workspace) {
                let why = format!("{} is gone", missing.display());
                return (None, Some(no_longer_applies(&unit.krate, &why)));
            }
        }
        (Some(units), None)
    }

    /// Runs `job` to its end on this thread, reporting cargo's progress to `on_progress`;
    /// once built, the libraries are opened ahead with `preopener`, when given.
    pub fn run(&self, mut job: Job, mut on_progress: impl FnMut(Progress), preopener: Option<&Preopener>) -> Finished {
        let started = Instant::now();
        match job.shared {
            Shared::Update => {
                if let Err(why) = shared::update(&self.workspace) {
                    tracing::warn!("the shared crates' features were not updated: {why}");
                }
            }
            Shared::Veto if job.check_shared => match shared::veto(&self.workspace, &job.modules) {
                None => {}
                Some(Veto::Restart(reason)) => return Finished::NeedsRestart(reason),
                Some(Veto::Unchecked(reason)) => {
                    return Finished::Built(BuildOutcome {
                        modules: job.modules.clone(),
                        packages: job.packages.clone(),
                        error: Some(reason),
                        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                        finished_at: now(),
                        ..BuildOutcome::default()
                    });
                }
            },
            Shared::Veto => {}
        }
        let fast = job.fast.take().and_then(|units| match self.rebuild_directly(&job, &units) {
            Ok(outcome) => {
                tracing::info!(
                    "rebuilt {} with rustc directly in {:.0} ms",
                    job.modules.join(", "),
                    outcome.duration_ms
                );
                Some(outcome)
            }
            Err(why) => {
                tracing::info!("{why}; building with cargo");
                job.note = Some(format!("{why}: built with cargo"));
                None
            }
        });
        let mut outcome = fast.unwrap_or_else(|| self.cargo(&job, &mut on_progress));
        outcome.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        outcome.requested_by = job.requested_by;
        outcome.note = job.note;
        if outcome.success
            && let Some(preopener) = preopener
        {
            for library in &job.ahead {
                preopener.open(library);
            }
        }
        Finished::Built(outcome)
    }

    /// Rebuilds each module with its recorded rustc command. `Err` means "use cargo instead",
    /// with the reason.
    fn rebuild_directly(&self, job: &Job, units: &[FastUnit]) -> Result<BuildOutcome, String> {
        let started = Instant::now();
        let mut outcome = BuildOutcome {
            modules: job.modules.clone(),
            packages: job.packages.clone(),
            fast_path: true,
            success: true,
            ..BuildOutcome::default()
        };
        for unit in units {
            let inherited = self.recorded().inherited.contains(&unit.krate);
            match rustc::rebuild(&self.workspace, &unit.command, &unit.library) {
                FastBuild::Built(warnings) => {
                    outcome.diagnostics.extend(warnings);
                    self.recorded().inherited.remove(&unit.krate);
                }
                FastBuild::Failed(_) if inherited => {
                    return Err(format!("the rustc command kept from an earlier session for `{}` failed", unit.krate));
                }
                FastBuild::Failed(errors) => {
                    outcome.success = false;
                    outcome.diagnostics.extend(errors);
                }
                FastBuild::Unusable(why) => return Err(format!("the rustc fast path is not usable ({why})")),
            }
        }
        outcome.sort_errors_first();
        outcome.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        outcome.finished_at = now();
        Ok(outcome)
    }

    /// Builds `job` with cargo, recording each module crate's rustc command (and its
    /// `Cargo.toml`'s digest) for the fast path, and keeping them for the next session.
    fn cargo(&self, job: &Job, on_progress: &mut impl FnMut(Progress)) -> BuildOutcome {
        // Taken before cargo reads them: a manifest saved during the build then makes the
        // commands miss rather than pass for the new manifest's.
        let inputs = rustc::inputs(&self.workspace, &self.modules_root);
        let manifests: BTreeMap<String, String> =
            job.manifests.iter().map(|(krate, manifest)| (krate.clone(), digest(manifest))).collect();
        let mut recorded = Invocations::new();
        let outcome = cargo::build_recording(
            &self.workspace,
            &job.modules,
            &job.packages,
            self.release,
            on_progress,
            Some(&mut recorded),
        );
        if !recorded.is_empty() {
            let mut known = self.recorded();
            known.inherited.retain(|krate| !recorded.contains_key(krate));
            for krate in recorded.keys() {
                if let Some(d) = manifests.get(krate) {
                    known.manifests.insert(krate.clone(), d.clone());
                }
            }
            known.commands.extend(recorded);
            // Kept as one set: what an earlier session kept and this one has not rebuilt too.
            let mut kept = rustc::load(&self.library_dir, &inputs);
            kept.commands.extend(known.commands.clone());
            kept.manifests.extend(known.manifests.clone());
            rustc::save(&self.library_dir, &inputs, &kept);
        }
        outcome
    }
}

/// The sentence for a recorded command that may not be re-run.
fn no_longer_applies(krate: &str, why: &str) -> String {
    format!("the recorded rustc command of `{krate}` no longer applies ({why}): built with cargo")
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// A digest of a file's bytes ("missing" when it cannot be read).
fn digest(file: &Path) -> String {
    let mut hasher = DefaultHasher::new();
    match std::fs::read(file) {
        Ok(bytes) => bytes.hash(&mut hasher),
        Err(_) => return "missing".to_owned(),
    }
    format!("{:016x}", hasher.finish())
}

/// Whether the sources a library was built from changed since it was built: a file cargo's
/// dep-info beside it (`lib<crate>.d`, which lists the crate's sources and those of the
/// contracts compiled into it) is newer than the library. `false` when there is no dep-info
/// (a library not built here): then there is nothing to rebuild it from.
pub fn sources_changed(library: &Path) -> bool {
    let Ok(built) = std::fs::metadata(library).and_then(|m| m.modified()) else { return false };
    let Ok(info) = std::fs::read_to_string(library.with_extension("d")) else { return false };
    let Some((_, sources)) = info.split_once(": ") else { return false };
    sources
        .split_whitespace()
        .map(Path::new)
        .any(|source| std::fs::metadata(source).and_then(|m| m.modified()).map_or(true, |modified| modified > built))
}

/// A digest of what is in `dir` (a module's folder, its build output aside): each file's
/// path, length and modification time. Compared with itself, never with a clock: the kernel
/// stamps files from a coarse clock that can read a few milliseconds behind `SystemTime::now`.
fn folder_stamp(dir: &Path) -> u64 {
    fn walk(dir: &Path, into: &mut Vec<(PathBuf, u64, Option<SystemTime>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => {
                    if entry.file_name() != "target" {
                        walk(&entry.path(), into);
                    }
                }
                Ok(_) => {
                    let meta = entry.metadata().ok();
                    let len = meta.as_ref().map_or(0, std::fs::Metadata::len);
                    into.push((entry.path(), len, meta.and_then(|m| m.modified().ok())));
                }
                Err(_) => {}
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    let mut digest = DefaultHasher::new();
    files.hash(&mut digest);
    digest.finish()
}

/// A request waiting for the next build.
struct Request {
    ticket: Ticket,
    modules: Vec<String>,
    origin: String,
    needs_cargo: bool,
}

struct Running {
    tickets: Vec<Ticket>,
    modules: Vec<String>,
    /// Each module's folder as the build started ([`folder_stamp`]): a file saved since may
    /// not be in what it compiles.
    stamps: BTreeMap<String, u64>,
    requested_by: Vec<String>,
    outcome: Receiver<Finished>,
    progress: Receiver<Progress>,
}

/// Names one request to the [`BuildService`]; its build's [`BuildEvent::Finished`] lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// What [`BuildService::poll`] saw.
#[derive(Clone, Debug)]
pub enum BuildEvent {
    /// A build started for these modules, asked for by these.
    Started { modules: Vec<String>, requested_by: Vec<String> },
    /// A build ended; it answers every ticket listed.
    Finished { tickets: Vec<Ticket>, modules: Vec<String>, finished: Finished },
}

/// The queue of builds, driven from the host's safe point (see the module's documentation).
pub struct BuildService {
    builder: Arc<Builder>,
    queue: Vec<Request>,
    running: Option<Running>,
    status: BuildStatus,
    wake: Wake,
    next_ticket: u64,
}

impl BuildService {
    pub fn new(builder: Builder, wake: Wake) -> BuildService {
        BuildService {
            builder: Arc::new(builder),
            queue: Vec::new(),
            running: None,
            status: BuildStatus::default(),
            wake,
            next_ticket: 0,
        }
    }

    /// The builds as the editor, the line protocol and MCP show them.
    pub fn status(&self) -> &BuildStatus {
        &self.status
    }

    /// Asks for a build of `modules` (and whatever depends on them) for `origin` ("live
    /// edit", "module.reload", ...). A request for modules the running build already covers
    /// joins it, unless only cargo can handle its change (`needs_cargo`) or one of their files
    /// was saved after that build started (it may have read the text before); any other
    /// waits for the next build, which covers every request waiting.
    pub fn request(&mut self, modules: Vec<String>, origin: &str, needs_cargo: bool) -> Ticket {
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        if let Some(running) = &mut self.running
            && !needs_cargo
            && modules.iter().all(|m| running.modules.contains(m))
            && modules
                .iter()
                .all(|m| running.stamps.get(m).is_some_and(|s| *s == folder_stamp(&self.builder.modules_root.join(m))))
        {
            running.tickets.push(ticket);
            if !running.requested_by.iter().any(|o| o == origin) {
                running.requested_by.push(origin.to_owned());
            }
            self.status.requested_by.clone_from(&running.requested_by);
            return ticket;
        }
        self.queue.push(Request { ticket, modules, origin: origin.to_owned(), needs_cargo });
        (self.wake)();
        ticket
    }

    /// Whether a build is running or waiting.
    pub fn busy(&self) -> bool {
        self.running.is_some() || !self.queue.is_empty()
    }

    /// Shows a build the host runs on a thread of its own (a restart's, which builds the
    /// shell too) in the status, as if this service ran it: who asked, and for what.
    pub fn begin_elsewhere(&mut self, modules: Vec<String>, requested_by: Vec<String>) {
        self.status.building = modules;
        self.status.requested_by = requested_by;
        self.status.progress = None;
    }

    /// The progress of the build [`BuildService::begin_elsewhere`] shows.
    pub fn progress_elsewhere(&mut self, progress: Progress) {
        self.status.progress = Some((progress.done, progress.total));
    }

    /// Takes `outcome` as the last build, as if this service had run it (the start-up build,
    /// run before the service existed, or one shown with [`BuildService::begin_elsewhere`]):
    /// its errors show until the next good build.
    pub fn note_build(&mut self, outcome: BuildOutcome) {
        if self.running.is_none() {
            self.status.building.clear();
            self.status.requested_by.clear();
            self.status.progress = None;
        }
        self.status.record(outcome);
    }

    /// Says a restart is needed, and why (an edit of immortal code, a dependency that asks
    /// shared crates for more).
    pub fn note_restart_needed(&mut self, reason: String) {
        self.status.restart_needed = true;
        self.status.restart_reason = Some(reason);
    }

    /// The safe-point step: takes in the running build's progress, ends it when it is done,
    /// and starts the next one. Publishes the status to the runtime.
    pub fn poll(&mut self, runtime: &Runtime) -> Vec<BuildEvent> {
        let mut events = Vec::new();
        self.finish(&mut events);
        if self.running.is_none() && !self.queue.is_empty() {
            self.start(runtime, &mut events);
        }
        runtime.set_build_status(self.status.clone());
        events
    }

    fn finish(&mut self, events: &mut Vec<BuildEvent>) {
        let Some(running) = &self.running else { return };
        while let Ok(p) = running.progress.try_recv() {
            self.status.progress = Some((p.done, p.total));
        }
        let finished = match running.outcome.try_recv() {
            Ok(finished) => finished,
            Err(std::sync::mpsc::TryRecvError::Empty) => return,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => Finished::Built(BuildOutcome {
                modules: running.modules.clone(),
                requested_by: running.requested_by.clone(),
                error: Some("the build thread stopped without an outcome".to_owned()),
                finished_at: now(),
                ..BuildOutcome::default()
            }),
        };
        let Some(running) = self.running.take() else { return };
        // Requests that joined while it ran are its askers too.
        let mut finished = finished;
        if let Finished::Built(outcome) = &mut finished {
            outcome.requested_by.clone_from(&running.requested_by);
        }
        self.status.building.clear();
        self.status.requested_by.clear();
        self.status.progress = None;
        match &finished {
            Finished::Built(outcome) => self.status.record(outcome.clone()),
            Finished::NeedsRestart(reason) => self.note_restart_needed(reason.clone()),
        }
        events.push(BuildEvent::Finished { tickets: running.tickets, modules: running.modules, finished });
    }

    fn start(&mut self, runtime: &Runtime, events: &mut Vec<BuildEvent>) {
        let requests = std::mem::take(&mut self.queue);
        let mut modules: Vec<String> = Vec::new();
        let mut requested_by: Vec<String> = Vec::new();
        for request in &requests {
            for id in &request.modules {
                if !modules.contains(id) {
                    modules.push(id.clone());
                }
            }
            if !requested_by.contains(&request.origin) {
                requested_by.push(request.origin.clone());
            }
        }
        let needs_cargo = requests.iter().any(|r| r.needs_cargo);
        let tickets: Vec<Ticket> = requests.iter().map(|r| r.ticket).collect();
        let graph = match runtime.resolve() {
            Ok(graph) => graph,
            Err(e) => {
                // A broken manifest: nothing builds, and the build says which file.
                let outcome = BuildOutcome {
                    modules: modules.clone(),
                    requested_by,
                    error: Some(e.to_string()),
                    finished_at: now(),
                    ..BuildOutcome::default()
                };
                self.status.record(outcome.clone());
                events.push(BuildEvent::Finished { tickets, modules, finished: Finished::Built(outcome) });
                return;
            }
        };
        let mut job = self.builder.plan(&graph, &modules, true, needs_cargo);
        job.requested_by.clone_from(&requested_by);
        let (outcome_tx, outcome) = channel();
        let (progress_tx, progress) = channel();
        let builder = Arc::clone(&self.builder);
        let wake = Arc::clone(&self.wake);
        let preopener = runtime.preopener();
        // What each module's folder holds as the build starts: a request that finds it changed
        // may have saved after the build read it, and does not join.
        let stamps = modules.iter().map(|m| (m.clone(), folder_stamp(&self.builder.modules_root.join(m)))).collect();
        std::thread::spawn(move || {
            let on_progress = |p| {
                if progress_tx.send(p).is_ok() {
                    wake();
                }
            };
            let finished = builder.run(job, on_progress, Some(&preopener));
            let _ = outcome_tx.send(finished);
            wake();
        });
        self.status.building.clone_from(&modules);
        self.status.requested_by.clone_from(&requested_by);
        events.push(BuildEvent::Started { modules: modules.clone(), requested_by: requested_by.clone() });
        self.running = Some(Running { tickets, modules, stamps, requested_by, outcome, progress });
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::{folder_stamp, sources_changed};

    #[test]
    fn a_library_is_stale_when_a_source_its_dep_info_lists_is_newer() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let library = dir.path().join("libx.so");
        let source = dir.path().join("lib.rs");
        let contract = dir.path().join("contract.rs");
        for file in [&library, &source, &contract] {
            std::fs::write(file, "x").expect("write");
        }
        let at = |file: &std::path::Path, secs: u64| {
            let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs);
            std::fs::File::options().write(true).open(file).and_then(|f| f.set_modified(when)).expect("set mtime");
        };
        at(&library, 10);
        at(&source, 5);
        at(&contract, 5);
        assert!(!sources_changed(&library), "no dep-info: nothing to rebuild it from");

        std::fs::write(
            library.with_extension("d"),
            format!("{}: {} {}\n", library.display(), source.display(), contract.display()),
        )
        .expect("write the dep-info");
        assert!(!sources_changed(&library), "every source is older than the library");
        at(&contract, 20);
        assert!(sources_changed(&library), "a contract compiled into it changed");
        at(&contract, 5);
        std::fs::remove_file(&source).expect("remove a source");
        assert!(sources_changed(&library), "a source it was built from is gone");
    }

    #[test]
    fn a_modules_folder_stamp_moves_with_its_files_and_not_with_build_output() {
        let module = tempfile::tempdir().expect("a module folder");
        let source = module.path().join("src/deep/lib.rs");
        let built = module.path().join("target/debug/libx.so");
        for file in [&source, &built] {
            std::fs::create_dir_all(file.parent().expect("a folder")).expect("folders");
            std::fs::write(file, "x").expect("write");
        }
        let at = |file: &std::path::Path, secs: u64| {
            let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs);
            std::fs::File::options().write(true).open(file).and_then(|f| f.set_modified(when)).expect("set mtime");
        };
        at(&source, 5);
        let stamp = folder_stamp(module.path());
        assert_eq!(folder_stamp(module.path()), stamp, "nothing changed");
        at(&built, 20);
        assert_eq!(folder_stamp(module.path()), stamp, "build output does not count");
        at(&source, 15);
        assert_ne!(folder_stamp(module.path()), stamp, "a source saved since, folders deep");
        at(&source, 5);
        std::fs::write(&source, "xy").expect("write");
        at(&source, 5);
        assert_ne!(folder_stamp(module.path()), stamp, "a save with the same time but another length");
    }
}
