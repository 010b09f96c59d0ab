//! `playground_api` as the fuzzed files see it: the real codec (`api/src/codec.rs`, compiled
//! here as it is) and the serde crates the api re-exports. Nothing else of the api is needed
//! by a parser of outside input, and egui and wgpu would make every fuzz build a long one.

#[path = "../../../api/src/codec.rs"]
pub mod codec;

pub use {serde, serde_json};
