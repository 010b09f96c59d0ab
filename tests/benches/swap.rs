//! Swap time of one reload (save + unload + load + init + restore, no build), as the loader
//! records it: a leaf module holding 1 MB of state, and `core/ecs` with its whole chain.
//! Every iteration loads a fresh copy of the libraries, as after a rebuild.
//!
//! `cargo bench -p playground-tests --bench swap` (builds the fixtures in release first).

#![allow(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]

use playground_api::host::{PhaseTimings, ReloadOutcome};
use playground_api::serde_json::json;
use playground_tests::{Sandbox, call, resident_kb};

const RUNS: usize = 60;

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at] as f64 / 1000.0
}

fn report(name: &str, timings: &[PhaseTimings]) {
    let phase = |f: fn(&PhaseTimings) -> u64| {
        let mut v: Vec<u64> = timings.iter().map(f).collect();
        v.sort_unstable();
        v
    };
    let total = phase(|t| t.total_us);
    let median = |f: fn(&PhaseTimings) -> u64| percentile(&phase(f), 0.5);
    println!(
        "{name}: total median {:.3} ms, p95 {:.3} ms, max {:.3} ms over {} reloads \
         (median phases: save {:.3}, load {:.3}, unload {:.3}, init {:.3}, restore {:.3} ms)",
        percentile(&total, 0.5),
        percentile(&total, 0.95),
        percentile(&total, 1.0),
        timings.len(),
        median(|t| t.save_us),
        median(|t| t.load_us),
        median(|t| t.unload_us),
        median(|t| t.init_us),
        median(|t| t.restore_us),
    );
}

fn measure(sandbox: &Sandbox, runtime: &module_loader::Runtime, id: &str, rebuilt: &[&str]) -> Vec<PhaseTimings> {
    (0..RUNS)
        .map(|_| {
            for module in rebuilt {
                sandbox.touch_library(module);
            }
            let record = runtime.reload(id).expect("accepted");
            assert_eq!(record.outcome, ReloadOutcome::Swapped);
            record.timings
        })
        .collect()
}

fn main() {
    // Criterion-style filters and `--bench` are passed by cargo; this bench takes none.
    let leaf = Sandbox::fixtures();
    let runtime = leaf.runtime();
    runtime.load_all().expect("the fixtures load");
    call(&runtime, "plugins/counter", "fill", json!(1 << 20)).expect("fill 1 MB");
    let state = runtime.state("plugins/counter").expect("state");
    println!("leaf state: {} bytes encoded", state.len());
    let (before, opened) = (resident_kb(), module_loader::library::opened_count());
    report(
        "leaf plugins/counter with 1 MB of state",
        &measure(&leaf, &runtime, "plugins/counter", &["plugins/counter"]),
    );
    let (after, opened_after) = (resident_kb(), module_loader::library::opened_count());
    println!(
        "leak budget: {} libraries kept mapped, resident memory +{} kB in all, {:.0} kB per reload",
        opened_after - opened,
        after.saturating_sub(before),
        after.saturating_sub(before) as f64 / (opened_after - opened).max(1) as f64
    );

    let demo = Sandbox::demo();
    let runtime = demo.runtime();
    runtime.load_all().expect("the demo loads");
    for i in 0..1000 {
        let x = i as f32;
        call(&runtime, "systems/ecs", "spawn", json!({"position": {"x": x, "y": x}, "velocity": {"x": 1.0, "y": 0.0}}))
            .expect("spawn");
    }
    report(
        "core/ecs chain (systems/ecs with 1003 entities + plugins/movement)",
        &measure(&demo, &runtime, "core/ecs", &["systems/ecs", "plugins/movement"]),
    );
    println!("libraries opened (kept mapped, never closed): {}", module_loader::library::opened_count());
}
