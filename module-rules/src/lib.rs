//! The loader's pure rules: what a module is, how modules fit together, and what a change
//! on disk means. No library is opened and nothing runs here, so every rule is checked by
//! unit tests that build no GUI crate (`cargo test -p module-rules`, a few seconds).
//!
//! - [`manifest`] reads one `module.toml`; [`discover`] finds the modules under a modules
//!   root and where cargo puts each one's library; [`graph`] checks them against each other
//!   (unknown module, version, feature, layer, contract, cycle), orders them, and says which
//!   packages a change must rebuild.
//! - [`paths`] says what a changed path is: a hot module, a contract, immortal code (a
//!   restart), or nothing of ours.
//! - [`commands`] reads what cargo prints (progress, the rustc command of each crate) and
//!   decides when a recorded rustc command may be re-run instead of cargo.
//! - [`scaffold`] writes a new module crate from a template.
//!
//! This crate knows nothing about libloading, the api dylib, egui, threads or processes: the
//! loader (`module-loader`) does the running, on these rules.

pub mod apps;
pub mod commands;
pub mod discover;
pub mod error;
pub mod graph;
pub mod manifest;
pub mod paths;
pub mod scaffold;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod properties;

pub use error::{Error, Result};
pub use graph::Graph;
pub use manifest::{Layer, Manifest};
