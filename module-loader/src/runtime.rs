//! The running modules: loading in dependency order, calls with panics caught, ticking, and
//! the reload transaction that rolls back. It implements the api's [`Host`] for modules.
//!
//! Each module's life is one `Life` value in one map: a contract, running, running with
//! its ticks paused, or failed (and why). The reload transaction lives in
//! `runtime/transaction.rs`, phase by phase; the handles modules and the shell keep in
//! `runtime/handles.rs`; the window's entry points in `runtime/ui.rs`.
//!
//! Invariants (ARCHITECTURE.md):
//! - No `RefCell` borrow of the runtime is held while module code runs, so a module may call
//!   back into the host (another module, the graph, a reload request) from anywhere (5).
//! - Reloads run only from [`Runtime::reload`] / [`Runtime::run_queued`], which the shell
//!   calls at its safe point, never from module code: [`Host::request_reload`] only queues (5).
//! - Nothing kept here points into a module across that module's reload: a slot (instance,
//!   vtable, services) is stopped before its module's next generation starts (4).

mod handles;
mod preopen;
mod slot;
mod transaction;
mod ui;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Instant;

use module_rules::discover::{ModuleSource, discover};
use module_rules::graph::Graph;
use module_rules::manifest::Manifest;
use playground_api::caller::{CallQueue, ModuleCaller};
use playground_api::gpu::GpuSource;
use playground_api::host::{
    BuildStatus, DependencyInfo, Diagnostic, ModuleInfo, ModuleStatus, ReloadOutcome, ReloadRecord,
};
use playground_api::net::SocketStore;
use playground_api::service::{Contract, Service};
use playground_api::{Context, Host, abi, serde_json, tracing};

pub use self::handles::ModuleHandle;
pub use self::preopen::Preopener;
use self::slot::{FileStamp, Generation, Slot};
use crate::error::{Error, Result};
use crate::guard::{self, Failure};
use crate::library;
use crate::watchdog::Step;

/// Where the runtime finds modules and their libraries.
#[derive(Clone, Debug)]
pub struct Config {
    /// The folder holding `core/`, `systems/`, `plugins/` and `apps/`.
    pub modules_root: PathBuf,
    /// Where cargo puts the module dylibs (`target/debug`).
    pub library_dir: PathBuf,
    /// Where generation copies go; one folder per process is best.
    pub generations_dir: PathBuf,
    /// Load only this app and what it needs (`--app game`); `None` loads every module.
    pub app: Option<String>,
}

/// Why a module that was stopped (by a reload, until it starts again, or for good) is not
/// running.
const STOPPED: &str = "stopped";

/// How many reload records the history keeps.
const HISTORY_LIMIT: usize = 1000;

/// What [`Runtime::load_all`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Modules running, in load order.
    pub loaded: Vec<String>,
    /// Modules that are not running, and why.
    pub failed: Vec<(String, String)>,
}

/// What [`Runtime::remove`] did with a module whose folder is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removal {
    /// It was stopped and unloaded; the warnings of its shutdown, if any.
    Unloaded { warnings: Vec<String> },
    /// It keeps running: the other modules do not resolve without it (the error says why).
    Kept { why: String },
    /// It still has a `module.toml`: there was nothing to remove.
    StillThere,
}

impl Removal {
    /// The sentence for the user, about module `id`.
    pub fn describe(&self, id: &str) -> String {
        match self {
            Removal::Unloaded { warnings } if warnings.is_empty() => {
                format!("`{id}` was deleted and has been unloaded")
            }
            Removal::Unloaded { warnings } => {
                format!("`{id}` was deleted and has been unloaded ({})", warnings.join("; "))
            }
            Removal::Kept { why } => {
                format!("`{id}` was deleted, but the modules do not resolve without it, so it keeps running: {why}")
            }
            Removal::StillThere => format!("`{id}` still has a module.toml; nothing to remove"),
        }
    }
}

/// Where one module of the graph stands: the one place its life is kept.
#[derive(Clone)]
enum Life {
    /// A contract: types compiled into its dependents; nothing of it runs.
    Contract,
    /// Running a generation.
    Running(Rc<Slot>),
    /// Running and answering calls, but not ticking: its `tick` panicked, and a panic there
    /// would repeat sixty times a second. Its next generation ticks again.
    Paused { slot: Rc<Slot>, why: String },
    /// Not running, and why (it failed to start, a dependency is not running, a rollback
    /// failed, or it was stopped).
    Failed(String),
}

impl Life {
    /// The running generation, ticking or not.
    fn slot(&self) -> Option<&Rc<Slot>> {
        match self {
            Life::Running(slot) | Life::Paused { slot, .. } => Some(slot),
            Life::Contract | Life::Failed(_) => None,
        }
    }

    fn status(&self) -> ModuleStatus {
        match self {
            Life::Contract => ModuleStatus::Contract,
            Life::Running(_) => ModuleStatus::Loaded,
            Life::Paused { why, .. } => ModuleStatus::Paused(why.clone()),
            Life::Failed(why) => ModuleStatus::Failed(why.clone()),
        }
    }
}

/// One module's entry: its life and the last error it caused (kept across its reloads until
/// one succeeds).
struct Entry {
    life: Life,
    last_error: Option<String>,
}

struct Shared {
    config: Config,
    me: Weak<Shared>,
    /// The graph the running modules were loaded from.
    graph: RefCell<Option<Graph>>,
    modules: RefCell<BTreeMap<String, Entry>>,
    /// The last generation number of each module id ever loaded, never reset: a generation
    /// copy's path is never used twice in a process (invariant 2).
    generations: RefCell<BTreeMap<String, u64>>,
    history: RefCell<VecDeque<ReloadRecord>>,
    queue: RefCell<Vec<String>>,
    /// The modules a reload transaction was asked for, while it runs.
    reloading: RefCell<Option<Vec<String>>>,
    seq: Cell<u64>,
    build: RefCell<BuildStatus>,
    /// A module asked for a restart (`Host::request_restart`); the host takes it.
    restart: Cell<bool>,
    /// Set by the host when its window closes for a restart (see `Host::restarting`).
    restarting: Cell<bool>,
    /// The shell's GPU and the resources kept across reloads, once the shell has one.
    gpu: RefCell<Option<Arc<GpuSource>>>,
    /// Problems each module found in its assets (`Host::report_problems`).
    problems: RefCell<BTreeMap<String, Vec<Diagnostic>>>,
    /// Libraries the build threads opened ahead of their reload.
    preopener: Preopener,
    /// Calls from other threads, run at the safe point (`Runtime::run_calls`).
    calls: Rc<CallQueue>,
    /// The sockets modules keep across their reloads (see `playground_api::net`).
    sockets: SocketStore,
}

/// The loader's live state. One per process (or per test).
pub struct Runtime {
    shared: Rc<Shared>,
}

fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

impl Runtime {
    pub fn new(config: Config) -> Runtime {
        guard::install_hook();
        crate::watchdog::start();
        library::start_page_out();
        let preopener = Preopener::new(config.generations_dir.clone());
        let shared = Rc::new_cyclic(|me| Shared {
            config,
            me: me.clone(),
            graph: RefCell::new(None),
            modules: RefCell::new(BTreeMap::new()),
            generations: RefCell::new(BTreeMap::new()),
            history: RefCell::new(VecDeque::new()),
            queue: RefCell::new(Vec::new()),
            reloading: RefCell::new(None),
            seq: Cell::new(0),
            build: RefCell::new(BuildStatus::default()),
            restart: Cell::new(false),
            restarting: Cell::new(false),
            gpu: RefCell::new(None),
            problems: RefCell::new(BTreeMap::new()),
            preopener,
            calls: Rc::new(CallQueue::new()),
            sockets: SocketStore::default(),
        });
        Runtime { shared }
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Reads and resolves the manifests under the modules root, without loading anything.
    pub fn resolve(&self) -> Result<Graph> {
        self.shared.resolve()
    }

    /// The graph the running modules were loaded from.
    pub fn graph(&self) -> Option<Graph> {
        self.shared.graph.borrow().clone()
    }

    /// Resolves the graph and starts every module in order. A graph error loads nothing; a
    /// module that fails to start is reported and its dependents are skipped.
    pub fn load_all(&self) -> Result<LoadReport> {
        self.load_all_with(&BTreeMap::new())
    }

    /// [`Runtime::load_all`], handing each module the state saved for it (by a previous
    /// process: see [`Runtime::save_all`]). Modules already running are left as they are.
    pub fn load_all_with(&self, states: &BTreeMap<String, Vec<u8>>) -> Result<LoadReport> {
        let shared = &self.shared;
        let graph = shared.resolve()?;
        *shared.graph.borrow_mut() = Some(graph.clone());
        let mut report = LoadReport::default();
        for source in graph.sources() {
            let id = source.id().to_owned();
            if shared.is_up(&id) {
                report.loaded.push(id);
                continue;
            }
            let blocked = graph.predecessors(&id).find(|p| !shared.is_up(p)).map(str::to_owned);
            let result = match blocked {
                Some(dep) => Err(format!("not loaded because `{dep}` is not running")),
                None => shared.open_generation(source).map_err(Error::into_message).and_then(|generation| {
                    shared.start(&graph, source, generation, states.get(&id).map(Vec::as_slice)).map(|_| ())
                }),
            };
            match result {
                Ok(()) => report.loaded.push(id),
                Err(message) => {
                    tracing::error!(module = %id, "{message}");
                    shared.set_life(&id, Life::Failed(message.clone()));
                    shared.note_error(&id, &message);
                    report.failed.push((id, message));
                }
            }
        }
        Ok(report)
    }

    /// The generic call path: `method` of module `id` with encoded `args`.
    pub fn call(&self, id: &str, method: &str, args: &[u8]) -> Result<Vec<u8>> {
        self.shared.call(id, method, args)
    }

    /// A resolved handle to module `id`, for callers that call it often: it skips the lookup
    /// by name. After the module reloads the handle is stale and says so; take a new one. A
    /// contract has no handle: it has types, not methods.
    pub fn handle(&self, id: &str) -> Result<ModuleHandle> {
        self.shared.handle(id)
    }

    /// A module's current state, as `save_state` encodes it.
    pub fn state(&self, id: &str) -> Result<Vec<u8>> {
        self.shared.slot(id)?.save().map_err(Error::from)
    }

    /// The typed service of contract `C` from the module implementing it. Valid until that
    /// module's next reload; meant for tests and benchmarks, since the host must not keep
    /// pointers into modules across reloads.
    pub fn service<C: Contract + ?Sized>(&self) -> Result<Service<C>> {
        let provider = self
            .shared
            .graph
            .borrow()
            .as_ref()
            .and_then(|g| g.implementer(C::ID).map(str::to_owned))
            .ok_or_else(|| Error::new(format!("no module implements `{}`", C::ID)))?;
        let any = self.shared.service_of(&provider, C::ID)?;
        Service::from_any(any.as_ref())
            .ok_or_else(|| Error::new(format!("the service of `{}` has another type", C::ID)))
    }

    /// Runs every module's `tick` in load order. Errors and panics are logged and recorded
    /// as the module's last error; the module keeps running and answering calls, but after a
    /// panic in `tick` it is paused (no more ticks) until it is reloaded.
    pub fn tick(&self, dt: f32) {
        for slot in self.shared.running_in_order(false) {
            let Some(Err(failure)) = slot.invoke(Step::Tick, |v, i| (v.tick)(i, dt)) else { continue };
            let id = slot.id();
            let message = match &failure {
                Failure::Panicked(e) => {
                    let why = format!("`{id}` failed in tick: {e}");
                    self.shared.set_life(id, Life::Paused { slot: Rc::clone(&slot), why: why.clone() });
                    format!("{why}; its ticks are paused until it is reloaded")
                }
                Failure::Returned(e) => format!("`{id}` failed in tick: {e}"),
            };
            tracing::warn!("{message}");
            self.shared.note_error(id, &message);
        }
    }

    /// Queues a reload for the next [`Runtime::run_queued`].
    pub fn request_reload(&self, id: &str) -> Result<()> {
        self.shared.request(id).map_err(Error::from)
    }

    /// Takes the queued reloads `wanted` accepts out of the queue (the shell builds those
    /// first: their sources changed) and returns their ids, in request order.
    pub fn take_queued_if(&self, mut wanted: impl FnMut(&str) -> bool) -> Vec<String> {
        let queued: Vec<String> = self.shared.queue.borrow().clone();
        let taken: Vec<String> = queued.into_iter().filter(|id| wanted(id)).collect();
        self.shared.queue.borrow_mut().retain(|id| !taken.contains(id));
        taken
    }

    /// The safe point: runs the queued reloads, in request order. Call it between frames,
    /// when no module code is on the stack.
    pub fn run_queued(&self) -> Vec<ReloadRecord> {
        // Calls from other threads first: they were asked before the reloads ran.
        self.run_calls();
        let mut records = Vec::new();
        loop {
            let next = {
                let mut queue = self.shared.queue.borrow_mut();
                if queue.is_empty() { None } else { Some(queue.remove(0)) }
            };
            let Some(id) = next else { break };
            match self.reload(&id) {
                Ok(record) => records.push(record),
                Err(e) => tracing::error!("queued reload of `{id}`: {e}"),
            }
        }
        records
    }

    /// Reloads `id` and everything that depends on it as one transaction. Call it only at the
    /// safe point. The record says whether the new code swapped in, or why the old one still
    /// runs; an `Err` means the request itself was refused (unknown id, reload running).
    pub fn reload(&self, id: &str) -> Result<ReloadRecord> {
        self.reload_set(&[id.to_owned()], 0)
    }

    /// [`Runtime::reload`], but `id`'s new generation starts from `create` and `initialize`
    /// without the state the old one saved (its dependents keep theirs). For when the user
    /// chose to drop a state the new code cannot read: the window's Roll back to an editor
    /// build that does not know the broken build's UI state. A rollback of this transaction
    /// still restores the old generation with its state.
    pub fn reload_fresh(&self, id: &str) -> Result<ReloadRecord> {
        self.reload_with(&[id.to_owned()], 0, &BTreeSet::from([id.to_owned()]))
    }

    /// Reloads several modules and everything that depends on any of them as one
    /// transaction; `build_us` is the build that produced them, recorded with the timings.
    pub fn reload_set(&self, ids: &[String], build_us: u64) -> Result<ReloadRecord> {
        self.reload_with(ids, build_us, &BTreeSet::new())
    }

    fn reload_with(&self, ids: &[String], build_us: u64, fresh: &BTreeSet<String>) -> Result<ReloadRecord> {
        let shared = &self.shared;
        if let Some(running) = shared.reloading.borrow().as_ref() {
            return Err(Error::new(format!(
                "a reload of `{}` is running; `{}` can only be queued (Host::request_reload) until it ends",
                running.join(", "),
                ids.join(", ")
            )));
        }
        if let Some(unknown) = ids.iter().find(|id| !shared.knows(id)) {
            return Err(Error::new(format!("there is no module `{unknown}`")));
        }
        *shared.reloading.borrow_mut() = Some(ids.to_vec());
        let mut record = shared.transaction(ids, fresh);
        *shared.reloading.borrow_mut() = None;
        record.timings.build_us = build_us;
        match &record.outcome {
            ReloadOutcome::Swapped => tracing::info!(
                "reloaded {} in {:.2} ms",
                record.modules.join(", "),
                record.timings.total_us as f64 / 1000.0
            ),
            other => tracing::error!("reload of `{}`: {other:?}", ids.join(", ")),
        }
        let mut history = shared.history.borrow_mut();
        history.push_back(record.clone());
        while history.len() > HISTORY_LIMIT {
            history.pop_front();
        }
        Ok(record)
    }

    /// Unloads a module whose folder is gone, unless running modules need it.
    pub fn remove(&self, id: &str) -> Removal {
        let graph = match self.shared.resolve() {
            Ok(graph) => graph,
            Err(e) => return Removal::Kept { why: e.into_message() },
        };
        if graph.contains(id) {
            return Removal::StillThere;
        }
        let warnings = self.shared.stop(id);
        self.shared.modules.borrow_mut().remove(id);
        self.shared.problems.borrow_mut().remove(id);
        if let Some(gpu) = self.shared.gpu.borrow().as_ref() {
            gpu.keep().forget(id);
        }
        self.shared.sockets.forget(id);
        *self.shared.graph.borrow_mut() = Some(graph);
        Removal::Unloaded { warnings }
    }

    /// Every running module's state, for a restart that must lose nothing.
    pub fn save_all(&self) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
        let mut states = BTreeMap::new();
        let mut errors = Vec::new();
        for slot in self.shared.running_in_order(true) {
            match slot.save() {
                Ok(bytes) => {
                    states.insert(slot.id().to_owned(), bytes);
                }
                Err(e) => errors.push(e),
            }
        }
        (states, errors)
    }

    /// Publishes the build pipeline's state to modules (through [`Host::build_status`]).
    pub fn set_build_status(&self, status: BuildStatus) {
        *self.shared.build.borrow_mut() = status;
    }

    /// Whether a restart was asked for since the last call; the host restarts at its safe
    /// point. (The loader cannot restart a process; it only carries the request.)
    pub fn take_restart_request(&self) -> bool {
        self.shared.restart.replace(false)
    }

    /// Says the window is closing for a restart (modules read it with `Host::restarting`).
    pub fn set_restarting(&self) {
        self.shared.restarting.set(true);
    }

    /// Asks for a restart, as `Host::request_restart` does for a module.
    pub fn request_restart(&self) {
        self.shared.restart.set(true);
    }

    /// The build pipeline's state.
    pub fn build_status(&self) -> BuildStatus {
        self.shared.build_status()
    }

    /// Reports `problems` in `module`'s assets, as the module does with
    /// `Host::report_problems` (for a host that checks assets itself, and for tests).
    pub fn report_problems(&self, module: &str, problems: Vec<Diagnostic>) {
        self.shared.report_problems(module, problems);
    }

    /// A handle to call modules from any thread (see [`ModuleCaller`]); the calls run in
    /// [`Runtime::run_calls`], which [`Runtime::run_queued`] calls first.
    pub fn caller(&self) -> ModuleCaller {
        self.shared.calls.caller()
    }

    /// How a call from another thread wakes the main loop (the window sleeps when idle).
    pub fn set_call_wake(&self, wake: impl Fn() + Send + Sync + 'static) {
        self.shared.calls.set_wake(wake);
    }

    /// Runs the calls other threads queued, in order, and answers them; call it only at the
    /// safe point. Returns how many ran.
    pub fn run_calls(&self) -> usize {
        let calls = self.shared.calls.take();
        let count = calls.len();
        for call in calls {
            let answer = self.shared.call(&call.module, &call.method, &call.args).map_err(Error::into_message);
            call.answer(answer);
        }
        count
    }

    /// Opens built libraries ahead of their reload from a build thread (see [`Preopener`]).
    pub fn preopener(&self) -> Preopener {
        self.shared.preopener.clone()
    }

    /// Gives modules the shell's GPU (`ctx.gpu()`), and with it the store of resources kept
    /// across their reloads.
    pub fn set_gpu(&self, source: Arc<GpuSource>) {
        *self.shared.gpu.borrow_mut() = Some(source);
    }

    /// The shell's GPU, once set.
    pub fn gpu(&self) -> Option<Arc<GpuSource>> {
        self.shared.gpu.borrow().clone()
    }

    /// Every module of the graph, in load order.
    pub fn modules(&self) -> Vec<ModuleInfo> {
        self.shared.infos()
    }

    /// The recorded reloads, oldest first.
    pub fn history(&self) -> Vec<ReloadRecord> {
        self.shared.history.borrow().iter().cloned().collect()
    }

    /// The sequence number of the latest reload (0 before the first): a cheap way for a host
    /// to tell whether a reload ran since it last looked.
    pub fn last_reload_seq(&self) -> u64 {
        self.shared.history.borrow().back().map_or(0, |r| r.seq)
    }

    /// The host handle modules receive, for callers that want to act as a module would.
    pub fn host(&self) -> Rc<dyn Host> {
        self.shared.host()
    }

    /// Shuts every module down, dependents first. Libraries stay mapped.
    pub fn shutdown_all(&self) -> Vec<String> {
        let order: Vec<String> = self.shared.graph.borrow().as_ref().map(|g| g.order().to_vec()).unwrap_or_default();
        let warnings = order.iter().rev().flat_map(|id| self.shared.stop(id)).collect();
        self.shared.modules.borrow_mut().clear();
        warnings
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for warning in self.shutdown_all() {
            tracing::warn!("{warning}");
        }
    }
}

impl Shared {
    /// The host as the shell (or a test) acts through it: it owns no workers.
    fn host(&self) -> Rc<dyn Host> {
        Rc::new(handles::HostHandle::new(self.me.clone(), None))
    }

    /// The host a module's generation receives: the workers it starts belong to `slot`.
    /// Keeps `problems` as what `module` found in its assets now (none clears them).
    fn report_problems(&self, module: &str, problems: Vec<Diagnostic>) {
        let mut all = self.problems.borrow_mut();
        if problems.is_empty() {
            all.remove(module);
        } else {
            all.insert(module.to_owned(), problems);
        }
    }

    /// The build status, with the problems modules found in their assets.
    fn build_status(&self) -> BuildStatus {
        let mut status = self.build.borrow().clone();
        status.assets = self.problems.borrow().values().flatten().cloned().collect();
        status
    }

    /// The kept GPU resources, if the shell has a GPU.
    fn keep(&self) -> Option<playground_api::gpu::Keep> {
        self.gpu.borrow().as_ref().map(|g| g.keep().clone())
    }

    fn host_for(&self, slot: &Rc<Slot>) -> Rc<dyn Host> {
        Rc::new(handles::HostHandle::new(self.me.clone(), Some(Rc::downgrade(slot))))
    }

    fn resolve(&self) -> Result<Graph> {
        let sources = discover(&self.config.modules_root, &self.config.library_dir)?;
        match &self.config.app {
            Some(app) => Graph::resolve(module_rules::apps::closure(sources, app)?),
            None => Graph::resolve(sources),
        }
    }

    /// Whether `id` is a module of the running graph or has a manifest on disk.
    fn knows(&self, id: &str) -> bool {
        self.graph.borrow().as_ref().is_some_and(|g| g.contains(id))
            || self.config.modules_root.join(id).join("module.toml").is_file()
    }

    fn life(&self, id: &str) -> Option<Life> {
        self.modules.borrow().get(id).map(|entry| entry.life.clone())
    }

    /// Whether `id` is up: running (ticking or not) or a contract, so its dependents may start.
    fn is_up(&self, id: &str) -> bool {
        matches!(self.life(id), Some(Life::Contract | Life::Running(_) | Life::Paused { .. }))
    }

    /// Sets `id`'s life, keeping its last error.
    fn set_life(&self, id: &str, life: Life) {
        let mut modules = self.modules.borrow_mut();
        match modules.get_mut(id) {
            Some(entry) => entry.life = life,
            None => {
                modules.insert(id.to_owned(), Entry { life, last_error: None });
            }
        }
    }

    /// Records `message` as the last error `id` caused.
    fn note_error(&self, id: &str, message: &str) {
        if let Some(entry) = self.modules.borrow_mut().get_mut(id) {
            entry.last_error = Some(message.to_owned());
        }
    }

    fn clear_error(&self, id: &str) {
        if let Some(entry) = self.modules.borrow_mut().get_mut(id) {
            entry.last_error = None;
        }
    }

    /// The running generation of `id`, or why there is none.
    fn slot(&self, id: &str) -> Result<Rc<Slot>> {
        match self.life(id) {
            Some(Life::Running(slot) | Life::Paused { slot, .. }) => Ok(slot),
            Some(Life::Contract) => Err(Error::new(format!("`{id}` is a contract: it has types, not methods"))),
            // Stopped by the transaction running now (or not started yet): it comes back.
            Some(Life::Failed(why)) if why == STOPPED && self.reloading.borrow().is_some() => {
                Err(Error::new(format!("`{id}` is being reloaded")))
            }
            None if self.reloading.borrow().is_some() && self.knows(id) => {
                Err(Error::new(format!("`{id}` is being reloaded")))
            }
            Some(Life::Failed(why)) => Err(Error::new(format!("`{id}` is not running: {why}"))),
            None => Err(Error::new(format!("there is no module `{id}`"))),
        }
    }

    /// The running generations in load order; paused ones only if `paused`.
    fn running_in_order(&self, paused: bool) -> Vec<Rc<Slot>> {
        let order: Vec<String> = self.graph.borrow().as_ref().map(|g| g.order().to_vec()).unwrap_or_default();
        let modules = self.modules.borrow();
        order
            .iter()
            .filter_map(|id| match &modules.get(id)?.life {
                Life::Running(slot) => Some(Rc::clone(slot)),
                Life::Paused { slot, .. } if paused => Some(Rc::clone(slot)),
                _ => None,
            })
            .collect()
    }

    fn call(&self, id: &str, method: &str, args: &[u8]) -> Result<Vec<u8>> {
        let slot = self.slot(id)?;
        match slot.invoke(Step::Call, |v, i| (v.call)(i, method, args)) {
            Some(Ok(bytes)) => Ok(bytes),
            Some(Err(failure)) => {
                let message = format!("`{id}` failed in `{method}`: {failure}");
                if matches!(failure, Failure::Panicked(_)) {
                    self.note_error(id, &message);
                }
                Err(Error::new(message))
            }
            None => Err(Error::new(format!("`{id}` is being reloaded"))),
        }
    }

    fn handle(&self, id: &str) -> Result<ModuleHandle> {
        Ok(ModuleHandle::new(self.slot(id)?))
    }

    fn request(&self, id: &str) -> std::result::Result<(), String> {
        let known = self.graph.borrow().as_ref().is_some_and(|g| g.contains(id));
        if !known {
            return Err(format!("there is no module `{id}` to reload"));
        }
        let mut queue = self.queue.borrow_mut();
        if !queue.iter().any(|q| q == id) {
            queue.push(id.to_owned());
        }
        Ok(())
    }

    /// The typed service `contract` of the running module `provider`.
    fn service_of(&self, provider: &str, contract: &str) -> Result<Box<dyn std::any::Any>> {
        let slot = self.slot(provider)?;
        match slot.invoke(Step::Service, |v, i| Ok((v.service)(i, contract))) {
            Some(Ok(Some(service))) => Ok(service),
            Some(Ok(None)) => Err(Error::new(format!(
                "`{provider}` implements `{contract}` in its manifest but provides no service for it (list it in export_module!)"
            ))),
            Some(Err(e)) => Err(Error::new(format!("`{provider}` failed to provide `{contract}`: {e}"))),
            None => Err(Error::new(format!("`{provider}` has no instance"))),
        }
    }

    /// Copies and opens the current build of a module's library (contracts have none).
    fn open_generation(&self, source: &ModuleSource) -> Result<Option<Generation>> {
        let Some(library) = &source.library else { return Ok(None) };
        let built = FileStamp::of(library);
        let number = self.generations.borrow().get(source.id()).copied().unwrap_or(0) + 1;
        let (path, opened) = match self.preopener.take(library, built) {
            Some(ahead) => ahead,
            None => {
                let path = library::generation_path(&self.config.generations_dir, &source.package, number);
                let opened = library::open(library, &path)?;
                (path, opened)
            }
        };
        let embedded = Manifest::parse(opened.decl.metadata.manifest, std::path::Path::new("<embedded module.toml>"))
            .map_err(|e| Error::new(format!("{}: {e}", library.display())))?;
        if embedded.id != source.manifest.id {
            return Err(Error::new(format!(
                "{}: this library is module `{}`, not `{}`: a stale or misplaced build",
                library.display(),
                embedded.id,
                source.manifest.id
            )));
        }
        self.generations.borrow_mut().insert(source.id().to_owned(), number);
        Ok(Some(Generation { number, decl: opened.decl, path, built }))
    }

    /// Starts a module: creates and initializes an instance, hands it its saved state if
    /// there is one ([`Shared::restore`]), and registers it as running; a contract (no
    /// generation) is registered as one. On failure nothing is registered and the half-made
    /// instance is stopped. Returns the init and restore times in microseconds.
    fn start(
        &self,
        graph: &Graph,
        source: &ModuleSource,
        generation: Option<Generation>,
        saved: Option<&[u8]>,
    ) -> std::result::Result<(u64, u64), String> {
        let id = source.id();
        let Some(generation) = generation else {
            self.set_life(id, Life::Contract);
            return Ok((0, 0));
        };
        let init_started = Instant::now();
        // Threads that appear while its code starts are its own (see `Slot::left_threads`).
        let threads_before = slot::threads();
        // What the new generation takes back of the GPU resources kept for the module, the
        // rest is released once it has started (see `playground_api::gpu`).
        let keep = self.keep();
        if let Some(keep) = &keep {
            keep.begin(id);
        }
        self.sockets.begin(id);
        let slot = self.initialize(graph, source, generation)?;
        let init_us = micros(init_started);
        let restore_started = Instant::now();
        if let Some(bytes) = saved {
            Self::restore(&slot, bytes)?;
        }
        let restore_us = micros(restore_started);
        slot.note_started_threads(&threads_before);
        if let Some(keep) = &keep {
            let released = keep.sweep(id);
            if released > 0 {
                tracing::debug!("released {released} GPU resource(s) `{id}` did not take back");
            }
        }
        let closed = self.sockets.sweep(id);
        if closed > 0 {
            tracing::debug!("closed {closed} socket(s) `{id}` did not take back");
        }
        self.set_life(id, Life::Running(slot));
        Ok((init_us, restore_us))
    }

    /// Creates an instance of `generation` and initializes it with its context: the host,
    /// its enabled features, its `[config]` and the services of the contracts it depends on.
    /// A failure stops the half-made instance.
    fn initialize(
        &self,
        graph: &Graph,
        source: &ModuleSource,
        generation: Generation,
    ) -> std::result::Result<Rc<Slot>, String> {
        let id = source.id();
        let features = graph.enabled_features(id);
        let vtable = &generation.decl.vtable;
        let instance = guard::catch(|| (vtable.create)()).map_err(|e| format!("`{id}` failed in create: {e}"))?;
        // From here on the instance lives in a slot, so that every call below goes through
        // the one helper, and a failure stops it the one way.
        let slot = Rc::new(Slot::new(source.clone(), features.clone(), generation, instance, Rc::clone(&self.calls)));
        let fail = |message: String| {
            slot.discard();
            message
        };
        let mut services = BTreeMap::new();
        for dep in &source.manifest.dependencies {
            let Some(provider) = graph.implementer(&dep.id).filter(|p| *p != id) else { continue };
            match self.service_of(provider, &dep.id) {
                Ok(service) => {
                    services.insert(dep.id.clone(), service);
                }
                Err(e) => return Err(fail(format!("`{id}` needs the service of `{}`: {e}", dep.id))),
            }
        }
        let config = serde_json::to_value(&source.manifest.config)
            .map_err(|e| fail(format!("`{id}`: its [config] cannot be handed over: {e}")))?;
        let ctx = Context::new(self.host_for(&slot), id.to_owned(), features, config, services);
        if let Some(Err(e)) = slot.invoke(Step::Initialize, |v, i| (v.initialize)(i, &ctx)) {
            return Err(fail(format!("`{id}` failed in initialize: {e}")));
        }
        Ok(slot)
    }

    /// Hands a new instance the state its previous generation saved; a refusal (a state the
    /// new code cannot read) stops the instance.
    fn restore(slot: &Slot, bytes: &[u8]) -> std::result::Result<(), String> {
        match slot.invoke(Step::RestoreState, |v, i| (v.restore_state)(i, bytes)) {
            Some(Err(e)) => {
                slot.discard();
                Err(format!("`{}` refused its saved state in restore_state: {e}", slot.id()))
            }
            Some(Ok(())) | None => Ok(()),
        }
    }

    /// Stops a running module (shutdown, destroy); returns warnings, which also become its
    /// last error. A contract or a module not running only changes its life to stopped.
    fn stop(&self, id: &str) -> Vec<String> {
        let Some(life) = self.life(id) else { return Vec::new() };
        self.set_life(id, Life::Failed(STOPPED.to_owned()));
        let warnings = life.slot().map(|slot| slot.stop()).unwrap_or_default();
        if let Some(last) = warnings.last() {
            self.note_error(id, last);
        }
        warnings
    }

    fn infos(&self) -> Vec<ModuleInfo> {
        let Some(graph) = self.graph.borrow().clone() else { return Vec::new() };
        let modules = self.modules.borrow();
        graph
            .sources()
            .map(|source| {
                let m = &source.manifest;
                let entry = modules.get(m.id.as_str());
                let status = entry.map_or(ModuleStatus::Failed("not loaded".to_owned()), |e| e.life.status());
                let slot = entry.and_then(|e| e.life.slot());
                let generation = slot.map(|s| &s.generation);
                let enabled = match slot {
                    Some(slot) => slot.features.iter().cloned().collect(),
                    None => graph.enabled_features(&m.id).into_iter().collect(),
                };
                ModuleInfo {
                    id: m.id.clone(),
                    version: m.version.to_string(),
                    layer: m.layer.name().to_owned(),
                    description: m.description.clone(),
                    status,
                    generation: generation.map_or(0, |g| g.number),
                    dependencies: m
                        .dependencies
                        .iter()
                        .map(|d| DependencyInfo {
                            id: d.id.clone(),
                            requirement: d.requirement.to_string(),
                            features: d.features.clone(),
                        })
                        .collect(),
                    implements: m.implements.clone(),
                    features: m.features.keys().cloned().collect(),
                    enabled_features: enabled,
                    library: generation.map(|g| g.path.display().to_string()),
                    abi: generation.map(|_| abi::text(abi::running())),
                    last_error: entry.and_then(|e| e.last_error.clone()),
                    workers: slot.map(|s| s.worker_names()).unwrap_or_default(),
                }
            })
            .collect()
    }
}
