//! The editor window's figures, from the real `playground` under Xvfb with Mesa's software
//! Vulkan: cold start (modules built) to the first editor frame, the whole frame in which
//! the editor module reloads (eframe's own frame time: UI, tessellation and painting), and
//! idle CPU with live edit off and on.
//!
//! `cargo bench -p playground-tests --bench window --profile dev` (the shell and modules as
//! `cargo run` builds them). Needs Xvfb (scripts/install-deps.sh installs it).

#![allow(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]

use std::time::{Duration, Instant};

use playground_tests::{Sandbox, Shell, Xvfb, build_all, installed, median_p95_max, millis, window_home};

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
    let sandbox = Sandbox::with(&["core/types", "core/ecs", "systems/ecs", "plugins/movement", "apps/editor"]);
    let xvfb = Xvfb::start();
    let home = window_home();

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
        let seq = record["seq"].clone();
        let frame = loop {
            let event = shell.event(Duration::from_secs(10)).expect("the reload's frame is announced");
            if event["kind"] == "reload_frame" && event["seq"] == seq {
                break event["ms"].as_f64().unwrap_or(f64::NAN);
            }
        };
        frames.push(frame);
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
}
