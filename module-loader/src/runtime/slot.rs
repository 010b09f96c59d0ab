//! One running generation of a module: the library it came from and its live instance, and
//! the one helper through which the loader runs module code on an instance.

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use module_rules::discover::ModuleSource;
use playground_api::caller::CallQueue;
use playground_api::module::{Instance, ModuleDecl, VTable};
use playground_api::tracing;
use playground_api::worker::{Stop, Work};

use crate::guard::{self, Failure};
use crate::watchdog;

/// Identifies a build of a library file, to tell whether it changed since it was loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileStamp {
    len: u64,
    modified: SystemTime,
}

impl FileStamp {
    pub(crate) fn of(path: &Path) -> Option<FileStamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(FileStamp { len: meta.len(), modified: meta.modified().ok()? })
    }
}

/// One loaded library of a module.
#[derive(Clone)]
pub(crate) struct Generation {
    pub(crate) number: u64,
    /// `'static` is true: libraries are never closed (invariant 1).
    pub(crate) decl: &'static ModuleDecl,
    /// The generation copy it was opened from.
    pub(crate) path: PathBuf,
    /// The build it was copied from, to tell a rebuilt library from this one.
    pub(crate) built: Option<FileStamp>,
}

/// How long a worker has to return after its stop was requested before it is named as one
/// that ignores it. A worker checking its [`Stop`] between units of work returns in
/// milliseconds.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// A worker thread a module owns, as the loader keeps it: std types only (invariant 4).
struct Worker {
    name: String,
    stop: Stop,
    thread: JoinHandle<()>,
}

/// A module running one generation: the source it came from, its enabled features, its
/// instance, which [`Slot::stop`] takes out (handles to the slot then see it stopped), and
/// the workers it started.
pub(crate) struct Slot {
    /// The module's name in the watchdog's marks.
    module: watchdog::Name,
    pub(crate) source: ModuleSource,
    pub(crate) features: BTreeSet<String>,
    pub(crate) generation: Generation,
    pub(crate) instance: RefCell<Option<Instance>>,
    workers: RefCell<Vec<Worker>>,
    /// Threads that appeared while this generation started (create, initialize, restore):
    /// its own, started some other way than a worker. Checked when it stops.
    started_threads: RefCell<BTreeSet<u32>>,
    /// Calls from other threads: refused while this generation's workers are joined, since
    /// a worker may be waiting for one (see `stop_workers`).
    calls: Rc<CallQueue>,
}

/// The ids of this process's threads alive now.
pub(crate) fn threads() -> BTreeSet<u32> {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| tasks.flatten().filter_map(|t| t.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

impl Slot {
    pub(crate) fn new(
        source: ModuleSource,
        features: BTreeSet<String>,
        generation: Generation,
        instance: Instance,
        calls: Rc<CallQueue>,
    ) -> Slot {
        Slot {
            module: watchdog::name(source.id()),
            source,
            features,
            generation,
            instance: RefCell::new(Some(instance)),
            workers: RefCell::new(Vec::new()),
            started_threads: RefCell::new(BTreeSet::new()),
            calls,
        }
    }

    /// Notes the threads that appeared since `before` (taken before this generation's
    /// `create`) that carry this thread's name: a thread started without a name takes the
    /// name of the thread that started it, and this one ran the module's code. Its workers
    /// are named, and so are the loader's own threads; a thread another thread started at
    /// the same moment has that thread's name.
    pub(crate) fn note_started_threads(&self, before: &BTreeSet<u32>) {
        let name = |path: &str| std::fs::read_to_string(path).unwrap_or_default().trim_end().to_owned();
        let mine = name("/proc/thread-self/comm");
        let started = threads()
            .difference(before)
            .copied()
            .filter(|tid| name(&format!("/proc/self/task/{tid}/comm")) == mine)
            .collect();
        *self.started_threads.borrow_mut() = started;
    }

    /// A warning if threads this generation started on its own outlive it (a moment's grace
    /// given): they run its code past its reload.
    fn left_threads(&self) -> Option<String> {
        let started = std::mem::take(&mut *self.started_threads.borrow_mut());
        if started.is_empty() {
            return None;
        }
        let deadline = Instant::now() + Duration::from_millis(500);
        loop {
            let alive: Vec<u32> = started.intersection(&threads()).copied().collect();
            if alive.is_empty() {
                return None;
            }
            if Instant::now() >= deadline {
                let warning = format!(
                    "`{}` left {} thread(s) running after it stopped (started with `std::thread` in create, \
                     initialize or restore_state?): they still run this generation's code; start them with \
                     `ctx.spawn_worker` so they stop with the module",
                    self.id(),
                    alive.len()
                );
                tracing::warn!("{warning}");
                return Some(warning);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Starts a worker this generation owns, on a thread named `name`. Refused once the
    /// instance is stopped: nobody would stop the worker then.
    pub(crate) fn spawn_worker(&self, name: &str, work: Work) -> Result<(), String> {
        if self.instance.try_borrow().map_or(true, |i| i.is_none()) {
            return Err(format!("`{}` is stopping: it cannot start the worker `{name}`", self.id()));
        }
        let stop = Stop::new();
        let given = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || work(given))
            .map_err(|e| format!("`{}` cannot start the worker `{name}`: {e}", self.id()))?;
        self.workers.borrow_mut().push(Worker { name: name.to_owned(), stop, thread });
        Ok(())
    }

    /// The names of the workers still running.
    pub(crate) fn worker_names(&self) -> Vec<String> {
        self.workers.borrow().iter().filter(|w| !w.thread.is_finished()).map(|w| w.name.clone()).collect()
    }

    /// Asks every worker to stop and joins it; returns a warning for each that did not
    /// return within [`STOP_GRACE`] (its thread is left running: a thread cannot be killed)
    /// and for each that panicked.
    fn stop_workers(&self) -> Vec<String> {
        let workers = std::mem::take(&mut *self.workers.borrow_mut());
        for worker in &workers {
            worker.stop.request();
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline && workers.iter().any(|w| !w.thread.is_finished()) {
            // A worker waiting for a call's answer would wait for this very thread: calls
            // queued meanwhile are refused, so it can see its stop request and return.
            for call in self.calls.take() {
                let message = format!(
                    "`{}` did not run `{}`: `{}` is stopping (a reload or a shutdown); try again",
                    call.module,
                    call.method,
                    self.id()
                );
                call.answer(Err(message));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let id = self.id();
        let mut warnings = Vec::new();
        for worker in workers {
            if !worker.thread.is_finished() {
                warnings.push(format!(
                    "`{id}`'s worker `{}` did not stop within {} s of its stop request: it still runs this \
                     generation's code (check `Stop::requested` or wait with `Stop::sleep` in it)",
                    worker.name,
                    STOP_GRACE.as_secs()
                ));
                continue;
            }
            if worker.thread.join().is_err() {
                warnings.push(format!("`{id}`'s worker `{}` panicked", worker.name));
            }
        }
        for warning in &warnings {
            tracing::warn!("{warning}");
        }
        warnings
    }

    pub(crate) fn id(&self) -> &str {
        self.source.id()
    }

    pub(crate) fn vtable(&self) -> &'static VTable {
        &self.generation.decl.vtable
    }

    /// Runs module code (`step`, for the watchdog) on this generation's instance, with panics
    /// caught: the one place that borrows an instance and calls into its vtable (but for the
    /// generic call's hot path in `ModuleHandle`, budgeted in nanoseconds). `None` once the
    /// instance is stopped.
    pub(crate) fn invoke<T>(
        &self,
        step: watchdog::Step,
        f: impl FnOnce(&'static VTable, &dyn Any) -> Result<T, String>,
    ) -> Option<Result<T, Failure>> {
        let instance = self.instance.try_borrow().ok()?;
        let instance = instance.as_ref()?;
        let vtable = self.vtable();
        let _running = watchdog::enter(self.module, step);
        Some(guard::run(|| f(vtable, instance.as_ref())))
    }

    /// The instance's state, as `save_state` encodes it.
    pub(crate) fn save(&self) -> Result<Vec<u8>, String> {
        match self.invoke(watchdog::Step::SaveState, |v, i| (v.save_state)(i)) {
            Some(Ok(bytes)) => Ok(bytes),
            Some(Err(e)) => Err(format!("`{}` could not save its state: {e}", self.id())),
            None => Err(format!("`{}` is stopped", self.id())),
        }
    }

    /// Stops a half-made instance that will not run (its start failed), logging what went
    /// wrong while stopping it.
    pub(crate) fn discard(&self) {
        for warning in self.stop() {
            tracing::warn!("{warning}");
        }
    }

    /// Stops the instance's workers, shuts it down and destroys it; returns warnings (a
    /// worker that does not stop, a panicking `shutdown` or `drop` does not stop the unload:
    /// its state was saved before). Stopping twice is a no-op.
    pub(crate) fn stop(&self) -> Vec<String> {
        let Some(instance) = self.instance.borrow_mut().take() else { return Vec::new() };
        let (id, vtable) = (self.id(), self.vtable());
        // Before `shutdown`: the module's last code then runs with no worker beside it.
        let mut warnings = self.stop_workers();
        let running = watchdog::enter(self.module, watchdog::Step::Shutdown);
        let shut = guard::run(|| (vtable.shutdown)(instance.as_ref()));
        drop(running);
        if let Err(e) = shut {
            warnings.push(format!("`{id}` failed in shutdown: {e}"));
        }
        if let Err(e) = guard::catch(|| (vtable.destroy)(instance)) {
            warnings.push(format!("`{id}` failed while being destroyed: {e}"));
        }
        warnings.extend(self.left_threads());
        warnings
    }
}
