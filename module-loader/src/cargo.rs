//! Builds module crates with cargo: one invocation per batch, in the workspace's one target
//! dir and the shell's profile. Compiler diagnostics come from cargo's JSON messages
//! (`cargo_metadata`); progress (units done / total) from cargo's own progress line, which
//! it prints to stderr when told to even without a terminal.

use std::io::{BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cargo_metadata::Message;
use cargo_metadata::diagnostic::DiagnosticLevel;
use module_rules::commands::{self, parse_progress, parse_running, strip_ansi};
pub use module_rules::commands::{Invocations, Progress};
use playground_api::host::{BuildOutcome, Diagnostic, Level};

/// The cargo processes running now, so that a host that quits in the middle of a build can
/// stop them ([`stop_builds`]) rather than leave them holding the build folder's lock for
/// the next start to wait on.
static RUNNING: Mutex<Vec<Weak<Mutex<Child>>>> = Mutex::new(Vec::new());

/// Stops every cargo build still running; their callers see a failed build. For a host
/// that is quitting or restarting.
pub fn stop_builds() {
    let running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner).clone();
    for child in running.iter().filter_map(Weak::upgrade) {
        let _ = child.lock().unwrap_or_else(PoisonError::into_inner).kill();
    }
}

/// Waits for `child` without holding its lock, so [`stop_builds`] can always reach it. By
/// the time cargo's output has ended it has exited, so this rarely sleeps.
fn wait(child: &Mutex<Child>) -> std::io::Result<ExitStatus> {
    loop {
        if let Some(status) = child.lock().unwrap_or_else(PoisonError::into_inner).try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Keeps `child` where [`stop_builds`] finds it, for as long as the returned handle lives.
fn track(child: Child) -> Arc<Mutex<Child>> {
    let child = Arc::new(Mutex::new(child));
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    running.retain(|c| c.strong_count() > 0);
    running.push(Arc::downgrade(&child));
    child
}

/// Runs a short cargo command (`cargo metadata`) to its end and returns its output, where
/// [`stop_builds`] can stop it like a build.
pub(crate) fn run_tracked(command: &mut Command) -> std::io::Result<std::process::Output> {
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    // Both pipes are read on threads, so neither fills up while the other is read.
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let child = track(child);
    let status = wait(&child)?;
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// The cargo to run: the one that built us when run under cargo, else `cargo` on PATH.
pub fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Turns one of rustc's diagnostics into ours; `None` for notes and help on their own.
pub(crate) fn convert(d: &cargo_metadata::diagnostic::Diagnostic) -> Option<Diagnostic> {
    let level = match d.level {
        DiagnosticLevel::Error => Level::Error,
        DiagnosticLevel::Ice => Level::InternalCompilerError,
        DiagnosticLevel::Warning => Level::Warning,
        _ => return None,
    };
    let primary = d.spans.iter().find(|s| s.is_primary).or(d.spans.first());
    Some(Diagnostic {
        level,
        message: d.message.clone(),
        file: primary.map(|s| s.file_name.clone()),
        line: primary.map_or(0, |s| u32::try_from(s.line_start).unwrap_or(0)),
        column: primary.map_or(0, |s| u32::try_from(s.column_start).unwrap_or(0)),
        rendered: strip_ansi(d.rendered.as_deref().unwrap_or(&d.message)),
    })
}

/// Builds `packages` (for `modules`) in one cargo invocation, calling `on_progress` as units
/// finish. Never fails outright: a cargo that cannot run is an outcome with `error` set.
pub fn build(
    workspace: &Path,
    modules: &[String],
    packages: &[String],
    release: bool,
    on_progress: impl FnMut(Progress),
) -> BuildOutcome {
    build_recording(workspace, modules, packages, release, on_progress, None)
}

/// [`build`], also recording in `record` the rustc command cargo ran for each of `packages`
/// it compiled (cargo is run with `-vv` for that).
pub fn build_recording(
    workspace: &Path,
    modules: &[String],
    packages: &[String],
    release: bool,
    mut on_progress: impl FnMut(Progress),
    record: Option<&mut Invocations>,
) -> BuildOutcome {
    let started = Instant::now();
    let mut outcome =
        BuildOutcome { modules: modules.to_vec(), packages: packages.to_vec(), ..BuildOutcome::default() };
    let finish = |mut outcome: BuildOutcome| {
        outcome.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        outcome.finished_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        outcome.sort_errors_first();
        outcome
    };
    if packages.is_empty() {
        outcome.success = true;
        return finish(outcome);
    }
    let mut command = Command::new(cargo_program());
    command.current_dir(workspace).args(["build", "--lib", "--message-format=json"]);
    if release {
        command.arg("--release");
    }
    if record.is_some() {
        command.arg("-vv");
    }
    for package in packages {
        command.arg("-p").arg(package);
    }
    command
        .env("CARGO_TERM_PROGRESS_WHEN", "always")
        .env("CARGO_TERM_PROGRESS_WIDTH", "200")
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            outcome.error = Some(format!("cannot run cargo: {e}"));
            return finish(outcome);
        }
    };

    // Stderr: progress lines (separated by '\r') and cargo's own errors. Read on a thread so
    // neither pipe fills up while we read the other.
    let (progress_tx, progress_rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take();
    let stdout = child.stdout.take();
    let child = track(child);
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let Some(mut stderr) = stderr else { return text };
        let mut buf = [0u8; 4096];
        let mut line = Vec::new();
        loop {
            let n = match stderr.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for &b in &buf[..n] {
                if b == b'\r' || b == b'\n' {
                    let l = String::from_utf8_lossy(&line).into_owned();
                    if let Some(p) = parse_progress(&l) {
                        let _ = progress_tx.send(p);
                    } else if !l.trim().is_empty() {
                        text.push_str(&l);
                        text.push('\n');
                    }
                    line.clear();
                } else {
                    line.push(b);
                }
            }
        }
        text
    });

    if let Some(stdout) = stdout {
        for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
            while let Ok(p) = progress_rx.try_recv() {
                on_progress(p);
            }
            // Only the workspace's own crates: a registry crate's warnings are not the user's.
            if let Message::CompilerMessage(m) = message
                && commands::is_own_package(&m.package_id.repr)
                && let Some(d) = convert(&m.message)
            {
                outcome.diagnostics.push(d);
            }
        }
    }
    while let Ok(p) = progress_rx.try_recv() {
        on_progress(p);
    }
    let status = wait(&child);
    let stderr_text = stderr_reader.join().unwrap_or_default();
    outcome.success = status.as_ref().is_ok_and(|s| s.success());
    if let Some(record) = record {
        let wanted: Vec<String> = packages.iter().map(|p| p.replace('-', "_")).collect();
        for (name, command) in stderr_text.lines().filter_map(parse_running) {
            if wanted.contains(&name) {
                record.insert(name, command);
            }
        }
    }
    if !outcome.success && outcome.errors().next().is_none() {
        // Not a compiler error: cargo itself failed. Keep its last words.
        let tail: Vec<&str> = stderr_text.lines().filter(|l| l.contains("error")).collect();
        outcome.error = Some(if tail.is_empty() {
            format!("cargo failed: {}", status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()))
        } else {
            tail.join("\n")
        });
    }
    finish(outcome)
}
