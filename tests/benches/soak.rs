//! Soak: 1000 reloads (by default) mixing a leaf (`plugins/counter`), a contract chain
//! (`core/probe` with `systems/probe` and `plugins/counter`) and the editor module
//! (`apps/editor`), each followed by a check that the states came through (the counter's
//! checksum, the probe's total). Every 100 reloads it records resident memory, open file
//! descriptors, mapped generation files and threads; at the end, memory per reload over the
//! last 900 (after allocators and caches have warmed up) and whether descriptors or threads
//! grew at all.
//!
//! `cargo bench -p playground-tests --bench soak` (`SOAK_RELOADS=200` for a shorter run,
//! `SOAK_ONLY=plugins/counter` for one kind of reload).

#![allow(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]

use playground_api::host::ReloadOutcome;
use playground_api::serde_json::json;
use playground_tests::{Sandbox, call, resident_kb};

/// What is sampled every 100 reloads.
#[derive(Clone, Copy, Debug)]
struct Sample {
    reloads: usize,
    resident_kb: u64,
    fds: usize,
    mapped_generations: usize,
    threads: usize,
    libraries: usize,
}

fn count_entries(dir: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, Iterator::count)
}

/// Distinct generation copies mapped into this process (`.../generations/<pkg>.g<N>.so`).
fn mapped_generations() -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let files: std::collections::BTreeSet<&str> =
        maps.lines().filter_map(|l| l.split_whitespace().nth(5)).filter(|p| p.contains("/generations/")).collect();
    files.len()
}

fn sample(reloads: usize) -> Sample {
    // Replaced generations are paged out on a thread of the loader's: measure once it is done.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while module_loader::library::pending_page_outs() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Sample {
        reloads,
        resident_kb: resident_kb(),
        fds: count_entries("/proc/self/fd"),
        mapped_generations: mapped_generations(),
        threads: count_entries("/proc/self/task"),
        libraries: module_loader::library::opened_count(),
    }
}

fn main() {
    let reloads: usize = std::env::var("SOAK_RELOADS").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let sandbox = Sandbox::with(&[
        "core/types",
        "core/ecs",
        "systems/ecs",
        "plugins/movement",
        "apps/editor",
        "core/probe",
        "systems/probe",
        "plugins/counter",
    ]);
    let runtime = sandbox.runtime();
    runtime.load_all().expect("the modules load");
    call(&runtime, "plugins/counter", "add", json!(41)).expect("add");
    call(&runtime, "plugins/counter", "fill", json!(4096)).expect("fill");
    call(&runtime, "systems/probe", "add", json!(9)).expect("probe add");
    let checksum = call(&runtime, "plugins/counter", "checksum", json!(null)).expect("checksum");

    let all: [(&str, &[&str]); 3] = [
        ("plugins/counter", &["plugins/counter"]),
        ("core/probe", &["systems/probe", "plugins/counter"]),
        ("apps/editor", &["apps/editor"]),
    ];
    // `SOAK_ONLY=plugins/counter` reloads one kind only: its own memory per reload.
    let only = std::env::var("SOAK_ONLY").ok();
    let kinds: Vec<(&str, &[&str])> =
        all.into_iter().filter(|(id, _)| only.as_deref().is_none_or(|o| o == *id)).collect();
    assert!(!kinds.is_empty(), "SOAK_ONLY names none of plugins/counter, core/probe, apps/editor");
    let mut samples = vec![sample(0)];
    // Resident memory each kind of reload added, after the first 100 reloads (warm-up).
    let mut by_kind = vec![(0i64, 0usize); kinds.len()];
    for i in 1..=reloads {
        let kind = i % kinds.len();
        let (id, rebuilt) = kinds[kind];
        for module in rebuilt {
            sandbox.touch_library(module);
        }
        let before = resident_kb();
        let record = runtime.reload(id).expect("the reload runs");
        if i > 100 {
            by_kind[kind].0 += resident_kb() as i64 - before as i64;
            by_kind[kind].1 += 1;
        }
        assert_eq!(record.outcome, ReloadOutcome::Swapped, "reload {i} of {id}");
        assert_eq!(call(&runtime, "plugins/counter", "checksum", json!(null)), Ok(checksum.clone()), "reload {i}");
        assert_eq!(call(&runtime, "systems/probe", "total", json!(null)), Ok(json!(9)), "reload {i}");
        if i % 100 == 0 || i == reloads {
            samples.push(sample(i));
        }
    }

    println!("| reloads | resident kB | fds | mapped generations | threads | libraries kept |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for s in &samples {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            s.reloads, s.resident_kb, s.fds, s.mapped_generations, s.threads, s.libraries
        );
    }
    let warm = samples.iter().find(|s| s.reloads >= 100).copied().unwrap_or(samples[0]);
    let last = samples.last().copied().unwrap_or(warm);
    let span = (last.reloads - warm.reloads).max(1);
    println!(
        "memory per reload (reloads {}..{}): {:.1} kB; libraries per reload: {:.2}",
        warm.reloads,
        last.reloads,
        last.resident_kb.saturating_sub(warm.resident_kb) as f64 / span as f64,
        (last.libraries - warm.libraries) as f64 / span as f64
    );
    for ((id, rebuilt), (kb, count)) in kinds.iter().zip(by_kind) {
        let sizes: Vec<String> = rebuilt
            .iter()
            .map(|m| {
                format!("{} {:.1} MB", m, std::fs::metadata(sandbox.library(m)).map_or(0, |m| m.len()) as f64 / 1e6)
            })
            .collect();
        println!(
            "reload of {id} (new libraries: {}): resident memory {:.1} kB higher right after it, over {count} \
             (before the generation it replaced is paged out on the loader's thread)",
            sizes.join(", "),
            kb as f64 / count.max(1) as f64
        );
    }
    println!(
        "descriptors: {} -> {} ({}); threads: {} -> {} ({})",
        samples[0].fds,
        last.fds,
        if last.fds <= samples[0].fds { "no growth" } else { "GREW" },
        samples[0].threads,
        last.threads,
        if last.threads <= samples[0].threads { "no growth" } else { "GREW" }
    );
}
