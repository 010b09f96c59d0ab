//! The module loader: finds modules, resolves their graph, loads their libraries, and
//! reloads them as transactions. Linked into the shell; immortal; no UI.
//!
//! - [`manifest`] reads one `module.toml`; [`discover`] finds them under a modules root;
//!   [`graph`] checks them against each other and orders them.
//! - [`library`] is the only code that opens libraries (and holds the loader's `unsafe`).
//! - [`runtime`] runs the modules and implements the api's `Host` for them.
//! - [`scaffold`] writes a new module crate from a template.
//! - [`cargo`] builds module crates; [`live`] watches their sources and swaps rebuilt
//!   modules in at the safe point; [`rustc`] is its fast path, re-running the rustc command
//!   cargo used last time when only a module's own sources changed.
//!
//! The loader knows nothing about windows, egui or the editor: it is driven by the shell
//! (or a test) through [`Runtime`], at safe points the shell chooses.

pub mod cargo;
pub mod discover;
pub mod error;
pub mod graph;
mod guard;
pub mod library;
pub mod live;
pub mod manifest;
pub mod runtime;
pub mod rustc;
pub mod scaffold;

pub use error::{Error, ErrorKind, Result};
pub use graph::Graph;
pub use runtime::{Config, LoadReport, ModuleHandle, Runtime};
