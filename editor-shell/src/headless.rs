//! The headless host: modules tick without a window, a line protocol on stdin controls them,
//! and live edit swaps in what the watcher saw change.
//!
//! Every answer is one line on stdout: `ok <json>` or `error <message>`. Live-edit happenings
//! arrive as `event <json>` lines between answers. Commands: `modules`, `call <id> <method>
//! [json args]`, `state <id>`, `inspect <id>`, `reload <id>`, `history`, `build`, `restart`,
//! `help`, `quit`. Requests from the MCP server (`mcp.rs`) arrive on the same channel as the
//! lines and go through the same dispatch (`ops.rs`); with MCP over stdio there are no lines
//! and stdout carries only the protocol. Everything runs at the safe point between ticks.

use std::io::BufRead;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use module_loader::Runtime;

// The inbox lives with the rest of the shared loop machinery; MCP names it from here.
pub(crate) use crate::control::Inbox;
use crate::control::{Control, Next, Options};
use crate::workspace::Paths;

const TICK: Duration = Duration::from_millis(16);

/// Loads every module and serves commands until `quit`, the end of input, or (with MCP over
/// stdio) the end of the MCP session.
pub(crate) fn run(
    runtime: &Runtime,
    paths: &Paths,
    options: &Options,
    input: impl BufRead + Send + 'static,
) -> Result<(), String> {
    let mut control = Control::start(runtime, paths, options, input, None)?;
    control.announce_ready();
    let mut last = Instant::now();
    let next = loop {
        // Every message is handled here, between ticks: the safe point.
        let wait = TICK.saturating_sub(last.elapsed());
        let next = match control.recv(control.next_poll().map_or(wait, |settle| settle.min(wait))) {
            // Live edit has news, or its changes have settled: act now rather than at the next
            // tick (a save's latency is what users feel).
            Ok(Inbox::Wake) => {
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
        if !matches!(next, Next::Continue) {
            break next;
        }
        if last.elapsed() >= TICK {
            let dt = last.elapsed().as_secs_f32();
            last = Instant::now();
            runtime.tick(dt);
            // The safe point: no module code is on the stack.
            control.safe_point(runtime);
            if runtime.take_restart_request() {
                break Next::Restart;
            }
        }
    };
    control.finish(runtime, paths, &next)
}
