//! What the headless loop and the window share: loading the modules, the controllers (the
//! stdin line protocol and MCP) feeding one inbox, and the safe-point work between frames
//! (queued reloads, live edit, builds that finished).
//!
//! Both hosts drive a [`Control`] the same way: take the inbox's messages
//! ([`Control::handle`]), run module code (tick, UI), then [`Control::safe_point`], when no
//! module code is on the stack. The controllers that send those messages are started in one
//! place, [`Controllers::start`]; the inbox they share is `inbox.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use module_loader::builds::{self, BuildEvent, BuildService, Finished};
use module_loader::cargo::Progress;
use module_loader::live::{LiveEdit, LiveEvent};
use module_loader::{LoadReport, Runtime};
use playground_api::host::{BuildOutcome, ReloadRecord};
use playground_api::{serde_json, tracing};

use crate::inbox::{Answer, Controller, Inbox, Json, Message, Op, Reply};
use crate::lines::{self, Line, parse_line};
use crate::mcp;
use crate::ops::Dispatcher;
use crate::workspace::{BuildFailed, BuildPlan, Paths, print};

/// Where an answer goes: a line on stdout, or a controller's own reply.
enum ReplyTo {
    Line,
    Sink(Reply),
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
    /// Host or join a game once the modules run (`--host`, `--join`).
    pub(crate) net: Option<NetStart>,
}

/// `--host ADDR` or `--join ADDR`, handed to `systems/networking` once it runs.
#[derive(Clone, Debug)]
pub(crate) struct NetStart {
    pub(crate) join: bool,
    pub(crate) addr: String,
    pub(crate) allow_remote: bool,
}

impl NetStart {
    /// Asks the networking module to host or join; a failure is logged and changes nothing
    /// else (the modules run offline, and `call systems/networking status` says why).
    fn run(&self, runtime: &Runtime) {
        let method = if self.join { "join" } else { "host" };
        let answer = playground_api::codec::encode(&(self.addr.clone(), self.allow_remote))
            .and_then(|args| runtime.call(NETWORKING, method, &args).map_err(|e| e.to_string()));
        match answer {
            Ok(_) if self.join => tracing::info!("joined the game at {}", self.addr),
            Ok(bytes) => {
                let at: String = playground_api::codec::decode(&bytes).unwrap_or_default();
                tracing::info!("hosting at {at}");
            }
            Err(e) => tracing::error!("{e}"),
        }
    }
}

/// The module `--host` and `--join` talk to.
const NETWORKING: &str = "systems/networking";

impl Options {
    /// Whether the stdin line protocol runs: not when MCP has stdin and stdout.
    pub(crate) fn lines(&self) -> bool {
        !matches!(self.mcp, Some(mcp::Transport::Stdio))
    }
}

/// The controllers feeding the loop's inbox (the stdin reader, the MCP server), started in
/// one place ([`Controllers::start`], from `main.rs`) and stopped before the process quits
/// or restarts. None of them knows the loop or the others.
pub(crate) struct Controllers {
    mcp: Option<mcp::McpServer>,
}

impl Controllers {
    /// Starts the stdin line protocol (unless MCP owns stdin) and the MCP server, if asked
    /// for, each sending into `inbox`. Binding the MCP port happens here, so a taken port is
    /// an error before anything else starts.
    pub(crate) fn start(
        options: &Options,
        inbox: &Inbox,
        input: impl std::io::BufRead + Send + 'static,
    ) -> Result<Controllers, String> {
        let mcp = options.mcp.as_ref().map(|transport| mcp::start(transport, inbox.clone())).transpose()?;
        if options.lines() {
            lines::start(input, inbox.clone());
            // Said from the watchdog's thread: the main thread, which prints everything else,
            // is the one that is stuck.
            module_loader::watchdog::on_stuck(|running| {
                let event = serde_json::json!({
                    "kind": "stuck",
                    "module": &*running.module,
                    "step": running.step,
                    "seconds": running.since.elapsed().as_secs_f64(),
                    "message": running.describe(),
                });
                print(&format!("event {event}\n"));
            });
        }
        Ok(Controllers { mcp })
    }

    /// Stops the MCP server (its sessions end); the stdin reader ends with the process.
    pub(crate) fn stop(self) {
        if let Some(server) = self.mcp {
            server.stop();
        }
    }
}

/// A start whose modules did not resolve, waiting for a fix.
struct Unresolved {
    why: String,
    /// The states a restart handed over, still to be handed to the modules, and their file.
    states: BTreeMap<String, Vec<u8>>,
    restore: Option<PathBuf>,
}

/// What the line protocol's client hears of a build, a reload or a change live edit saw.
fn event_line(value: &serde_json::Value) -> String {
    format!("event {value}\n")
}

fn live_event(event: &LiveEvent) -> serde_json::Value {
    match event {
        LiveEvent::Removed { id, message } => serde_json::json!({ "kind": "removed", "id": id, "message": message }),
        LiveEvent::RestartNeeded { reason } => restart_needed(reason),
    }
}

fn restart_needed(reason: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "restart_needed",
        "message": format!("{reason}: send `restart` to rebuild the shell; every module's state is kept"),
    })
}

/// A build started, for `requested_by`.
fn build_started(modules: &[String], requested_by: &[String]) -> serde_json::Value {
    serde_json::json!({ "kind": "build_started", "modules": modules, "requested_by": requested_by })
}

/// A build ended.
fn built(outcome: &BuildOutcome) -> serde_json::Value {
    serde_json::json!({ "kind": "built", "outcome": outcome })
}

/// Whether `id`'s library (or, for a contract, a dependent's) is older than its sources.
fn sources_changed(graph: &module_loader::Graph, id: &str) -> bool {
    graph
        .reload_set(&[id.to_owned()])
        .iter()
        .filter_map(|m| graph.get(m).and_then(|s| s.library.as_deref()))
        .any(builds::sources_changed)
}

/// Who asked for a reload the editor queued (`Host::request_reload`, its Reload buttons) of a
/// module whose sources changed since its library was built.
const EDITOR_RELOAD: &str = "the editor's Reload";

/// The safe-point work of one host: the messages its controllers send, live edit, and the
/// operations whose build is running.
pub(crate) struct Control {
    live: Option<LiveEdit>,
    /// Every build this host runs once the modules are loaded goes through it.
    builds: BuildService,
    dispatcher: Dispatcher<ReplyTo>,
    /// Whether the stdin line protocol is on (it is not with MCP over stdio).
    lines: bool,
    /// Whether an MCP server runs: it keeps a headless editor up when stdin ends.
    serving: bool,
    /// Whether the end of stdin quits (headless) or not (a window stays until closed).
    quit_at_end_of_input: bool,
    /// Answers to the host's own requests ([`Control::run_local`]), oldest first.
    local: Arc<Mutex<Vec<Answer>>>,
    /// Set while the modules do not resolve (see [`Options::wait_for_fix`]).
    unresolved: Option<Unresolved>,
}

impl Control {
    /// Loads every module (with the states a restart saved) and starts live edit, which
    /// wakes the loop through `inbox`.
    pub(crate) fn start(runtime: &Runtime, paths: &Paths, options: &Options, inbox: &Inbox) -> Result<Control, String> {
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
        if let Some(net) = &options.net {
            net.run(runtime);
        }
        let wake: builds::Wake = {
            let inbox = inbox.clone();
            Arc::new(move || {
                let _ = inbox.send(Message::Wake);
            })
        };
        let live = if options.watch {
            Some(
                LiveEdit::watch(&paths.root, &paths.modules, Arc::clone(&wake))
                    .map_err(|e| format!("live edit is off: {e}"))?,
            )
        } else {
            None
        };
        let builds = BuildService::new(paths.builder(), wake);
        let dispatcher = Dispatcher::<ReplyTo>::new(paths.modules.clone());
        let mut control = Control {
            live,
            builds,
            dispatcher,
            lines: options.lines(),
            serving: options.mcp.is_some(),
            quit_at_end_of_input: true,
            local: Arc::new(Mutex::new(Vec::new())),
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

    fn deliver(&mut self, reply: ReplyTo, answer: Answer) {
        match reply {
            ReplyTo::Line => lines::print_answer(answer),
            ReplyTo::Sink(reply) => reply(answer),
        }
    }

    /// Handles one message; call it at the safe point.
    pub(crate) fn handle(&mut self, runtime: &Runtime, message: Message) -> Next {
        match message {
            Message::Line(line) => match line.and_then(|line| parse_line(&line)) {
                Ok(Line::Empty) => self.deliver(ReplyTo::Line, Ok(Json("null".to_owned()))),
                Ok(Line::Quit) => {
                    self.deliver(ReplyTo::Line, Ok(Json::of("bye")));
                    return Next::Quit;
                }
                Ok(Line::Restart) => {
                    self.deliver(ReplyTo::Line, Ok(Json::of("restarting")));
                    return Next::Restart;
                }
                Ok(Line::Op(op)) => self.dispatch(runtime, op, ReplyTo::Line),
                Err(message) => self.deliver(ReplyTo::Line, Err(message)),
            },
            Message::Request { op, reply } => self.dispatch(runtime, op, ReplyTo::Sink(reply)),
            Message::Ended { controller: Controller::Lines, .. } => {
                // A served MCP endpoint keeps the editor up without a terminal.
                if !self.serving && self.quit_at_end_of_input {
                    return Next::Quit;
                }
            }
            Message::Ended { controller: Controller::Mcp, why } => {
                tracing::info!("the MCP server stopped: {why}");
                if !self.lines {
                    return Next::Quit;
                }
            }
            // The safe point the caller runs next does the work.
            Message::Wake => {}
        }
        Next::Continue
    }

    /// Runs an operation for the host itself (the fallback screen's Retry); its answer
    /// comes from [`Control::take_local`].
    pub(crate) fn run_local(&mut self, runtime: &Runtime, op: Op) {
        let local = Arc::clone(&self.local);
        let reply: Reply = Box::new(move |answer| local.lock().unwrap_or_else(PoisonError::into_inner).push(answer));
        self.dispatch(runtime, op, ReplyTo::Sink(reply));
    }

    /// The answers to the host's own requests that arrived, oldest first.
    pub(crate) fn take_local(&mut self) -> Vec<Answer> {
        std::mem::take(&mut *self.local.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs an operation, answering now or when its build ends. An operation that builds a
    /// module (create, reload with a build) tells live edit, whose watcher sees the same
    /// files: one build, not two.
    fn dispatch(&mut self, runtime: &Runtime, op: Op, reply: ReplyTo) {
        let builds = match &op {
            Op::Create { id, .. } | Op::Reload { id, build: true } => Some(id.clone()),
            _ => None,
        };
        let answer = self.dispatcher.run(runtime, &mut self.builds, op, reply);
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

    /// The safe point: queued reloads, live edit, and the builds that started or ended
    /// (a finished build is reloaded, and every request waiting for it answered).
    /// Returns whether anything changed (a reload, a build, an answer).
    pub(crate) fn safe_point(&mut self, runtime: &Runtime) -> bool {
        let mut changed = false;
        // A Reload the editor asked for, of a module whose sources changed since its library
        // was built, is a build first (whose reload covers it).
        // The graph is resolved once, and only when a reload is queued.
        let mut graph = None;
        let stale = runtime.take_queued_if(|id| {
            let graph = graph.get_or_insert_with(|| runtime.resolve().ok());
            graph.as_ref().is_some_and(|graph| sources_changed(graph, id))
        });
        if !stale.is_empty() {
            if let Some(live) = self.live.as_mut() {
                live.built_elsewhere(&stale);
            }
            self.builds.request(stale, EDITOR_RELOAD, false);
        }
        for record in runtime.run_queued() {
            tracing::info!("queued reload of {}: {:?}", record.requested.join(", "), record.outcome);
            changed = true;
        }
        let mut events = Vec::new();
        let busy = self.builds.busy();
        if let Some(edit) = self.live.as_mut().and_then(|live| live.poll(runtime, busy, &mut events)) {
            self.builds.request(edit.modules, "live edit", edit.needs_cargo);
        }
        for event in &events {
            if let LiveEvent::RestartNeeded { reason } = event {
                self.builds.note_restart_needed(reason.clone());
            }
            self.say(&live_event(event));
        }
        if !events.is_empty() {
            changed = true;
            self.retry_unresolved(runtime);
        }
        for event in self.builds.poll(runtime) {
            changed = true;
            self.build_event(runtime, event);
        }
        changed
    }

    /// Says a build event on the line protocol (or in the log), and finishes a build that
    /// ended: reloads what it built and answers everyone who asked for it.
    fn build_event(&mut self, runtime: &Runtime, event: BuildEvent) {
        let (tickets, modules, finished) = match event {
            BuildEvent::Started { modules, requested_by } => {
                self.say(&build_started(&modules, &requested_by));
                return;
            }
            BuildEvent::Finished { tickets, modules, finished } => (tickets, modules, finished),
        };
        let record: Option<Result<ReloadRecord, String>> = match &finished {
            Finished::NeedsRestart(reason) => {
                tracing::warn!("{reason}");
                self.say(&restart_needed(reason));
                None
            }
            Finished::Built(outcome) => {
                self.say(&built(outcome));
                if outcome.success {
                    let build_us = (outcome.duration_ms * 1000.0) as u64;
                    let record = runtime.reload_set(&modules, build_us).map_err(|e| e.to_string());
                    match &record {
                        Ok(record) => self.say(&serde_json::json!({ "kind": "reloaded", "record": record })),
                        Err(e) => tracing::error!("reload after the build: {e}"),
                    }
                    Some(record)
                } else {
                    tracing::error!(
                        "build of {} failed with {} error(s); the running code is untouched",
                        modules.join(", "),
                        outcome.errors().count()
                    );
                    None
                }
            }
        };
        for (reply, answer) in self.dispatcher.finished(runtime, &tickets, &finished, record.as_ref()) {
            self.deliver(reply, answer);
        }
        self.retry_unresolved(runtime);
    }

    /// An event for the line protocol's client, or for the log when there is none.
    fn say(&self, event: &serde_json::Value) {
        if self.lines {
            print(&event_line(event));
        } else {
            tracing::info!("{}", event_line(event).trim_end());
        }
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
    /// editor and `build` show it like the build service's own.
    pub(crate) fn note_build(&mut self, runtime: &Runtime, outcome: BuildOutcome) {
        self.builds.note_build(outcome);
        // Shown at once, not at the next safe point: a `build` may come before it.
        runtime.set_build_status(self.builds.status().clone());
    }

    /// A build the host runs on its own thread (a restart's `plan`) starts: the status, the
    /// editor's top bar and the line protocol show it as they show the build service's.
    pub(crate) fn build_elsewhere_started(&mut self, runtime: &Runtime, plan: &BuildPlan) {
        let (modules, requested_by) = (plan.modules(), plan.requested_by());
        self.say(&build_started(&modules, &requested_by));
        self.builds.begin_elsewhere(modules, requested_by);
        runtime.set_build_status(self.builds.status().clone());
    }

    /// The progress of the build [`Control::build_elsewhere_started`] announced.
    pub(crate) fn build_elsewhere_progress(&mut self, runtime: &Runtime, progress: Progress) {
        if self.builds.status().progress == Some((progress.done, progress.total)) {
            return;
        }
        self.builds.progress_elsewhere(progress);
        runtime.set_build_status(self.builds.status().clone());
    }

    /// The build [`Control::build_elsewhere_started`] announced ended.
    pub(crate) fn build_elsewhere_ended(&mut self, runtime: &Runtime, result: &Result<BuildOutcome, BuildFailed>) {
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(failed) => &failed.outcome,
        };
        self.say(&built(outcome));
        self.note_build(runtime, outcome.clone());
    }

    /// Records a build the host ran itself that failed (the start-up build), with the
    /// restart it asks for, if any.
    pub(crate) fn note_failed_build(&mut self, runtime: &Runtime, failed: BuildFailed) {
        tracing::error!("{}", failed.message);
        if let Some(reason) = failed.restart_needed {
            self.builds.note_restart_needed(reason);
        }
        self.note_build(runtime, *failed.outcome);
    }

    /// How soon the host must reach the safe point again without a wake (live edit's pending
    /// changes settle then).
    pub(crate) fn next_poll(&self) -> Option<Duration> {
        self.live.as_ref().and_then(|live| live.next_poll(self.builds.busy()))
    }

    /// Whether a build is running or waiting, or changes are waiting for one.
    pub(crate) fn busy(&self) -> bool {
        self.builds.busy() || self.dispatcher.busy() || self.live.as_ref().is_some_and(LiveEdit::pending)
    }

    /// Stops the controllers, then quits (shutting every module down) or restarts.
    pub(crate) fn finish(
        self,
        runtime: &Runtime,
        paths: &Paths,
        controllers: Controllers,
        next: &Next,
    ) -> Result<(), String> {
        if self.dispatcher.busy() {
            tracing::warn!("quitting with builds still running; their requests get no answer");
        }
        drop(self.dispatcher);
        controllers.stop();
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
