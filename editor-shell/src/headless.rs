//! The headless host: modules tick without a window, a line protocol on stdin controls them,
//! and live edit swaps in what the watcher saw change.
//!
//! Every answer is one line on stdout: `ok <json>` or `error <message>`. Live-edit happenings
//! arrive as `event <json>` lines between answers. Commands: `modules`, `call <id> <method>
//! [json args]`, `state <id>`, `inspect <id>`, `reload <id>`, `history`, `build`, `restart`,
//! `help`, `quit` (`lines.rs`). Requests from the MCP server (`mcp.rs`) arrive in the same
//! inbox (`inbox.rs`) as the lines and go through the same dispatch (`ops.rs`); with MCP over
//! stdio there are no lines and stdout carries only the protocol. Everything runs at the
//! safe point between ticks.
//!
//! `restart` builds every module and the shell on a thread while the modules keep ticking and
//! commands keep their answers; only a good build restarts the process. A failed one is an
//! event (`restart_failed`, with the build's message) and everything runs on as it was.

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use module_loader::Runtime;
use module_loader::cargo::Progress;
use playground_api::host::BuildOutcome;
use playground_api::{serde_json, tracing};

use crate::control::{Control, Controllers, Next, Options};
use crate::inbox::{Inbox, Message};
use crate::workspace::{BuildFailed, Paths};

const TICK: Duration = Duration::from_millis(16);

/// A restart's build, running on its thread: its result, and cargo's progress.
struct RestartBuild {
    outcome: Receiver<Result<BuildOutcome, BuildFailed>>,
    progress: Receiver<Progress>,
}

/// Loads every module and serves commands until `quit`, the end of input, or (with MCP over
/// stdio) the end of the MCP session. `built` is how the start-up build went, if one ran: a
/// failed one does not stop the start (older builds of the modules load, and `build` shows
/// the errors), so an assistant on MCP can still see what to fix.
pub(crate) fn run(
    runtime: &Runtime,
    paths: &Paths,
    options: &Options,
    (inbox, messages): (Inbox, Receiver<Message>),
    controllers: Controllers,
    built: Option<Result<BuildOutcome, BuildFailed>>,
) -> Result<(), String> {
    let mut control = Control::start(runtime, paths, options, &inbox)?;
    match built {
        Some(Ok(outcome)) => control.note_build(runtime, outcome),
        Some(Err(failed)) => control.note_failed_build(runtime, failed),
        None => {}
    }
    control.announce_ready();
    let mut last = Instant::now();
    let mut restart_build: Option<RestartBuild> = None;
    let next = loop {
        // Every message is handled here, between ticks: the safe point.
        let wait = TICK.saturating_sub(last.elapsed());
        let next = match messages.recv_timeout(control.next_poll().map_or(wait, |settle| settle.min(wait))) {
            // Live edit has news, or its changes have settled: act now rather than at the next
            // tick (a save's latency is what users feel).
            Ok(Message::Wake) => {
                control.safe_point(runtime);
                continue;
            }
            Ok(message) => control.handle(runtime, message),
            Err(mpsc::RecvTimeoutError::Timeout) if control.next_poll().is_some_and(|d| d.is_zero()) => {
                control.safe_point(runtime);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Next::Continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => Next::Quit,
        };
        match next {
            Next::Continue => {}
            Next::Restart => start_restart_build(runtime, paths, &mut control, &mut restart_build),
            next => break next,
        }
        if last.elapsed() >= TICK {
            let dt = last.elapsed().as_secs_f32();
            last = Instant::now();
            runtime.tick(dt);
            // The safe point: no module code is on the stack.
            control.safe_point(runtime);
            if runtime.take_restart_request() {
                start_restart_build(runtime, paths, &mut control, &mut restart_build);
            }
        }
        if let Some(build) = &restart_build {
            while let Ok(progress) = build.progress.try_recv() {
                control.build_elsewhere_progress(runtime, progress);
            }
        }
        let result = restart_build.as_ref().map(|build| build.outcome.try_recv());
        if let Some(Ok(result)) = &result {
            control.build_elsewhere_ended(runtime, result);
        }
        match result {
            Some(Ok(Ok(_))) => match crate::restart::preflight(runtime) {
                Ok(()) => break Next::Restart,
                Err(message) => {
                    restart_build = None;
                    restart_failed(&control, &message);
                }
            },
            Some(Ok(Err(failed))) => {
                restart_build = None;
                restart_failed(&control, &failed.message);
            }
            Some(Err(mpsc::TryRecvError::Disconnected)) => {
                restart_build = None;
                restart_failed(&control, "the restart's build stopped without an outcome");
            }
            Some(Err(mpsc::TryRecvError::Empty)) | None => {}
        }
    };
    control.finish(runtime, paths, controllers, &next)
}

/// Starts building every module and the shell for a restart, unless a build for one runs.
fn start_restart_build(runtime: &Runtime, paths: &Paths, control: &mut Control, build: &mut Option<RestartBuild>) {
    if build.is_some() {
        return;
    }
    let plan = match paths.restart_plan(runtime) {
        Ok(plan) => plan,
        Err(message) => return restart_failed(control, &message),
    };
    tracing::info!("building the modules and the shell for the restart; the modules keep running");
    control.build_elsewhere_started(runtime, &plan);
    let (done, outcome) = mpsc::channel();
    let (step, progress) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(plan.run_reporting("building for the restart", |p| {
            let _ = step.send(p);
        }));
    });
    *build = Some(RestartBuild { outcome, progress });
}

/// A restart that did not happen: said on stderr and as an event; nothing else changes.
fn restart_failed(control: &Control, message: &str) {
    tracing::error!("the restart did not happen: {message}");
    control.announce(&serde_json::json!({ "kind": "restart_failed", "message": message }));
}
