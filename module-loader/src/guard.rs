//! Runs module code with panics caught, and turns a panic into a sentence with its location.
//!
//! Modules share the shell's std (prefer-dynamic), so a panic in a module unwinds into the
//! loader like any Rust panic and `catch_unwind` stops it. A panic hook records where the
//! panic happened, which the payload alone does not say, then lets the previous hook print
//! it to stderr as usual (never stdout, which may be an MCP transport). Nothing is done per
//! call beyond `catch_unwind` itself: the generic call path is budgeted in nanoseconds, so
//! the hook is installed once per runtime and the panic's sentence is built out of line.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the panic hook that records where a panic happened. Called once per runtime,
/// not per call: the generic call path is budgeted in nanoseconds.
pub(crate) fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let at = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            LOCATION.with(|slot| *slot.borrow_mut() = at);
            previous(info);
        }));
    });
}

/// The sentence for a caught panic. Out of line and cold, so that the calls that do not
/// panic (all but a few) carry none of it.
#[cold]
#[inline(never)]
fn describe(payload: Box<dyn Any + Send>) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".to_owned());
    // Drop the payload here, in the loader: its drop glue may live in the module, which is
    // still mapped (libraries are never closed), so this is safe either way.
    drop(payload);
    match LOCATION.with(|slot| slot.borrow_mut().take()) {
        Some(at) => format!("panicked at {at}: {message}"),
        None => format!("panicked: {message}"),
    }
}

/// How module code failed: the caller pauses a module whose `tick` panicked, and only
/// records an error it returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The module returned this error.
    Returned(String),
    /// The module panicked; the text says where (`panicked at <file:line:col>: <message>`).
    Panicked(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Returned(text) | Failure::Panicked(text) => f.write_str(text),
        }
    }
}

/// Calls module code that returns `Result<T, String>`, telling a panic from an error it
/// returned. The lifecycle's path; the generic call's hot path is [`call`].
pub(crate) fn run<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, Failure> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(Failure::Returned(error)),
        Err(payload) => Err(Failure::Panicked(describe(payload))),
    }
}

/// Calls `f`, turning a panic into `Err("panicked at <file:line:col>: <message>")`.
#[inline]
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(describe)
}

/// Calls module code that returns `Result<T, String>`; a panic and an error both become
/// `Err`, the panic's text saying so.
///
/// The module writes its result into `out`, a local the caller reads field by field, not
/// into `catch_unwind`'s own return value. Moved out of that, the 32-byte result was copied
/// with a 16-byte load spanning two of the module's 8-byte stores, which the CPU cannot
/// forward from its store buffer: the stall was half of the generic call's 10 ns.
#[inline(always)]
pub(crate) fn call<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let mut out = Err(String::new());
    match panic::catch_unwind(AssertUnwindSafe(|| out = f())) {
        Ok(()) => out,
        Err(payload) => Err(describe(payload)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_becomes_an_error_with_its_location() {
        super::install_hook();
        let err = super::catch(|| panic!("boom")).unwrap_err();
        assert!(err.starts_with("panicked at "), "{err}");
        assert!(err.contains("guard.rs"), "{err}");
        assert!(err.ends_with(": boom"), "{err}");
        assert_eq!(super::catch(|| 7), Ok(7));
    }

    #[test]
    fn run_tells_a_panic_from_a_returned_error() {
        super::install_hook();
        assert_eq!(super::run(|| Err::<(), _>("no".to_owned())), Err(super::Failure::Returned("no".to_owned())));
        assert!(matches!(super::run(|| -> Result<(), String> { panic!("boom") }), Err(super::Failure::Panicked(_))));
        assert_eq!(super::run(|| Ok(3)), Ok(3));
    }
}
