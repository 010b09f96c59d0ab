//! The headless host: modules tick without a window, and a line protocol on stdin controls
//! them. Every answer is one line on stdout: `ok <json>` or `error <message>`.
//!
//! Commands: `modules`, `call <id> <method> [json args]`, `state <id>`, `reload <id>`,
//! `history`, `help`, `quit`. Reloads run at the safe point between ticks.

use std::io::BufRead;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use module_loader::Runtime;
use playground_api::host::ReloadOutcome;
use playground_api::{codec, serde_json, tracing};

use crate::workspace::print;

const TICK: Duration = Duration::from_millis(16);

const HELP: &str = "commands: modules | call <id> <method> [json] | state <id> | reload <id> | history | quit";

fn json<T: playground_api::serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("\"unprintable: {e}\""))
}

/// Runs one command; `None` means quit.
fn answer(runtime: &Runtime, line: &str) -> Option<Result<String, String>> {
    let line = line.trim();
    let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    Some(match command {
        "" => return Some(Ok("null".to_owned())),
        "quit" | "exit" => return None,
        "help" => Ok(json(&HELP)),
        "modules" => Ok(json(&runtime.modules())),
        "history" => Ok(json(&runtime.history())),
        "state" => runtime
            .state(rest)
            .map_err(|e| e.to_string())
            .and_then(|bytes| codec::to_json(&bytes))
            .map(|value| json(&value)),
        "call" => {
            let mut parts = rest.splitn(3, ' ');
            let (Some(id), Some(method)) = (parts.next(), parts.next()) else {
                return Some(Err("usage: call <id> <method> [json args]".to_owned()));
            };
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
    })
}

/// Loads every module and serves commands until `quit` or the end of input.
pub(crate) fn run(runtime: &Runtime, input: impl BufRead + Send + 'static) -> Result<(), String> {
    let report = runtime.load_all().map_err(|e| e.to_string())?;
    tracing::info!("loaded {} module(s)", report.loaded.len());
    for (id, why) in &report.failed {
        tracing::error!("{id} did not load: {why}");
    }
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
    loop {
        match commands.recv_timeout(TICK.saturating_sub(last.elapsed())) {
            Ok(line) => match answer(runtime, &line) {
                None => break,
                Some(Ok(text)) => print(&format!("ok {text}\n")),
                Some(Err(message)) => print(&format!("error {}\n", message.replace('\n', " "))),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if last.elapsed() >= TICK {
            let dt = last.elapsed().as_secs_f32();
            last = Instant::now();
            runtime.tick(dt);
            for record in runtime.run_queued() {
                tracing::info!("queued reload of {}: {:?}", record.requested, record.outcome);
            }
        }
    }
    for warning in runtime.shutdown_all() {
        tracing::warn!("{warning}");
    }
    print("ok \"bye\"\n");
    Ok(())
}
