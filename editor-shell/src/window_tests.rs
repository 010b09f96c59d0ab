//! The shell's frame under egui_kittest (wgpu renderer, no display): the fallback screen
//! when the editor does not load or fails while drawing, Retry (build and load) and Roll back
//! bringing an editor back, and the start-up build's progress screen.

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use module_loader::Runtime;
use playground_api::egui;
use playground_api::host::{ModuleStatus, ReloadOutcome};
use playground_tests::{Sandbox, build_all, generation, profile_dir, state, workspace};

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use module_loader::cargo::Progress;

use super::{EDITOR, Shell, last_good_path};
use crate::control::{Control, Next, Options};
use crate::inbox::{Inbox, Message};
use crate::startup;
use crate::workspace::Paths;

/// The modules the window tests load: the demo and the real editor.
const MODULES: [&str; 5] = ["core/types", "core/ecs", "systems/ecs", "plugins/movement", "apps/editor"];

/// The fixture build of apps/editor whose `ui` panics.
const PANICKY: &str = "tests/fixtures/variants/panicky-editor";
/// What the panicky editor draws before it panics (its `LABEL`).
const PANICKY_LABEL: &str = "the panicky editor started drawing";

/// The shell's folders over a sandbox. The root is the real workspace: Retry runs
/// `cargo build -p apps-editor` there (the sandbox has no cargo workspace of its own).
fn paths_of(sandbox: &Sandbox) -> Paths {
    Paths {
        root: workspace(),
        modules: sandbox.modules.clone(),
        library_dir: sandbox.libs.clone(),
        generations: sandbox.path().join("generations"),
    }
}

/// Keeps `good` as the last editor build that drew a frame, as an earlier run of the window
/// would have kept it.
fn keep_last_good(paths: &Paths, library: &Path, good: &[u8]) {
    let last_good = last_good_path(paths, library);
    std::fs::create_dir_all(last_good.parent().expect("a folder")).expect("create the folder");
    std::fs::write(&last_good, good).expect("keep the last good build");
}

/// A sandbox of the demo and the real editor, with the real editor's build kept as the last
/// good one (as an earlier run of the window would have kept it).
struct WithLastGood {
    sandbox: Sandbox,
    /// Where the editor's library is, and its good bytes.
    library: PathBuf,
    good: Vec<u8>,
    paths: Paths,
}

fn with_last_good() -> WithLastGood {
    build_all();
    let sandbox = Sandbox::with(&MODULES);
    let library = sandbox.library(EDITOR);
    let good = std::fs::read(&library).expect("the editor library");
    let paths = paths_of(&sandbox);
    keep_last_good(&paths, &library, &good);
    WithLastGood { sandbox, library, good, paths }
}

/// Loads the sandbox's modules and runs the shell's real frame in a harness; the harness
/// has already run its first frames when this returns.
fn window<'a>(runtime: &'a Runtime, paths: &'a Paths, next: &'a mut Next) -> Harness<'a, Frame<'a>> {
    let options = Options { watch: false, restore: None, mcp: None, wait_for_fix: false, net: None };
    let (inbox, messages) = Inbox::channel(None);
    let mut control = Control::start(runtime, paths, &options, &inbox).expect("start");
    control.keep_running_at_end_of_input();
    let shell = Shell::new(runtime, paths, next, None);
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, (s, c, m): &mut Frame<'_>| s.frame(ui, c, m), (shell, control, messages))
}

/// What the harness's frame works on: the shell, its control, and its inbox's messages.
type Frame<'a> = (Shell<'a>, Control, std::sync::mpsc::Receiver<Message>);

/// Builds the panicky editor fixture (not among the packages `build_all` builds) with the
/// same cargo, profile and target dir as the tests, once per test binary; its library.
fn panicky_editor_library() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let mut command = std::process::Command::new(cargo);
            command.current_dir(workspace()).args(["build", "-p", "fx-panicky-editor"]);
            if profile_dir().file_name().is_some_and(|n| n == "release") {
                command.arg("--release");
            }
            let output = command.output().expect("cargo runs");
            assert!(
                output.status.success(),
                "building the panicky editor failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            playground_tests::built_library("fx_panicky_editor")
        })
        .clone()
}

/// Presses Retry and runs frames until its build and reload have finished (the notice
/// changes), then until the window is idle.
fn retry(h: &mut Harness<'_, Frame<'_>>) {
    const BUILDING: &str = "building and loading the editor...";
    h.get_by_label("Retry").click();
    // Two frames: the click's (Retry starts the build) and the next; not `run`, since the
    // fallback's spinner asks for frames until the build ends.
    h.run_steps(2);
    assert_eq!(h.state().0.notice.as_deref(), Some(BUILDING));
    // cargo takes far longer than the two frames above, however little it has to do.
    assert!(h.query_by_label("building the editor...").is_some(), "the fallback says a build is running");
    assert!(h.get_by_label("Retry").accesskit_node().is_disabled(), "Retry waits for the build");

    // The build runs on a thread and the reload at a later safe point: frames until then.
    // Generous: cargo may wait for the target dir's lock while another build holds it.
    let deadline = Instant::now() + Duration::from_secs(300);
    while h.state().0.notice.as_deref() == Some(BUILDING) {
        assert!(Instant::now() < deadline, "Retry's build and reload did not finish");
        std::thread::sleep(Duration::from_millis(50));
        h.step();
    }
    h.run();
}

fn status(runtime: &Runtime, id: &str) -> Option<ModuleStatus> {
    runtime.modules().into_iter().find(|m| m.id == id).map(|m| m.status)
}

#[test]
fn a_broken_editor_shows_the_fallback_and_roll_back_restores_the_last_good_one() {
    let WithLastGood { sandbox, library, good, paths } = with_last_good();
    // A build that is not even a library: the editor cannot load.
    sandbox.replace_library(EDITOR, b"not a library");

    let runtime = Runtime::new(paths.loader_config());
    let mut next = Next::Continue;
    let mut h = window(&runtime, &paths, &mut next);

    assert!(h.query_by_label("The editor is not running").is_some(), "the fallback screen shows");
    assert!(h.query_by_label_contains("The editor did not load").is_some(), "with the reason");
    assert!(h.query_by_label("Timings").is_none(), "no editor panel");

    h.get_by_label("Roll back to the last good version").click();
    h.run();
    assert!(h.query_by_label("The editor is not running").is_none(), "the fallback screen is gone");
    assert!(h.query_by_label("Timings").is_some(), "the editor draws again");
    assert_eq!(std::fs::read(&library).expect("the library"), good, "the good build is back in place");
}

#[test]
fn retry_builds_and_loads_the_fixed_editor() {
    build_all();
    let sandbox = Sandbox::with(&MODULES);
    let good = std::fs::read(sandbox.library(EDITOR)).expect("the editor library");
    sandbox.replace_library(EDITOR, b"not a library");
    let paths = paths_of(&sandbox);
    let runtime = Runtime::new(paths.loader_config());
    let mut next = Next::Continue;
    let mut h = window(&runtime, &paths, &mut next);

    assert!(h.query_by_label("The editor is not running").is_some(), "the fallback screen shows");
    assert!(h.query_by_label_contains("The editor did not load").is_some(), "with the reason");
    let before = generation(&runtime, EDITOR);
    assert!(matches!(status(&runtime, EDITOR), Some(ModuleStatus::Failed(_))), "the editor is not running");

    // Retry before the fix: the build succeeds (the workspace is fine) but the library the
    // reload finds is still broken. The fallback stays and says why.
    retry(&mut h);
    let notice = h.state().0.notice.clone().unwrap_or_default();
    assert!(notice.contains("not an ELF file"), "the notice says why the editor still does not load: {notice}");
    assert!(h.query_by_label("The editor is not running").is_some(), "the fallback screen stays");
    assert!(!h.get_by_label("Retry").accesskit_node().is_disabled(), "Retry can be pressed again");

    // The user fixes the editor; the sandbox's library is what the rebuild leaves there (cargo
    // builds into the workspace's target dir, not into the sandbox).
    sandbox.replace_library(EDITOR, &good);
    retry(&mut h);
    assert!(h.query_by_label("The editor is not running").is_none(), "the fallback screen is gone");
    assert!(h.query_by_label("Timings").is_some(), "the editor draws");
    assert_eq!(h.state().0.notice.as_deref(), Some("the editor was rebuilt and loaded"));
    assert!(generation(&runtime, EDITOR) > before, "a new generation of the editor");
    assert_eq!(status(&runtime, EDITOR), Some(ModuleStatus::Loaded));
    let record = runtime.history().pop().expect("the reload is in the history");
    assert_eq!(record.requested, [EDITOR]);
    assert_eq!(record.outcome, ReloadOutcome::Swapped);
    assert!(record.timings.build_us > 0, "the reload came from a build: {:?}", record.timings);
}

#[test]
fn an_editor_that_panics_while_drawing_shows_the_fallback_and_roll_back_restores_it() {
    let panicky = std::fs::read(panicky_editor_library()).expect("the panicky editor library");
    let WithLastGood { sandbox, library, good, paths } = with_last_good();
    let runtime = Runtime::new(paths.loader_config());
    let mut next = Next::Continue;
    let mut h = window(&runtime, &paths, &mut next);
    assert!(h.query_by_label("Timings").is_some(), "the real editor draws");
    let editor_state = state(&runtime, EDITOR);

    // A build of the editor whose UI panics, swapped in between two frames as live edit
    // would (its package name differs, so it goes in under the editor's library name).
    sandbox.replace_library(EDITOR, &panicky);
    let record = runtime.reload(EDITOR).expect("the reload is accepted");
    assert_eq!(record.outcome, ReloadOutcome::Swapped);
    let broken = generation(&runtime, EDITOR);

    // Its first frame: the panic is caught and the same frame shows the fallback, saying
    // where the editor panicked.
    let frame = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.step()));
    assert!(frame.is_ok(), "the editor's panic escaped the shell's frame");
    let source = std::fs::read_to_string(workspace().join(PANICKY).join("src/lib.rs")).expect("the fixture");
    let line = source.lines().position(|l| l.contains("panic!(")).expect("the fixture panics") + 1;
    let at = format!("panicky-editor/src/lib.rs:{line}:");
    assert!(h.query_by_label("The editor is not running").is_some(), "the fallback screen shows");
    let reason = h
        .query_by_label_contains("The editor failed while drawing: ")
        // A label's text is its accesskit value.
        .and_then(|node| node.accesskit_node().value())
        .expect("the fallback says the editor failed while drawing");
    assert!(reason.contains("panicked at ") && reason.contains(&at), "the panic's location ({at}): {reason}");
    assert!(reason.contains("the panicky editor fails while drawing"), "the panic's message: {reason}");
    let (failed_generation, _) = h.state().0.ui_error.clone().expect("the shell remembers the failure");
    assert_eq!(failed_generation, broken, "the failure belongs to the broken generation");

    // Later frames do not call the broken UI again: what it drew before panicking is gone.
    h.run();
    h.run_steps(3);
    assert!(h.query_by_label(PANICKY_LABEL).is_none(), "the broken UI is not drawn again");
    let calls = playground_api::codec::decode::<u32>(&runtime.call(EDITOR, "ui_calls", &[]).expect("ui_calls"))
        .expect("a count");
    assert_eq!(calls, 1, "the broken UI was called once");
    assert!(h.query_by_label_contains("The editor failed while drawing: ").is_some(), "the fallback stays");
    assert_eq!(status(&runtime, EDITOR), Some(ModuleStatus::Loaded), "the broken editor still runs");

    h.get_by_label("Roll back to the last good version").click();
    h.run();
    assert!(h.query_by_label("The editor is not running").is_none(), "the fallback screen is gone");
    assert!(h.query_by_label("Timings").is_some(), "the real editor draws again");
    assert_eq!(h.state().0.notice.as_deref(), Some("rolled back to the last good editor"));
    assert_eq!(std::fs::read(&library).expect("the library"), good, "the good build is back in place");
    assert!(generation(&runtime, EDITOR) > broken, "a new generation of the editor");
    assert!(h.state().0.ui_error.is_none(), "the failure is forgotten");
    // The broken build passed the editor's state through; the real editor has it back.
    assert_eq!(state(&runtime, EDITOR), editor_state, "the editor's state survived the broken build");
}

#[test]
fn roll_back_skips_a_build_that_drew_frames_before_it_failed() {
    let panicky = std::fs::read(panicky_editor_library()).expect("the panicky editor library");
    let WithLastGood { sandbox, library, good, paths } = with_last_good();
    let runtime = Runtime::new(paths.loader_config());
    let mut next = Next::Continue;
    let mut h = window(&runtime, &paths, &mut next);
    assert!(h.query_by_label("Timings").is_some(), "the real editor draws");

    // A build that works for a while: it draws, so it becomes the last good build...
    sandbox.replace_library(EDITOR, &panicky);
    assert_eq!(runtime.reload(EDITOR).expect("the reload is accepted").outcome, ReloadOutcome::Swapped);
    runtime.call(EDITOR, "disarm", &[]).expect("disarm");
    h.run();
    assert!(h.query_by_label(PANICKY_LABEL).is_some(), "the new build draws");
    let last_good = last_good_path(&paths, &library);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read(&last_good).ok().as_deref() != Some(&panicky[..]) {
        assert!(Instant::now() < deadline, "the build that drew was never kept");
        std::thread::sleep(Duration::from_millis(20));
    }

    // ...then fails on a later frame. Rolling back to it would bring the failure back.
    runtime.call(EDITOR, "arm", &[]).expect("arm");
    let frame = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.step()));
    assert!(frame.is_ok(), "the editor's panic escaped the shell's frame");
    assert!(h.query_by_label_contains("The editor failed while drawing: ").is_some(), "the fallback shows");
    h.get_by_label("Roll back to the last good version").click();
    h.run();
    assert!(h.query_by_label("Timings").is_some(), "the real editor draws again");
    assert_eq!(std::fs::read(&library).expect("the library"), good, "the good build before it is back");
}

#[test]
fn roll_back_starts_the_editor_fresh_when_the_good_build_cannot_read_the_broken_ones_state() {
    let panicky = std::fs::read(panicky_editor_library()).expect("the panicky editor library");
    let WithLastGood { sandbox, paths, .. } = with_last_good();
    // The broken build is what starts: it never had the real editor's UI state, and what it
    // saves (nothing) is not a state the real editor can read.
    sandbox.replace_library(EDITOR, &panicky);
    let runtime = Runtime::new(paths.loader_config());
    let mut next = Next::Continue;
    let mut h = window(&runtime, &paths, &mut next);
    assert!(h.query_by_label_contains("The editor failed while drawing: ").is_some(), "the fallback shows");
    let broken = generation(&runtime, EDITOR);

    h.get_by_label("Roll back to the last good version").click();
    h.run();
    assert!(h.query_by_label("The editor is not running").is_none(), "not stuck on the fallback");
    assert!(h.query_by_label("Timings").is_some(), "the real editor draws");
    let notice = h.state().0.notice.clone().unwrap_or_default();
    assert!(notice.contains("starts fresh"), "the notice says the UI state was set aside: {notice}");
    assert!(generation(&runtime, EDITOR) > broken, "a new generation of the editor");
    let history = runtime.history();
    let tried = &history[history.len() - 2];
    assert!(matches!(tried.outcome, ReloadOutcome::RolledBack(_)), "first, with the state: {:?}", tried.outcome);
    let fresh = history.last().expect("a record");
    assert_eq!(fresh.outcome, ReloadOutcome::Swapped);
    assert!(fresh.warnings.iter().any(|w| w.contains("started fresh")), "{:?}", fresh.warnings);
}

#[test]
fn a_failed_start_up_build_shows_in_the_editor_while_older_builds_run() {
    build_all();
    let sandbox = Sandbox::with(&MODULES);
    let paths = paths_of(&sandbox);
    let runtime = Runtime::new(paths.loader_config());
    let mut next = Next::Continue;
    let mut h = window(&runtime, &paths, &mut next);
    assert!(h.query_by_label_contains("failed").is_none(), "nothing failed yet");

    // What the window does when the start-up build fails: the modules built before load,
    // and the failure becomes the last build, which the editor's top bar shows.
    let outcome = playground_api::host::BuildOutcome {
        modules: vec!["plugins/movement".to_owned()],
        error: Some("rustup could not choose a version of cargo to run".to_owned()),
        ..Default::default()
    };
    h.state_mut().1.note_build(&runtime, outcome.clone());
    h.run();
    assert!(h.query_by_label("build of plugins/movement failed").is_some(), "the editor says the build failed");
    assert_eq!(runtime.build_status().last, Some(outcome), "`build` reports it too");
    assert_eq!(status(&runtime, "plugins/movement"), Some(ModuleStatus::Loaded), "the older build runs");
}

#[test]
fn a_start_that_cannot_resolve_the_modules_offers_retry_which_starts_them_once_fixed() {
    build_all();
    let sandbox = Sandbox::with(&MODULES);
    let paths = paths_of(&sandbox);
    // The states a restart handed over: the new process must not lose them to a failed start.
    let before = Runtime::new(paths.loader_config());
    before.load_all().expect("the modules load");
    before.tick(0.1);
    let (states, errors) = before.save_all();
    assert!(errors.is_empty(), "{errors:?}");
    let blobs: std::collections::BTreeMap<String, playground_api::codec::Blob> =
        states.into_iter().map(|(id, bytes)| (id, playground_api::codec::Blob(bytes))).collect();
    let restore = sandbox.path().join("restart.state");
    std::fs::write(&restore, playground_api::codec::encode(&blobs).expect("encode")).expect("save the states");
    let ticked = state(&before, "plugins/movement")["ticks"].clone();
    assert_eq!(ticked, 1);

    let manifest = sandbox.modules.join("plugins/movement/module.toml");
    let good = std::fs::read_to_string(&manifest).expect("read the manifest");
    std::fs::write(&manifest, "id = [broken").expect("break the manifest");
    let runtime = Runtime::new(paths.loader_config());
    let options = Options { watch: false, restore: Some(restore.clone()), mcp: None, wait_for_fix: false, net: None };
    let waker: crate::inbox::Waker = std::sync::Arc::new(|| {});
    let (inbox, messages) = Inbox::channel(Some(std::sync::Arc::clone(&waker)));
    let fatal = super::start_control(&runtime, &paths, &options, &inbox).err();
    assert!(fatal.as_deref().is_some_and(|f| f.contains("module.toml")), "{fatal:?}");

    let (mut next, mut control) = (Next::Continue, None);
    let mut window = super::Window {
        shell: Shell::new(&runtime, &paths, &mut next, None),
        control: &mut control,
        startup: None,
        options: &options,
        waker,
        inbox,
        messages,
        fatal,
        frames: super::FrameTimes::default(),
        restarting: None,
        restart_error: None,
        started: true,
    };
    window.retry_start();
    assert!(window.fatal.as_deref().is_some_and(|f| f.contains("module.toml")), "still broken: still said");
    std::fs::write(&manifest, good).expect("fix the manifest");
    window.retry_start();
    assert_eq!(window.fatal, None);
    assert!(window.control.is_some(), "the controllers run");
    assert_eq!(status(&runtime, "plugins/movement"), Some(ModuleStatus::Loaded));
    assert_eq!(state(&runtime, "plugins/movement")["ticks"], ticked, "with the state the restart handed over");
    assert!(!restore.exists(), "the states' file goes once they are delivered");

    // The screen's Retry button is what calls it.
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, pressed: &mut bool| *pressed |= startup::show_fatal(ui, "why it failed"), false);
    assert!(h.query_by_label("why it failed").is_some());
    h.get_by_label("Retry").click();
    h.run();
    assert!(*h.state(), "Retry was pressed");
}

#[test]
fn the_start_up_screen_shows_crates_done_out_of_total() {
    let mut latest = None;
    let mut h = Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(
        |ui, latest: &mut Option<Progress>| startup::show_progress(ui, *latest, Duration::ZERO),
        latest,
    );
    assert!(h.query_by_label("cargo is planning the build").is_some(), "before cargo knows the total");
    latest = Some(Progress { done: 3, total: 10 });
    *h.state_mut() = latest;
    h.run();
    assert!(h.query_by_label("3 of 10 crates compiled").is_some());
}
