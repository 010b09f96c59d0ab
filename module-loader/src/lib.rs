//! The module loader: loads modules' libraries, runs them, and reloads them as
//! transactions, on the rules of `module-rules` (manifests, the graph, what a change means).
//! Linked into the shell; immortal; no UI.
//!
//! - [`library`] is the only code that opens libraries (and holds the loader's `unsafe`).
//! - [`runtime`] runs the modules, implements the api's `Host` for them, and runs the
//!   reload transaction.
//! - [`builds`] is the build service every build goes through (live edit, MCP, the graph's
//!   Reload, start-up, restart): one build at a time, requests joined, one status; [`cargo`]
//!   runs cargo for it and [`rustc`] is its fast path, re-running the rustc command cargo
//!   used last time when only a module's own sources changed; [`live`] watches the
//!   workspace and says which modules changed; [`shared`] checks, in process, that a build
//!   keeps the shared crates' features (and so the api) as they are.
//! - [`watchdog`] names a module that holds the main thread too long.
//!
//! The loader knows nothing about windows or the editor: it is driven by the shell (or a
//! test) through [`Runtime`], at safe points the shell chooses. Its one egui type is the
//! `Ui` a windowed host hands to a module's `ui` (`runtime/ui.rs`).

pub mod builds;
pub mod cargo;
mod guard;
pub mod library;
pub mod live;
pub mod runtime;
pub mod rustc;
pub mod shared;
pub mod watchdog;

pub use module_rules::{Error, Graph, Result, apps, discover, graph, manifest, scaffold};
pub use runtime::{Config, LoadReport, ModuleHandle, Removal, Runtime};

/// The loader's error type, from `module-rules`: a sentence, no kind.
pub(crate) mod error {
    pub(crate) use module_rules::error::{Error, Result};
}
