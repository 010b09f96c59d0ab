//! The `playground` binary as a user runs it: `graph`, `--headless` and its protocol, and
//! the rule that building one module never rebuilds the shared api dylib.

use std::process::Command;

use playground_api::serde_json::json;
use playground_tests::{Sandbox, Shell, build_all, profile_dir, workspace};

fn playground(args: &[&str]) -> (bool, String, String) {
    build_all();
    let output = Command::new(profile_dir().join("playground")).args(args).output().expect("run playground");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn graph_prints_the_load_order() {
    let root = workspace();
    let (ok, out, err) = playground(&["graph", "--root", root.to_str().expect("utf-8 path")]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "core/net 1.1.0\ncore/types 1.0.0\ncore/combat 1.0.0\ncore/ecs 1.0.0\ncore/rendering 1.0.0\n\
         systems/ecs 1.0.0\nsystems/networking 1.0.0\nsystems/renderer 1.0.0\nplugins/combat 1.0.0\n\
         plugins/editor-graph 1.0.0\nplugins/editor-log 1.0.0\nplugins/editor-timings 1.0.0\nplugins/movement 1.0.0 [driven, integrate, wrap]\n\
         apps/editor 0.1.0\napps/game 0.1.0\n"
    );
}

#[test]
fn one_app_loads_with_its_closure_only_and_a_bad_app_is_explained() {
    let root = workspace();
    let root = root.to_str().expect("utf-8 path");
    let (ok, out, err) = playground(&["graph", "--app", "game", "--root", root]);
    assert!(ok, "{err}");
    assert!(!out.contains("apps/editor"), "the game ships without the editor: {out}");
    assert!(out.contains("plugins/combat 1.0.0\n") && out.ends_with("apps/game 0.1.0\n"), "{out}");

    // The editor alone comes with the panel modules it shows, and without the game.
    let (ok, out, err) = playground(&["graph", "--app", "editor", "--root", root]);
    assert!(ok, "{err}");
    for panel in ["plugins/editor-graph", "plugins/editor-log", "plugins/editor-timings"] {
        assert!(out.contains(&format!("{panel} 1.0.0\n")), "the editor's {panel} comes with it: {out}");
    }
    assert!(!out.contains("apps/game"), "{out}");

    let (ok, out, err) = playground(&["graph", "--app", "chess", "--root", root]);
    assert!(!ok && out.is_empty());
    assert!(err.contains("there is no app `apps/chess`: the apps here are apps/editor, apps/game"), "{err}");
    let (ok, _, err) = playground(&["graph", "--app", "core/ecs", "--root", root]);
    assert!(!ok);
    assert!(err.contains("`core/ecs` is not an app"), "{err}");

    // Headless, the game plays with exactly its modules.
    let sandbox = Sandbox::engine();
    sandbox.add("apps/editor", &playground_tests::module_dir("apps/editor"));
    let mut command = sandbox.headless_command();
    command.args(["--app", "game"]);
    let mut shell = Shell::spawn(command);
    let modules = shell.ok("modules");
    let ids: Vec<&str> = modules.as_array().expect("modules").iter().filter_map(|m| m["id"].as_str()).collect();
    assert!(!ids.contains(&"apps/editor") && ids.contains(&"apps/game"), "{ids:?}");
    let ticks = shell.ok("call apps/game step")["ticks"].as_u64().expect("ticks");
    assert_eq!(shell.ok("call apps/game step")["ticks"], json!(ticks + 1));
    assert!(shell.quit());

    // An app whose closure does not resolve (a dependency's folder is gone) says which.
    std::fs::remove_dir_all(sandbox.modules.join("plugins/combat")).expect("remove combat");
    let modules = sandbox.modules.to_str().expect("utf-8 path").to_owned();
    let (ok, _, err) = playground(&["graph", "--app", "game", "--modules", &modules]);
    assert!(!ok);
    assert!(err.contains("`apps/game` depends on `plugins/combat`, which is not a module here"), "{err}");
}

#[test]
fn graph_reports_a_cycle_and_fails() {
    let sandbox = Sandbox::demo();
    let types = sandbox.manifest("core/types");
    sandbox.write_manifest("core/types", &format!("{types}\n[dependencies]\n\"core/ecs\" = \"^1\"\n"));
    let modules = sandbox.modules.to_str().expect("utf-8 path").to_owned();
    let (ok, out, err) = playground(&["graph", "--modules", &modules]);
    assert!(!ok, "a cycle is an error");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("dependency cycle: core/ecs -> core/types -> core/ecs"), "{err}");
}

#[test]
fn headless_protocol() {
    let sandbox = Sandbox::demo();
    let mut shell = sandbox.shell();
    assert_eq!(shell.ok("call systems/ecs count"), json!(3));
    let id = shell.ok(r#"call systems/ecs spawn {"position":{"x":1,"y":2},"velocity":{"x":0,"y":0}}"#);
    assert_eq!(id, json!(3));
    let record = shell.ok("reload core/ecs");
    assert_eq!(record["modules"], json!(["core/ecs", "systems/ecs", "plugins/movement"]));
    assert_eq!(shell.ok("call systems/ecs count"), json!(4), "the world survived the reload");
    assert!(shell.err("call systems/ecs fly").contains("unknown method `fly`"));
    assert!(shell.err("call systems/ecs spawn {not json").contains("the arguments are not JSON"));
    assert!(shell.err("reload plugins/nothing").contains("there is no module `plugins/nothing`"));
    assert!(shell.err("teleport").contains("unknown command `teleport`"));
    let history = shell.ok("history");
    assert_eq!(history.as_array().map(Vec::len), Some(1));
    assert!(shell.quit(), "quit exits with success");
}

#[test]
fn lines_that_are_not_commands_are_refused_and_the_world_survives() {
    let sandbox = Sandbox::demo();
    let mut shell = sandbox.shell();
    let id = shell.ok(r#"call systems/ecs spawn {"position":{"x":1,"y":2},"velocity":{"x":0,"y":0}}"#);
    assert_eq!(id, json!(3));
    // Two MiB on one line: refused without being kept, then the next line is read.
    let mut long = b"call systems/ecs spawn ".to_vec();
    long.resize(2 << 20, b'x');
    let refused = shell.send_bytes(&long).expect_err("an over-long line");
    assert!(refused.contains(&format!("a line of {} bytes is over the limit of 1048576", 2 << 20)), "{refused}");
    let nul = shell.send_bytes(b"call systems/ecs\0 count").expect_err("a NUL byte");
    assert!(nul.contains("NUL byte (byte 16)"), "{nul}");
    let latin1 = shell.send_bytes(b"state syst\xe8ms/ecs").expect_err("not UTF-8");
    assert!(latin1.contains("not UTF-8 (byte 10 is 0xe8)"), "{latin1}");
    assert_eq!(shell.ok("call systems/ecs count"), json!(4), "the world is intact");
    assert!(shell.quit(), "the process is intact");
}

#[test]
fn building_any_module_alone_leaves_the_api_dylib_unchanged() {
    // ARCHITECTURE.md, invariant 8: if a module (or the shell) asked for a feature of a shared
    // crate that the others do not, `cargo build -p` of it alone would rebuild the api under the
    // running shell. workspace-hack makes every build ask for all of them.
    build_all();
    let api = profile_dir().join("libplayground_api.so");
    let before = std::fs::read(&api).expect("the api is built");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    for package in [
        "systems-ecs",
        "plugins-movement",
        "core-ecs",
        "core-types",
        "fx-counter",
        "apps-editor",
        "editor-shell",
        "module-loader",
        "module-rules",
        "workspace-hack",
    ] {
        let output =
            Command::new(&cargo).current_dir(workspace()).args(["build", "-p", package]).output().expect("cargo runs");
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{log}");
        assert!(!log.contains("Compiling playground-api"), "building {package} rebuilt the api:\n{log}");
    }
    assert!(std::fs::read(&api).expect("still there") == before, "the api dylib changed");
}

/// The state letter of process `pid` ('R' running, 'S' sleeping, 'Z' exited but not yet
/// reaped), if it exists.
fn process_state(pid: &str) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(") ").next()?.chars().next()
}

#[test]
fn quitting_in_the_middle_of_a_build_stops_it() {
    build_all();
    let sandbox = Sandbox::fixtures();
    // A cargo that never finishes, and says who it is.
    let pid_file = sandbox.path().join("cargo.pid");
    let cargo = sandbox.path().join("slow-cargo");
    std::fs::write(&cargo, format!("#!/bin/sh\necho $$ > '{}'\nexec sleep 300\n", pid_file.display()))
        .expect("write the slow cargo");
    std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("make it runnable");
    let mut command = sandbox.headless_command();
    command.env("CARGO", &cargo);
    let mut shell = Shell::spawn(command);

    // A restart builds first, on a thread: here that build never ends.
    assert_eq!(shell.ok("restart"), json!("restarting"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file).ok().filter(|p| p.ends_with('\n')) {
            break pid.trim().to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "the build never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let state = process_state(&pid);
    assert!(state.is_some_and(|s| s != 'Z'), "the build runs: {state:?}");
    assert_eq!(shell.ok("call plugins/counter add 2"), json!(2), "the modules answer meanwhile");

    // Quitting stops it: nothing is left to hold the build folder's lock.
    assert!(shell.quit());
    let state = process_state(&pid);
    assert!(matches!(state, None | Some('Z')), "the build outlived the editor: {state:?}");
}

#[test]
fn a_module_that_holds_the_main_thread_is_named_while_it_does() {
    let sandbox = Sandbox::fixtures();
    let mut shell = sandbox.shell();
    // Answered after 3.6 s; the watchdog speaks from its own thread after 3.
    assert_eq!(shell.ok("call plugins/counter hang 3600"), json!(null));
    let events = shell.wait_for("stuck", std::time::Duration::from_secs(5));
    let stuck = events.last().expect("stuck");
    assert_eq!(stuck["module"], "plugins/counter");
    assert_eq!(stuck["step"], "call");
    let message = stuck["message"].as_str().unwrap_or_default();
    assert!(message.contains("`plugins/counter` has been in `call` for"), "{message}");
    assert_eq!(shell.ok("call plugins/counter add 1"), json!(1), "it answers again once the module returns");
    assert!(shell.quit());
}

/// Copies the built `playground` (the launcher) and `playground-shell` into `dir`, with
/// another dylib where the api library should be: the mismatch a feature change, a `git
/// pull` or a half-finished build leaves, made for real.
fn binaries_with_a_wrong_api(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("a folder for the binaries");
    for binary in ["playground", "playground-shell"] {
        std::fs::copy(profile_dir().join(binary), dir.join(binary)).expect("copy a binary");
    }
    let wrong = playground_tests::built_library("fx_not_a_module");
    std::fs::copy(wrong, dir.join("libplayground_api.so")).expect("put another library in the api's place");
}

/// Runs a binary this test process just copied. Linux refuses to run a file someone holds
/// open for writing ("Text file busy"), and a child that another test thread forks during
/// the copy holds the copy's descriptor until it execs: a bounded retry rides that out.
fn output_of_copied(command: &mut Command) -> std::process::Output {
    for _ in 0..100 {
        match command.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            done => return done.expect("run the copied binary"),
        }
    }
    panic!("the copied binary stayed busy for two seconds: {command:?}")
}

#[test]
fn a_mismatched_api_library_is_explained_instead_of_a_linker_death() {
    build_all();
    let sandbox = Sandbox::fixtures();
    let alone = sandbox.path().join("alone");
    binaries_with_a_wrong_api(&alone);

    // The shell alone dies in the dynamic linker, before `main`: what a user saw before.
    // (Without the test's LD_LIBRARY_PATH, which would find the right library elsewhere.)
    let shell =
        output_of_copied(Command::new(alone.join("playground-shell")).arg("--headless").env_remove("LD_LIBRARY_PATH"));
    assert!(String::from_utf8_lossy(&shell.stderr).contains("symbol lookup error"), "{shell:?}");

    // The launcher says why and what to do: no workspace here to rebuild in.
    let output = output_of_copied(
        Command::new(alone.join("playground"))
            .arg("--headless")
            .current_dir(&alone)
            .env_remove("LD_LIBRARY_PATH")
            .stdin(std::process::Stdio::null()),
    );
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(said.contains("the shell does not start with the api library beside it"), "{said}");
    assert!(said.contains("libplayground_api.so"), "names the library: {said}");
    assert!(said.contains("Run `cargo build -p editor-shell`"), "names the command: {said}");
}

#[test]
fn a_mismatched_api_library_in_a_workspace_is_rebuilt_and_the_editor_starts() {
    build_all();
    let sandbox = Sandbox::fixtures();
    let root = sandbox.path().join("workspace");
    let bin = root.join("target/debug");
    binaries_with_a_wrong_api(&bin);
    std::fs::create_dir_all(root.join("modules")).expect("a modules folder");
    std::fs::write(root.join("Cargo.toml"), "[workspace]\n").expect("a workspace manifest");
    // A stand-in for cargo that does what the real rebuild's outcome is (the api library
    // that matches the shell, back in place) in a moment instead of minutes.
    let cargo = sandbox.path().join("cargo");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\ncp '{}' '{}'\n",
            sandbox.path().join("cargo-args").display(),
            profile_dir().join("libplayground_api.so").display(),
            bin.join("libplayground_api.so").display()
        ),
    )
    .expect("write the stand-in cargo");
    std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("make it runnable");

    let mut command = Command::new(bin.join("playground"));
    command
        .args(["--headless", "--no-build", "--no-watch", "--modules"])
        .arg(&sandbox.modules)
        .arg("--library-dir")
        .arg(&sandbox.libs)
        .current_dir(&root)
        .env_remove("LD_LIBRARY_PATH")
        .env("CARGO", &cargo);
    let mut shell = Shell::spawn(command);
    let args = std::fs::read_to_string(sandbox.path().join("cargo-args")).expect("cargo ran");
    assert_eq!(args.trim(), "build -p editor-shell", "the launcher rebuilt the shell");
    assert_eq!(shell.ok("call plugins/counter add 2"), json!(2), "and the editor runs");
    assert!(shell.quit());
}
