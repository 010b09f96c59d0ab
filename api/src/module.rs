//! The safe trait a module author implements, and the plain-Rust vtable the export macro
//! builds from it.
//!
//! A module is a `cdylib` crate that implements [`Module`] for one type and invokes
//! [`crate::export_module!`] once. The macro exports two statics: [`crate::abi::SYMBOL`]
//! (the ABI stamp, read first) and [`SYMBOL`], a [`ModuleDecl`] whose [`VTable`] holds plain
//! Rust fn pointers. The instance behind those pointers is a `Box<dyn Any>` holding an
//! `Rc<RefCell<M>>`: the `RefCell` turns a re-entrant call into an error instead of aliasing,
//! and the `Rc` lets the module hand typed [`crate::Service`]s of itself to its dependents.
//! The loader catches panics around every vtable call; module authors write no `unsafe`.

use std::any::Any;

use crate::egui;
use crate::host::Context;

/// The name of the exported static holding a module's [`ModuleDecl`].
pub const SYMBOL: &[u8] = b"PLAYGROUND_MODULE";

/// What a module does. Every method but `create` has a default, so a module implements only
/// what it needs. Errors are sentences for the user; panics are caught by the loader.
pub trait Module: 'static {
    /// Makes a fresh instance. Keep it cheap and infallible; do fallible work in `initialize`.
    fn create() -> Self
    where
        Self: Sized;

    /// Called once after `create`, dependencies first. Take the host and the services of
    /// contracts from `ctx` here.
    fn initialize(&mut self, ctx: &Context) -> Result<(), String> {
        let _ = ctx;
        Ok(())
    }

    /// One step of the module's own work, called every host tick in load order. A panic here
    /// pauses this instance's ticks until the module is reloaded (it would repeat on every
    /// tick); the module still answers calls, and its last error says why.
    fn tick(&mut self, dt: f32) {
        let _ = dt;
    }

    /// The generic call path. `args` and the result are encoded with [`crate::codec`].
    fn call(&mut self, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        let _ = args;
        Err(unknown_method(method))
    }

    /// The state to carry across a reload, encoded with [`crate::codec::encode`].
    fn save_state(&self) -> Result<Vec<u8>, String> {
        Ok(Vec::new())
    }

    /// Takes back state saved by this or an older generation of the module. Refuse (return
    /// an error) when the bytes cannot be read: the loader then keeps the old generation.
    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        let _ = bytes;
        Ok(())
    }

    /// Called before the instance is destroyed, dependents first.
    fn shutdown(&mut self) {}

    /// Draws the module's user interface. A windowed host calls it every frame it paints,
    /// for every running `apps` module in load order, with the window's root `Ui` (so the
    /// module can add panels); then it reaches the reload safe point. Frames are painted
    /// only when something changed, so ask `ui.ctx().request_repaint*()` for animation.
    ///
    /// Keep UI state that must survive a reload in `save_state`, and never store this
    /// module's own types in egui memory (`ctx.data_mut`): entries there are keyed by
    /// `TypeId`, which the next generation shares even when the type's layout changed
    /// (ARCHITECTURE.md, invariant 4). egui's own types (panel sizes, scroll offsets) are safe there.
    fn ui(&mut self, ui: &mut egui::Ui) {
        let _ = ui;
    }
}

/// The error text for a method a module does not have.
pub fn unknown_method(method: &str) -> String {
    format!("unknown method `{method}`")
}

/// A live instance, opaque to the host.
pub type Instance = Box<dyn Any>;

/// The generic call entry point: instance, method, encoded arguments -> encoded result.
pub type CallFn = fn(&dyn Any, &str, &[u8]) -> Result<Vec<u8>, String>;

/// The module's entry points: plain Rust fn pointers, no `extern "C"`, no `repr(C)`. They are
/// only callable because the ABI stamp matched first.
#[derive(Clone, Copy)]
pub struct VTable {
    pub create: fn() -> Instance,
    pub destroy: fn(Instance),
    pub initialize: fn(&dyn Any, &Context) -> Result<(), String>,
    pub shutdown: fn(&dyn Any) -> Result<(), String>,
    pub tick: fn(&dyn Any, f32) -> Result<(), String>,
    pub call: CallFn,
    pub save_state: fn(&dyn Any) -> Result<Vec<u8>, String>,
    pub restore_state: fn(&dyn Any, &[u8]) -> Result<(), String>,
    /// The typed service of a contract this module implements, boxed for the host.
    pub service: fn(&dyn Any, &str) -> Option<Box<dyn Any>>,
    /// Draws the module's UI for one frame (see [`Module::ui`]).
    pub ui: fn(&dyn Any, &mut egui::Ui) -> Result<(), String>,
}

/// What the module was built from, baked in at compile time. The loader copies these
/// strings out at once: nothing the host keeps may point into a module.
#[derive(Clone, Copy)]
pub struct Metadata {
    /// The cargo package name.
    pub package: &'static str,
    /// The cargo package version.
    pub package_version: &'static str,
    /// The text of the module's `module.toml` when it was built; the loader compares it with
    /// the manifest on disk to spot a stale build.
    pub manifest: &'static str,
}

/// The static every module exports as `PLAYGROUND_MODULE`.
pub struct ModuleDecl {
    pub metadata: Metadata,
    pub vtable: VTable,
}

/// Support for [`crate::export_module!`]; not for direct use.
#[doc(hidden)]
pub mod __export {
    use std::any::{Any, type_name};
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::{Instance, Module, VTable};
    use crate::egui;
    use crate::host::Context;

    /// The shape of every instance: shared so that services can point at it, a `RefCell` so
    /// that a re-entrant call is an error instead of two `&mut` to one value.
    pub type Shared<M> = Rc<RefCell<M>>;

    pub fn shared<M: Module>(instance: &dyn Any) -> Option<&Shared<M>> {
        instance.downcast_ref::<Shared<M>>()
    }

    #[cold]
    #[inline(never)]
    fn busy() -> String {
        "the module is busy: a re-entrant call into it".to_owned()
    }

    /// Runs `f` on the module borrowed mutably. One `Result` layer: the generic call path is
    /// budgeted in nanoseconds.
    #[inline]
    fn with_mut<M: Module, R>(instance: &dyn Any, f: impl FnOnce(&mut M) -> Result<R, String>) -> Result<R, String> {
        let Ok(mut module) = paired::<M>(instance).try_borrow_mut() else { return Err(busy()) };
        f(&mut module)
    }

    /// The instance a vtable function receives, as the `Shared<M>` it is. The loader hands
    /// each vtable function only the instance that the same vtable's `create` made (a
    /// generation's slot holds the two together), so the type is known and not checked again
    /// on every call: the `dyn Any` check was a third of the generic call path's time.
    /// Debug builds still check.
    #[inline(always)]
    fn paired<M: Module>(instance: &dyn Any) -> &Shared<M> {
        debug_assert!(instance.is::<Shared<M>>(), "an instance of another module: {}", type_name::<M>());
        let thin = std::ptr::from_ref(instance).cast::<Shared<M>>();
        // SAFETY: `instance` is the contents of the `Box<dyn Any>` that `create::<M>` made
        // from a `Shared<M>` (see above), so the data pointer points at a live `Shared<M>`,
        // borrowed for as long as `instance` is. The ABI stamp matched before any vtable
        // function was called, so `Shared<M>` has the layout this code was compiled with.
        #[allow(unsafe_code, reason = "the export macro's support code: one of the two audited unsafe sites")]
        unsafe {
            &*thin
        }
    }

    fn create<M: Module>() -> Instance {
        Box::new(Rc::new(RefCell::new(M::create())))
    }

    fn destroy<M: Module>(instance: Instance) {
        // Downcast first, so the concrete drop runs (and is compiled) in the module's crate.
        drop(instance.downcast::<Shared<M>>());
    }

    fn initialize<M: Module>(instance: &dyn Any, ctx: &Context) -> Result<(), String> {
        with_mut::<M, _>(instance, |m| m.initialize(ctx))
    }

    fn shutdown<M: Module>(instance: &dyn Any) -> Result<(), String> {
        with_mut::<M, _>(instance, |m| {
            m.shutdown();
            Ok(())
        })
    }

    fn tick<M: Module>(instance: &dyn Any, dt: f32) -> Result<(), String> {
        with_mut::<M, _>(instance, |m| {
            m.tick(dt);
            Ok(())
        })
    }

    fn call<M: Module>(instance: &dyn Any, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        with_mut::<M, _>(instance, |m| m.call(method, args))
    }

    fn save_state<M: Module>(instance: &dyn Any) -> Result<Vec<u8>, String> {
        with_mut::<M, _>(instance, |m| m.save_state())
    }

    fn restore_state<M: Module>(instance: &dyn Any, bytes: &[u8]) -> Result<(), String> {
        with_mut::<M, _>(instance, |m| m.restore_state(bytes))
    }

    fn ui<M: Module>(instance: &dyn Any, ui: &mut egui::Ui) -> Result<(), String> {
        with_mut::<M, _>(instance, |m| {
            m.ui(ui);
            Ok(())
        })
    }

    /// The vtable of `M`, instantiated in the module's own crate so that the code lives in
    /// the module's library.
    pub const fn vtable<M: Module>(service: fn(&dyn Any, &str) -> Option<Box<dyn Any>>) -> VTable {
        VTable {
            create: create::<M>,
            destroy: destroy::<M>,
            initialize: initialize::<M>,
            shutdown: shutdown::<M>,
            tick: tick::<M>,
            call: call::<M>,
            save_state: save_state::<M>,
            restore_state: restore_state::<M>,
            service,
            ui: ui::<M>,
        }
    }
}

/// Implements `save_state` and `restore_state` for the usual module, whose state is one
/// field: the field is encoded with [`crate::codec`] (named fields, so adding a field with
/// `#[serde(default)]` keeps the others) and decoded back, and bytes it cannot read are
/// refused, which keeps the old generation running. Invoke it inside `impl Module`:
///
/// ```ignore
/// impl Module for Movement {
///     fn create() -> Self { Movement::default() }
///     playground_api::persist!(stats);
/// }
/// ```
///
/// A module whose state needs more (a migration, or several fields kept apart from others)
/// writes the two methods itself.
#[macro_export]
macro_rules! persist {
    ($field:ident) => {
        fn save_state(&self) -> ::std::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
            $crate::codec::encode(&self.$field)
        }

        fn restore_state(&mut self, bytes: &[u8]) -> ::std::result::Result<(), ::std::string::String> {
            self.$field = $crate::codec::decode(bytes)?;
            ::std::result::Result::Ok(())
        }
    };
}

/// Exports a [`Module`] implementation as a loadable Playground module.
///
/// ```ignore
/// playground_api::export_module!(MyModule);
/// // A module that implements contracts names them:
/// playground_api::export_module!(EcsSystem, services = [dyn core_ecs::World]);
/// ```
///
/// This is one of the two places in Playground that contain `unsafe` (the other is the
/// loader's library loading): the two `#[unsafe(no_mangle)]` statics the loader looks up.
#[macro_export]
macro_rules! export_module {
    ($module:ty $(, services = [$(dyn $service:path),* $(,)?])? $(,)?) => {
        #[doc(hidden)]
        fn __playground_service(
            instance: &dyn ::std::any::Any,
            contract: &str,
        ) -> ::std::option::Option<::std::boxed::Box<dyn ::std::any::Any>> {
            let _shared = $crate::module::__export::shared::<$module>(instance)?;
            $($(
                if contract == <dyn $service as $crate::service::Contract>::ID {
                    let provider: $crate::module::__export::Shared<$module> =
                        ::std::rc::Rc::clone(_shared);
                    // The unsizing coercion: the module's type must implement the contract.
                    let provider: ::std::rc::Rc<::std::cell::RefCell<dyn $service>> = provider;
                    return ::std::option::Option::Some(
                        $crate::service::Service::new(provider).into_any(),
                    );
                }
            )*)?
            let _ = contract;
            ::std::option::Option::None
        }

        /// The ABI stamp of the api this module was built against (read by the loader first).
        #[allow(unsafe_code, reason = "the loader finds the module by this exported name; the export macro is one of the two audited unsafe sites")]
        #[unsafe(no_mangle)]
        pub static PLAYGROUND_ABI: $crate::abi::Stamp = $crate::abi::STAMP;

        /// The module's metadata and vtable.
        #[allow(unsafe_code, reason = "the loader finds the module by this exported name; the export macro is one of the two audited unsafe sites")]
        #[unsafe(no_mangle)]
        pub static PLAYGROUND_MODULE: $crate::module::ModuleDecl = $crate::module::ModuleDecl {
            metadata: $crate::module::Metadata {
                package: env!("CARGO_PKG_NAME"),
                package_version: env!("CARGO_PKG_VERSION"),
                manifest: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/module.toml")),
            },
            vtable: $crate::module::__export::vtable::<$module>(__playground_service),
        };
    };
}
