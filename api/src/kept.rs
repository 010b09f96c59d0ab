//! What the host keeps for modules across their reloads, by module and by the name each gave
//! it, with the mark and sweep around a start that both the GPU resources ([`crate::gpu`])
//! and the sockets ([`crate::net`]) follow: before a generation starts nothing of its module
//! is taken, what it asks for is taken, and right after it started the rest is released.

use std::collections::BTreeMap;

/// One kept value, and whether the running generation of its module has taken it.
pub(crate) struct Kept<T> {
    pub(crate) value: T,
    pub(crate) taken: bool,
}

/// Kept values by module id, then by name.
pub(crate) struct ByModule<T>(BTreeMap<String, BTreeMap<String, Kept<T>>>);

impl<T> Default for ByModule<T> {
    fn default() -> Self {
        ByModule(BTreeMap::new())
    }
}

impl<T> ByModule<T> {
    /// Before a generation of `module` starts: nothing of its is taken yet.
    pub(crate) fn begin(&mut self, module: &str) {
        if let Some(kept) = self.0.get_mut(module) {
            kept.values_mut().for_each(|k| k.taken = false);
        }
    }

    /// After it started: releases what it did not take back; returns how many.
    pub(crate) fn sweep(&mut self, module: &str) -> usize {
        let Some(kept) = self.0.get_mut(module) else { return 0 };
        let before = kept.len();
        kept.retain(|_, k| k.taken);
        before - kept.len()
    }

    /// The module is gone: everything it kept is released.
    pub(crate) fn forget(&mut self, module: &str) {
        self.0.remove(module);
    }

    /// How many values `module` keeps.
    pub(crate) fn count(&self, module: &str) -> usize {
        self.0.get(module).map_or(0, BTreeMap::len)
    }

    pub(crate) fn get(&self, module: &str, name: &str) -> Option<&Kept<T>> {
        self.0.get(module)?.get(name)
    }

    pub(crate) fn get_mut(&mut self, module: &str, name: &str) -> Option<&mut Kept<T>> {
        self.0.get_mut(module)?.get_mut(name)
    }

    /// Keeps `value` as `name`, taken, in place of whatever was kept so.
    pub(crate) fn insert(&mut self, module: &str, name: &str, value: T) {
        self.0.entry(module.to_owned()).or_default().insert(name.to_owned(), Kept { value, taken: true });
    }

    pub(crate) fn remove(&mut self, module: &str, name: &str) -> Option<T> {
        self.0.get_mut(module)?.remove(name).map(|k| k.value)
    }

    /// The names `module` keeps values under.
    pub(crate) fn names(&self, module: &str) -> Vec<String> {
        self.0.get(module).map(|m| m.keys().cloned().collect()).unwrap_or_default()
    }
}
