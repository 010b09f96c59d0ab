//! Live edit: watch module sources and ask the build service to build what changed.
//!
//! A file watcher (notify, debounced to a few milliseconds) reports changed paths; each is
//! mapped to the module whose folder holds it (editor swap and temp files are ignored). When
//! the changes have settled, [`LiveEdit::poll`] hands the changed modules to the host, which
//! asks the build service ([`crate::builds`]) for one build of them and their dependents and
//! swaps the result in as one transaction; changes that arrive during a build wait for the
//! next one, so a burst of saves costs at most two builds. A module whose folder is gone is
//! unloaded (or kept, if others need it). What a path means is `module_rules::paths`' call:
//! an edit of immortal code (the api, the loader, the shell, the workspace's build settings)
//! cannot be swapped and is reported as a restart.
//!
//! The host does not poll on a timer: the watcher calls the host's [`Wake`] whenever it has
//! something, the host polls at its next safe point, and [`LiveEdit::next_poll`] tells it
//! when the pending changes will have settled. Every millisecond between a save and the swap
//! is the user's waiting time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use playground_api::tracing;

use module_rules::paths::{Layout, PathClass};

use crate::error::{Error, Result};
use crate::runtime::Runtime;

/// How long the watcher holds an event to fold repeats of it (an editor's save is several
/// writes, or a write and a rename, within a millisecond or two) into one.
/// notify-debouncer-full delays each event by this much, checked every [`DEBOUNCE_TICK`];
/// it does not wait for quiet, so a long burst of saves leaks through it ([`SETTLE`] holds
/// those). Every edit waits this long before rustc starts.
const DEBOUNCE: Duration = Duration::from_millis(5);
/// The debouncer's thread wakes this often even when nothing happens: 2 ms cost 1.7% of a
/// core at idle with the window open, 5 ms costs 0.6% (BENCHMARKS.md).
const DEBOUNCE_TICK: Duration = Duration::from_millis(5);

/// How long after another build took a module ([`LiveEdit::built_elsewhere`]) its changes
/// still count as that build's. The watcher stamps an event when it receives it, which can
/// be a few milliseconds after the write; and that build reads the sources later still.
const CLAIM_GRACE: Duration = Duration::from_millis(100);

/// How long the modules folder must be quiet before a build starts, when the changes are
/// part of a burst (a formatter, "save all", an assistant writing files, saves arriving while
/// a build runs): this is what turns a burst into one build. 20 ms let a burst of saves 15 ms
/// apart through when the machine was busy (a sleep overshoots); 50 ms holds. A new edit
/// after calm does not wait for it.
const SETTLE: Duration = Duration::from_millis(50);

/// A change that follows this much calm is a new edit, not part of a burst: its build starts
/// as soon as the watcher reports it (leading edge), without [`SETTLE`]. A single save then
/// costs only [`DEBOUNCE`] before rustc starts.
const CALM: Duration = Duration::from_millis(200);

pub use crate::builds::Wake;

/// What [`LiveEdit::poll`] saw besides changes to build.
#[derive(Clone, Debug)]
pub enum LiveEvent {
    /// A module's folder is gone: it was unloaded, or kept because others need it.
    Removed { id: String, message: String },
    /// Immortal code changed: restart the shell to use it. The sentence names the file.
    RestartNeeded { reason: String },
}

/// Changed modules whose changes have settled: what the host asks the build service for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changed {
    pub modules: Vec<String>,
    /// A change only cargo can handle (a `Cargo.toml`, a module folder appearing or going).
    pub needs_cargo: bool,
}

/// The watcher. Driven from the shell's safe point.
pub struct LiveEdit {
    modules_root: PathBuf,
    /// What a changed path means.
    layout: Layout,
    events: Receiver<DebounceEventResult>,
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
    pending: BTreeSet<String>,
    /// When the last change arrived, for [`SETTLE`] and [`CALM`].
    last_change: Option<Instant>,
    /// Modules another build (an MCP `module.create` or `module.reload` with a build) took
    /// over at this instant: changes made before it are in that build (see
    /// [`LiveEdit::built_elsewhere`]).
    claimed: BTreeMap<String, Instant>,
    /// Whether the pending changes began after [`CALM`] with no build running: they build at
    /// once instead of settling.
    leading: bool,
    /// Whether the build service was building at the last poll: changes made meanwhile are
    /// a burst, which settles before it builds.
    building: bool,
    /// Whether immortal code changed (said once).
    restart_needed: bool,
    /// A change since the last build that only cargo can handle (a `Cargo.toml`, a module
    /// folder appearing or going).
    needs_cargo: bool,
}

impl LiveEdit {
    /// Starts watching `modules_root` and the workspace's immortal code. `wake` is called
    /// whenever a poll would find something new (a file change).
    pub fn watch(workspace: &Path, modules_root: &Path, wake: Wake) -> Result<LiveEdit> {
        let (tx, events) = channel();
        let on_change = move |result: DebounceEventResult| {
            if tx.send(result).is_ok() {
                wake();
            }
        };
        let mut debouncer = new_debouncer(DEBOUNCE, Some(DEBOUNCE_TICK), on_change)
            .map_err(|e| Error::new(format!("cannot start the file watcher: {e}")))?;
        // The immortal code is the workspace's, wherever the modules come from (`--modules`):
        // an edit of it must ask for a restart even when it is outside the modules folder.
        let layout = Layout::new(workspace, modules_root);
        for (dir, recursive) in layout.watched() {
            // The modules folder must be watched; an immortal crate's folder may be missing
            // (a workspace laid out otherwise), and then it cannot change either.
            if dir != modules_root && !dir.is_dir() {
                continue;
            }
            let mode = if recursive { RecursiveMode::Recursive } else { RecursiveMode::NonRecursive };
            debouncer.watch(&dir, mode).map_err(|e| Error::new(format!("cannot watch {}: {e}", dir.display())))?;
        }
        Ok(LiveEdit {
            layout,
            modules_root: modules_root.to_owned(),
            events,
            _debouncer: debouncer,
            pending: BTreeSet::new(),
            last_change: None,
            claimed: BTreeMap::new(),
            leading: false,
            building: false,
            restart_needed: false,
            needs_cargo: false,
        })
    }

    /// Marks modules as changed, as if their files had been saved.
    pub fn touch(&mut self, ids: impl IntoIterator<Item = String>) {
        for id in ids {
            self.changed(id);
        }
    }

    /// Another build of `ids` starts now (the host's own operations: an MCP create, or a
    /// reload with a build). Changes to them seen until `CLAIM_GRACE` after now are that
    /// build's, so live edit drops them instead of building and reloading the same modules a
    /// second time; later changes build as usual.
    pub fn built_elsewhere(&mut self, ids: &[String]) {
        let now = Instant::now();
        for id in ids {
            self.pending.remove(id);
            self.claimed.insert(id.clone(), now);
        }
    }

    /// When the host must poll again without being woken: when pending changes will have
    /// settled (at once for a new edit after calm). `None` when only a wake can bring news
    /// (nothing pending, or a build running: `building`, the build service's word).
    pub fn next_poll(&self, building: bool) -> Option<Duration> {
        if building || self.pending.is_empty() {
            return None;
        }
        match self.last_change {
            Some(at) if !self.leading => Some(SETTLE.saturating_sub(at.elapsed())),
            _ => Some(Duration::ZERO),
        }
    }

    /// Notes a change to module `id`: the first change after calm, with no build running,
    /// starts a new edit whose build need not wait for [`SETTLE`].
    fn changed(&mut self, id: String) {
        let now = Instant::now();
        if self.pending.is_empty() {
            self.leading = !self.building && self.last_change.is_none_or(|at| now - at >= CALM);
        }
        self.pending.insert(id);
        self.last_change = Some(now);
    }

    /// The safe-point step: takes in file changes and, once the pending ones have settled
    /// (`SETTLE`, or at once for a new edit after `CALM`) and no build runs (`building`, the
    /// build service's word), returns them to be built. Modules whose folder is gone are
    /// removed from `runtime` here (unloaded, or kept if others need them).
    pub fn poll(&mut self, runtime: &Runtime, building: bool, events: &mut Vec<LiveEvent>) -> Option<Changed> {
        self.building = building;
        self.take_changes(events);
        if self.next_poll(building).is_none_or(|d| !d.is_zero()) {
            return None;
        }
        let changed: Vec<String> = std::mem::take(&mut self.pending).into_iter().collect();
        let needs_cargo = std::mem::take(&mut self.needs_cargo);
        let (gone, present): (Vec<String>, Vec<String>) =
            changed.into_iter().partition(|id| !self.modules_root.join(id).join("module.toml").is_file());
        for id in gone {
            let message = runtime.remove(&id).describe(&id);
            tracing::warn!("{message}");
            events.push(LiveEvent::Removed { id, message });
        }
        (!present.is_empty()).then_some(Changed { modules: present, needs_cargo })
    }

    fn take_changes(&mut self, events: &mut Vec<LiveEvent>) {
        while let Ok(result) = self.events.try_recv() {
            let Ok(batch) = result else { continue };
            for event in batch {
                // Reading is not changing: rustc opening the sources to compile them would
                // otherwise queue the next build, forever.
                if matches!(event.kind, EventKind::Access(_) | EventKind::Other) {
                    continue;
                }
                for path in &event.paths {
                    match self.layout.classify(path) {
                        PathClass::Module { id, edit } | PathClass::Contract { id, edit } => {
                            // Made before another build of this module started: it has it.
                            if self.claimed.get(&id).is_some_and(|at| event.time <= *at + CLAIM_GRACE) {
                                continue;
                            }
                            self.needs_cargo |= edit.needs_cargo();
                            self.changed(id);
                        }
                        PathClass::Immortal { part, file } if !self.restart_needed => {
                            let reason = format!(
                                "{} changed ({part}, compiled into the running process): restart to pick it up",
                                file.display()
                            );
                            tracing::warn!("{reason}");
                            self.restart_needed = true;
                            events.push(LiveEvent::RestartNeeded { reason });
                        }
                        PathClass::Immortal { .. } | PathClass::Ignored => {}
                    }
                }
            }
        }
    }

    /// Whether changes are waiting to be built.
    pub fn pending(&self) -> bool {
        !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::LiveEdit;

    /// Takes the watcher's events until `id` is pending or a second has passed.
    fn wait_for_pending(live: &mut LiveEdit, id: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            live.take_changes(&mut Vec::new());
            if live.pending.contains(id) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn changes_made_before_another_build_took_a_module_are_not_built_again() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let modules = dir.path().join("modules");
        let source = modules.join("plugins/fresh/src");
        std::fs::create_dir_all(&source).expect("the module folder");
        let mut live = LiveEdit::watch(dir.path(), &modules, Arc::new(|| {})).expect("watch");

        // Written (as `module.create` writes its files), then taken by the create's build.
        std::fs::write(source.join("lib.rs"), "// first").expect("write");
        live.built_elsewhere(&["plugins/fresh".to_owned()]);
        assert!(!wait_for_pending(&mut live, "plugins/fresh"), "the create's own files went to a second build");

        // A save after that build started is the user's next edit: it builds.
        std::thread::sleep(super::CLAIM_GRACE);
        std::fs::write(source.join("lib.rs"), "// second").expect("write");
        assert!(wait_for_pending(&mut live, "plugins/fresh"), "a later save was dropped");
    }
}
