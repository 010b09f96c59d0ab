//! One running generation of a module: the library it came from and its live instance, and
//! the one helper through which the loader runs module code on an instance.

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use module_rules::discover::ModuleSource;
use playground_api::module::{Instance, ModuleDecl, VTable};

use crate::guard::{self, Failure};

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

/// A module running one generation: the source it came from, its enabled features, and its
/// instance, which [`Slot::stop`] takes out (handles to the slot then see it stopped).
pub(crate) struct Slot {
    pub(crate) source: ModuleSource,
    pub(crate) features: BTreeSet<String>,
    pub(crate) generation: Generation,
    pub(crate) instance: RefCell<Option<Instance>>,
}

impl Slot {
    pub(crate) fn new(
        source: ModuleSource,
        features: BTreeSet<String>,
        generation: Generation,
        instance: Instance,
    ) -> Slot {
        Slot { source, features, generation, instance: RefCell::new(Some(instance)) }
    }

    pub(crate) fn id(&self) -> &str {
        self.source.id()
    }

    pub(crate) fn vtable(&self) -> &'static VTable {
        &self.generation.decl.vtable
    }

    /// Runs module code on this generation's instance, with panics caught: the one place
    /// that borrows an instance and calls into its vtable (but for the generic call's hot
    /// path in `ModuleHandle`, budgeted in nanoseconds). `None` once the instance is stopped.
    pub(crate) fn invoke<T>(
        &self,
        f: impl FnOnce(&'static VTable, &dyn Any) -> Result<T, String>,
    ) -> Option<Result<T, Failure>> {
        let instance = self.instance.try_borrow().ok()?;
        let instance = instance.as_ref()?;
        let vtable = self.vtable();
        Some(guard::run(|| f(vtable, instance.as_ref())))
    }

    /// The instance's state, as `save_state` encodes it.
    pub(crate) fn save(&self) -> Result<Vec<u8>, String> {
        match self.invoke(|v, i| (v.save_state)(i)) {
            Some(Ok(bytes)) => Ok(bytes),
            Some(Err(e)) => Err(format!("`{}` could not save its state: {e}", self.id())),
            None => Err(format!("`{}` is stopped", self.id())),
        }
    }

    /// Shuts the instance down and destroys it; returns warnings (a panicking `shutdown` or
    /// `drop` does not stop the unload: its state was saved before). Stopping twice is a no-op.
    pub(crate) fn stop(&self) -> Vec<String> {
        let Some(instance) = self.instance.borrow_mut().take() else { return Vec::new() };
        let (id, vtable) = (self.id(), self.vtable());
        let mut warnings = Vec::new();
        if let Err(e) = guard::run(|| (vtable.shutdown)(instance.as_ref())) {
            warnings.push(format!("`{id}` failed in shutdown: {e}"));
        }
        if let Err(e) = guard::catch(|| (vtable.destroy)(instance)) {
            warnings.push(format!("`{id}` failed while being destroyed: {e}"));
        }
        warnings
    }
}
