//! The typed fast path: a contract trait in `modules/core/*`, implemented by a system, called
//! directly by its dependents.
//!
//! A contract crate declares its trait with [`crate::contract!`]; the implementing module names it in
//! [`crate::export_module!`]; a dependent takes a [`Service`] from its [`crate::Context`] in
//! `initialize`. A call is one `RefCell` borrow check and one dynamic call, with no encoding.
//! The loader reloads every dependent of a provider together with it, so a dependent always
//! holds the service of the provider's current generation.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

/// A contract trait object type (`dyn MyContract`) and the module id of the contract.
pub trait Contract: 'static {
    /// The contract module's id, e.g. `core/ecs`.
    const ID: &'static str;
}

/// Declares `dyn Trait` as the contract of module `id`. Used once, in the contract crate.
///
/// ```ignore
/// pub trait World { fn len(&self) -> usize; }
/// playground_api::contract!(dyn World, "core/ecs");
/// ```
#[macro_export]
macro_rules! contract {
    (dyn $trait:path, $id:literal) => {
        impl $crate::service::Contract for dyn $trait {
            const ID: &'static str = $id;
        }
    };
}

/// A handle to the implementation of contract `C` in another module.
pub struct Service<C: Contract + ?Sized> {
    inner: Rc<RefCell<C>>,
}

impl<C: Contract + ?Sized> Clone for Service<C> {
    fn clone(&self) -> Self {
        Self { inner: Rc::clone(&self.inner) }
    }
}

impl<C: Contract + ?Sized> Service<C> {
    /// Wraps a provider's shared instance. Called by the code [`crate::export_module!`]
    /// generates for a provider.
    pub fn new(inner: Rc<RefCell<C>>) -> Self {
        Self { inner }
    }

    /// Boxes the handle for the host to pass along without knowing `C`.
    pub fn into_any(self) -> Box<dyn Any> {
        Box::new(self.inner)
    }

    /// Recovers a handle boxed by [`Service::into_any`]; `None` if it is another contract.
    pub fn from_any(any: &dyn Any) -> Option<Self> {
        any.downcast_ref::<Rc<RefCell<C>>>().map(|rc| Self { inner: Rc::clone(rc) })
    }

    /// Runs `f` with the provider borrowed mutably. Fails (instead of aliasing) if the
    /// provider is already borrowed, i.e. the provider is calling back into its caller.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&mut C) -> R) -> Result<R, Busy> {
        match self.inner.try_borrow_mut() {
            Ok(mut provider) => Ok(f(&mut provider)),
            Err(_) => Err(Busy(C::ID)),
        }
    }

    /// Runs `f` with the provider borrowed immutably.
    #[inline]
    pub fn read<R>(&self, f: impl FnOnce(&C) -> R) -> Result<R, Busy> {
        match self.inner.try_borrow() {
            Ok(provider) => Ok(f(&provider)),
            Err(_) => Err(Busy(C::ID)),
        }
    }
}

/// A service call refused because its provider is already borrowed (a re-entrant call). Two
/// words, not a `String`, so that the fast path returns in registers; it becomes the usual
/// `String` error with `?`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy(pub &'static str);

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the provider of `{}` is busy (a re-entrant call)", self.0)
    }
}

impl std::error::Error for Busy {}

impl From<Busy> for String {
    fn from(busy: Busy) -> String {
        busy.to_string()
    }
}
