//! What the editor's controllers (the stdin line protocol and MCP) can ask of it, and the one
//! place that does it. Every operation runs on the main thread at the safe point, when no
//! module code is on the stack. Operations that need a build (`Reload { build: true }`,
//! `Create`) ask the build service for one and finish when it ends, at a later safe point:
//! [`Dispatcher::finished`] hands their answers back.

use std::path::PathBuf;

use module_loader::builds::{BuildService, Finished, Ticket};
use module_loader::{Runtime, scaffold};
use playground_api::host::{BuildOutcome, ModuleStatus, ReloadOutcome, ReloadRecord};
use playground_api::serde_json::{self, Value, json};

use crate::inbox::{Answer, Json, Op};
use playground_api::{codec, tracing};

/// How many compiler errors an answer quotes in full; the rest are counted.
const ERRORS_SHOWN: usize = 5;

pub(crate) const HELP: &str = "commands: modules | call <id> <method> [json] | state <id> | inspect <id> | reload <id> | \
     rebuild <id> | history | build | capture [file.png] | restart | quit";

/// The app whose view `capture` reads.
const GAME: &str = "apps/game";

fn to_value<T: playground_api::serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| Value::String(format!("unprintable: {e}")))
}

/// What to do when a build ends.
enum Then {
    Reload { id: String },
    Load { id: String, created: Value },
}

struct Job<R> {
    reply: R,
    ticket: Ticket,
    then: Then,
}

/// Runs operations against the runtime and keeps the ones waiting for a build. `R` is how
/// the caller will deliver an answer (a line on stdout, an MCP reply).
pub(crate) struct Dispatcher<R> {
    modules_root: PathBuf,
    jobs: Vec<Job<R>>,
}

impl<R> Dispatcher<R> {
    pub(crate) fn new(modules_root: PathBuf) -> Dispatcher<R> {
        Dispatcher { modules_root, jobs: Vec::new() }
    }

    /// Runs `op` now, or asks `builds` for its build: `Some` is the answer, `None` means it
    /// comes from [`Dispatcher::finished`] when that build ends.
    pub(crate) fn run(
        &mut self,
        runtime: &Runtime,
        builds: &mut BuildService,
        op: Op,
        reply: R,
    ) -> Option<(R, Answer)> {
        let answer = match op {
            Op::Help => Ok(Json::of(HELP)),
            Op::Modules => Ok(Json::of(&runtime.modules())),
            Op::History => Ok(Json::of(&runtime.history())),
            Op::BuildStatus => Ok(Json::of(&runtime.build_status())),
            Op::State { id } => runtime
                .state(&id)
                .map_err(|e| e.to_string())
                .and_then(|bytes| codec::to_json(&bytes))
                .map(|value| Json::of(&value)),
            Op::Inspect { id } => inspect(runtime, &id),
            Op::Call { id, method, args } => call(runtime, &id, &method, args.as_ref()),
            Op::Reload { id, build: false } => reload(runtime, &id),
            Op::Reload { id, build: true } => return self.build_then_reload(runtime, builds, id, reply),
            Op::Create { id, description } => return self.create(runtime, builds, &id, &description, reply),
            Op::Capture { path } => capture(runtime, path.as_deref()),
        };
        Some((reply, answer))
    }

    /// Answers the operations waiting for the build that answers `tickets`: `record` is the
    /// reload that followed it, if it built.
    pub(crate) fn finished(
        &mut self,
        runtime: &Runtime,
        tickets: &[Ticket],
        finished: &Finished,
        record: Option<&Result<ReloadRecord, String>>,
    ) -> Vec<(R, Answer)> {
        let (done, waiting): (Vec<Job<R>>, Vec<Job<R>>) =
            std::mem::take(&mut self.jobs).into_iter().partition(|job| tickets.contains(&job.ticket));
        self.jobs = waiting;
        done.into_iter().map(|job| (job.reply, answer(runtime, job.then, finished, record))).collect()
    }

    /// Whether operations are waiting for a build.
    pub(crate) fn busy(&self) -> bool {
        !self.jobs.is_empty()
    }

    fn build_then_reload(
        &mut self,
        runtime: &Runtime,
        builds: &mut BuildService,
        id: String,
        reply: R,
    ) -> Option<(R, Answer)> {
        // A module that does not resolve (a broken manifest, an unknown id) gets no build:
        // the reload itself says what is wrong, with the file.
        let Ok(graph) = runtime.resolve() else { return Some((reply, reload(runtime, &id))) };
        if !graph.contains(&id) {
            return Some((reply, reload(runtime, &id)));
        }
        let ticket = builds.request(vec![id.clone()], "module.reload", false);
        self.jobs.push(Job { reply, ticket, then: Then::Reload { id } });
        None
    }

    fn create(
        &mut self,
        runtime: &Runtime,
        builds: &mut BuildService,
        id: &str,
        description: &str,
        reply: R,
    ) -> Option<(R, Answer)> {
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
        // A new crate: only cargo can build it (and check what its dependencies ask).
        let ticket = builds.request(vec![made.id.clone()], "module.create", true);
        self.jobs.push(Job { reply, ticket, then: Then::Load { id: made.id, created } });
        None
    }
}

/// The answer to an operation whose build ended: the reload (or load) that followed it, or
/// why there was none.
fn answer(runtime: &Runtime, then: Then, finished: &Finished, record: Option<&Result<ReloadRecord, String>>) -> Answer {
    let outcome = match finished {
        Finished::Built(outcome) => outcome,
        Finished::NeedsRestart(reason) => {
            return Err(format!("{reason}: send `restart` to rebuild the api and every module"));
        }
    };
    let record = || -> Result<ReloadRecord, String> {
        let record = record.cloned().unwrap_or_else(|| Err("nothing was reloaded".to_owned()))?;
        reload_record(Ok(record))
    };
    match then {
        Then::Reload { id } if !outcome.success => {
            Err(format!("{}; the old generation of `{id}` still runs, untouched", build_failure(outcome)))
        }
        Then::Reload { .. } => record().map(|r| Json::of(&r)),
        Then::Load { id, created } if !outcome.success => Err(format!(
            "`{id}` was created at {} but {}",
            created["dir"].as_str().unwrap_or_default(),
            build_failure(outcome)
        )),
        Then::Load { id, mut created } => {
            let record = record()?;
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
