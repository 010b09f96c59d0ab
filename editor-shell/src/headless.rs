//! The headless host: modules tick without a window, a line protocol on stdin controls them,
//! and live edit swaps in what the watcher saw change.
//!
//! Every answer is one line on stdout: `ok <json>` or `error <message>`. Live-edit happenings
//! arrive as `event <json>` lines between answers. Commands: `modules`, `call <id> <method>
//! [json args]`, `state <id>`, `reload <id>`, `history`, `build`, `restart`, `help`, `quit`.
//! Everything runs at the safe point between ticks.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use module_loader::Runtime;
use module_loader::live::{LiveEdit, LiveEvent};
use playground_api::host::ReloadOutcome;
use playground_api::{codec, serde_json, tracing};

use crate::workspace::{Paths, print};

const TICK: Duration = Duration::from_millis(16);

const HELP: &str =
    "commands: modules | call <id> <method> [json] | state <id> | reload <id> | history | build | restart | quit";

fn json<T: playground_api::serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("\"unprintable: {e}\""))
}

/// What the loop should do after a command.
enum Next {
    Continue,
    Quit,
    Restart,
}

/// Runs one command.
fn answer(runtime: &Runtime, line: &str) -> (Next, Result<String, String>) {
    let line = line.trim();
    let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    let result = match command {
        "" => Ok("null".to_owned()),
        "quit" | "exit" => return (Next::Quit, Ok(json(&"bye"))),
        "restart" => return (Next::Restart, Ok(json(&"restarting"))),
        "help" => Ok(json(&HELP)),
        "modules" => Ok(json(&runtime.modules())),
        "history" => Ok(json(&runtime.history())),
        "build" => Ok(json(&runtime.build_status())),
        "state" => runtime
            .state(rest)
            .map_err(|e| e.to_string())
            .and_then(|bytes| codec::to_json(&bytes))
            .map(|value| json(&value)),
        "call" => {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next()) {
                (Some(id), Some(method)) => {
                    let args = match parts.next().map(str::trim).filter(|a| !a.is_empty()) {
                        None => Ok(Vec::new()),
                        Some(text) => serde_json::from_str::<serde_json::Value>(text)
                            .map_err(|e| format!("the arguments are not JSON: {e}"))
                            .and_then(|value| codec::from_json(&value)),
                    };
                    args.and_then(|args| runtime.call(id, method, &args).map_err(|e| e.to_string()))
                        .and_then(|bytes| codec::to_json(&bytes))
                        .map(|value| json(&value))
                }
                _ => Err("usage: call <id> <method> [json args]".to_owned()),
            }
        }
        "reload" => match runtime.reload(rest) {
            Ok(record) => match &record.outcome {
                ReloadOutcome::Swapped => Ok(json(&record)),
                ReloadOutcome::Refused(why) => Err(format!("reload refused, the old generation still runs: {why}")),
                ReloadOutcome::RolledBack(why) => {
                    Err(format!("reload rolled back, the old generation runs with its state: {why}"))
                }
                ReloadOutcome::Broken(why) => Err(format!("reload failed and could not roll back: {why}")),
            },
            Err(e) => Err(e.to_string()),
        },
        other => Err(format!("unknown command `{other}`; {HELP}")),
    };
    (Next::Continue, result)
}

fn event_line(event: &LiveEvent) -> String {
    let value = match event {
        LiveEvent::BuildStarted(modules) => serde_json::json!({ "kind": "build_started", "modules": modules }),
        LiveEvent::Built(outcome) => serde_json::json!({ "kind": "built", "outcome": outcome }),
        LiveEvent::Reloaded(record) => serde_json::json!({ "kind": "reloaded", "record": record }),
        LiveEvent::Removed { id, message } => serde_json::json!({ "kind": "removed", "id": id, "message": message }),
        LiveEvent::RestartNeeded => serde_json::json!({
            "kind": "restart_needed",
            "message": "modules/core/api changed: send `restart` to rebuild the shell; every module's state is kept",
        }),
    };
    format!("event {value}\n")
}

/// Options of the headless loop.
pub(crate) struct Options {
    pub(crate) watch: bool,
    /// States saved by the process that restarted into this one.
    pub(crate) restore: Option<PathBuf>,
}

/// Loads every module and serves commands until `quit` or the end of input.
pub(crate) fn run(
    runtime: &Runtime,
    paths: &Paths,
    options: &Options,
    input: impl BufRead + Send + 'static,
) -> Result<(), String> {
    let states = match &options.restore {
        Some(file) => crate::restart::read_states(file)?,
        None => BTreeMap::new(),
    };
    let report = runtime.load_all_with(&states).map_err(|e| e.to_string())?;
    tracing::info!("loaded {} module(s)", report.loaded.len());
    for (id, why) in &report.failed {
        tracing::error!("{id} did not load: {why}");
    }
    let mut live = if options.watch {
        Some(
            LiveEdit::watch(&paths.root, &paths.modules, !cfg!(debug_assertions))
                .map_err(|e| format!("live edit is off: {e}"))?,
        )
    } else {
        None
    };
    print("ready\n");

    let (lines, commands) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in input.lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });

    let mut last = Instant::now();
    let next = loop {
        let mut next = Next::Continue;
        match commands.recv_timeout(TICK.saturating_sub(last.elapsed())) {
            Ok(line) => {
                let (after, result) = answer(runtime, &line);
                match result {
                    Ok(text) => print(&format!("ok {text}\n")),
                    Err(message) => print(&format!("error {}\n", message.replace('\n', " "))),
                }
                next = after;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => next = Next::Quit,
        }
        if !matches!(next, Next::Continue) {
            break next;
        }
        if last.elapsed() >= TICK {
            let dt = last.elapsed().as_secs_f32();
            last = Instant::now();
            runtime.tick(dt);
            // The safe point: no module code is on the stack.
            for record in runtime.run_queued() {
                tracing::info!("queued reload of {}: {:?}", record.requested, record.outcome);
            }
            if let Some(live) = live.as_mut() {
                for event in live.poll(runtime) {
                    print(&event_line(&event));
                }
            }
        }
    };
    match next {
        Next::Restart => crate::restart::restart(runtime, paths),
        _ => {
            for warning in runtime.shutdown_all() {
                tracing::warn!("{warning}");
            }
            Ok(())
        }
    }
}
