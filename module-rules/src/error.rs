//! The loader's error: a sentence a person can act on, naming the file or module at fault.
//!
//! It has no machine-readable kind: every caller shows the sentence (the top bar, the line
//! protocol, MCP), none branches on what went wrong. Where a caller does branch (a panic in
//! a module against an error it returned, a module kept against one unloaded), the loader
//! returns a type of its own for it.

use std::fmt;

/// A loader error. Its `Display` is the full message shown to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }

    /// The sentence, for callers that pass it on as text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The sentence, taken.
    pub fn into_message(self) -> String {
        self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Self { message }
    }
}

/// Shorthand for loader results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
