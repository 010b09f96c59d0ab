//! Replication between two real `playground` processes on loopback, headless: the host plays
//! 1000 moving entities and sends 30 snapshots a second; the joiner's lag behind the host, in
//! game ticks (60 a second), sampled 300 times; the bytes of a snapshot; then 20 reloads of
//! `systems/networking` on the host mid-game: reconnects, lost and duplicated snapshots; and
//! the frame of each reload with the host in a window under Xvfb (Mesa's software Vulkan),
//! playing the demo's 40 entities (with 1000 a plain frame alone is over budget there).
//!
//! `cargo bench -p playground-tests --bench network --profile dev`

#![allow(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]

use std::process::Command;
use std::time::{Duration, Instant};

use playground_api::serde_json::Value;
use playground_tests::{Sandbox, Shell, Xvfb, installed, median_p95_max, module_dir, profile_dir, window_home};

const RELOADS: usize = 20;

fn status(shell: &mut Shell) -> Value {
    shell.ok("call systems/networking status")
}

fn ticks(shell: &mut Shell) -> i64 {
    shell.ok("call apps/game status")["ticks"].as_i64().unwrap_or(0)
}

fn wait_for_snapshots(joiner: &mut Shell) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(joiner)["snapshots_received"].as_u64().unwrap_or(0) < 5 {
        assert!(Instant::now() < deadline, "no snapshots arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The host's `playground` command over `sandbox`: headless, or in a window on `xvfb`.
fn host_command(sandbox: &Sandbox, xvfb: Option<&Xvfb>) -> Command {
    match xvfb {
        None => {
            let mut command = sandbox.headless_command();
            command.args(["--host", "127.0.0.1:0"]);
            command
        }
        Some(_) => {
            let mut command = Command::new(profile_dir().join("playground"));
            command.args(["--no-build", "--no-watch", "--host", "127.0.0.1:0", "--modules"]).arg(&sandbox.modules);
            command.arg("--library-dir").arg(&sandbox.libs);
            command
        }
    }
}

fn join(sandbox: &Sandbox, host: &mut Shell) -> Shell {
    let addr = status(host)["role"]["Hosting"].as_str().expect("hosting").to_owned();
    let mut command = sandbox.headless_command();
    command.args(["--join", &addr]);
    let mut joiner = Shell::spawn(command);
    wait_for_snapshots(&mut joiner);
    joiner
}

fn main() {
    let sandbox = Sandbox::engine();
    sandbox.add("apps/editor", &module_dir("apps/editor"));
    let manifest = sandbox.manifest("apps/game").replace("entities = 40", "entities = 1000");
    sandbox.write_manifest("apps/game", &manifest);

    let mut host = Shell::spawn(host_command(&sandbox, None));
    let mut joiner = join(&sandbox, &mut host);
    assert_eq!(joiner.ok("call systems/ecs count"), host.ok("call systems/ecs count"));
    let mut lags = Vec::new();
    for _ in 0..300 {
        let ahead = ticks(&mut host);
        lags.push((ahead - ticks(&mut joiner)) as f64);
        std::thread::sleep(Duration::from_millis(20));
    }
    let bytes = status(&mut host)["last_snapshot_bytes"].clone();
    let (median, p95, max) = median_p95_max(&mut lags);
    println!(
        "joiner's lag behind the host, 1000 entities, 30 snapshots/s (300 samples): median {median:.0}, p95 {p95:.0}, max {max:.0} ticks of 1/60 s"
    );
    println!("bytes per snapshot of 1000 entities on the wire: {bytes}");

    let received = status(&mut joiner)["snapshots_received"].as_u64().unwrap_or(0);
    let mut swaps = Vec::new();
    for _ in 0..RELOADS {
        let record = host.ok("reload systems/networking");
        assert_eq!(record["outcome"]["kind"], "swapped", "{record}");
        swaps.push(record["timings"]["total_us"].as_f64().unwrap_or(0.0) / 1000.0);
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = status(&mut joiner);
    let hosting = status(&mut host);
    println!(
        "across {RELOADS} reloads of systems/networking on the host: joiner connections {} (1 = never reconnected), host accepted {}, snapshots received {} more, lost {}, duplicated {}, closed {}",
        after["connections"],
        hosting["connections"],
        after["snapshots_received"].as_u64().unwrap_or(0) - received,
        after["snapshots_lost"],
        after["snapshots_duplicated"],
        after["closed"]
    );
    let (median, p95, _) = median_p95_max(&mut swaps);
    println!("  the reload transaction (headless host): median {median:.2} ms, p95 {p95:.2} ms");
    assert!(joiner.quit() && host.quit());

    if !installed("Xvfb") {
        println!("SKIPPED the window's reload frame: Xvfb is not installed");
        return;
    }
    let demo = Sandbox::engine();
    demo.add("apps/editor", &module_dir("apps/editor"));
    let xvfb = Xvfb::start();
    let home = window_home();
    let mut host = xvfb.spawn(host_command(&demo, Some(&xvfb)), home.path());
    let mut joiner = join(&demo, &mut host);
    let (mut frames, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..RELOADS {
        let record = host.ok("reload systems/networking");
        assert_eq!(record["outcome"]["kind"], "swapped", "{record}");
        let (frame, before) = host.reload_frame(&record);
        frames.push(frame);
        plain.push(before);
        std::thread::sleep(Duration::from_millis(200));
    }
    let after = status(&mut joiner);
    let (median, p95, max) = median_p95_max(&mut frames);
    let (plain, _, _) = median_p95_max(&mut plain);
    println!(
        "frame that reloads systems/networking in the host's window (the demo's 40 entities playing, {RELOADS} reloads): median {median:.2} ms, p95 {p95:.2} ms, max {max:.2} ms; a plain frame {plain:.2} ms"
    );
    println!(
        "  the joiner meanwhile: connections {}, lost {}, duplicated {}",
        after["connections"], after["snapshots_lost"], after["snapshots_duplicated"]
    );
    assert!(joiner.quit() && host.quit());
}
