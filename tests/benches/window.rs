//! The editor window's figures, from the real `playground` under Xvfb with Mesa's software
//! Vulkan: cold start (modules built) to the first editor frame, the whole frame in which
//! the editor module reloads (eframe's own frame time: UI, tessellation and painting), idle
//! CPU with live edit off and on; and with the game beside the editor, the frame in which
//! `systems/renderer` reloads, and frames per second while 1000 entities play.
//!
//! `cargo bench -p playground-tests --bench window --profile dev` (the shell and modules as
//! `cargo run` builds them; `WINDOW_ONLY=engine` for the game's figures alone,
//! `WINDOW_ONLY=editor` for the editor's). Needs Xvfb (scripts/install-deps.sh installs it).

#![allow(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]

use std::time::{Duration, Instant};

use playground_tests::{
    LiveWorkspace, Sandbox, Shell, Xvfb, build_all, installed, median_p95_max, millis, window_home,
};

const STARTS: usize = 5;
const RELOADS: usize = 20;
const IDLE: Duration = Duration::from_secs(10);

/// CPU seconds (user + system) the process has used so far, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/<pid>/stat");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// The share of one core `shell` uses over `IDLE` while nobody touches it.
fn idle_cpu(shell: &Shell) -> f64 {
    std::thread::sleep(Duration::from_secs(2));
    let before = cpu_seconds(shell.pid());
    std::thread::sleep(IDLE);
    (cpu_seconds(shell.pid()) - before) / IDLE.as_secs_f64() * 100.0
}

fn main() {
    if !installed("Xvfb") {
        println!("SKIPPED: Xvfb is not installed (scripts/install-deps.sh installs it)");
        return;
    }
    build_all();
    let xvfb = Xvfb::start();
    let home = window_home();
    if std::env::var("WINDOW_ONLY").is_ok_and(|only| only == "engine") {
        engine(&xvfb, home.path());
        return;
    }
    let sandbox = Sandbox::with(&["core/types", "core/ecs", "systems/ecs", "plugins/movement", "apps/editor"]);

    let mut starts = Vec::new();
    for _ in 0..STARTS {
        let started = Instant::now();
        let shell = xvfb.playground(&sandbox, home.path(), false);
        starts.push(millis(started.elapsed()));
        assert!(shell.quit(), "playground did not quit");
    }

    let mut shell = xvfb.playground(&sandbox, home.path(), false);
    let mut frames = Vec::new();
    let mut swaps = Vec::new();
    for _ in 0..RELOADS {
        // A new build of the editor (same code, new file), as a rebuild leaves it.
        sandbox.touch_library("apps/editor");
        let record = shell.ok("reload apps/editor");
        assert_eq!(record["outcome"]["kind"], "swapped", "{record}");
        swaps.push(record["timings"]["total_us"].as_f64().unwrap_or(0.0) / 1000.0);
        frames.push(shell.reload_frame(&record).0);
        std::thread::sleep(Duration::from_millis(100));
    }
    let idle_off = idle_cpu(&shell);
    assert!(shell.quit(), "playground did not quit");
    let shell = xvfb.playground(&sandbox, home.path(), true);
    let idle_on = idle_cpu(&shell);
    assert!(shell.quit(), "playground did not quit");

    let (start_median, _, start_max) = median_p95_max(&mut starts);
    let (frame_median, frame_p95, frame_max) = median_p95_max(&mut frames);
    let (swap_median, swap_p95, _) = median_p95_max(&mut swaps);
    println!(
        "cold start to the first editor frame over {STARTS} starts: median {start_median:.0} ms, max {start_max:.0} ms"
    );
    println!(
        "frame that reloads the editor over {RELOADS} reloads: median {frame_median:.2} ms, p95 {frame_p95:.2} ms, max {frame_max:.2} ms"
    );
    println!("  of which the reload transaction: median {swap_median:.2} ms, p95 {swap_p95:.2} ms");
    println!("idle CPU over {} s: live edit off {idle_off:.2}%, on {idle_on:.2}% of one core", IDLE.as_secs());
    if std::env::var("WINDOW_ONLY").is_ok_and(|only| only == "editor") {
        return;
    }
    engine(&xvfb, home.path());
}

/// The renderer's clear colour with blue `b` hundredths: what each save changes.
fn background(b: u32) -> String {
    format!("wgpu::Color {{ r: 0.06, g: 0.07, b: 0.{b:02}, a: 1.0 }}")
}

/// The game beside the editor: frames that reload the renderer after a save of its Rust
/// code while the game plays (in a copy of the workspace, built by the running window as a
/// user's save is), and the frame rate of the demo's 40 and of 1000 entities playing.
fn engine(xvfb: &Xvfb, home: &std::path::Path) {
    let live = LiveWorkspace::prepare();
    let mut shell = xvfb.spawn(live.engine_command(), home);
    std::thread::sleep(Duration::from_secs(1));
    let (mut frames, mut plain, mut swaps) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..RELOADS as u32 {
        live.edit("modules/systems/renderer/src/gpu.rs", &background(10 + i), &background(11 + i));
        let events = shell.wait_for("reloaded", Duration::from_secs(300));
        let record = events.last().expect("reloaded")["record"].clone();
        assert_eq!(record["outcome"]["kind"], "swapped", "{record}");
        swaps.push(record["timings"]["total_us"].as_f64().unwrap_or(0.0) / 1000.0);
        let (frame, before) = shell.reload_frame(&record);
        frames.push(frame);
        plain.push(before);
    }
    let (median, p95, max) = median_p95_max(&mut frames);
    let (plain, _, _) = median_p95_max(&mut plain);
    let (swap_median, swap_p95, _) = median_p95_max(&mut swaps);
    println!(
        "frame that reloads systems/renderer after a save of its code while the game plays, over {RELOADS} saves: median {median:.2} ms, p95 {p95:.2} ms, max {max:.2} ms"
    );
    println!(
        "  a plain frame of the same run (median of the 60 before each reload): {plain:.2} ms; reload frame / plain frame: {:.2}",
        median / plain
    );
    println!(
        "  of which the reload transaction (the renderer and the game): median {swap_median:.2} ms, p95 {swap_p95:.2} ms"
    );
    let playing = play_rate(&mut shell);
    assert!(shell.quit(), "playground did not quit");

    // 1000 entities: the game fills the world up to its `entities` setting on start.
    let sandbox = Sandbox::engine();
    sandbox.add("apps/editor", &playground_tests::module_dir("apps/editor"));
    let manifest = sandbox.manifest("apps/game").replace("entities = 40", "entities = 1000");
    sandbox.write_manifest("apps/game", &manifest);
    let mut shell = xvfb.playground(&sandbox, home, false);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(shell.ok("call apps/game status")["entities"], 1000);
    let thousand = play_rate(&mut shell);
    shell.ok("call apps/game pause");
    let paused = idle_cpu(&shell);
    assert!(shell.quit(), "playground did not quit");
    for (what, (fps, cpu_ms)) in [("40 entities (the demo)", playing), ("1000 entities", thousand)] {
        println!(
            "{what} playing in the window over {} s: {fps:.1} frames per second drawn, {cpu_ms:.1} ms of CPU per frame (all threads)",
            PLAY.as_secs()
        );
    }
    println!("the game paused (1000 entities): idle CPU over {} s {paused:.2}% of one core", IDLE.as_secs());
}

const PLAY: Duration = Duration::from_secs(5);

/// Frames per second the game's view is drawn at while it plays, and the process's CPU time
/// per frame (the main thread and the software rasterizer's threads together).
fn play_rate(shell: &mut Shell) -> (f64, f64) {
    shell.ok("call apps/game play");
    let draws = |shell: &mut Shell| shell.ok("call systems/renderer stats")["frames"].as_f64().unwrap_or(0.0);
    std::thread::sleep(Duration::from_secs(1));
    let (before, cpu, started) = (draws(shell), cpu_seconds(shell.pid()), Instant::now());
    std::thread::sleep(PLAY);
    let frames = draws(shell) - before;
    let cpu = cpu_seconds(shell.pid()) - cpu;
    (frames / started.elapsed().as_secs_f64(), cpu * 1000.0 / frames.max(1.0))
}
