//! What a module may ask of the host, and the data the host describes itself with.
//!
//! A module receives a [`Context`] in `initialize`. It may keep the [`Host`] handle from it for
//! its whole life: the host is immortal, so a module pointing into the host is safe (the
//! reverse is what the loader forbids). Everything here is plain data or a trait object the
//! host implements; the api does not know how the host finds, loads or reloads modules.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::caller::ModuleCaller;
use crate::gpu::Gpu;
use crate::net::Sockets;
use crate::service::{Contract, Service};
use crate::worker::{Stop, Work};

/// The host as a module sees it. Calls go through the loader's generic path, with panics
/// caught; reloads are only ever queued, because a module's own code is on the stack while
/// it calls the host (ARCHITECTURE.md, invariant 5).
pub trait Host {
    /// Calls `method` on another module with encoded `args` (see [`crate::codec`]). It looks
    /// the module up by name each time; for a module called often, keep a [`Host::callee`].
    fn call(&self, module: &str, method: &str, args: &[u8]) -> Result<Vec<u8>, String>;
    /// `module`, resolved once for generic calls: what a module keeps in a field to call
    /// another one often, without the lookup by name. It follows `module` across its
    /// reloads.
    fn callee(&self, module: &str) -> Result<Rc<dyn Callee>, String> {
        Err(format!("this host cannot resolve `{module}` ahead of calls"))
    }
    /// Draws `module`'s `ui` inside `ui`: how an app hosts a panel that is a module of its
    /// own (the editor's Log and Timings tabs), which then rebuilds and reloads alone while
    /// the app keeps its layout. A panic in the panel is caught and returned as the error
    /// (the panel keeps running); an app cannot be shown this way (the window draws apps).
    fn show(&self, module: &str, ui: &mut crate::egui::Ui) -> Result<(), String> {
        let _ = ui;
        Err(format!("this host cannot show `{module}`"))
    }
    /// Queues a reload of `module` and its dependents for the next safe point. It fails if
    /// the module is unknown; a request for a module already queued is merged with it.
    fn request_reload(&self, module: &str) -> Result<(), String>;
    /// Every known module, in load order.
    fn modules(&self) -> Vec<ModuleInfo>;
    /// The recorded reloads, oldest first.
    fn reload_history(&self) -> Vec<ReloadRecord>;
    /// The build running now, if any, and the outcome of the last one.
    fn build_status(&self) -> BuildStatus;
    /// Another module's state, as its `save_state` encodes it (see [`crate::codec::to_json`]).
    /// A module asking for its own state gets an error (it is busy): it has it already.
    fn state(&self, module: &str) -> Result<Vec<u8>, String> {
        Err(format!("this host cannot read the state of `{module}`"))
    }
    /// The folder the host finds modules in (`<root>/<layer>/<name>/module.toml`), if it
    /// has one: where the editor's "New module…" dialog starts.
    fn modules_root(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// Writes a new module crate `<layer>/<name>` from the template in the modules folder
    /// and returns the folder it wrote. It does not build or load it: live edit sees the new
    /// manifest and does both, as for any edit.
    fn create_module(&self, id: &str, description: &str) -> Result<String, String> {
        let _ = description;
        Err(format!("this host cannot create modules (asked for `{id}`)"))
    }
    /// Asks the host to restart at its next safe point: rebuild the shell and the api, save
    /// every module's state, start the new binary and restore them. The way to pick up an
    /// edit of immortal code (`api/`, the loader, the shell), which no reload can swap.
    fn request_restart(&self) -> Result<(), String> {
        Err("this host cannot restart".to_owned())
    }
    /// Whether the window is closing for a restart, which hands every module its saved state
    /// back (so nothing unsaved is lost), rather than for good: a module that asks before the
    /// window closes with unsaved work need not ask then.
    fn restarting(&self) -> bool {
        false
    }
    /// Starts `work` on a thread of its own, named `name`, owned by the module this host
    /// handle was given to: the host asks it to stop and joins it when the module stops,
    /// before the module's `shutdown` (see [`crate::worker`]). Prefer this to
    /// `std::thread::spawn`, whose thread would outlive the module's generation.
    fn spawn_worker(&self, name: &str, work: Work) -> Result<(), String> {
        drop(work);
        Err(format!("this host cannot run workers (asked for `{name}`)"))
    }
    /// The sockets the host keeps for the module this handle was given to, across its
    /// reloads (see [`crate::net`]).
    fn sockets(&self) -> Result<Sockets, String> {
        Err("this host keeps no sockets".to_owned())
    }
    /// A handle that calls modules from any thread or async task, at the host's next safe
    /// point (see [`crate::caller`]).
    fn caller(&self) -> Result<ModuleCaller, String> {
        Err("this host takes no calls from other threads".to_owned())
    }
    /// The shell's GPU for the module this host handle was given to (see [`crate::gpu`]).
    /// It fails, saying why, when there is no adapter or no window yet.
    fn gpu(&self) -> Result<Gpu, String> {
        Err("this host has no GPU".to_owned())
    }
    /// Replaces the problems the module this handle was given to found in its assets (a
    /// shader that does not compile): they show where build errors show, with file, line and
    /// column. An empty list clears them.
    fn report_problems(&self, problems: Vec<Diagnostic>) {
        drop(problems);
    }
}

/// Another module, resolved for generic calls (see [`Host::callee`]).
pub trait Callee {
    /// Calls `method` with encoded `args`, as [`Host::call`] does.
    fn call(&self, method: &str, args: &[u8]) -> Result<Vec<u8>, String>;
}

/// How serious a compiler message is. Notes and help travel inside the message they belong
/// to (its `rendered` text), never alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    /// The build fails because of it.
    #[serde(rename = "error")]
    Error,
    /// The compiler itself failed; the build fails too.
    #[serde(rename = "internal compiler error")]
    InternalCompilerError,
    #[serde(rename = "warning")]
    Warning,
}

impl Level {
    /// Whether a message of this level fails the build.
    pub fn is_error(self) -> bool {
        matches!(self, Level::Error | Level::InternalCompilerError)
    }
}

/// One compiler message, as cargo reported it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub level: Level,
    pub message: String,
    /// The primary span's file, relative to the workspace, if there is one.
    pub file: Option<String>,
    pub line: u32,
    pub column: u32,
    /// The full text as rustc prints it (without colours).
    pub rendered: String,
}

/// How a build ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildOutcome {
    pub success: bool,
    /// The modules the build was for.
    pub modules: Vec<String>,
    /// The cargo packages it built.
    pub packages: Vec<String>,
    pub duration_ms: f64,
    /// Errors first, then warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// Why cargo failed when it is not a compiler error (a bad package name, no cargo...).
    pub error: Option<String>,
    /// Seconds since the Unix epoch when it finished.
    pub finished_at: f64,
    /// Built by re-running the recorded rustc commands (the build service's fast path), not
    /// cargo.
    #[serde(default)]
    pub fast_path: bool,
    /// Who asked for this build ("live edit", "module.reload", "start-up", ...): one build
    /// answers every request that was waiting for the same modules.
    #[serde(default)]
    pub requested_by: Vec<String>,
    /// Why the fast path was not taken when it was tried (a recorded rustc command that no
    /// longer applies): a sentence, shown with the build.
    #[serde(default)]
    pub note: Option<String>,
}

/// The build pipeline as the editor shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildStatus {
    /// Modules being built now (empty when idle).
    pub building: Vec<String>,
    /// Units compiled so far and in all, when cargo has said.
    pub progress: Option<(u32, u32)>,
    /// Who asked for the build running now (see [`BuildOutcome::requested_by`]).
    #[serde(default)]
    pub requested_by: Vec<String>,
    pub last: Option<BuildOutcome>,
    /// Each module's last build, kept until that module builds again ([`BuildStatus::last`]
    /// may be another module's since): a module's errors stay at its lines, and its mark in
    /// the graph, while other modules build. A module built with others shares their outcome.
    #[serde(default)]
    pub by_module: BTreeMap<String, BuildOutcome>,
    /// Set when immortal code changed (the api, the loader, the shell, the workspace's build
    /// settings): the shell must restart to pick it up.
    pub restart_needed: bool,
    /// What changed, when [`BuildStatus::restart_needed`]: a sentence naming the file and
    /// the part of the process it belongs to.
    #[serde(default)]
    pub restart_reason: Option<String>,
    /// Problems modules found in their assets (shaders that do not compile), reported with
    /// [`Host::report_problems`]; they clear when fixed.
    #[serde(default)]
    pub assets: Vec<Diagnostic>,
}

impl BuildStatus {
    /// Takes `outcome` as the last build, and as the last build of each of its modules.
    pub fn record(&mut self, outcome: BuildOutcome) {
        for module in &outcome.modules {
            self.by_module.insert(module.clone(), outcome.clone());
        }
        self.last = Some(outcome);
    }

    /// The last build of `module`, if it has been built.
    pub fn of(&self, module: &str) -> Option<&BuildOutcome> {
        self.by_module.get(module)
    }
}

impl BuildOutcome {
    /// The diagnostics that failed the build.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level.is_error())
    }

    /// Puts errors first: they are what the user must fix.
    pub fn sort_errors_first(&mut self) {
        self.diagnostics.sort_by_key(|d| !d.level.is_error());
    }
}

/// Where a module stands in the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum ModuleStatus {
    /// Running its current generation.
    Loaded,
    /// A contract (`modules/core/*`): types only, compiled into its dependents, no library.
    Contract,
    /// Running and answering calls, but not ticking: its `tick` panicked (the text says
    /// where). Its next generation ticks again.
    Paused(String),
    /// Not running: it failed to load, or a dependency of it did. The text says why.
    Failed(String),
}

/// One edge of the dependency graph, as a manifest declares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyInfo {
    pub id: String,
    /// The semver requirement, e.g. `^1.0`.
    pub requirement: String,
    /// Features of the dependency this module asks for.
    pub features: Vec<String>,
}

/// Everything the host knows about one module, for the editor's inspector and for MCP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleInfo {
    pub id: String,
    pub version: String,
    pub layer: String,
    pub description: String,
    pub status: ModuleStatus,
    /// How many libraries of this module have been loaded in this process (0 for contracts).
    pub generation: u64,
    pub dependencies: Vec<DependencyInfo>,
    /// Contracts this module implements.
    pub implements: Vec<String>,
    /// Features the manifest offers.
    pub features: Vec<String>,
    /// Features enabled in this process: the defaults plus what dependents asked for.
    pub enabled_features: Vec<String>,
    /// The generation copy the module runs from.
    pub library: Option<String>,
    /// The ABI fingerprint of the running library.
    pub abi: Option<String>,
    /// The last error this module caused (a failed load, a panic, a refused reload, a
    /// worker that did not stop).
    pub last_error: Option<String>,
    /// The names of the workers its running generation owns (see [`crate::worker`]).
    #[serde(default)]
    pub workers: Vec<String>,
}

/// Time spent in each phase of a reload, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseTimings {
    /// Building the changed crates (0 when the reload did not build).
    pub build_us: u64,
    /// Saving the state of every module in the chain.
    pub save_us: u64,
    /// Shutting down and destroying the old instances.
    pub unload_us: u64,
    /// Copying and opening the new libraries, and checking their ABI.
    pub load_us: u64,
    /// Creating and initializing the new instances.
    pub init_us: u64,
    /// Handing each new instance its saved state.
    pub restore_us: u64,
    /// The whole reload, build excluded.
    pub total_us: u64,
}

/// How a reload ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum ReloadOutcome {
    /// The new code runs with the saved state.
    Swapped,
    /// Refused before anything changed (bad manifest, bad library, failed save): the old
    /// generation never stopped.
    Refused(String),
    /// A step failed after the old instances were stopped; the old generation was brought
    /// back with the state saved a moment before.
    RolledBack(String),
    /// The rollback itself failed: the named modules are not running.
    Broken(String),
}

/// One reload, as the history keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReloadRecord {
    /// Sequence number, from 1, in this process.
    pub seq: u64,
    /// The modules the reload was asked for (a build of several changed modules reloads
    /// them in one transaction).
    pub requested: Vec<String>,
    /// Every module the transaction covered, in load order.
    pub modules: Vec<String>,
    /// Seconds since the Unix epoch when the reload started.
    pub started_at: f64,
    pub timings: PhaseTimings,
    pub outcome: ReloadOutcome,
    /// Things that went wrong without stopping the reload (a panic in an old `shutdown`).
    pub warnings: Vec<String>,
}

/// What a module receives in `initialize`: the host, its enabled features, its config and
/// the services of the contracts it depends on.
pub struct Context {
    host: Rc<dyn Host>,
    module_id: String,
    features: BTreeSet<String>,
    config: serde_json::Value,
    services: BTreeMap<String, Box<dyn Any>>,
}

impl Context {
    /// Made by the host; modules only read it.
    pub fn new(
        host: Rc<dyn Host>,
        module_id: String,
        features: BTreeSet<String>,
        config: serde_json::Value,
        services: BTreeMap<String, Box<dyn Any>>,
    ) -> Self {
        Self { host, module_id, features, config, services }
    }

    /// The `[config]` table of the module's manifest, decoded into `T` (missing table: `T`
    /// from an empty table, so `#[serde(default)]` fields work).
    pub fn config<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        let value =
            if self.config.is_null() { serde_json::Value::Object(serde_json::Map::new()) } else { self.config.clone() };
        serde_json::from_value(value).map_err(|e| format!("the [config] of {} is not valid: {e}", self.module_id))
    }

    /// The host, to keep for the module's life.
    pub fn host(&self) -> Rc<dyn Host> {
        Rc::clone(&self.host)
    }

    /// Starts a worker thread this module owns: `work` runs until it returns, and must
    /// return soon after its [`Stop`] is requested, which the host does when the module
    /// stops (see [`crate::worker`]).
    pub fn spawn_worker(&self, name: &str, work: impl FnOnce(Stop) + Send + 'static) -> Result<(), String> {
        self.host.spawn_worker(name, Box::new(work))
    }

    /// A `Send + Clone` handle that calls modules from any thread or async task, e.g. this
    /// module's workers (see [`crate::caller`]): the seed's `MODULE_LOADER.call_module`.
    pub fn caller(&self) -> Result<ModuleCaller, String> {
        self.host.caller()
    }

    /// The sockets the host keeps for this module across its reloads (see [`crate::net`]).
    pub fn sockets(&self) -> Result<Sockets, String> {
        self.host.sockets()
    }

    /// The shell's GPU (see [`crate::gpu`]); an error says why there is none.
    pub fn gpu(&self) -> Result<Gpu, String> {
        self.host.gpu()
    }

    /// This module's id, e.g. `plugins/movement`.
    pub fn module_id(&self) -> &str {
        &self.module_id
    }

    /// Whether a feature of this module is enabled (by default or by a dependent).
    pub fn feature(&self, name: &str) -> bool {
        self.features.contains(name)
    }

    /// The enabled features of this module.
    pub fn features(&self) -> &BTreeSet<String> {
        &self.features
    }

    /// The typed service of contract `C`, provided by the module that implements it. Valid
    /// until this module's next reload, which hands out a fresh one.
    pub fn service<C: Contract + ?Sized>(&self) -> Result<Service<C>, String> {
        let Some(any) = self.services.get(C::ID) else {
            return Err(format!(
                "{} asked for the service of `{}`, but no loaded module implements it \
                 (or {} does not depend on it)",
                self.module_id,
                C::ID,
                self.module_id
            ));
        };
        Service::from_any(any.as_ref()).ok_or_else(|| {
            format!(
                "the service registered for `{}` is not a `{}`: the provider was built against \
                 another version of the contract",
                C::ID,
                std::any::type_name::<C>()
            )
        })
    }
}
