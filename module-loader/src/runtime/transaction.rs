//! The reload transaction (ARCHITECTURE.md, invariant 6), one function per phase:
//!
//! 1. [`Transaction::resolve`]: read the manifests afresh (an edited `module.toml` is part of
//!    the change) and find the chain: the changed modules and everything depending on them.
//! 2. [`Transaction::open`]: copy and open a new generation of every changed library. Nothing
//!    running is touched yet, so a bad library is refused outright.
//! 3. [`Transaction::save`]: save every state in the chain, dependents first. A failure is
//!    still a refusal: nothing has stopped.
//! 4. [`Transaction::stop`]: stop the old generations, dependents first.
//! 5. [`Transaction::start`]: start the new ones, dependencies first: each is created and
//!    initialized (`Shared::initialize`), then restores its saved state (`Shared::restore`).
//! 6. [`Transaction::roll_back`] if a start failed: stop what started and bring the old
//!    generations back with the states saved in phase 3; otherwise
//!    [`Transaction::commit`] the new graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use module_rules::graph::Graph;
use module_rules::manifest::Manifest;
use playground_api::host::{PhaseTimings, ReloadOutcome, ReloadRecord};

use super::slot::{FileStamp, Generation};
use super::{Life, Shared, micros};

/// Why a transaction stopped before anything changed: the modules at fault and the message.
struct Refusal {
    modules: Vec<String>,
    message: String,
}

impl Refusal {
    fn of(module: &str, message: String) -> Refusal {
        Refusal { modules: vec![module.to_owned()], message }
    }
}

/// A start that failed after the old generations stopped: the module and the message.
struct StartFailure {
    module: String,
    message: String,
}

/// One reload in progress.
struct Transaction<'a> {
    shared: &'a Shared,
    roots: &'a [String],
    record: ReloadRecord,
    started: Instant,
    /// The modules the transaction covers, in load order.
    chain: Vec<String>,
    /// Each module's life before the transaction, for the rollback.
    before: BTreeMap<String, Option<Life>>,
}

impl Shared {
    /// Runs one reload transaction over `roots` and their dependents. `fresh` modules start
    /// without their saved state (see `Runtime::reload_fresh`).
    pub(super) fn transaction(&self, roots: &[String], fresh: &BTreeSet<String>) -> ReloadRecord {
        let mut tx = Transaction::begin(self, roots);
        if let Err(refusal) = tx.run(fresh) {
            for module in &refusal.modules {
                tx.shared.note_error(module, &refusal.message);
            }
            tx.record.outcome = ReloadOutcome::Refused(refusal.message);
        }
        tx.record.timings.total_us = micros(tx.started);
        tx.record
    }
}

impl<'a> Transaction<'a> {
    fn begin(shared: &'a Shared, roots: &'a [String]) -> Transaction<'a> {
        let seq = shared.seq.get() + 1;
        shared.seq.set(seq);
        let started_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let record = ReloadRecord {
            seq,
            requested: roots.to_vec(),
            modules: Vec::new(),
            started_at,
            timings: PhaseTimings::default(),
            outcome: ReloadOutcome::Swapped,
            warnings: Vec::new(),
        };
        Transaction { shared, roots, record, started: Instant::now(), chain: Vec::new(), before: BTreeMap::new() }
    }

    /// The phases in order; `Err` is a refusal before anything stopped.
    fn run(&mut self, fresh: &BTreeSet<String>) -> Result<(), Refusal> {
        let graph = self.resolve()?;
        let next = self.open(&graph)?;
        let saved = self.save()?;
        self.stop();
        match self.start(&graph, next, &saved, fresh) {
            Ok(()) => self.commit(graph),
            Err(failure) => self.roll_back(failure, &saved),
        }
        Ok(())
    }

    /// Phase 1: the manifests, read afresh, and the chain they give.
    fn resolve(&mut self) -> Result<Graph, Refusal> {
        let graph =
            self.shared.resolve().map_err(|e| Refusal { modules: self.roots.to_vec(), message: e.into_message() })?;
        if let Some(missing) = self.roots.iter().find(|r| !graph.contains(r)) {
            return Err(Refusal::of(missing, format!("`{missing}` is no longer in the modules folder")));
        }
        self.chain = graph.reload_set(self.roots);
        self.record.modules.clone_from(&self.chain);
        Ok(graph)
    }

    /// Phase 2: a new generation for every changed (or never loaded) library; an unchanged
    /// one runs on as it is. Contracts have none.
    fn open(&mut self, graph: &Graph) -> Result<BTreeMap<String, Option<Generation>>, Refusal> {
        let started = Instant::now();
        let mut next = BTreeMap::new();
        for module in &self.chain {
            let Some(source) = graph.get(module) else { continue };
            let current = self.shared.life(module).and_then(|life| life.slot().map(|s| s.generation.clone()));
            let unchanged = match (&current, &source.library) {
                (Some(generation), Some(library)) => {
                    generation.built.is_some() && generation.built == FileStamp::of(library)
                }
                _ => false,
            };
            let generation = if unchanged {
                current
            } else {
                self.shared.open_generation(source).map_err(|e| Refusal::of(module, e.into_message()))?
            };
            if let Some(warning) = generation.as_ref().and_then(|g| version_mismatch(module, &source.manifest, g)) {
                self.record.warnings.push(warning);
            }
            next.insert(module.clone(), generation);
        }
        self.record.timings.load_us = micros(started);
        Ok(next)
    }

    /// Phase 3: every running state in the chain, dependents first. Until this succeeds,
    /// nothing has changed.
    fn save(&mut self) -> Result<BTreeMap<String, Vec<u8>>, Refusal> {
        let started = Instant::now();
        let mut saved = BTreeMap::new();
        for module in self.chain.iter().rev() {
            let life = self.shared.life(module);
            if let Some(slot) = life.as_ref().and_then(Life::slot) {
                let bytes = slot.save().map_err(|message| Refusal::of(module, message))?;
                saved.insert(module.clone(), bytes);
            }
            self.before.insert(module.clone(), life);
        }
        self.record.timings.save_us = micros(started);
        Ok(saved)
    }

    /// Phase 4: the old generations stop, dependents first.
    fn stop(&mut self) {
        let started = Instant::now();
        for module in self.chain.iter().rev() {
            let warnings = self.shared.stop(module);
            self.record.warnings.extend(warnings);
        }
        self.record.timings.unload_us = micros(started);
    }

    /// Phase 5: the new generations start, dependencies first, each with its saved state.
    fn start(
        &mut self,
        graph: &Graph,
        mut next: BTreeMap<String, Option<Generation>>,
        saved: &BTreeMap<String, Vec<u8>>,
        fresh: &BTreeSet<String>,
    ) -> Result<(), StartFailure> {
        for module in &self.chain {
            let Some(source) = graph.get(module) else { continue };
            let state = if fresh.contains(module) {
                self.record.warnings.push(format!("`{module}` started fresh: its saved state was set aside"));
                None
            } else {
                saved.get(module).map(Vec::as_slice)
            };
            let generation = next.remove(module).flatten();
            match self.shared.start(graph, source, generation, state) {
                Ok((init_us, restore_us)) => {
                    self.record.timings.init_us += init_us;
                    self.record.timings.restore_us += restore_us;
                }
                Err(message) => return Err(StartFailure { module: module.clone(), message }),
            }
        }
        Ok(())
    }

    /// Phase 6, on success: the new graph is the running one; the chain's errors are history;
    /// the memory of each replaced generation may go back to the kernel.
    fn commit(&mut self, graph: Graph) {
        *self.shared.graph.borrow_mut() = Some(graph);
        let mut replaced: Vec<std::path::PathBuf> = Vec::new();
        for module in &self.chain {
            self.shared.clear_error(module);
            let old = self.before.get(module).cloned().flatten();
            let Some(old) = old.as_ref().and_then(Life::slot) else { continue };
            let new = self.shared.life(module).and_then(|life| life.slot().map(|s| s.generation.path.clone()));
            if new.as_ref() != Some(&old.generation.path) {
                replaced.push(old.generation.path.clone());
            }
        }
        // Off the frame: writing the old copies out takes milliseconds.
        for path in replaced {
            crate::library::queue_page_out(path);
        }
    }

    /// Phase 6, on failure: stop what started, and start the old generations again with the
    /// states saved in phase 3, under the old graph. A module that was not running before
    /// gets its old life back.
    fn roll_back(&mut self, failure: StartFailure, saved: &BTreeMap<String, Vec<u8>>) {
        for module in self.chain.iter().rev() {
            let warnings = self.shared.stop(module);
            self.record.warnings.extend(warnings);
        }
        let old_graph = self.shared.graph.borrow().clone();
        let mut broken = Vec::new();
        for module in &self.chain {
            match self.before.get(module).cloned().flatten() {
                Some(Life::Running(slot) | Life::Paused { slot, .. }) => {
                    let graph = old_graph.as_ref();
                    let restarted = match graph {
                        Some(graph) => self.shared.start(
                            graph,
                            &slot.source,
                            Some(slot.generation.clone()),
                            saved.get(module).map(Vec::as_slice),
                        ),
                        None => Err("there is no graph to roll back to".to_owned()),
                    };
                    if let Err(e) = restarted {
                        let why = format!("rollback failed: {e}");
                        self.shared.set_life(module, Life::Failed(why.clone()));
                        self.shared.note_error(module, &why);
                        broken.push(format!("{module}: {e}"));
                    }
                }
                Some(life) => self.shared.set_life(module, life),
                None => {
                    self.shared.modules.borrow_mut().remove(module);
                }
            }
        }
        self.shared.note_error(&failure.module, &failure.message);
        self.record.outcome = if broken.is_empty() {
            ReloadOutcome::RolledBack(failure.message)
        } else {
            ReloadOutcome::Broken(format!("{}; then the rollback failed: {}", failure.message, broken.join("; ")))
        };
    }
}

/// A warning when a library's embedded manifest names another version than `module.toml`.
fn version_mismatch(module: &str, manifest: &Manifest, generation: &Generation) -> Option<String> {
    let embedded = Manifest::parse(generation.decl.metadata.manifest, Path::new("embedded")).ok()?;
    (embedded.version != manifest.version).then(|| {
        format!(
            "`{module}`: module.toml says version {}, but the library was built as {}; rebuild it",
            manifest.version, embedded.version
        )
    })
}
