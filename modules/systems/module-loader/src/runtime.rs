//! The running modules: loading in dependency order, calls with panics caught, ticking, and
//! the reload transaction that rolls back. It implements the api's [`Host`] for modules.
//!
//! Invariants:
//! - No `RefCell` borrow of the runtime is held while module code runs, so a module may call
//!   back into the host (another module, the graph, a reload request) from anywhere.
//! - Reloads run only from [`Runtime::reload`] / [`Runtime::run_queued`], which the shell
//!   calls at its safe point, never from module code: [`Host::request_reload`] only queues.
//! - Nothing kept here points into a module across that module's reload: a slot (instance,
//!   vtable, services) is dropped before its module's next generation starts.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::rc::{Rc, Weak};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use playground_api::host::{
    BuildStatus, Callee, DependencyInfo, ModuleInfo, ModuleStatus, PhaseTimings, ReloadOutcome, ReloadRecord,
};
use playground_api::module::{CallFn, Instance, ModuleDecl};
use playground_api::service::{Contract, Service};
use playground_api::{Context, Host, abi, tracing};

use crate::discover::{ModuleSource, discover};
use crate::error::{Error, ErrorKind, Result};
use crate::graph::Graph;
use crate::manifest::Manifest;
use crate::{guard, library};

/// Where the runtime finds modules and their libraries.
#[derive(Clone, Debug)]
pub struct Config {
    /// The folder holding `core/`, `systems/`, `plugins/` and `apps/`.
    pub modules_root: PathBuf,
    /// Where cargo puts the module dylibs (`target/debug`).
    pub library_dir: PathBuf,
    /// Where generation copies go; one folder per process is best.
    pub generations_dir: PathBuf,
}

/// How many reload records the history keeps.
const HISTORY_LIMIT: usize = 1000;

/// Identifies a build of a library file, to tell whether it changed since it was loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: SystemTime,
}

impl FileStamp {
    fn of(path: &std::path::Path) -> Option<FileStamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(FileStamp { len: meta.len(), modified: meta.modified().ok()? })
    }
}

/// One loaded library of a module.
#[derive(Clone)]
struct Generation {
    number: u64,
    decl: &'static ModuleDecl,
    path: PathBuf,
    built: Option<FileStamp>,
}

/// One running module: the source it came from, its generation and its live instance.
struct Slot {
    source: ModuleSource,
    features: BTreeSet<String>,
    /// `None` for contracts, which have no library.
    generation: Option<Generation>,
    /// Taken out when the instance is destroyed.
    instance: RefCell<Option<Instance>>,
    /// Set when `tick` panicked: a panic there would repeat on every tick (sixty log lines a
    /// second), so this instance ticks no more. Its next generation, a new slot, ticks again.
    ticks_paused: Cell<bool>,
}

/// What [`Runtime::load_all`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Modules running, in load order.
    pub loaded: Vec<String>,
    /// Modules that are not running, and why.
    pub failed: Vec<(String, String)>,
}

struct Shared {
    config: Config,
    me: Weak<Shared>,
    graph: RefCell<Option<Graph>>,
    slots: RefCell<BTreeMap<String, Rc<Slot>>>,
    /// Modules of the graph that are not running, and why.
    failed: RefCell<BTreeMap<String, String>>,
    last_error: RefCell<BTreeMap<String, String>>,
    generations: RefCell<BTreeMap<String, u64>>,
    history: RefCell<VecDeque<ReloadRecord>>,
    queue: RefCell<Vec<String>>,
    reloading: RefCell<Option<String>>,
    seq: Cell<u64>,
    build: RefCell<BuildStatus>,
    /// A module asked for a restart (`Host::request_restart`); the host takes it.
    restart: Cell<bool>,
    /// Modules whose new generation starts without the saved state ([`Runtime::reload_fresh`]).
    fresh: RefCell<BTreeSet<String>>,
}

/// The loader's live state. One per process (or per test).
pub struct Runtime {
    shared: Rc<Shared>,
}

fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

fn module_error(message: String) -> Error {
    Error::new(ErrorKind::Module, message)
}

fn request_error(message: String) -> Error {
    Error::new(ErrorKind::Request, message)
}

impl Runtime {
    pub fn new(config: Config) -> Runtime {
        guard::install_hook();
        let shared = Rc::new_cyclic(|me| Shared {
            config,
            me: me.clone(),
            graph: RefCell::new(None),
            slots: RefCell::new(BTreeMap::new()),
            failed: RefCell::new(BTreeMap::new()),
            last_error: RefCell::new(BTreeMap::new()),
            generations: RefCell::new(BTreeMap::new()),
            history: RefCell::new(VecDeque::new()),
            queue: RefCell::new(Vec::new()),
            reloading: RefCell::new(None),
            seq: Cell::new(0),
            build: RefCell::new(BuildStatus::default()),
            restart: Cell::new(false),
            fresh: RefCell::new(BTreeSet::new()),
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
    /// process: see [`Runtime::save_all`]).
    pub fn load_all_with(&self, states: &BTreeMap<String, Vec<u8>>) -> Result<LoadReport> {
        let graph = self.shared.resolve()?;
        *self.shared.graph.borrow_mut() = Some(graph.clone());
        let mut report = LoadReport::default();
        for source in graph.sources() {
            let id = source.id().to_owned();
            if self.shared.slots.borrow().contains_key(&id) {
                report.loaded.push(id);
                continue;
            }
            let blocked =
                graph.predecessors(&id).find(|p| !self.shared.slots.borrow().contains_key(*p)).map(str::to_owned);
            let result = match blocked {
                Some(dep) => Err(format!("not loaded because `{dep}` is not running")),
                None => self.shared.open_generation(source).map_err(|e| e.message).and_then(|generation| {
                    let saved = states.get(&id).map(Vec::as_slice);
                    self.shared.start(&graph, source, generation, saved).map(|_| ())
                }),
            };
            match result {
                Ok(()) => report.loaded.push(id),
                Err(message) => {
                    tracing::error!(module = %id, "{message}");
                    self.shared.mark_failed(&id, &message);
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
        let slot = self.shared.slot(id)?;
        let instance = slot.instance.borrow();
        let (Some(generation), Some(instance)) = (&slot.generation, instance.as_ref()) else {
            return Ok(Vec::new());
        };
        guard::call(|| (generation.decl.vtable.save_state)(instance.as_ref()))
            .map_err(|e| module_error(format!("`{id}` could not save its state: {e}")))
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
            .ok_or_else(|| request_error(format!("no module implements `{}`", C::ID)))?;
        let any = self.shared.service_of(&provider, C::ID).map_err(request_error)?;
        Service::from_any(any.as_ref())
            .ok_or_else(|| request_error(format!("the service of `{}` has another type", C::ID)))
    }

    /// Runs every module's `tick` in load order. Errors and panics are logged and recorded
    /// as the module's last error; the module keeps running and answering calls, but after a
    /// panic in `tick` its ticks pause until it is reloaded (the panic would repeat on every
    /// tick).
    pub fn tick(&self, dt: f32) {
        let slots: Vec<Rc<Slot>> = self.shared.running_in_order();
        for slot in slots {
            if slot.ticks_paused.get() {
                continue;
            }
            let instance = slot.instance.borrow();
            let (Some(generation), Some(instance)) = (&slot.generation, instance.as_ref()) else { continue };
            if let Err(e) = guard::call(|| (generation.decl.vtable.tick)(instance.as_ref(), dt)) {
                let id = slot.source.id();
                let message = if e.starts_with("panicked") {
                    slot.ticks_paused.set(true);
                    format!("`{id}` failed in tick: {e}; its ticks are paused until it is reloaded")
                } else {
                    format!("`{id}` failed in tick: {e}")
                };
                tracing::warn!("{message}");
                self.shared.last_error.borrow_mut().insert(id.to_owned(), message);
            }
        }
    }

    /// Queues a reload for the next [`Runtime::run_queued`].
    pub fn request_reload(&self, id: &str) -> Result<()> {
        self.shared.request(id).map_err(request_error)
    }

    /// The safe point: runs the queued reloads, in request order. Call it between frames,
    /// when no module code is on the stack.
    pub fn run_queued(&self) -> Vec<ReloadRecord> {
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
        self.shared.fresh.borrow_mut().insert(id.to_owned());
        let record = self.reload(id);
        self.shared.fresh.borrow_mut().clear();
        record
    }

    /// Reloads several modules and everything that depends on any of them as one
    /// transaction; `build_us` is the build that produced them, recorded with the timings.
    pub fn reload_set(&self, ids: &[String], build_us: u64) -> Result<ReloadRecord> {
        let id = ids.join(", ");
        if let Some(running) = self.shared.reloading.borrow().as_ref() {
            return Err(request_error(format!(
                "a reload of `{running}` is running; `{id}` can only be queued (Host::request_reload) until it ends"
            )));
        }
        for one in ids {
            let known = self.shared.graph.borrow().as_ref().is_some_and(|g| g.contains(one))
                || self.shared.modules_root_has(one);
            if !known {
                return Err(request_error(format!("there is no module `{one}`")));
            }
        }
        *self.shared.reloading.borrow_mut() = Some(id.clone());
        let mut record = self.shared.transaction(ids);
        *self.shared.reloading.borrow_mut() = None;
        record.timings.build_us = build_us;
        match &record.outcome {
            ReloadOutcome::Swapped => tracing::info!(
                "reloaded {} in {:.2} ms",
                record.modules.join(", "),
                record.timings.total_us as f64 / 1000.0
            ),
            other => tracing::error!("reload of `{id}`: {other:?}"),
        }
        let mut history = self.shared.history.borrow_mut();
        history.push_back(record.clone());
        while history.len() > HISTORY_LIMIT {
            history.pop_front();
        }
        Ok(record)
    }

    /// Unloads a module whose folder is gone, unless running modules need it. `Ok` and
    /// `Err` both carry the sentence to show.
    pub fn remove(&self, id: &str) -> std::result::Result<String, String> {
        let graph = self.shared.resolve().map_err(|e| {
            format!("`{id}` was deleted, but the modules do not resolve without it, so it keeps running: {e}")
        })?;
        if graph.contains(id) {
            return Err(format!("`{id}` still has a module.toml; nothing to remove"));
        }
        let warnings = self.shared.stop(id);
        self.shared.failed.borrow_mut().remove(id);
        *self.shared.graph.borrow_mut() = Some(graph);
        let mut message = format!("`{id}` was deleted and has been unloaded");
        if !warnings.is_empty() {
            message.push_str(&format!(" ({})", warnings.join("; ")));
        }
        Ok(message)
    }

    /// Every running module's state, for a restart that must lose nothing.
    pub fn save_all(&self) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
        let mut states = BTreeMap::new();
        let mut errors = Vec::new();
        for slot in self.shared.running_in_order() {
            if slot.generation.is_none() {
                continue;
            }
            match self.state(slot.source.id()) {
                Ok(bytes) => {
                    states.insert(slot.source.id().to_owned(), bytes);
                }
                Err(e) => errors.push(e.message),
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

    /// Asks for a restart, as `Host::request_restart` does for a module.
    pub fn request_restart(&self) {
        self.shared.restart.set(true);
    }

    /// The build pipeline's state.
    pub fn build_status(&self) -> BuildStatus {
        self.shared.build.borrow().clone()
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
        let mut ids: Vec<String> = self.shared.running_in_order().iter().map(|s| s.source.id().to_owned()).collect();
        ids.reverse();
        ids.iter().flat_map(|id| self.shared.stop(id)).collect()
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
    fn host(&self) -> Rc<dyn Host> {
        Rc::new(HostHandle { shared: self.me.clone() })
    }

    fn modules_root_has(&self, id: &str) -> bool {
        self.config.modules_root.join(id).join("module.toml").is_file()
    }

    fn resolve(&self) -> Result<Graph> {
        let sources = discover(&self.config.modules_root, &self.config.library_dir)?;
        Graph::resolve(sources)
    }

    fn slot(&self, id: &str) -> Result<Rc<Slot>> {
        if let Some(slot) = self.slots.borrow().get(id) {
            return Ok(Rc::clone(slot));
        }
        if let Some(why) = self.failed.borrow().get(id) {
            return Err(request_error(format!("`{id}` is not running: {why}")));
        }
        if self.reloading.borrow().is_some() {
            return Err(request_error(format!("`{id}` is being reloaded")));
        }
        Err(request_error(format!("there is no module `{id}`")))
    }

    fn running_in_order(&self) -> Vec<Rc<Slot>> {
        let order: Vec<String> = self.graph.borrow().as_ref().map(|g| g.order().to_vec()).unwrap_or_default();
        let slots = self.slots.borrow();
        order.iter().filter_map(|id| slots.get(id).cloned()).collect()
    }

    fn mark_failed(&self, id: &str, message: &str) {
        self.failed.borrow_mut().insert(id.to_owned(), message.to_owned());
        self.last_error.borrow_mut().insert(id.to_owned(), message.to_owned());
    }

    fn call(&self, id: &str, method: &str, args: &[u8]) -> Result<Vec<u8>> {
        let slot = self.slot(id)?;
        let instance = slot.instance.borrow();
        let (Some(generation), Some(instance)) = (&slot.generation, instance.as_ref()) else {
            return Err(request_error(format!("`{id}` is a contract: it has types, not methods")));
        };
        guard::call(|| (generation.decl.vtable.call)(instance.as_ref(), method, args)).map_err(|e| {
            let message = format!("`{id}` failed in `{method}`: {e}");
            if e.starts_with("panicked") {
                self.last_error.borrow_mut().insert(id.to_owned(), message.clone());
            }
            module_error(message)
        })
    }

    fn handle(&self, id: &str) -> Result<ModuleHandle> {
        let slot = self.slot(id)?;
        let Some(call) = slot.generation.as_ref().map(|g| g.decl.vtable.call) else {
            return Err(request_error(format!("`{id}` is a contract: it has types, not methods")));
        };
        Ok(ModuleHandle { slot, call })
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
    fn service_of(&self, provider: &str, contract: &str) -> std::result::Result<Box<dyn std::any::Any>, String> {
        let slot = self.slot(provider).map_err(|e| e.message)?;
        let instance = slot.instance.borrow();
        let (Some(generation), Some(instance)) = (&slot.generation, instance.as_ref()) else {
            return Err(format!("`{provider}` has no instance"));
        };
        guard::catch(|| (generation.decl.vtable.service)(instance.as_ref(), contract))?
            .ok_or_else(|| format!("`{provider}` implements `{contract}` in its manifest but provides no service for it (list it in export_module!)"))
    }

    /// Copies and opens the current build of a module's library (contracts have none).
    fn open_generation(&self, source: &ModuleSource) -> Result<Option<Generation>> {
        let Some(library) = &source.library else { return Ok(None) };
        let built = FileStamp::of(library);
        let number = self.generations.borrow().get(source.id()).copied().unwrap_or(0) + 1;
        let path = library::generation_path(&self.config.generations_dir, &source.package, number);
        let opened = library::open(library, &path)?;
        let embedded = Manifest::parse(opened.decl.metadata.manifest, std::path::Path::new("<embedded module.toml>"))
            .map_err(|e| Error::new(ErrorKind::Library, format!("{}: {e}", library.display())))?;
        if embedded.id != source.manifest.id {
            return Err(Error::new(
                ErrorKind::Library,
                format!(
                    "{}: this library is module `{}`, not `{}`: a stale or misplaced build",
                    library.display(),
                    embedded.id,
                    source.manifest.id
                ),
            ));
        }
        self.generations.borrow_mut().insert(source.id().to_owned(), number);
        Ok(Some(Generation { number, decl: opened.decl, path, built }))
    }

    /// Creates, initializes and (given saved state) restores an instance, and registers it.
    /// On failure nothing is registered and the half-made instance is destroyed.
    fn start(
        &self,
        graph: &Graph,
        source: &ModuleSource,
        generation: Option<Generation>,
        saved: Option<&[u8]>,
    ) -> std::result::Result<(u64, u64), String> {
        let id = source.id().to_owned();
        let features = graph.enabled_features(&id);
        let Some(generation_ref) = generation.as_ref() else {
            let slot = Slot {
                source: source.clone(),
                features,
                generation: None,
                instance: RefCell::new(None),
                ticks_paused: Cell::new(false),
            };
            self.slots.borrow_mut().insert(id.clone(), Rc::new(slot));
            self.failed.borrow_mut().remove(&id);
            return Ok((0, 0));
        };
        let vtable = generation_ref.decl.vtable;
        let init_started = Instant::now();
        let instance = guard::catch(|| (vtable.create)()).map_err(|e| format!("`{id}` failed in create: {e}"))?;
        let destroy = |instance: Instance| {
            let _ = guard::call(|| (vtable.shutdown)(instance.as_ref()));
            let _ = guard::catch(|| (vtable.destroy)(instance));
        };

        let mut services = BTreeMap::new();
        for dep in &source.manifest.dependencies {
            let Some(provider) = graph.implementer(&dep.id) else { continue };
            if provider == id {
                continue;
            }
            match self.service_of(provider, &dep.id) {
                Ok(service) => {
                    services.insert(dep.id.clone(), service);
                }
                Err(e) => {
                    destroy(instance);
                    return Err(format!("`{id}` needs the service of `{}`: {e}", dep.id));
                }
            }
        }
        let ctx = Context::new(self.host(), id.clone(), features.clone(), source.manifest.config.clone(), services);
        if let Err(e) = guard::call(|| (vtable.initialize)(instance.as_ref(), &ctx)) {
            destroy(instance);
            return Err(format!("`{id}` failed in initialize: {e}"));
        }
        drop(ctx);
        let init_us = micros(init_started);

        let restore_started = Instant::now();
        if let Some(bytes) = saved
            && let Err(e) = guard::call(|| (vtable.restore_state)(instance.as_ref(), bytes))
        {
            destroy(instance);
            return Err(format!("`{id}` refused its saved state in restore_state: {e}"));
        }
        let restore_us = micros(restore_started);

        let slot = Slot {
            source: source.clone(),
            features,
            generation,
            instance: RefCell::new(Some(instance)),
            ticks_paused: Cell::new(false),
        };
        self.slots.borrow_mut().insert(id.clone(), Rc::new(slot));
        self.failed.borrow_mut().remove(&id);
        Ok((init_us, restore_us))
    }

    /// Shuts down and destroys a running module; returns warnings (a panicking `shutdown` or
    /// `drop` does not stop the unload: the state was saved before).
    fn stop(&self, id: &str) -> Vec<String> {
        let Some(slot) = self.slots.borrow_mut().remove(id) else { return Vec::new() };
        let mut warnings = Vec::new();
        let instance = slot.instance.borrow_mut().take();
        if let (Some(generation), Some(instance)) = (&slot.generation, instance) {
            let vtable = generation.decl.vtable;
            if let Err(e) = guard::call(|| (vtable.shutdown)(instance.as_ref())) {
                warnings.push(format!("`{id}` failed in shutdown: {e}"));
            }
            if let Err(e) = guard::catch(|| (vtable.destroy)(instance)) {
                warnings.push(format!("`{id}` failed while being destroyed: {e}"));
            }
        }
        for warning in &warnings {
            self.last_error.borrow_mut().insert(id.to_owned(), warning.clone());
        }
        warnings
    }

    /// The reload transaction (DESIGN.md rule 5). Phases, in the order they run:
    /// resolve the manifests; load the new libraries (nothing running is touched yet, so a
    /// bad library is refused outright); save every state in the chain, dependents first
    /// (a failure is refused too); unload dependents first; start dependencies first,
    /// restoring each saved state. A failure from the unload on rolls the chain back to
    /// the old generations with the states saved a moment before.
    fn transaction(&self, roots: &[String]) -> ReloadRecord {
        let id = roots.join(", ");
        let id = id.as_str();
        let started = Instant::now();
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        let started_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let mut record = ReloadRecord {
            seq,
            requested: id.to_owned(),
            modules: Vec::new(),
            started_at,
            timings: PhaseTimings::default(),
            outcome: ReloadOutcome::Swapped,
            warnings: Vec::new(),
        };
        let refuse = |mut record: ReloadRecord, module: &str, message: String| {
            self.last_error.borrow_mut().insert(module.to_owned(), message.clone());
            record.outcome = ReloadOutcome::Refused(message);
            record.timings.total_us = micros(started);
            record
        };

        // 1. Manifests, read afresh: an edited module.toml is part of the change.
        let graph = match self.resolve() {
            Ok(graph) => graph,
            Err(e) => return refuse(record, id, e.message),
        };
        if let Some(missing) = roots.iter().find(|r| !graph.contains(r)) {
            return refuse(record, missing, format!("`{missing}` is no longer in the modules folder"));
        }
        let mut in_chain = BTreeSet::new();
        for root in roots {
            in_chain.extend(graph.reload_chain(root));
        }
        let chain: Vec<String> = graph.order().iter().filter(|m| in_chain.contains(*m)).cloned().collect();
        record.modules.clone_from(&chain);

        // 2. Load: a new generation for every changed (or never loaded) library.
        let load_started = Instant::now();
        let mut next: BTreeMap<String, Option<Generation>> = BTreeMap::new();
        for module in &chain {
            let Some(source) = graph.get(module) else { continue };
            let current = self.slots.borrow().get(module).and_then(|s| s.generation.clone());
            let unchanged = match (&current, &source.library) {
                (Some(generation), Some(library)) => {
                    generation.built.is_some() && generation.built == FileStamp::of(library)
                }
                _ => false,
            };
            let generation = if unchanged {
                current
            } else {
                match self.open_generation(source) {
                    Ok(generation) => generation,
                    Err(e) => return refuse(record, module, e.message),
                }
            };
            if let Some(generation) = &generation {
                let embedded_version =
                    Manifest::parse(generation.decl.metadata.manifest, std::path::Path::new("embedded"))
                        .map(|m| m.version);
                if embedded_version.as_ref().is_ok_and(|v| *v != source.manifest.version) {
                    record.warnings.push(format!(
                        "`{module}`: module.toml says version {}, but the library was built as {}; rebuild it",
                        source.manifest.version,
                        embedded_version.map(|v| v.to_string()).unwrap_or_default()
                    ));
                }
            }
            next.insert(module.clone(), generation);
        }
        record.timings.load_us = micros(load_started);

        // 3. Save, dependents first. Until this succeeds, nothing has changed.
        let save_started = Instant::now();
        let mut saved: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut old: Vec<Rc<Slot>> = Vec::new();
        for module in chain.iter().rev() {
            let Some(slot) = self.slots.borrow().get(module).cloned() else { continue };
            let result = {
                let instance = slot.instance.borrow();
                match (&slot.generation, instance.as_ref()) {
                    (Some(generation), Some(instance)) => {
                        Some(guard::call(|| (generation.decl.vtable.save_state)(instance.as_ref())))
                    }
                    _ => None,
                }
            };
            match result {
                Some(Ok(bytes)) => {
                    saved.insert(module.clone(), bytes);
                }
                Some(Err(e)) => {
                    return refuse(record, module, format!("`{module}` could not save its state: {e}"));
                }
                None => {}
            }
            old.push(slot);
        }
        old.reverse();
        record.timings.save_us = micros(save_started);

        // 4. Unload, dependents first.
        let unload_started = Instant::now();
        for slot in old.iter().rev() {
            let warnings = self.stop(slot.source.id());
            record.warnings.extend(warnings);
        }
        record.timings.unload_us = micros(unload_started);

        // 5. Start, dependencies first, each with its saved state.
        let mut started_now: Vec<String> = Vec::new();
        let mut failure = None;
        for module in &chain {
            let Some(source) = graph.get(module) else { continue };
            let generation = next.get(module).cloned().flatten();
            let state = if self.fresh.borrow().contains(module) {
                record.warnings.push(format!("`{module}` started fresh: its saved state was set aside"));
                None
            } else {
                saved.get(module).map(Vec::as_slice)
            };
            match self.start(&graph, source, generation, state) {
                Ok((init_us, restore_us)) => {
                    record.timings.init_us += init_us;
                    record.timings.restore_us += restore_us;
                    started_now.push(module.clone());
                }
                Err(e) => {
                    failure = Some((module.clone(), e));
                    break;
                }
            }
        }

        if let Some((module, message)) = failure {
            // 6. Roll back: stop what started, restart the old generations with the states
            // saved a moment ago, under the old graph.
            for started in started_now.iter().rev() {
                record.warnings.extend(self.stop(started));
            }
            let old_graph = self.graph.borrow().clone().unwrap_or(graph);
            let mut broken = Vec::new();
            for slot in &old {
                let source_id = slot.source.id();
                if let Err(e) = self.start(
                    &old_graph,
                    &slot.source,
                    slot.generation.clone(),
                    saved.get(source_id).map(Vec::as_slice),
                ) {
                    self.mark_failed(source_id, &format!("rollback failed: {e}"));
                    broken.push(format!("{source_id}: {e}"));
                }
            }
            self.last_error.borrow_mut().insert(module, message.clone());
            record.outcome = if broken.is_empty() {
                ReloadOutcome::RolledBack(message)
            } else {
                ReloadOutcome::Broken(format!("{message}; then the rollback failed: {}", broken.join("; ")))
            };
        } else {
            *self.graph.borrow_mut() = Some(graph);
            for module in &chain {
                self.last_error.borrow_mut().remove(module);
            }
        }
        record.timings.total_us = micros(started);
        record
    }

    fn infos(&self) -> Vec<ModuleInfo> {
        let Some(graph) = self.graph.borrow().clone() else { return Vec::new() };
        let slots = self.slots.borrow();
        let failed = self.failed.borrow();
        let last_error = self.last_error.borrow();
        graph
            .sources()
            .map(|source| {
                let m = &source.manifest;
                let slot = slots.get(m.id.as_str());
                let status = match (slot, failed.get(m.id.as_str())) {
                    (Some(s), _) if s.generation.is_none() => ModuleStatus::Contract,
                    (Some(_), _) => ModuleStatus::Loaded,
                    (None, Some(why)) => ModuleStatus::Failed(why.clone()),
                    (None, None) => ModuleStatus::Failed("not loaded".to_owned()),
                };
                let generation = slot.and_then(|s| s.generation.as_ref());
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
                    enabled_features: slot.map(|s| s.features.iter().cloned().collect()).unwrap_or_default(),
                    library: generation.map(|g| g.path.display().to_string()),
                    abi: generation.map(|_| abi::text(abi::running())),
                    last_error: last_error.get(m.id.as_str()).cloned(),
                }
            })
            .collect()
    }
}

/// A module resolved once, called many times (see [`Runtime::handle`]).
pub struct ModuleHandle {
    slot: Rc<Slot>,
    /// The generation's `call` entry point, copied out of its vtable once. It stays
    /// callable: libraries are never closed, and the slot's instance says whether this
    /// generation still runs.
    call: CallFn,
}

impl ModuleHandle {
    /// The generic call path without the lookup by name; panics are caught. Always inlined:
    /// out of line, the extra frame moved the 32-byte result through memory once more and
    /// the bench measured 19 ns instead of 11.
    #[inline(always)]
    pub fn call(&self, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        let instance = self.slot.instance.borrow();
        match instance.as_ref() {
            Some(instance) => guard::call(|| (self.call)(instance.as_ref(), method, args)),
            None => Err(self.stale()),
        }
    }

    /// [`ModuleHandle::call`], or `None` when the generation it resolved no longer runs.
    #[inline(always)]
    fn call_live(&self, method: &str, args: &[u8]) -> Option<Result<Vec<u8>, String>> {
        let instance = self.slot.instance.borrow();
        let instance = instance.as_ref()?;
        Some(guard::call(|| (self.call)(instance.as_ref(), method, args)))
    }

    #[cold]
    #[inline(never)]
    fn stale(&self) -> String {
        format!("`{}` was reloaded or stopped: take a new handle", self.slot.source.id())
    }
}

/// The [`Host`] modules hold. It points at the runtime weakly: the runtime owns the modules,
/// not the other way round.
struct HostHandle {
    shared: Weak<Shared>,
}

impl HostHandle {
    fn shared(&self) -> std::result::Result<Rc<Shared>, String> {
        self.shared.upgrade().ok_or_else(|| "the host has shut down".to_owned())
    }
}

impl Host for HostHandle {
    fn call(&self, module: &str, method: &str, args: &[u8]) -> std::result::Result<Vec<u8>, String> {
        self.shared()?.call(module, method, args).map_err(|e| e.message)
    }

    fn request_reload(&self, module: &str) -> std::result::Result<(), String> {
        self.shared()?.request(module)
    }

    fn modules(&self) -> Vec<ModuleInfo> {
        self.shared().map(|s| s.infos()).unwrap_or_default()
    }

    fn reload_history(&self) -> Vec<ReloadRecord> {
        self.shared().map(|s| s.history.borrow().iter().cloned().collect()).unwrap_or_default()
    }

    fn build_status(&self) -> BuildStatus {
        self.shared().map(|s| s.build.borrow().clone()).unwrap_or_default()
    }
    fn state(&self, module: &str) -> std::result::Result<Vec<u8>, String> {
        self.shared()?.state_bytes(module)
    }

    fn modules_root(&self) -> Option<PathBuf> {
        self.shared().ok().map(|s| s.config.modules_root.clone())
    }

    fn create_module(&self, id: &str, description: &str) -> std::result::Result<String, String> {
        let root = self.shared()?.config.modules_root.clone();
        let made = crate::scaffold::create(&root, id, description)?;
        tracing::info!("created {} at {}", made.id, made.dir.display());
        Ok(made.dir.display().to_string())
    }

    fn request_restart(&self) -> std::result::Result<(), String> {
        self.shared()?.restart.set(true);
        tracing::info!("a restart was requested; it runs at the next safe point");
        Ok(())
    }

    fn callee(&self, module: &str) -> std::result::Result<Rc<dyn Callee>, String> {
        let handle = self.shared()?.handle(module).map_err(|e| e.message)?;
        Ok(Rc::new(ModuleCallee { shared: self.shared.clone(), id: module.to_owned(), handle: RefCell::new(handle) }))
    }
}

/// A [`Callee`] for a module to keep: a [`ModuleHandle`] that resolves its module again
/// when the generation it holds has been reloaded or stopped.
struct ModuleCallee {
    shared: Weak<Shared>,
    id: String,
    handle: RefCell<ModuleHandle>,
}

impl ModuleCallee {
    /// Resolves the module's running generation again (after a reload).
    #[cold]
    #[inline(never)]
    fn refresh(&self) -> std::result::Result<(), String> {
        let shared = self.shared.upgrade().ok_or_else(|| "the host has shut down".to_owned())?;
        let handle = shared.handle(&self.id).map_err(|e| e.message)?;
        *self.handle.try_borrow_mut().map_err(|_| format!("`{}` is busy", self.id))? = handle;
        Ok(())
    }
}

impl Callee for ModuleCallee {
    fn call(&self, method: &str, args: &[u8]) -> std::result::Result<Vec<u8>, String> {
        if let Some(result) = self.handle.borrow().call_live(method, args) {
            return result;
        }
        self.refresh()?;
        self.handle.borrow().call(method, args)
    }
}

// ---------------------------------------------------------------------------------------
// The window's entry points (issue 3): module UIs drawn by a windowed host, and the state
// of a module as another module (the editor's inspector) reads it.
// ---------------------------------------------------------------------------------------

impl Runtime {
    /// The running `apps` modules, in load order: the ones a windowed host draws.
    pub fn ui_modules(&self) -> Vec<String> {
        self.shared
            .running_in_order()
            .iter()
            .filter(|s| s.generation.is_some() && s.source.manifest.layer == crate::manifest::Layer::Apps)
            .map(|s| s.source.id().to_owned())
            .collect()
    }

    /// Runs module `id`'s `ui` for one frame, with panics caught. A failure is recorded as
    /// the module's last error; the module keeps running. Call it from the frame, never
    /// from module code.
    pub fn ui(&self, id: &str, ui: &mut playground_api::egui::Ui) -> Result<()> {
        let slot = self.shared.slot(id)?;
        let instance = slot.instance.borrow();
        let (Some(generation), Some(instance)) = (&slot.generation, instance.as_ref()) else { return Ok(()) };
        guard::call(|| (generation.decl.vtable.ui)(instance.as_ref(), ui)).map_err(|e| {
            let message = format!("`{id}` failed in ui: {e}");
            self.shared.last_error.borrow_mut().insert(id.to_owned(), message.clone());
            module_error(message)
        })
    }
}

impl Shared {
    /// A running module's encoded state, for [`Host::state`].
    fn state_bytes(&self, id: &str) -> std::result::Result<Vec<u8>, String> {
        let slot = self.slot(id).map_err(|e| e.message)?;
        let instance = slot.instance.borrow();
        let (Some(generation), Some(instance)) = (&slot.generation, instance.as_ref()) else {
            return Ok(Vec::new());
        };
        guard::call(|| (generation.decl.vtable.save_state)(instance.as_ref()))
            .map_err(|e| format!("`{id}` could not save its state: {e}"))
    }
}
