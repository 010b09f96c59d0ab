//! The Playground module contract: the one immortal dylib that the shell and every hot module link.
//!
//! It holds these things and nothing else:
//! - [`module`]: the safe [`Module`] trait a module author implements, and the
//!   [`export_module!`] macro that turns it into the plain-Rust vtable the loader calls;
//! - [`abi`]: the fingerprint of what a module was built against, read before anything else;
//! - [`host`]: what a module may ask of the host (call another module, request a reload, read
//!   the graph and the reload history), and the data types that describe them;
//! - [`service`]: the typed fast path between modules, through contract traits;
//! - [`worker`]: background threads a module owns, which the host stops with it;
//! - [`gpu`]: the shell's GPU device, and the GPU resources the host keeps across reloads;
//! - [`caller`]: calls into modules from any thread or async task ([`caller::ModuleCaller`]);
//! - [`net`]: the sockets the host keeps for a module across its reloads;
//!
//! plus [`log`], the process-wide buffer of recent `tracing` events the editor shows,
//! [`codec`], the one encoding for bytes that cross a module boundary, and re-exports of
//! every crate that modules share with the shell, so each exists once in the process.
//!
//! The api knows nothing about libloading, manifests, cargo or the editor UI.

pub mod abi;
pub mod caller;
pub mod codec;
pub mod gpu;
pub mod host;
mod kept;
pub mod log;
pub mod module;
pub mod net;
pub mod service;
pub mod worker;

pub use host::{Context, Host};
pub use module::Module;
pub use service::{Contract, Service};

// Shared crates. ARCHITECTURE.md, invariant 8: only this crate asks for them and picks their features.
pub use bincode;
pub use eframe;
pub use eframe::egui;
pub use eframe::egui_wgpu;
pub use eframe::egui_wgpu::wgpu;
pub use egui_dock;
pub use egui_extras;
pub use rmp_serde;
pub use rmpv;
pub use semver;
pub use serde;
pub use serde_json;
pub use toml;
pub use tracing;
pub use tracing_subscriber;
