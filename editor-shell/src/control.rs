//! What the headless loop and the window share: loading the modules, the controllers (the
//! stdin line protocol and MCP) feeding one inbox, and the safe-point work between frames
//! (queued reloads, live edit, builds that finished).
//!
//! Both hosts drive a [`Control`] the same way: take messages ([`Control::handle`]), run
//! module code (tick, UI), then [`Control::safe_point`], when no module code is on the stack.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use module_loader::live::{self, LiveEdit, LiveEvent};
use module_loader::{LoadReport, Runtime};
use playground_api::host::{BuildOutcome, BuildStatus};
use playground_api::{serde_json, tracing};

use crate::mcp;
use crate::ops::{Answer, Dispatcher, Json, Line, Op, parse_line};
use crate::workspace::{Paths, print};

/// Called whenever something arrives that the host should look at (a window repaints).
pub(crate) type Waker = Arc<dyn Fn() + Send + Sync>;

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
    /// Live edit has news (a change, progress, a finished build): reach the safe point now.
    Wake,
}

/// Where an answer goes.
pub(crate) enum Reply {
    Line,
    Mcp(mcp::ReplyTo),
    /// The window's own request (the fallback screen's Retry).
    Local,
}

/// What the loop should do after a message.
pub(crate) enum Next {
    Continue,
    Quit,
    Restart,
}

/// Options of both hosts.
pub(crate) struct Options {
    pub(crate) watch: bool,
    /// States saved by the process that restarted into this one.
    pub(crate) restore: Option<PathBuf>,
    /// The MCP server to start, if any.
    pub(crate) mcp: Option<mcp::Transport>,
    /// When the modules do not resolve (a broken `module.toml`, a cycle...): start with none
    /// running and load them once live edit sees a change that fixes it (headless, where an
    /// assistant on MCP must be able to read the error), instead of failing the start (the
    /// window shows its could-not-start screen with Retry).
    pub(crate) wait_for_fix: bool,
}

/// A start whose modules did not resolve, waiting for a fix.
struct Unresolved {
    why: String,
    /// The states a restart handed over, still to be handed to the modules, and their file.
    states: BTreeMap<String, Vec<u8>>,
    restore: Option<PathBuf>,
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

/// The controllers and the safe-point work of one host.
pub(crate) struct Control {
    live: Option<LiveEdit>,
    dispatcher: Dispatcher<Reply>,
    messages: Receiver<Inbox>,
    /// Whether the stdin line protocol is on (it is not with MCP over stdio).
    lines: bool,
    /// Whether the end of stdin quits (headless) or not (a window stays until closed).
    quit_at_end_of_input: bool,
    server: Option<mcp::McpServer>,
    /// Answers to [`Reply::Local`] requests, oldest first, for the window to show.
    pub(crate) local: Vec<Answer>,
    /// Set while the modules do not resolve (see [`Options::wait_for_fix`]).
    unresolved: Option<Unresolved>,
}

impl Control {
    /// Loads every module (with the states a restart saved), starts live edit, the MCP
    /// server and the stdin reader. `waker` is called after each message is queued.
    pub(crate) fn start(
        runtime: &Runtime,
        paths: &Paths,
        options: &Options,
        input: impl BufRead + Send + 'static,
        waker: Option<Waker>,
    ) -> Result<Control, String> {
        let states = match &options.restore {
            Some(file) => crate::restart::read_states(file)?,
            None => BTreeMap::new(),
        };
        let (report, unresolved) = match runtime.load_all_with(&states) {
            Ok(report) => {
                crate::restart::states_delivered(options.restore.as_deref());
                (report, None)
            }
            Err(e) if options.wait_for_fix => {
                let why = e.to_string();
                tracing::error!("no module runs until this is fixed: {why}");
                (LoadReport::default(), Some(Unresolved { why, states, restore: options.restore.clone() }))
            }
            // The window says why and offers Retry, which reads the saved states again.
            Err(e) => return Err(e.to_string()),
        };
        tracing::info!("loaded {} module(s)", report.loaded.len());
        for (id, why) in &report.failed {
            tracing::error!("{id} did not load: {why}");
        }
        let (inbox, messages) = mpsc::channel::<Inbox>();
        let live = if options.watch {
            // A window repaints on a wake; the headless loop gets a message that ends its wait.
            let wake: live::Wake = match &waker {
                Some(waker) => Arc::clone(waker),
                None => {
                    let inbox = inbox.clone();
                    Arc::new(move || {
                        let _ = inbox.send(Inbox::Wake);
                    })
                }
            };
            Some(
                LiveEdit::watch(&paths.root, &paths.modules, !cfg!(debug_assertions), wake)
                    .map_err(|e| format!("live edit is off: {e}"))?,
            )
        } else {
            None
        };

        // With a waker, producers send through a forwarder that wakes the host after each
        // message; without one (headless) the loop blocks on the channel itself.
        let inbox: Sender<Inbox> = match waker {
            None => inbox,
            Some(waker) => {
                let (raw, incoming) = mpsc::channel::<Inbox>();
                std::thread::spawn(move || {
                    for message in incoming {
                        if inbox.send(message).is_err() {
                            return;
                        }
                        waker();
                    }
                });
                raw
            }
        };
        // With MCP over stdio, stdin and stdout belong to the protocol: no lines, no `ready`.
        let lines = !matches!(options.mcp, Some(mcp::Transport::Stdio));
        let server = match &options.mcp {
            Some(transport) => Some(mcp::start(transport, inbox.clone())?),
            None => None,
        };
        if lines {
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
        let dispatcher = Dispatcher::<Reply>::new(paths.root.clone(), paths.modules.clone());
        let mut control = Control {
            live,
            dispatcher,
            messages,
            lines,
            quit_at_end_of_input: true,
            server,
            local: Vec::new(),
            unresolved: None,
        };
        if let Some(unresolved) = unresolved {
            // `build` and MCP's `build.status` say why nothing runs.
            let outcome = BuildOutcome { error: Some(unresolved.why.clone()), ..BuildOutcome::default() };
            control.note_build(runtime, outcome);
            control.unresolved = Some(unresolved);
        }
        Ok(control)
    }

    /// A window stays open when stdin ends (started from a desktop, stdin is empty).
    pub(crate) fn keep_running_at_end_of_input(&mut self) {
        self.quit_at_end_of_input = false;
    }

    /// Sends an `event <json>` line to the line protocol's client, if there is one.
    pub(crate) fn announce(&self, event: &serde_json::Value) {
        if self.lines {
            print(&format!("event {event}\n"));
        }
    }

    /// Tells the line protocol's client that commands are taken now.
    pub(crate) fn announce_ready(&self) {
        if self.lines {
            print("ready\n");
        }
    }

    /// The next message, waiting up to `timeout`.
    pub(crate) fn recv(&self, timeout: Duration) -> Result<Inbox, RecvTimeoutError> {
        self.messages.recv_timeout(timeout)
    }

    /// The next message if one is waiting.
    pub(crate) fn try_recv(&self) -> Option<Inbox> {
        self.messages.try_recv().ok()
    }

    fn deliver(&mut self, reply: Reply, answer: Answer) {
        match reply {
            Reply::Line => match answer {
                Ok(Json(text)) => print(&format!("ok {text}\n")),
                Err(message) => print(&format!("error {}\n", message.replace('\n', " "))),
            },
            // The client may have gone (cancelled, disconnected): nothing to tell it then.
            Reply::Mcp(reply) => {
                let _ = reply.send(answer);
            }
            Reply::Local => self.local.push(answer),
        }
    }

    /// Handles one message; call it at the safe point.
    pub(crate) fn handle(&mut self, runtime: &Runtime, message: Inbox) -> Next {
        match message {
            Inbox::Line(line) => match parse_line(&line) {
                Ok(Line::Empty) => self.deliver(Reply::Line, Ok(Json("null".to_owned()))),
                Ok(Line::Quit) => {
                    self.deliver(Reply::Line, Ok(Json::of("bye")));
                    return Next::Quit;
                }
                Ok(Line::Restart) => {
                    self.deliver(Reply::Line, Ok(Json::of("restarting")));
                    return Next::Restart;
                }
                Ok(Line::Op(op)) => self.dispatch(runtime, op, Reply::Line),
                Err(message) => self.deliver(Reply::Line, Err(message)),
            },
            Inbox::Mcp(request) => self.dispatch(runtime, request.op, Reply::Mcp(request.reply)),
            Inbox::LinesEnded => {
                // A served MCP endpoint keeps the editor up without a terminal.
                if self.server.is_none() && self.quit_at_end_of_input {
                    return Next::Quit;
                }
            }
            // The safe point the caller runs next does the work.
            Inbox::Wake => {}
            Inbox::McpEnded(why) => {
                tracing::info!("the MCP server stopped: {why}");
                if !self.lines {
                    return Next::Quit;
                }
            }
        }
        Next::Continue
    }

    /// Runs an operation for the host itself; its answer lands in [`Control::local`].
    pub(crate) fn run_local(&mut self, runtime: &Runtime, op: Op) {
        self.dispatch(runtime, op, Reply::Local);
    }

    /// Runs an operation, answering now or when its build ends. An operation that builds a
    /// module (create, reload with a build) tells live edit, whose watcher sees the same
    /// files: one build, not two.
    fn dispatch(&mut self, runtime: &Runtime, op: Op, reply: Reply) {
        let builds = match &op {
            Op::Create { id, .. } | Op::Reload { id, build: true } => Some(id.clone()),
            _ => None,
        };
        let answer = self.dispatcher.run(runtime, op, reply);
        // After `run`: a create has written its files by now, and they belong to its build.
        if let (Some(id), Some(live)) = (builds, self.live.as_mut())
            && answer.is_none()
        {
            live.built_elsewhere(&[id]);
        }
        if let Some((reply, answer)) = answer {
            self.deliver(reply, answer);
        }
    }

    /// The safe point: queued reloads, live edit, and operations whose build finished.
    /// Returns whether anything changed (a reload, a build, an answer).
    pub(crate) fn safe_point(&mut self, runtime: &Runtime) -> bool {
        let mut changed = false;
        for record in runtime.run_queued() {
            tracing::info!("queued reload of {}: {:?}", record.requested, record.outcome);
            changed = true;
        }
        if let Some(live) = self.live.as_mut() {
            let mut saw = false;
            for event in live.poll(runtime) {
                saw = true;
                if self.lines {
                    print(&event_line(&event));
                } else {
                    tracing::info!("live edit: {}", event_line(&event).trim_end());
                }
            }
            if saw {
                changed = true;
                self.retry_unresolved(runtime);
            }
        }
        for (reply, answer) in self.dispatcher.poll(runtime) {
            changed = true;
            self.deliver(reply, answer);
        }
        changed
    }

    /// Loads the modules again if they did not resolve before: live edit saw a change, which
    /// may be the fix. Modules already running are left as they are.
    fn retry_unresolved(&mut self, runtime: &Runtime) {
        let Some(unresolved) = self.unresolved.as_mut() else { return };
        match runtime.load_all_with(&unresolved.states) {
            Ok(report) => {
                tracing::info!("the modules resolve now: {} loaded", report.loaded.len());
                crate::restart::states_delivered(unresolved.restore.as_deref());
                self.unresolved = None;
                let failed: BTreeMap<String, String> = report.failed.into_iter().collect();
                self.announce(&serde_json::json!({ "kind": "loaded", "modules": report.loaded, "failed": failed }));
            }
            Err(e) => unresolved.why = e.to_string(),
        }
    }

    /// Records a build the host ran itself (the start-up build) as the last build, so the
    /// editor and `build` show it like live edit's own.
    pub(crate) fn note_build(&mut self, runtime: &Runtime, outcome: BuildOutcome) {
        let status = match self.live.as_mut() {
            Some(live) => {
                live.note_build(outcome);
                live.status().clone()
            }
            None => BuildStatus { last: Some(outcome), ..BuildStatus::default() },
        };
        // Shown at once, not at live edit's next poll: a `build` may come before it.
        runtime.set_build_status(status);
    }

    /// How soon the host must reach the safe point again without a wake (live edit's pending
    /// changes settle then).
    pub(crate) fn next_poll(&self) -> Option<Duration> {
        self.live.as_ref().and_then(LiveEdit::next_poll)
    }

    /// Whether a build (live edit's or an operation's) is running.
    pub(crate) fn busy(&self) -> bool {
        self.dispatcher.busy() || self.live.as_ref().is_some_and(LiveEdit::busy)
    }

    /// Stops the controllers, then quits (shutting every module down) or restarts.
    pub(crate) fn finish(self, runtime: &Runtime, paths: &Paths, next: &Next) -> Result<(), String> {
        if self.dispatcher.busy() {
            tracing::warn!("quitting with builds still running; their requests get no answer");
        }
        drop(self.dispatcher);
        if let Some(server) = self.server {
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
}
