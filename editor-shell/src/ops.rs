//! What the editor's controllers (the stdin line protocol and MCP) can ask of it, and the one
//! place that does it. Every operation runs on the main thread at the safe point, when no
//! module code is on the stack. Operations that need cargo (`Reload { build: true }`,
//! `Create`) build on a background thread so the frame loop never waits for them, and finish
//! at a later safe point: [`Dispatcher::poll`] hands their answers back.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

use module_loader::runtime::Preopener;
use module_loader::{Runtime, cargo, scaffold};
use playground_api::host::{BuildOutcome, BuildStatus, ModuleStatus, ReloadOutcome, ReloadRecord};
use playground_api::serde_json::{self, Value, json};

use crate::inbox::{Answer, Json, Op};
use playground_api::{codec, tracing};

/// How many compiler errors an answer quotes in full; the rest are counted.
const ERRORS_SHOWN: usize = 5;

pub(crate) const HELP: &str = "commands: modules | call <id> <method> [json] | state <id> | inspect <id> | reload <id> | \
     history | build | capture [file.png] | restart | quit";

/// The app whose view `capture` reads.
const GAME: &str = "apps/game";

fn to_value<T: playground_api::serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| Value::String(format!("unprintable: {e}")))
}

/// What to do when a background build ends.
enum Then {
    Reload { id: String },
    Load { id: String, created: Value },
}

struct Job<R> {
    reply: R,
    outcome: Receiver<BuildOutcome>,
    then: Then,
}

/// Runs operations against the runtime and keeps the ones waiting for a build. `R` is how
/// the caller will deliver an answer (a line on stdout, an MCP reply).
pub(crate) struct Dispatcher<R> {
    workspace: PathBuf,
    modules_root: PathBuf,
    release: bool,
    jobs: Vec<Job<R>>,
    /// The last build this dispatcher ran. Live edit publishes its own builds to the runtime
    /// every tick; `build` shows whichever of the two finished last.
    last_build: Option<BuildOutcome>,
}

impl<R> Dispatcher<R> {
    pub(crate) fn new(workspace: PathBuf, modules_root: PathBuf) -> Dispatcher<R> {
        Dispatcher { workspace, modules_root, release: !cfg!(debug_assertions), jobs: Vec::new(), last_build: None }
    }

    /// Runs `op` now, or starts its build: `Some` is the answer, `None` means it comes from a
    /// later [`Dispatcher::poll`].
    pub(crate) fn run(&mut self, runtime: &Runtime, op: Op, reply: R) -> Option<(R, Answer)> {
        let answer = match op {
            Op::Help => Ok(Json::of(HELP)),
            Op::Modules => Ok(Json::of(&runtime.modules())),
            Op::History => Ok(Json::of(&runtime.history())),
            Op::BuildStatus => Ok(Json::of(&self.build_status(runtime))),
            Op::State { id } => runtime
                .state(&id)
                .map_err(|e| e.to_string())
                .and_then(|bytes| codec::to_json(&bytes))
                .map(|value| Json::of(&value)),
            Op::Inspect { id } => inspect(runtime, &id),
            Op::Call { id, method, args } => call(runtime, &id, &method, args.as_ref()),
            Op::Reload { id, build: false } => reload(runtime, &id),
            Op::Reload { id, build: true } => return self.build_then_reload(runtime, id, reply),
            Op::Create { id, description } => return self.create(runtime, &id, &description, reply),
            Op::Capture { path } => capture(runtime, path.as_deref()),
        };
        Some((reply, answer))
    }

    /// Finishes the operations whose build ended; call it at the safe point.
    pub(crate) fn poll(&mut self, runtime: &Runtime) -> Vec<(R, Answer)> {
        let mut done = Vec::new();
        let mut waiting = Vec::new();
        for job in std::mem::take(&mut self.jobs) {
            match job.outcome.try_recv() {
                Ok(outcome) => done.push((job, Some(outcome))),
                Err(std::sync::mpsc::TryRecvError::Empty) => waiting.push(job),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => done.push((job, None)),
            }
        }
        self.jobs = waiting;
        done.into_iter()
            .map(|(job, outcome)| {
                let answer = match outcome {
                    Some(outcome) => self.after_build(runtime, job.then, outcome),
                    None => Err("the build thread stopped without an outcome; nothing was reloaded".to_owned()),
                };
                (job.reply, answer)
            })
            .collect()
    }

    /// Whether operations are waiting for a build.
    pub(crate) fn busy(&self) -> bool {
        !self.jobs.is_empty()
    }

    fn build_status(&self, runtime: &Runtime) -> BuildStatus {
        let mut status = runtime.build_status();
        let ours = self.last_build.as_ref();
        if ours.is_some_and(|o| status.last.as_ref().is_none_or(|l| l.finished_at <= o.finished_at)) {
            status.last = ours.cloned();
        }
        for job in &self.jobs {
            if let Then::Reload { id } | Then::Load { id, .. } = &job.then
                && !status.building.contains(id)
            {
                status.building.push(id.clone());
            }
        }
        status
    }

    /// Builds `packages` on a thread; once built, the libraries in `ahead` are opened there
    /// too, so the frame that reloads them does not wait for the dynamic linker.
    fn spawn_build(
        &self,
        modules: Vec<String>,
        packages: Vec<String>,
        ahead: Option<(Preopener, Vec<PathBuf>)>,
    ) -> Receiver<BuildOutcome> {
        let (tx, rx) = channel();
        let (workspace, release) = (self.workspace.clone(), self.release);
        std::thread::spawn(move || {
            // A Cargo.toml that asks shared crates for more would rebuild the api under us.
            let outcome = match cargo::shared_crates_veto(&workspace, &modules) {
                Some(reason) => BuildOutcome {
                    modules,
                    packages,
                    error: Some(format!("{reason}: send `restart` to rebuild the api and every module")),
                    ..BuildOutcome::default()
                },
                None => cargo::build(&workspace, &modules, &packages, release, |_| {}),
            };
            if outcome.success
                && let Some((preopener, libraries)) = ahead
            {
                for library in &libraries {
                    preopener.open(library);
                }
            }
            let _ = tx.send(outcome);
        });
        rx
    }

    fn build_then_reload(&mut self, runtime: &Runtime, id: String, reply: R) -> Option<(R, Answer)> {
        // A module that does not resolve (a broken manifest, an unknown id) gets no build:
        // the reload itself says what is wrong, with the file.
        let Ok(graph) = runtime.resolve() else { return Some((reply, reload(runtime, &id))) };
        if !graph.contains(&id) {
            return Some((reply, reload(runtime, &id)));
        }
        let packages = graph.packages_for(std::slice::from_ref(&id));
        let libraries = graph.get(&id).and_then(|source| source.library.clone()).into_iter().collect();
        let outcome = self.spawn_build(vec![id.clone()], packages, Some((runtime.preopener(), libraries)));
        self.jobs.push(Job { reply, outcome, then: Then::Reload { id } });
        None
    }

    fn create(&mut self, runtime: &Runtime, id: &str, description: &str, reply: R) -> Option<(R, Answer)> {
        // A module still running from a folder that is gone counts as existing too.
        if runtime.modules().iter().any(|m| m.id == id) {
            return Some((reply, Err(format!("`{id}` already exists; pick another name"))));
        }
        let made = match scaffold::create(&self.modules_root, id, description) {
            Ok(made) => made,
            Err(message) => return Some((reply, Err(message))),
        };
        tracing::info!("created {} at {}; building it", made.id, made.dir.display());
        let created = json!({
            "id": made.id,
            "package": made.package,
            "dir": made.dir.display().to_string(),
            "files": made.files,
        });
        let outcome = self.spawn_build(vec![made.id.clone()], vec![made.package], None);
        self.jobs.push(Job { reply, outcome, then: Then::Load { id: made.id, created } });
        None
    }

    fn after_build(&mut self, runtime: &Runtime, then: Then, outcome: BuildOutcome) -> Answer {
        let answer = finish(runtime, then, &outcome);
        self.last_build = Some(outcome);
        answer
    }
}

/// Applies a finished build: reloads (or loads) what it built, or says why it did not.
fn finish(runtime: &Runtime, then: Then, outcome: &BuildOutcome) -> Answer {
    let build_us = (outcome.duration_ms * 1000.0) as u64;
    match then {
        Then::Reload { id } if !outcome.success => {
            Err(format!("{}; the old generation of `{id}` still runs, untouched", build_failure(outcome)))
        }
        Then::Reload { id } => reload_record(runtime.reload_set(&[id], build_us)).map(|r| Json::of(&r)),
        Then::Load { id, created } if !outcome.success => Err(format!(
            "`{id}` was created at {} but {}",
            created["dir"].as_str().unwrap_or_default(),
            build_failure(outcome)
        )),
        Then::Load { id, mut created } => {
            let record = reload_record(runtime.reload_set(std::slice::from_ref(&id), build_us))?;
            created["reload"] = to_value(&record);
            created["module"] =
                runtime.modules().into_iter().find(|m| m.id == id).map_or(Value::Null, |m| to_value(&m));
            Ok(Json::of(&created))
        }
    }
}

/// A failed build in a few lines: the first errors as rustc renders them.
fn build_failure(outcome: &BuildOutcome) -> String {
    let errors: Vec<_> = outcome.errors().collect();
    let mut text = format!("the build failed with {} error(s)", errors.len());
    for d in errors.iter().take(ERRORS_SHOWN) {
        text.push_str("\n\n");
        text.push_str(d.rendered.trim_end());
    }
    if errors.len() > ERRORS_SHOWN {
        text.push_str(&format!("\n\n... and {} more (build.status lists them all)", errors.len() - ERRORS_SHOWN));
    }
    if let Some(error) = &outcome.error {
        text.push_str("\n\n");
        text.push_str(error);
    }
    text
}

fn call(runtime: &Runtime, id: &str, method: &str, args: Option<&Value>) -> Answer {
    let args = match args {
        None => Vec::new(),
        Some(value) => codec::from_json(value)?,
    };
    let bytes = runtime.call(id, method, &args).map_err(|e| e.to_string())?;
    codec::to_json(&bytes).map(|value| Json::of(&value))
}

/// The game's view as PNG (`view.capture`, `capture`): drawn once and read back.
fn capture(runtime: &Runtime, path: Option<&str>) -> Answer {
    match runtime.modules().into_iter().find(|m| m.id == GAME).map(|m| m.status) {
        None => return Err(format!("there is no game view to capture: no `{GAME}` module is loaded")),
        Some(ModuleStatus::Failed(why)) => {
            return Err(format!("there is no game view to capture: `{GAME}` is not running: {why}"));
        }
        Some(_) => {}
    }
    let bytes = runtime.call(GAME, "capture", &[]).map_err(|e| format!("the capture failed: {e}"))?;
    let png: Vec<u8> = codec::decode(&bytes)?;
    let (width, height) = png_size(&png).ok_or("the game's capture is not a PNG")?;
    match path {
        Some(path) => {
            std::fs::write(path, &png).map_err(|e| format!("cannot write the capture to {path}: {e}"))?;
            Ok(Json::of(&json!({ "path": path, "width": width, "height": height, "bytes": png.len() })))
        }
        None => {
            use base64::Engine as _;
            let data = base64::engine::general_purpose::STANDARD.encode(&png);
            Ok(Json::of(&json!({ "width": width, "height": height, "png": data })))
        }
    }
}

/// A PNG's width and height, from its header.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.get(..8)? != b"\x89PNG\r\n\x1a\n" {
        return None;
    }
    let word = |at: usize| Some(u32::from_be_bytes(png.get(at..at + 4)?.try_into().ok()?));
    Some((word(16)?, word(20)?))
}

fn reload(runtime: &Runtime, id: &str) -> Answer {
    reload_record(runtime.reload(id)).map(|record| Json::of(&record))
}

/// A reload that swapped is its record; any other outcome is an error that says the old
/// generation still runs (or, rarely, that it could not be brought back).
fn reload_record(result: module_loader::Result<ReloadRecord>) -> Result<ReloadRecord, String> {
    let record = result.map_err(|e| e.to_string())?;
    match &record.outcome {
        ReloadOutcome::Swapped => Ok(record),
        ReloadOutcome::Refused(why) => Err(format!("reload refused; what ran before still runs, untouched: {why}")),
        ReloadOutcome::RolledBack(why) => {
            Err(format!("reload rolled back, the old generation runs with its state: {why}"))
        }
        ReloadOutcome::Broken(why) => Err(format!("reload failed and could not roll back: {why}")),
    }
}

fn inspect(runtime: &Runtime, id: &str) -> Answer {
    let Some(info) = runtime.modules().into_iter().find(|m| m.id == id) else {
        return Err(format!("there is no module `{id}` (module.list shows every module)"));
    };
    let state = match info.status {
        ModuleStatus::Loaded | ModuleStatus::Paused(_) => {
            match runtime.state(id).map_err(|e| e.to_string()).and_then(|b| codec::to_json(&b)) {
                Ok(state) => state,
                Err(message) => json!({ "error": message }),
            }
        }
        // Contracts have no instance; a module that is not running has no state to read.
        ModuleStatus::Contract | ModuleStatus::Failed(_) => Value::Null,
    };
    let history: Vec<ReloadRecord> = runtime
        .history()
        .into_iter()
        .filter(|r| r.modules.iter().any(|m| m == id) || r.requested.iter().any(|m| m == id))
        .collect();
    Ok(Json::of(&json!({
        "module": to_value(&info),
        "state": state,
        "last_error": info.last_error,
        "history": to_value(&history),
    })))
}
