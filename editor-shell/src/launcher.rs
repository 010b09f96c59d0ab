//! `playground`: what a user starts (a double-click, a desktop entry, a terminal, an MCP
//! client). It links nothing but std, so it starts whatever the api library beside it has
//! become; it checks that the shell (`playground-shell`) starts with that library, and then
//! becomes the shell (exec: same process, same stdin and stdout).
//!
//! When the shell would not start (the api library was rebuilt for another build: a feature
//! change, a `git pull`, a half-finished build), the dynamic linker would kill it before
//! `main` with a `symbol lookup error`. The launcher says why instead, rebuilds the shell
//! with cargo when it finds the workspace and cargo, and starts it; otherwise it names the
//! one command to run. It says so on stderr and, for a user who double-clicked (no
//! terminal), in a window (zenity, else xmessage) when one of them is installed.

use std::ffi::OsString;
use std::io::IsTerminal as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};

/// The shell binary, beside this one.
const SHELL: &str = "playground-shell";
/// The command that rebuilds it, for the message.
const REBUILD: &str = "cargo build -p editor-shell";

mod root;

/// The workspace: from `--root` if given, else as the shell finds it.
fn find_workspace(args: &[OsString], exe_dir: &Path) -> Option<PathBuf> {
    let root = args.iter().position(|a| a == "--root").and_then(|at| args.get(at + 1)).map(PathBuf::from);
    match root {
        Some(root) => root::looks_like_workspace(&root).then_some(root),
        None => root::find_workspace(exe_dir),
    }
}

/// Whether the shell starts with the api library beside it (it checks its api and exits);
/// `Err` says why not, in the dynamic linker's or the shell's own words.
fn probe(shell: &Path) -> Result<(), String> {
    if !shell.is_file() {
        return Err(format!("the shell is not built: there is no {}", shell.display()));
    }
    let output = Command::new(shell)
        .arg("--check-api")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {}: {e}", shell.display()))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let why = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("it exited without a word").trim();
    Err(format!(
        "the shell does not start with the api library beside it ({}), which no longer matches the \
         build the shell was made with: {why}",
        shell.with_file_name("libplayground_api.so").display()
    ))
}

/// Whether a person at a terminal reads stderr; if not (a double-click), a window says it.
fn at_terminal() -> bool {
    std::io::stderr().is_terminal()
}

fn has_display() -> bool {
    std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

/// Says `message` on stderr and, with no terminal to read it, in a window.
fn tell(message: &str) {
    eprintln!("playground: {message}");
    if at_terminal() || !has_display() {
        return;
    }
    let zenity =
        Command::new("zenity").args(["--error", "--no-markup", "--title=Playground", "--text"]).arg(message).status();
    if zenity.is_err() {
        let _ = Command::new("xmessage").args(["-center", message]).status();
    }
}

/// A pulsing progress window while the shell rebuilds, when nobody watches a terminal.
fn progress_window(text: &str) -> Option<Child> {
    if at_terminal() || !has_display() {
        return None;
    }
    Command::new("zenity")
        .args(["--progress", "--pulsate", "--no-cancel", "--title=Playground", "--text"])
        .arg(text)
        .stdin(Stdio::piped())
        .spawn()
        .ok()
}

/// Rebuilds the shell in `root` with cargo, in this binary's profile.
fn rebuild(root: &Path, exe_dir: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(&cargo);
    command.current_dir(root).args(["build", "-p", "editor-shell"]).stdin(Stdio::null()).stdout(Stdio::null());
    if exe_dir.file_name().is_some_and(|n| n == "release") {
        command.arg("--release");
    }
    let mut window = progress_window("Rebuilding the Playground shell to match its api library…");
    let status = command.status();
    if let Some(window) = window.as_mut() {
        let _ = window.kill();
        let _ = window.wait();
    }
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`{REBUILD}` failed ({status})")),
        Err(e) => Err(format!("cannot run cargo ({}): {e}", cargo.to_string_lossy())),
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some(exe_dir) = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf)) else {
        tell("cannot tell where this program is");
        return ExitCode::FAILURE;
    };
    let shell = exe_dir.join(SHELL);
    if let Err(problem) = probe(&shell) {
        let Some(root) = find_workspace(&args, &exe_dir) else {
            tell(&format!(
                "{problem}.\n\nRun `{REBUILD}` in the Playground workspace (the folder with `modules/`), then start \
                 playground again."
            ));
            return ExitCode::FAILURE;
        };
        // Said on stderr only: a window here would wait for a click; the progress window shows.
        eprintln!(
            "playground: {problem}.\nRebuilding it with `{REBUILD}` in {}; it starts when that is done.",
            root.display()
        );
        if let Err(why) = rebuild(&root, &exe_dir).and_then(|()| probe(&shell)) {
            tell(&format!("{why}.\n\nRun `{REBUILD}` in {} and read what it says.", root.display()));
            return ExitCode::FAILURE;
        }
    }
    // Becomes the shell: the same process, with the same stdin and stdout (a protocol's).
    let error = Command::new(&shell).args(&args).exec();
    tell(&format!("cannot start {}: {error}", shell.display()));
    ExitCode::FAILURE
}
