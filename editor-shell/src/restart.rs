//! Restarting the shell without losing anything: rebuild it, save every module's state to a
//! file, and replace this process with the new binary, which loads the modules and hands
//! each its state back. The way to pick up a change to the immortal api crate.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use module_loader::Runtime;
use playground_api::{codec, tracing};

use crate::workspace::Paths;

/// The path of the shell binary cargo just rebuilt. When the build replaced the running
/// binary, Linux names this process's executable `<path> (deleted)`; the new one is at
/// `<path>`.
fn rebuilt_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the shell binary: {e}"))?;
    let exe = match exe.to_str().and_then(|s| s.strip_suffix(" (deleted)")) {
        Some(path) => PathBuf::from(path),
        None => exe,
    };
    if exe.is_file() { Ok(exe) } else { Err(format!("the rebuilt shell is not at {}", exe.display())) }
}

/// Reads the states a restarting process saved. The file stays until the modules have
/// them ([`states_delivered`]): a start that fails before that can be retried.
pub(crate) fn read_states(file: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read the saved states {}: {e}", file.display()))?;
    let states: BTreeMap<String, codec::Blob> = codec::decode(&bytes)?;
    Ok(states.into_iter().map(|(id, blob)| (id, blob.0)).collect())
}

/// Removes the saved states' file once the modules that loaded have been handed theirs.
pub(crate) fn states_delivered(file: Option<&Path>) {
    if let Some(file) = file {
        let _ = std::fs::remove_file(file);
    }
}

/// What a host checks, with every module still running, before it stops serving for a
/// restart: that the rebuilt binary is there and that every module can save its state now.
/// A restart that would fail at those steps is refused here, while nothing is lost.
pub(crate) fn preflight(runtime: &Runtime) -> Result<(), String> {
    rebuilt_binary()?;
    let (_, errors) = runtime.save_all();
    if errors.is_empty() { Ok(()) } else { Err(format!("not restarting: {}", errors.join("; "))) }
}

/// Rebuilds every module and the shell, saves every state, and execs the new binary.
/// Returns only on failure, with every module still running.
///
/// The modules are rebuilt too: after an api edit, modules built against the old api would
/// be refused by the new shell (their ABI stamp differs) and their states would have nowhere
/// to go. Both hosts build everything first, with the modules still running (the window
/// behind a progress window, the headless loop on a thread), and come here only when that
/// build succeeded, so this is cargo finding nothing to do.
pub(crate) fn restart(runtime: &Runtime, paths: &Paths) -> Result<(), String> {
    tracing::info!("rebuilding the modules and the shell before the restart");
    paths
        .restart_plan(runtime)?
        .run_on_stderr("building for the restart")
        .map_err(|failed| format!("{}\nnothing was restarted", failed.message))?;
    // Found before anything stops, so a missing binary leaves everything running.
    let exe = rebuilt_binary()?;
    let (states, errors) = runtime.save_all();
    if !errors.is_empty() {
        return Err(format!("not restarting: {}", errors.join("; ")));
    }
    let blobs: BTreeMap<String, codec::Blob> = states.into_iter().map(|(id, bytes)| (id, codec::Blob(bytes))).collect();
    let file = paths.library_dir.join(format!("playground-restart-{}.state", std::process::id()));
    std::fs::write(&file, codec::encode(&blobs)?).map_err(|e| format!("cannot save the states: {e}"))?;
    for warning in runtime.shutdown_all() {
        tracing::warn!("{warning}");
    }
    let args = restart_args(std::env::args().skip(1).collect(), &file);
    // The new process builds what it needs; a live-edit build left running would hold it up.
    module_loader::cargo::stop_builds();
    let error = Command::new(exe).args(&args).exec();
    Err(format!("the restart failed: {error}; the modules are stopped, start playground again"))
}

/// The command line of the restarted shell: this one's, restoring the states from `file`,
/// and without `--mcp-new-token` (the clients connected with this token keep it).
fn restart_args(mut args: Vec<String>, file: &Path) -> Vec<String> {
    if let Some(at) = args.iter().position(|a| a == "--restore-state") {
        args.drain(at..(at + 2).min(args.len()));
    }
    args.retain(|a| a != "--mcp-new-token");
    args.push("--restore-state".to_owned());
    args.push(file.display().to_string());
    args
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::restart_args;

    #[test]
    fn a_restart_keeps_the_command_line_but_the_new_token_and_the_old_states() {
        let args = ["--mcp-http", "127.0.0.1:8123", "--mcp-new-token", "--restore-state", "/old.state", "--headless"];
        let args = restart_args(args.map(str::to_owned).to_vec(), Path::new("/new.state"));
        assert_eq!(args, ["--mcp-http", "127.0.0.1:8123", "--headless", "--restore-state", "/new.state"]);
    }
}
