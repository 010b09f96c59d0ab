//! What others keep of the runtime: the shell's [`ModuleHandle`] to a module resolved for
//! generic calls, the [`Host`] every module receives, and the [`Callee`] a module keeps to
//! call another one often.
//!
//! A handle holds the loader's slot and the generation's `call` entry point, which stays
//! mapped (libraries are never closed). It calls only while the slot says that generation
//! still runs; otherwise the handle says it is stale, and a `Callee` resolves the new one.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::{Rc, Weak};

use playground_api::caller::ModuleCaller;
use playground_api::gpu::Gpu;
use playground_api::host::{BuildStatus, Callee, Diagnostic, ModuleInfo, ReloadRecord};
use playground_api::module::CallFn;
use playground_api::net::Sockets;
use playground_api::tracing;
use playground_api::worker::Work;
use playground_api::{Host, egui};

use super::{Shared, Slot};
use crate::guard;

/// A module resolved once, called many times (see `Runtime::handle`).
pub struct ModuleHandle {
    slot: Rc<Slot>,
    /// The generation's `call` entry point, copied out of its vtable once.
    call: CallFn,
}

impl ModuleHandle {
    pub(super) fn new(slot: Rc<Slot>) -> ModuleHandle {
        let call = slot.vtable().call;
        ModuleHandle { slot, call }
    }

    /// The generic call path without the lookup by name; panics are caught. It borrows the
    /// instance itself instead of going through `Slot::invoke`: this path is budgeted in
    /// nanoseconds, and `guard::call` moves the result the one way the CPU forwards cheaply.
    /// Always inlined: out of line, the extra frame moved the 32-byte result through memory
    /// once more and the bench measured 19 ns instead of 11.
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
        format!("`{}` was reloaded or stopped: take a new handle", self.slot.id())
    }
}

/// The [`Host`] modules hold. It points at the runtime weakly: the runtime owns the modules,
/// not the other way round; and, for a module's own handle, at the generation it was given
/// to, which owns the workers it starts.
pub(super) struct HostHandle {
    shared: Weak<Shared>,
    owner: Option<Weak<Slot>>,
}

impl HostHandle {
    pub(super) fn new(shared: Weak<Shared>, owner: Option<Weak<Slot>>) -> HostHandle {
        HostHandle { shared, owner }
    }

    fn shared(&self) -> Result<Rc<Shared>, String> {
        self.shared.upgrade().ok_or_else(|| "the host has shut down".to_owned())
    }

    /// The module this handle was given to, while it runs.
    fn owner(&self) -> Result<Rc<Slot>, String> {
        let owner = self.owner.as_ref().ok_or("only a module's host has a module to act for")?;
        owner.upgrade().ok_or_else(|| "the module this host handle belongs to has stopped".to_owned())
    }
}

impl Host for HostHandle {
    fn call(&self, module: &str, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        self.shared()?.call(module, method, args).map_err(crate::Error::into_message)
    }

    fn show(&self, module: &str, ui: &mut egui::Ui) -> Result<(), String> {
        self.shared()?.show(module, ui).map_err(crate::Error::into_message)
    }

    fn request_reload(&self, module: &str) -> Result<(), String> {
        self.shared()?.request(module)
    }

    fn modules(&self) -> Vec<ModuleInfo> {
        self.shared().map(|s| s.infos()).unwrap_or_default()
    }

    fn reload_history(&self) -> Vec<ReloadRecord> {
        self.shared().map(|s| s.history.borrow().iter().cloned().collect()).unwrap_or_default()
    }

    fn build_status(&self) -> BuildStatus {
        self.shared().map(|s| s.build_status()).unwrap_or_default()
    }

    fn state(&self, module: &str) -> Result<Vec<u8>, String> {
        self.shared()?.slot(module).map_err(crate::Error::into_message)?.save()
    }

    fn modules_root(&self) -> Option<PathBuf> {
        self.shared().ok().map(|s| s.config.modules_root.clone())
    }

    fn create_module(&self, id: &str, description: &str) -> Result<String, String> {
        let root = self.shared()?.config.modules_root.clone();
        let made = module_rules::scaffold::create(&root, id, description)?;
        tracing::info!("created {} at {}", made.id, made.dir.display());
        Ok(made.dir.display().to_string())
    }

    fn restarting(&self) -> bool {
        self.shared().is_ok_and(|s| s.restarting.get())
    }

    fn request_restart(&self) -> Result<(), String> {
        self.shared()?.restart.set(true);
        tracing::info!("a restart was requested; it runs at the next safe point");
        Ok(())
    }

    fn spawn_worker(&self, name: &str, work: Work) -> Result<(), String> {
        let Some(owner) = &self.owner else {
            return Err(format!("the worker `{name}` has no module to belong to: only a module's host starts workers"));
        };
        let slot =
            owner.upgrade().ok_or_else(|| format!("the module that asked for the worker `{name}` has stopped"))?;
        slot.spawn_worker(name, work)
    }

    fn sockets(&self) -> Result<Sockets, String> {
        Ok(self.shared()?.sockets.for_module(self.owner()?.id()))
    }

    fn caller(&self) -> Result<ModuleCaller, String> {
        Ok(self.shared()?.calls.caller())
    }

    fn gpu(&self) -> Result<Gpu, String> {
        let owner = self.owner()?;
        let shared = self.shared()?;
        let source = shared.gpu.borrow().clone().ok_or("this host has no GPU")?;
        source.for_module(owner.id())
    }

    fn report_problems(&self, problems: Vec<Diagnostic>) {
        let (Ok(owner), Ok(shared)) = (self.owner(), self.shared()) else { return };
        shared.report_problems(owner.id(), problems);
    }

    fn callee(&self, module: &str) -> Result<Rc<dyn Callee>, String> {
        let handle = self.shared()?.handle(module).map_err(crate::Error::into_message)?;
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
    fn refresh(&self) -> Result<(), String> {
        let shared = self.shared.upgrade().ok_or_else(|| "the host has shut down".to_owned())?;
        let handle = shared.handle(&self.id).map_err(crate::Error::into_message)?;
        *self.handle.try_borrow_mut().map_err(|_| format!("`{}` is busy", self.id))? = handle;
        Ok(())
    }
}

impl Callee for ModuleCallee {
    fn call(&self, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        if let Some(result) = self.handle.borrow().call_live(method, args) {
            return result;
        }
        self.refresh()?;
        self.handle.borrow().call(method, args)
    }
}
