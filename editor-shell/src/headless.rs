//! The headless host: modules tick without a window, a line protocol on stdin controls them,
//! and live edit swaps in what the watcher saw change.
//!
//! Every answer is one line on stdout: `ok <json>` or `error <message>`. Live-edit happenings
//! arrive as `event <json>` lines between answers. Commands: `modules`, `call <id> <method>
//! [json args]`, `state <id>`, `inspect <id>`, `reload <id>`, `history`, `build`, `restart`,
//! `help`, `quit`. Requests from the MCP server (`mcp.rs`) arrive on the same channel as the
//! lines and go through the same dispatch (`ops.rs`); with MCP over stdio there are no lines
//! and stdout carries only the protocol. Everything runs at the safe point between ticks.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use module_loader::Runtime;
use module_loader::live::{LiveEdit, LiveEvent};
use playground_api::{serde_json, tracing};

use crate::mcp;
use crate::ops::{Answer, Dispatcher, Json, Line, parse_line};
use crate::workspace::{Paths, print};

const TICK: Duration = Duration::from_millis(16);

/// Everything the loop waits for, on one channel.
pub(crate) enum Inbox {
    /// A line of the stdin protocol.
    Line(String),
    /// Stdin closed.
    LinesEnded,
    /// A request from the MCP server's thread.
    Mcp(mcp::Request),
    /// The MCP transport ended (for stdio: the client went away), and why.
    McpEnded(String),
}

/// Where an answer goes.
enum Reply {
    Line,
    Mcp(mcp::ReplyTo),
}

fn deliver(reply: Reply, answer: Answer) {
    match reply {
        Reply::Line => match answer {
            Ok(Json(text)) => print(&format!("ok {text}\n")),
            Err(message) => print(&format!("error {}\n", message.replace('\n', " "))),
        },
        // The client may have gone (cancelled, disconnected): nothing to tell it then.
        Reply::Mcp(reply) => {
            let _ = reply.send(answer);
        }
    }
}

/// What the loop should do after a message.
enum Next {
    Continue,
    Quit,
    Restart,
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
    /// The MCP server to start, if any.
    pub(crate) mcp: Option<mcp::Transport>,
}

/// Loads every module and serves commands until `quit`, the end of input, or (with MCP over
/// stdio) the end of the MCP session.
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

    let (inbox, messages) = mpsc::channel::<Inbox>();
    // With MCP over stdio, stdin and stdout belong to the protocol: no lines, no `ready`.
    let lines = !matches!(options.mcp, Some(mcp::Transport::Stdio));
    let server = match &options.mcp {
        Some(transport) => Some(mcp::start(transport, inbox.clone())?),
        None => None,
    };
    if lines {
        print("ready\n");
        std::thread::spawn(move || {
            for line in input.lines() {
                let Ok(line) = line else { break };
                if inbox.send(Inbox::Line(line)).is_err() {
                    return;
                }
            }
            let _ = inbox.send(Inbox::LinesEnded);
        });
    } else {
        drop(inbox);
    }

    let mut dispatcher = Dispatcher::<Reply>::new(paths.root.clone(), paths.modules.clone());
    let mut last = Instant::now();
    let next = loop {
        let mut next = Next::Continue;
        // Every message is handled here, between ticks: the safe point.
        match messages.recv_timeout(TICK.saturating_sub(last.elapsed())) {
            Ok(Inbox::Line(line)) => match parse_line(&line) {
                Ok(Line::Empty) => deliver(Reply::Line, Ok(Json("null".to_owned()))),
                Ok(Line::Quit) => {
                    deliver(Reply::Line, Ok(Json::of("bye")));
                    next = Next::Quit;
                }
                Ok(Line::Restart) => {
                    deliver(Reply::Line, Ok(Json::of("restarting")));
                    next = Next::Restart;
                }
                Ok(Line::Op(op)) => {
                    if let Some((reply, answer)) = dispatcher.run(runtime, op, Reply::Line) {
                        deliver(reply, answer);
                    }
                }
                Err(message) => deliver(Reply::Line, Err(message)),
            },
            Ok(Inbox::Mcp(request)) => {
                if let Some((reply, answer)) = dispatcher.run(runtime, request.op, Reply::Mcp(request.reply)) {
                    deliver(reply, answer);
                }
            }
            Ok(Inbox::LinesEnded) => {
                // A served MCP endpoint keeps the editor up without a terminal.
                if server.is_none() {
                    next = Next::Quit;
                }
            }
            Ok(Inbox::McpEnded(why)) => {
                tracing::info!("the MCP server stopped: {why}");
                if !lines {
                    next = Next::Quit;
                }
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
                    if lines {
                        print(&event_line(&event));
                    } else {
                        tracing::info!("live edit: {}", event_line(&event).trim_end());
                    }
                }
            }
            for (reply, answer) in dispatcher.poll(runtime) {
                deliver(reply, answer);
            }
        }
    };
    if dispatcher.busy() {
        tracing::warn!("quitting with builds still running; their requests get no answer");
    }
    drop(dispatcher);
    if let Some(server) = server {
        server.stop();
    }
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
