//! Builds module crates with cargo, in the workspace's one target dir and the shell's profile.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, ErrorKind, Result};

/// The cargo to run: the one that built us when run under cargo, else `cargo` on PATH.
pub fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Builds `packages` in one cargo invocation. Cargo's own progress goes to our stderr; stdout
/// is left alone (it may be a protocol).
pub fn build(workspace: &Path, packages: &[String], release: bool) -> Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    let mut command = Command::new(cargo_program());
    command.current_dir(workspace).arg("build").arg("--lib");
    if release {
        command.arg("--release");
    }
    for package in packages {
        command.arg("-p").arg(package);
    }
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| Error::new(ErrorKind::Build, format!("cannot run cargo: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::Build, format!("cargo build of {} failed ({status})", packages.join(", "))))
    }
}
