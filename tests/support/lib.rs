//! The harness the end-to-end tests share: it builds the real module crates once, lays out
//! throwaway modules and library folders ("sandboxes") from them, and drives either the
//! loader in-process or the real `playground` binary over its headless protocol.
//!
//! Sandboxes copy manifests and built libraries, so a test can break a manifest or replace a
//! library without touching the workspace or another test.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use module_loader::{Config, Runtime};
use playground_api::{codec, serde_json};
use tempfile::TempDir;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// `target/<profile>`, found from the running test binary (`target/<profile>/deps/<test>`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    exe.ancestors().nth(2).map(Path::to_path_buf).expect("the test binary is in target/<profile>/deps")
}

/// The demo's module packages under `modules/` (contracts are compiled into them).
const DEMO_PACKAGES: [&str; 10] = [
    "apps-editor",
    "plugins-editor-graph",
    "plugins-editor-log",
    "plugins-editor-timings",
    "apps-game",
    "systems-ecs",
    "systems-renderer",
    "systems-networking",
    "plugins-movement",
    "plugins-combat",
];

/// The other packages the tests load, and the shell binary.
const PACKAGES: [&str; 8] = [
    "editor-shell",
    "fx-probe",
    "fx-counter",
    "fx-evolve-v1",
    "fx-evolve-v2",
    "fx-evolve-v3",
    "fx-not-a-module",
    "core-ecs",
];

/// Builds the shell and every module crate the tests use, once per test binary (once per
/// run under nextest, which starts a process per test: the first one builds, and a stamp with
/// the run's id tells the others), with the same cargo, profile and target dir as the tests
/// (so the api dylib is never rebuilt).
pub fn build_all() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let stamp = profile_dir().join("playground-tests-built");
        let run = std::env::var("NEXTEST_RUN_ID").ok();
        if run.is_some() && std::fs::read_to_string(&stamp).ok() == run {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut command = Command::new(cargo);
        command.current_dir(workspace()).arg("build");
        if profile_dir().file_name().is_some_and(|n| n == "release") {
            command.arg("--release");
        }
        for package in PACKAGES.iter().chain(&DEMO_PACKAGES) {
            command.args(["-p", package]);
        }
        let output = command.output().expect("cargo runs");
        assert!(
            output.status.success(),
            "building the test modules failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        if let Some(run) = run {
            std::fs::write(&stamp, run).expect("write the build stamp");
        }
    });
}

/// A built library in the target dir, by crate (lib) name.
pub fn built_library(lib_name: &str) -> PathBuf {
    profile_dir().join(format!("lib{lib_name}.so"))
}

/// A module folder of the workspace: `modules/<id>` or `tests/fixtures/<id>`.
pub fn module_dir(id: &str) -> PathBuf {
    let demo = workspace().join("modules").join(id);
    if demo.join("module.toml").is_file() { demo } else { workspace().join("tests/fixtures").join(id) }
}

/// Writes `bytes` as a new file (new inode, new mtime), as cargo does when it rebuilds.
fn write_new_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).expect("write the library");
    // A distinct mtime even on coarse clocks, so the loader sees a new build.
    static BUMP: Mutex<u64> = Mutex::new(0);
    let mut bump = BUMP.lock().expect("bump lock");
    *bump += 1;
    let when = SystemTime::now() + Duration::from_millis(*bump);
    std::fs::File::options().write(true).open(&tmp).and_then(|f| f.set_modified(when)).expect("set mtime");
    std::fs::rename(&tmp, path).expect("move the library into place");
}

/// A throwaway modules folder and library folder.
pub struct Sandbox {
    dir: TempDir,
    pub modules: PathBuf,
    pub libs: PathBuf,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// An empty sandbox; the modules are built first.
    pub fn new() -> Sandbox {
        build_all();
        let dir = tempfile::tempdir().expect("a temp dir");
        let modules = dir.path().join("modules");
        let libs = dir.path().join("lib");
        std::fs::create_dir_all(&modules).expect("modules dir");
        std::fs::create_dir_all(&libs).expect("lib dir");
        Sandbox { dir, modules, libs }
    }

    /// A sandbox holding the given modules, taken from the workspace.
    pub fn with(ids: &[&str]) -> Sandbox {
        let sandbox = Sandbox::new();
        for id in ids {
            sandbox.add(id, &module_dir(id));
        }
        sandbox
    }

    /// The demo modules: core/types, core/ecs, systems/ecs, plugins/movement.
    pub fn demo() -> Sandbox {
        Sandbox::with(&["core/types", "core/ecs", "systems/ecs", "plugins/movement"])
    }

    /// The engine: the demo modules with the renderer, networking, combat and the game, and the `assets` folder
    /// beside the modules, where the renderer finds its shader.
    pub fn engine() -> Sandbox {
        let sandbox = Sandbox::with(&[
            "core/types",
            "core/ecs",
            "core/rendering",
            "core/combat",
            "core/net",
            "systems/ecs",
            "systems/renderer",
            "systems/networking",
            "plugins/movement",
            "plugins/combat",
            "apps/game",
        ]);
        sync(&workspace().join("assets"), &sandbox.path().join("assets"));
        sandbox
    }

    /// The engine's shader in this sandbox.
    pub fn shader(&self) -> PathBuf {
        self.path().join("assets/shaders/sprite.wgsl")
    }

    /// The fixtures: core/probe, systems/probe, plugins/counter.
    pub fn fixtures() -> Sandbox {
        Sandbox::with(&["core/probe", "systems/probe", "plugins/counter"])
    }

    /// Copies the module folder `from` (manifest, Cargo.toml, built library) in as `id`.
    pub fn add(&self, id: &str, from: &Path) {
        let to = self.modules.join(id);
        std::fs::create_dir_all(&to).expect("module dir");
        for file in ["module.toml", "Cargo.toml"] {
            std::fs::copy(from.join(file), to.join(file)).expect("copy the module files");
        }
        if let Some(lib) = lib_name(&from.join("Cargo.toml")) {
            let built = built_library(&lib);
            if built.exists() {
                write_new_file(&self.libs.join(format!("lib{lib}.so")), &std::fs::read(built).expect("read lib"));
            }
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A runtime over this sandbox, with its own generations folder.
    pub fn runtime(&self) -> Runtime {
        Runtime::new(Config {
            modules_root: self.modules.clone(),
            library_dir: self.libs.clone(),
            generations_dir: self.dir.path().join("generations"),
            app: None,
        })
    }

    pub fn manifest_path(&self, id: &str) -> PathBuf {
        self.modules.join(id).join("module.toml")
    }

    pub fn manifest(&self, id: &str) -> String {
        std::fs::read_to_string(self.manifest_path(id)).expect("read manifest")
    }

    pub fn write_manifest(&self, id: &str, text: &str) {
        std::fs::write(self.manifest_path(id), text).expect("write manifest");
    }

    /// The library file of module `id` in this sandbox.
    pub fn library(&self, id: &str) -> PathBuf {
        let lib = lib_name(&self.modules.join(id).join("Cargo.toml")).expect("a dylib module");
        self.libs.join(format!("lib{lib}.so"))
    }

    /// Replaces module `id`'s library with other bytes, as a rebuild would.
    pub fn replace_library(&self, id: &str, bytes: &[u8]) {
        write_new_file(&self.library(id), bytes);
    }

    /// Makes module `id`'s library look freshly built (same code, new file).
    pub fn touch_library(&self, id: &str) {
        let bytes = std::fs::read(self.library(id)).expect("read lib");
        self.replace_library(id, &bytes);
    }

    /// The file the counter fixture reads its one-shot faults from.
    pub fn faults_file(&self) -> PathBuf {
        self.dir.path().join("faults")
    }

    pub fn set_faults(&self, steps: &str) {
        std::fs::write(self.faults_file(), steps).expect("write faults");
    }

    /// Starts the real `playground --headless` over this sandbox.
    pub fn shell(&self) -> Shell {
        Shell::start(&self.modules, &self.libs, &self.faults_file())
    }

    /// `playground --headless --no-build --no-watch` over this sandbox, for a test that adds
    /// its own flags or environment before [`Shell::spawn`].
    pub fn headless_command(&self) -> Command {
        build_all();
        let mut command = Command::new(profile_dir().join("playground"));
        command
            .args(["--headless", "--no-build", "--no-watch", "--modules"])
            .arg(&self.modules)
            .arg("--library-dir")
            .arg(&self.libs);
        command
    }
}

fn lib_name(cargo_toml: &Path) -> Option<String> {
    let text = std::fs::read_to_string(cargo_toml).ok()?;
    if !text.contains("dylib\"") {
        return None;
    }
    let table: playground_api::toml::Table = text.parse().ok()?;
    let name = table.get("package")?.get("name")?.as_str()?;
    Some(name.replace('-', "_"))
}

/// Calls a module in-process with JSON arguments and returns the JSON result.
#[allow(clippy::needless_pass_by_value, reason = "tests read better with `json!(..)` inline than with `&json!(..)`")]
pub fn call(runtime: &Runtime, id: &str, method: &str, args: serde_json::Value) -> Result<serde_json::Value, String> {
    let args = codec::from_json(&args)?;
    let bytes = runtime.call(id, method, &args).map_err(|e| e.to_string())?;
    codec::to_json(&bytes)
}

/// A module's state as JSON.
pub fn state(runtime: &Runtime, id: &str) -> serde_json::Value {
    let bytes = runtime.state(id).expect("the module saves its state");
    codec::to_json(&bytes).expect("the state is readable")
}

/// Resident memory of this process, in kB (for the benches' leak budgets).
pub fn resident_kb() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4
}

/// The generation number of a running module.
pub fn generation(runtime: &Runtime, id: &str) -> u64 {
    runtime.modules().into_iter().find(|m| m.id == id).map_or(0, |m| m.generation)
}

/// A diagnostic (as `build` and the `built` event show one) as a user reads it: file, line,
/// column and message.
pub fn diagnostic_place(d: &serde_json::Value) -> (String, u64, u64, String) {
    (
        d["file"].as_str().unwrap_or_default().to_owned(),
        d["line"].as_u64().unwrap_or(0),
        d["column"].as_u64().unwrap_or(0),
        d["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The editor's panes as its saved UI state (`ui_state`) arranges them: each dock leaf's tabs
/// in order, and which of them is in front.
pub fn dock_leaves(ui_state: &serde_json::Value) -> Vec<(Vec<String>, u64)> {
    fn collect(value: &serde_json::Value, into: &mut Vec<(Vec<String>, u64)>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Array(tabs)) = map.get("tabs") {
                    let tabs = tabs.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect();
                    into.push((tabs, map.get("active").and_then(serde_json::Value::as_u64).unwrap_or(0)));
                }
                map.values().for_each(|v| collect(v, into));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, into)),
            _ => {}
        }
    }
    let mut leaves = Vec::new();
    collect(&ui_state["dock"], &mut leaves);
    leaves
}

/// The real shell binary, driven over its headless line protocol.
pub struct Shell {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// Events that arrived while waiting for an answer.
    events: std::collections::VecDeque<serde_json::Value>,
}

const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

impl Shell {
    fn start(modules: &Path, libs: &Path, faults: &Path) -> Shell {
        build_all();
        let mut command = Command::new(profile_dir().join("playground"));
        command
            .args(["--headless", "--no-build", "--no-watch", "--modules"])
            .arg(modules)
            .arg("--library-dir")
            .arg(libs)
            .env("FIXTURE_FAULTS", faults);
        Shell::spawn(command)
    }

    /// Starts `command` (a `playground` invocation) with piped stdin/stdout and waits for its
    /// `ready` line. `RUST_LOG` defaults to `warn`.
    pub fn spawn(mut command: Command) -> Shell {
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start playground");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut shell = Shell { child, stdin, lines, events: std::collections::VecDeque::new() };
        let first = shell.next_line();
        assert_eq!(first, "ready", "the shell did not start");
        shell
    }

    /// The process id of the running `playground`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next live-edit event (`event <json>` line), waiting up to `timeout`.
    pub fn event(&mut self, timeout: Duration) -> Option<serde_json::Value> {
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        let line = self.lines.recv_timeout(timeout).ok()?;
        let event = line.strip_prefix("event ").unwrap_or_else(|| panic!("expected an event, got: {line}"));
        Some(serde_json::from_str(event).expect("an event is JSON"))
    }

    /// Waits for an event of `kind` (others are returned too, in order, for counting).
    pub fn wait_for(&mut self, kind: &str, timeout: Duration) -> Vec<serde_json::Value> {
        let deadline = std::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        while let Some(event) = self.event(deadline.saturating_duration_since(std::time::Instant::now())) {
            let done = event["kind"] == kind;
            seen.push(event);
            if done {
                return seen;
            }
        }
        panic!("no `{kind}` event within {timeout:?}; saw {seen:?}")
    }

    fn next_line(&mut self) -> String {
        self.next_line_within(ANSWER_TIMEOUT)
    }

    fn next_line_within(&mut self, timeout: Duration) -> String {
        self.lines.recv_timeout(timeout).unwrap_or_else(|e| panic!("the shell said nothing within {timeout:?}: {e}"))
    }

    /// The frame time a window announced for the reload `record` describes, and the median
    /// of the plain frames before it (its `reload_frame` event).
    pub fn reload_frame(&mut self, record: &serde_json::Value) -> (f64, f64) {
        let seq = record["seq"].clone();
        loop {
            let event = self.event(Duration::from_secs(10)).expect("the reload's frame is announced");
            if event["kind"] == "reload_frame" && event["seq"] == seq {
                return (event["ms"].as_f64().unwrap_or(f64::NAN), event["plain_ms"].as_f64().unwrap_or(f64::NAN));
            }
        }
    }

    /// Sends one command; `Ok(json text)` or `Err(message)`.
    pub fn send(&mut self, command: &str) -> Result<String, String> {
        self.send_bytes(command.as_bytes())
    }

    /// Sends one line of any bytes (text or not); the answer as [`Shell::send`] reads it.
    pub fn send_bytes(&mut self, line: &[u8]) -> Result<String, String> {
        self.stdin.write_all(line).and_then(|()| self.stdin.write_all(b"\n")).expect("write a command");
        self.stdin.flush().expect("flush");
        let mut line = self.next_line();
        while let Some(event) = line.strip_prefix("event ") {
            self.events.push_back(serde_json::from_str(event).expect("an event is JSON"));
            line = self.next_line();
        }
        if let Some(ok) = line.strip_prefix("ok ") {
            Ok(ok.to_owned())
        } else if let Some(err) = line.strip_prefix("error ") {
            Err(err.to_owned())
        } else {
            panic!("not a protocol line: {line}")
        }
    }

    /// Waits for one plain line (not an answer), such as the `ready` a restarted shell prints.
    pub fn expect_line(&mut self, expected: &str) {
        self.expect_line_within(expected, ANSWER_TIMEOUT);
    }

    /// [`Shell::expect_line`] for lines that take long (a restart that rebuilds the api).
    pub fn expect_line_within(&mut self, expected: &str, timeout: Duration) {
        loop {
            let line = self.next_line_within(timeout);
            if line.starts_with("event ") {
                continue;
            }
            assert_eq!(line, expected);
            return;
        }
    }

    /// Sends a command that must succeed and parses its JSON answer.
    pub fn ok(&mut self, command: &str) -> serde_json::Value {
        let text = self.send(command).unwrap_or_else(|e| panic!("`{command}` failed: {e}"));
        serde_json::from_str(&text).expect("the answer is JSON")
    }

    /// Sends a command that must fail and returns its message.
    pub fn err(&mut self, command: &str) -> String {
        match self.send(command) {
            Ok(answer) => panic!("`{command}` succeeded but should have failed: {answer}"),
            Err(message) => message,
        }
    }

    /// Asks the shell to quit and waits for it; returns whether it exited cleanly.
    pub fn quit(mut self) -> bool {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        self.child.wait().is_ok_and(|s| s.success())
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A copy of the workspace's sources in `target/live-workspace`, with its own target dir,
/// where tests edit real module crates while a `playground` built from the copy watches
/// them. One test at a time uses it (the guard holds a lock). The copy persists between
/// runs so that its builds are incremental; `prepare` resyncs it with the workspace.
///
/// The copy's crates are other packages than the workspace's (their paths differ), so they
/// build in a target dir of their own; the registry crates under them are the same units, and
/// `prepare` hands the workspace's builds of those to the copy instead of compiling egui and
/// wgpu a second time ([`seed_registry_builds`]).
pub struct LiveWorkspace {
    pub root: PathBuf,
    _lock: std::sync::MutexGuard<'static, ()>,
    /// Held for the test's life: other test processes (live edit, MCP, the bench) use the
    /// same copy, and a re-sync in one would delete what another just created.
    _file_lock: std::fs::File,
}

/// The top-level entries of the workspace that the copy holds. Not `.cargo`: the copy lies
/// inside the workspace, so cargo finds the workspace's `.cargo/config.toml` on its own, and
/// a copy of it would add its flags a second time (`-C prefer-dynamic` twice is another
/// compiler command, so none of the workspace's builds would be the copy's).
const COPIED: [&str; 11] = [
    "Cargo.toml",
    "Cargo.lock",
    ".config",
    "workspace-hack",
    "api",
    "module-rules",
    "module-loader",
    "editor-shell",
    "modules",
    "assets",
    "tests",
];

/// What the copy's target dir was laid out by: another value starts it over.
const HARNESS: &str = "seeded from the workspace's registry builds (1)\n";

impl LiveWorkspace {
    /// Syncs the copy with the workspace and builds the shell and the fixtures in it.
    pub fn prepare() -> LiveWorkspace {
        static LOCK: Mutex<()> = Mutex::new(());
        let lock = LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let source = workspace();
        let root = source.join("target/live-workspace");
        let file_lock = hold_file_lock(&source.join("target/live-workspace.lock"));
        sync_copy(&source, &root, &COPIED);
        // A copy an earlier version of this harness made (with `.cargo` in it, so every
        // registry crate built again with other flags) starts over from the seeds.
        let harness = root.join("target/harness");
        if std::fs::read_to_string(&harness).ok().as_deref() != Some(HARNESS) {
            let _ = std::fs::remove_dir_all(root.join(".cargo"));
            let _ = std::fs::remove_dir_all(root.join("target"));
            std::fs::create_dir_all(root.join("target")).expect("the copy's target dir");
            std::fs::write(&harness, HARNESS).expect("mark the copy's target dir");
        }
        seed_registry_builds(&source.join("Cargo.lock"), &profile_dir(), &root.join("target/debug"));
        let live = LiveWorkspace { root, _lock: lock, _file_lock: file_lock };
        let output = live
            .cargo()
            .args(["build", "-p", "editor-shell", "-p", "fx-probe", "-p", "fx-counter"])
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "building the live workspace failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        live
    }

    /// A cargo command for the copy, with its own target dir and none of the test's
    /// environment that would point it back at the workspace.
    pub fn cargo(&self) -> Command {
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
        command.current_dir(&self.root).env("CARGO_TARGET_DIR", self.root.join("target")).env_remove("LD_LIBRARY_PATH");
        command
    }

    /// The copy's fixture modules folder (`tests/fixtures`).
    pub fn modules(&self) -> PathBuf {
        self.root.join("tests/fixtures")
    }

    /// Starts the copy's `playground --headless` over its fixtures, watching their sources.
    pub fn shell(&self) -> Shell {
        Shell::spawn(self.shell_command(false))
    }

    /// [`LiveWorkspace::shell`], with the counter fixture's one-shot faults read from `faults`.
    pub fn shell_with_faults(&self, faults: &Path) -> Shell {
        let mut command = self.shell_command(false);
        command.env("FIXTURE_FAULTS", faults);
        Shell::spawn(command)
    }

    /// [`LiveWorkspace::shell`] with `cargo` as on a machine where only README's run command
    /// ran: `cargo hakari` is no command there (the shell runs `$CARGO`, a script that
    /// refuses `hakari` and hands everything else to the real cargo).
    pub fn shell_without_cargo_hakari(&self) -> Shell {
        let script = self.root.join("target/cargo-without-hakari");
        let real = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n# cargo on a machine without cargo-hakari (tests/support/lib.rs)\n\
                 if [ \"$1\" = hakari ]; then echo 'error: no such command: `hakari`' >&2; exit 101; fi\n\
                 exec '{real}' \"$@\"\n"
            ),
        )
        .expect("write the cargo script");
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
        let hakari = Command::new(&script).arg("hakari").output().expect("run the script");
        assert!(!hakari.status.success(), "the script refuses `cargo hakari`");
        let mut command = self.shell_command(false);
        command.env("CARGO", &script);
        Shell::spawn(command)
    }

    /// [`LiveWorkspace::shell`] with live edit off (`--no-watch`): only what is asked for
    /// builds.
    pub fn shell_not_watching(&self) -> Shell {
        let mut command = self.shell_command(false);
        command.arg("--no-watch");
        Shell::spawn(command)
    }

    /// [`LiveWorkspace::shell`], building the modules on start as a user's start does.
    pub fn shell_building(&self) -> Shell {
        Shell::spawn(self.shell_command(true))
    }

    /// Starts the copy's `playground --headless` over the copy's own `modules` (the engine
    /// and the editor), watching their sources. The module crates are built first, here,
    /// so the start does not wait for a cold build.
    pub fn engine_shell(&self) -> Shell {
        let mut command = self.engine_command();
        command.arg("--headless");
        Shell::spawn(command)
    }

    /// The copy's `playground` over the copy's own `modules`, watching their sources, with
    /// the module crates built first (in a window unless `--headless` is added).
    pub fn engine_command(&self) -> Command {
        let mut build = self.cargo();
        build.arg("build");
        for package in DEMO_PACKAGES {
            build.args(["-p", package]);
        }
        let output = build.output().expect("cargo runs");
        assert!(
            output.status.success(),
            "building the copy's modules failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut command = Command::new(self.root.join("target/debug/playground"));
        command
            .args(["--no-build", "--root"])
            .arg(&self.root)
            .env("CARGO_TARGET_DIR", self.root.join("target"))
            .env_remove("LD_LIBRARY_PATH");
        command
    }

    fn shell_command(&self, build_on_start: bool) -> Command {
        let mut command = Command::new(self.root.join("target/debug/playground"));
        command.arg("--headless");
        if !build_on_start {
            command.arg("--no-build");
        }
        command
            .arg("--root")
            .arg(&self.root)
            .arg("--modules")
            .arg(self.modules())
            .env("CARGO_TARGET_DIR", self.root.join("target"))
            // The copy's binary must find the copy's api, not the workspace's.
            .env_remove("LD_LIBRARY_PATH");
        command
    }

    /// Replaces `from` with `to` in a file of the copy (a user's save).
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.root.join(file);
        let text = std::fs::read_to_string(&path).expect("read the source");
        assert!(text.contains(from), "{file} does not contain `{from}`");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write the source");
    }
}

/// Stands in for a run killed mid-sync (the test of [`sync_copy`]): with
/// `PLAYGROUND_TEST_KILL_SYNC_AFTER=N`, the process aborts after writing N files of a copy.
fn interrupt_for_test() {
    static LEFT: OnceLock<Option<std::sync::atomic::AtomicUsize>> = OnceLock::new();
    let left = LEFT.get_or_init(|| {
        let n = std::env::var("PLAYGROUND_TEST_KILL_SYNC_AFTER").ok()?.parse().ok()?;
        Some(std::sync::atomic::AtomicUsize::new(n))
    });
    if let Some(left) = left
        && left.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) <= 1
    {
        std::process::abort();
    }
}

/// Makes `to` a copy of `from` (file or folder), writing only files whose bytes differ so
/// that cargo's fingerprints stay fresh, and removing files `from` does not have.
fn sync(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("create a folder in the copy");
        let mut wanted = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(from).expect("read a folder").flatten() {
            let name = entry.file_name();
            if name == "target" {
                continue;
            }
            wanted.insert(name.clone());
            sync(&entry.path(), &to.join(&name));
        }
        for entry in std::fs::read_dir(to).expect("read a folder of the copy").flatten() {
            if !wanted.contains(&entry.file_name()) && entry.file_name() != "target" {
                let path = entry.path();
                let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            }
        }
    } else {
        let bytes = std::fs::read(from).expect("read a source file");
        if std::fs::read(to).ok().as_deref() != Some(&bytes[..]) {
            if to.is_dir() {
                let _ = std::fs::remove_dir_all(to);
            }
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).expect("create a folder in the copy");
            }
            std::fs::write(to, bytes).expect("write a file of the copy");
            interrupt_for_test();
        }
    }
}

/// Takes the lock file that says who uses a shared resource (the live workspace), waiting
/// for it if another test process holds it, and writes this process into it: a test that
/// waits names the holder, and an accidental second user is seen, never silent.
pub fn hold_file_lock(path: &Path) -> std::fs::File {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("the lock's folder");
    }
    let mut file =
        std::fs::File::options().read(true).write(true).create(true).truncate(false).open(path).expect("the lock file");
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(path).unwrap_or_default();
            eprintln!("waiting for {}, held by {}", path.display(), holder.trim());
            file.lock().expect("lock the file");
        }
        Err(std::fs::TryLockError::Error(e)) => panic!("cannot lock {}: {e}", path.display()),
    }
    let me = format!(
        "pid {} ({})\n",
        std::process::id(),
        std::env::current_exe()
            .ok()
            .and_then(|e| e.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default()
    );
    let _ = file.set_len(0);
    let _ = file.write_all(me.as_bytes());
    file
}

/// The file a sync of the copy leaves behind until it has finished: a copy that has it was
/// left half-synced by an interrupted run.
const SYNCING: &str = ".sync-in-progress";

/// Makes `copy` hold exactly `entries` of `source` (file by file, see `sync`). A copy that an earlier run
/// left half-synced (killed mid-way) is said so and synced whole again: every entry is
/// compared byte by byte, so nothing half-written stays, and what was written since cargo
/// last built the copy is newer than its fingerprints, so cargo builds it again.
/// Returns whether the copy had been left half-synced.
pub fn sync_copy(source: &Path, copy: &Path, entries: &[&str]) -> bool {
    std::fs::create_dir_all(copy).expect("the copy's folder");
    let marker = copy.join(SYNCING);
    let interrupted = marker.exists();
    if interrupted {
        eprintln!("{} was left half-synced by an interrupted run: syncing it again", copy.display());
    }
    std::fs::write(&marker, b"a sync of this copy started and has not finished\n").expect("mark the sync");
    for entry in entries {
        sync(&source.join(entry), &copy.join(entry));
    }
    std::fs::remove_file(&marker).expect("the sync finished");
    interrupted
}

/// Hands the workspace's builds of registry crates (`from`, a `target/<profile>`) to the copy's
/// target dir (`to`), so that the copy compiles only its own crates.
///
/// Cargo names a registry crate's build by a hash of what it is built from (package, version,
/// features, profile, compiler, the same of its dependencies), never by the workspace that
/// asks for it: the copy's `Cargo.lock`, profiles and shared features (workspace-hack) are the
/// workspace's, so its registry units are the same units, and cargo finds them fresh. The
/// copy's own crates are other packages (other paths) and build as before. A registry crate
/// whose features the copy changes (a test's new dependency) has another hash and builds in the
/// copy alone. Fingerprints and build-script folders are copied (cargo may rewrite those in
/// place); the compiled libraries are hard links (each is named by its hash, and only ever
/// replaced whole). Files the copy already has are left alone.
pub fn seed_registry_builds(lock_file: &Path, from: &Path, to: &Path) {
    let lock = std::fs::read_to_string(lock_file).expect("read Cargo.lock");
    let table: playground_api::toml::Table = lock.parse().expect("Cargo.lock is TOML");
    let registry: std::collections::BTreeSet<String> = table
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .filter(|p| p.get("source").and_then(|s| s.as_str()).is_some_and(|s| s.starts_with("registry+")))
        .filter_map(|p| p.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .collect();
    // `<package>-<hash>`, the name of a unit's fingerprint and build-script folders.
    let unit_of =
        |name: &str| name.rsplit_once('-').filter(|(pkg, _)| registry.contains(*pkg)).map(|(_, h)| h.to_owned());
    let mut hashes = std::collections::BTreeSet::new();
    for folder in [".fingerprint", "build"] {
        for entry in std::fs::read_dir(from.join(folder)).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(hash) = unit_of(&name) else { continue };
            hashes.insert(hash);
            let target = to.join(folder).join(&name);
            if !target.exists() {
                copy_tree(&entry.path(), &target);
            }
        }
    }
    std::fs::create_dir_all(to.join("deps")).expect("the copy's deps folder");
    for entry in std::fs::read_dir(from.join("deps")).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // `lib<crate>-<hash>.rlib`, `.rmeta`, `.so` (proc macros), `.d`.
        let stem = name.split('.').next().unwrap_or_default();
        let Some((_, hash)) = stem.rsplit_once('-') else { continue };
        let target = to.join("deps").join(&name);
        if hashes.contains(hash) && !target.exists() && std::fs::hard_link(entry.path(), &target).is_err() {
            std::fs::copy(entry.path(), &target).expect("copy a built registry crate");
        }
    }
}

/// Copies a folder (or file) with its contents and each file's modification time: cargo
/// compares a unit's outputs with its dependencies' by time, and a build-script output made
/// newer than the library built after it would make that library (and all above it) stale.
fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("create a folder in the copy's target");
        for entry in std::fs::read_dir(from).expect("read a folder").flatten() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).expect("copy a file into the copy's target");
        let modified = std::fs::metadata(from).and_then(|m| m.modified()).expect("a file's time");
        std::fs::File::options()
            .write(true)
            .open(to)
            .and_then(|f| f.set_modified(modified))
            .expect("keep a file's time");
    }
}

/// Whether a program is on the PATH.
pub fn installed(program: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {program}")]).output().is_ok_and(|o| o.status.success())
}

/// Whether the programs an end-to-end test drives are all here. Where one is missing the test
/// says SKIPPED and which, and returns; under CI (`CI` set, as `.ci/run` runs) it fails
/// instead: CI never passes a test it did not run.
pub fn have(programs: &[&str]) -> bool {
    let missing: Vec<&str> = programs.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!("{} not installed (scripts/install-deps.sh installs them)", missing.join(", "));
    assert!(std::env::var_os("CI").is_none(), "CI must run every end-to-end test, and {message}");
    eprintln!("SKIPPED: {message}");
    false
}

/// A private X server; killed on drop.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Xvfb {
        // `-displayfd 1`: Xvfb picks a free display and writes its number on stdout.
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let mut stdout = child.stdout.take().expect("Xvfb stdout");
        let mut number = String::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {
            number.push(char::from(byte[0]));
        }
        assert!(!number.trim().is_empty(), "Xvfb did not say which display it took");
        Xvfb { child, display: format!(":{}", number.trim()) }
    }

    /// Starts `playground` in a window on this display over `sandbox`'s modules (built, so
    /// `--no-build`), with `home` as its home; `ready` arrives after the first editor frame.
    pub fn playground(&self, sandbox: &Sandbox, home: &Path, watch: bool) -> Shell {
        let mut command = Command::new(profile_dir().join("playground"));
        command.arg("--no-build");
        if !watch {
            command.arg("--no-watch");
        }
        command.arg("--modules").arg(&sandbox.modules).arg("--library-dir").arg(&sandbox.libs);
        self.spawn(command, home)
    }

    /// Starts `command` (a `playground` in a window) on this display with `home` as its
    /// home; `ready` arrives after the first editor frame.
    pub fn spawn(&self, mut command: Command, home: &Path) -> Shell {
        command
            .env("DISPLAY", &self.display)
            .env("XDG_RUNTIME_DIR", home.join("xdg-runtime"))
            // A fresh place for eframe's saved window and egui memory.
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"));
        Shell::spawn(command)
    }

    /// A PNG of the whole screen.
    pub fn screenshot(&self, to: &Path) {
        let status = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(to)
            .status()
            .expect("run import");
        assert!(status.success(), "import failed");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh home for a windowed `playground`, with the private XDG runtime folder (mode
/// 0700) that keeps Vulkan quiet.
pub fn window_home() -> TempDir {
    let home = tempfile::tempdir().expect("a home");
    let runtime_dir = home.path().join("xdg-runtime");
    std::fs::create_dir_all(&runtime_dir).expect("runtime dir");
    std::fs::set_permissions(&runtime_dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("chmod");
    home
}

/// A duration in milliseconds, for the benches' reports.
pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median, 95th percentile and maximum of `samples` (sorted in place).
pub fn median_p95_max(samples: &mut [f64]) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.95), at(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each file of `root` with its bytes.
    fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read a folder").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let bytes = std::fs::read(&path).expect("read a file");
                    files.push((path.strip_prefix(root).expect("inside").to_path_buf(), bytes));
                }
            }
        }
        files.sort();
        files
    }

    const ENTRIES: [&str; 2] = ["src", "Cargo.toml"];

    #[test]
    fn a_sync_killed_midway_is_detected_and_the_copy_synced_whole_again() {
        // The child: sync and be killed after two files.
        if let Some(dirs) = std::env::var_os("PLAYGROUND_TEST_SYNC_DIRS") {
            let dirs = PathBuf::from(dirs);
            sync_copy(&dirs.join("source"), &dirs.join("copy"), &ENTRIES);
            return;
        }
        let dirs = tempfile::tempdir().expect("a temp dir");
        let (source, copy) = (dirs.path().join("source"), dirs.path().join("copy"));
        std::fs::create_dir_all(source.join("src/nested")).expect("source folders");
        for (file, text) in
            [("src/a.rs", "a"), ("src/b.rs", "b"), ("src/nested/c.rs", "c"), ("Cargo.toml", "[package]")]
        {
            std::fs::write(source.join(file), text).expect("a source file");
        }
        // What an earlier test left in the copy: an edit, and a file the workspace lacks.
        std::fs::create_dir_all(copy.join("src")).expect("copy folders");
        std::fs::write(copy.join("src/a.rs"), "edited by a test").expect("an edit in the copy");
        std::fs::write(copy.join("src/made-by-a-test.rs"), "x").expect("a file the workspace lacks");

        let child = Command::new(std::env::current_exe().expect("this test binary"))
            .args(["--exact", "tests::a_sync_killed_midway_is_detected_and_the_copy_synced_whole_again"])
            .env("PLAYGROUND_TEST_SYNC_DIRS", dirs.path())
            .env("PLAYGROUND_TEST_KILL_SYNC_AFTER", "2")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run the child");
        assert!(!child.success(), "the child was killed mid-sync");
        assert!(copy.join(SYNCING).exists(), "the interrupted sync left its mark");
        assert_ne!(tree(&source), tree(&copy).into_iter().filter(|(p, _)| p != Path::new(SYNCING)).collect::<Vec<_>>());

        assert!(sync_copy(&source, &copy, &ENTRIES), "the next sync says the copy was half-synced");
        assert_eq!(tree(&copy), tree(&source), "and makes it whole: every file, nothing extra, no mark");
        assert!(!sync_copy(&source, &copy, &ENTRIES), "a whole copy is not reported");
    }

    #[test]
    fn a_lock_file_names_who_holds_it() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("some.lock");
        let held = hold_file_lock(&path);
        let holder = std::fs::read_to_string(&path).expect("read the lock file");
        assert!(holder.starts_with(&format!("pid {} (", std::process::id())), "{holder}");
        let other = std::fs::File::options().write(true).open(&path).expect("open the lock file");
        assert!(matches!(other.try_lock(), Err(std::fs::TryLockError::WouldBlock)), "a second user waits");
        drop(held);
        other.try_lock().expect("and gets it once the holder is done");
    }
}
