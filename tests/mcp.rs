//! The MCP server against a real third-party client: the Python `mcp` package (PyPI), in a
//! virtualenv that `scripts/mcp-venv.sh` makes in `target/mcp-venv`. The client script
//! (`tests/mcp/client.py`) does the checking; these tests start it and report its output.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use playground_tests::{LiveWorkspace, Sandbox, build_all, profile_dir, workspace};

/// The venv's python, making the venv first if it is missing.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let python = workspace().join("target/mcp-venv/bin/python");
        let ready = Command::new(&python).args(["-c", "import mcp"]).output().is_ok_and(|o| o.status.success());
        if !ready {
            let output = Command::new("bash")
                .arg(workspace().join("scripts/mcp-venv.sh"))
                .output()
                .expect("run scripts/mcp-venv.sh");
            assert!(
                output.status.success(),
                "scripts/mcp-venv.sh failed (python3 with venv and PyPI access are needed; see scripts/install-deps.sh):\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        python
    })
}

fn client() -> PathBuf {
    workspace().join("tests/mcp/client.py")
}

fn assert_passed(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "the MCP client failed over {what} ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_client_over_stdio_creates_calls_edits_reloads_and_inspects_a_module() {
    // A copy of the workspace: the client creates and edits a real module crate in it.
    let live = LiveWorkspace::prepare();
    let output = Command::new(python())
        .arg(client())
        .arg("stdio")
        .arg(live.root.join("target/debug/playground"))
        .arg(&live.root)
        .env("CARGO_TARGET_DIR", live.root.join("target"))
        // The copy's binary must find the copy's api, not the workspace's.
        .env_remove("LD_LIBRARY_PATH")
        .env("RUST_LOG", "info")
        .output()
        .expect("run the MCP client");
    assert_passed("stdio", &output);

    // The crate module.create wrote is one a user can keep: its test passes and clippy (with
    // the workspace lints) has nothing to say.
    for args in [
        &["test", "-p", "plugins-mcp-demo"][..],
        &["clippy", "-p", "plugins-mcp-demo", "--all-targets", "--", "-D", "warnings"][..],
    ] {
        let output = live.cargo().args(args).output().expect("cargo runs");
        assert!(
            output.status.success(),
            "`cargo {}` on the created module failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The token file a shell started with `XDG_RUNTIME_DIR=dir` keeps (and the client reads).
fn token_file(dir: &Path) -> PathBuf {
    dir.join("playground/mcp-token")
}

/// A port nobody listens on now (the shell binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

#[test]
fn a_client_over_http_on_loopback_with_the_host_check_on() {
    // The demo, and the counter fixture, whose `hang` holds the main thread.
    let sandbox = Sandbox::with(&[
        "core/types",
        "core/ecs",
        "systems/ecs",
        "plugins/movement",
        "core/probe",
        "systems/probe",
        "plugins/counter",
    ]);
    build_all();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut shell = Command::new(profile_dir().join("playground"))
        .args(["--headless", "--no-build", "--no-watch", "--modules"])
        .arg(&sandbox.modules)
        .arg("--library-dir")
        .arg(&sandbox.libs)
        .args(["--mcp-http", &addr])
        // The token is kept in the sandbox, not in the user's runtime folder.
        .env("XDG_RUNTIME_DIR", sandbox.path())
        // Every log line there is (rmcp's, hyper's, axum's too), to show the token is in none.
        .env("RUST_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start playground");
    let mut stdin = shell.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(shell.stdout.take().expect("stdout"));
    let mut stderr = shell.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read");
    assert_eq!(line.trim(), "ready", "the shell did not start");
    let token = std::fs::read_to_string(token_file(sandbox.path())).expect("the token file");

    let output = Command::new(python())
        .arg(client())
        .arg("http")
        .arg(format!("http://{addr}/mcp"))
        .env("MCP_TOKEN_FILE", token_file(sandbox.path()))
        .output()
        .expect("run the MCP client");

    // The line protocol still works beside MCP, and sees what the MCP client did.
    writeln!(stdin, "call systems/ecs count").expect("write");
    // Events (the watchdog's `stuck`, while the counter held the main thread) come first.
    loop {
        line.clear();
        stdout.read_line(&mut line).expect("read");
        if !line.starts_with("event ") {
            break;
        }
    }
    writeln!(stdin, "quit").expect("write");
    let exited = wait(&mut shell, Duration::from_secs(30));
    assert_passed("HTTP", &output);
    assert_eq!(line.trim(), "ok 4", "the entity spawned over MCP is in the world");
    assert!(exited, "the shell quit cleanly with the MCP server running");
    // Its stderr is no terminal: the line to paste reads the token from its file, and the
    // token itself is nowhere in what the shell printed or logged.
    let stderr = stderr.join().expect("stderr");
    let file = token_file(sandbox.path());
    let paste = format!("--header \"Authorization: Bearer $(cat {})\"", file.display());
    assert!(stderr.contains("claude mcp add --transport http playground") && stderr.contains(&paste), "{stderr}");
    assert!(stderr.contains(" TRACE ") && stderr.contains("rmcp"), "the trace log was written:\n{stderr}");
    assert!(!stderr.contains(token.trim()), "the token reached the log (RUST_LOG=trace)");
}

#[test]
fn a_client_sees_the_game_view_as_an_image() {
    let sandbox = Sandbox::engine();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut command = sandbox.headless_command();
    command.args(["--mcp-http", &addr]).env("XDG_RUNTIME_DIR", sandbox.path());
    let shell = playground_tests::Shell::spawn(command);
    let png = sandbox.path().join("mcp-view.png");
    let output = Command::new(python())
        .arg(client())
        .arg("capture")
        .arg(format!("http://{addr}/mcp"))
        .arg(&png)
        .env("MCP_TOKEN_FILE", token_file(sandbox.path()))
        .output()
        .expect("run the MCP client");
    assert_passed("capture", &output);
    let bytes = std::fs::read(&png).expect("the image the client wrote");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    assert_eq!(u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]), 640, "the view's width");
    assert!(shell.quit());
}

#[test]
fn mcp_over_http_refuses_a_network_interface_unless_told() {
    let sandbox = Sandbox::demo();
    build_all();
    let output = Command::new(profile_dir().join("playground"))
        .args(["--headless", "--no-build", "--no-watch", "--modules"])
        .arg(&sandbox.modules)
        .arg("--library-dir")
        .arg(&sandbox.libs)
        .args(["--mcp-http", "0.0.0.0:0"])
        .stdin(Stdio::null())
        .output()
        .expect("run playground");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it listened on 0.0.0.0");
    assert!(stderr.contains("loopback only") && stderr.contains("--mcp-allow-remote"), "{stderr}");
    assert!(
        output.stdout.is_empty() || String::from_utf8_lossy(&output.stdout).trim() == "",
        "stdout: {:?}",
        output.stdout
    );
}

#[test]
fn the_token_is_shown_on_request_renewed_by_a_flag_and_omitted_only_on_the_loopback() {
    let sandbox = Sandbox::demo();
    build_all();
    let playground = |args: &[&str]| {
        Command::new(profile_dir().join("playground"))
            .args(["--modules"])
            .arg(&sandbox.modules)
            .args(args)
            .env("XDG_RUNTIME_DIR", sandbox.path())
            .stdin(Stdio::null())
            .output()
            .expect("run playground")
    };
    let shown = playground(&["mcp-token", "--addr", "127.0.0.1:9000"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    let token = std::fs::read_to_string(token_file(sandbox.path())).expect("made on first use");
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    assert!(
        text.contains(&format!(
            "claude mcp add --transport http playground http://127.0.0.1:9000/mcp --header \"Authorization: Bearer {}\"",
            token.trim()
        )),
        "{text}"
    );
    assert!(text.contains(r#""headers": {"Authorization": "Bearer "#), "the JSON form: {text}");
    let again = String::from_utf8_lossy(&playground(&["mcp-token"]).stdout).into_owned();
    assert!(again.contains(token.trim()) && again.contains("http://127.0.0.1:8123/mcp"), "kept, shown again: {again}");

    let renewed = playground(&["mcp-token", "--mcp-new-token"]);
    assert!(renewed.status.success());
    let new = std::fs::read_to_string(token_file(sandbox.path())).expect("renewed");
    assert_ne!(new, token, "--mcp-new-token makes another");

    let refused = playground(&[
        "--headless",
        "--no-build",
        "--mcp-http",
        "0.0.0.0:0",
        "--mcp-allow-remote",
        "--mcp-dangerously-omit-auth",
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "it served the network with no token");
    assert!(stderr.contains("--mcp-dangerously-omit-auth with --mcp-allow-remote"), "{stderr}");
}

/// Waits for the child to exit successfully, killing it after `timeout`.
fn wait(child: &mut std::process::Child, timeout: Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    false
}
