//! The loader's error: a kind a program can match on, and a sentence a person can act on.

use std::fmt;

/// What went wrong, coarsely, for callers that react differently (tests, MCP error codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A `module.toml` or `Cargo.toml` could not be read or is malformed.
    Manifest,
    /// The manifests do not form a valid graph (unknown module, version, feature, layer, cycle).
    Resolve,
    /// A library could not be opened, is not a module, or was built against another api.
    Library,
    /// Module code failed (an error it returned, or a panic the loader caught).
    Module,
    /// The request does not fit the loader's state (unknown id, a reload already running).
    Request,
    /// Building with cargo failed.
    Build,
    /// A file system operation failed.
    Io,
}

/// A loader error. Its `Display` is the full message shown to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Shorthand for loader results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
