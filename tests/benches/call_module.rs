//! `call_module` from another thread, in the real headless `playground`: a worker of the
//! counter fixture calls the probe's `noop` through a `ModuleCaller` 2000 times, a
//! millisecond apart, and times each round trip (queue, wake the main loop, run at its safe
//! point, answer); first with the main loop idle (the fixtures alone), then while the game
//! plays at 60 ticks a second beside them.
//!
//! `cargo bench -p playground-tests --bench call_module --profile dev`

#![allow(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]

use std::time::{Duration, Instant};

use playground_tests::{Sandbox, median_p95_max, module_dir};

const CALLS: usize = 2000;

/// Median and p99 of the round trips, in microseconds.
fn round_trips(sandbox: &Sandbox, play: bool) -> (f64, f64, f64) {
    let mut shell = sandbox.shell();
    if play {
        shell.ok("call apps/game play");
    }
    shell.ok(&format!("call plugins/counter time_calls {CALLS}"));
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut times: Vec<f64> = loop {
        let times = shell.ok("call plugins/counter call_times");
        let times: Vec<f64> =
            times.as_array().map(|t| t.iter().filter_map(|v| v.as_f64()).collect()).unwrap_or_default();
        if times.len() >= CALLS {
            break times;
        }
        assert!(Instant::now() < deadline, "only {} calls were answered", times.len());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(shell.quit());
    times.sort_by(f64::total_cmp);
    let p99 = times[(times.len() * 99 / 100).min(times.len() - 1)];
    let (median, _, max) = median_p95_max(&mut times);
    (median, p99, max)
}

fn main() {
    let idle = Sandbox::fixtures();
    let (median, p99, max) = round_trips(&idle, false);
    println!(
        "call_module round trip, main loop idle ({CALLS} calls): median {median:.0} µs, p99 {p99:.0} µs, max {max:.0} µs"
    );

    let playing = Sandbox::engine();
    for id in ["core/probe", "systems/probe", "plugins/counter"] {
        playing.add(id, &module_dir(id));
    }
    let (median, p99, max) = round_trips(&playing, true);
    println!(
        "call_module round trip, the game playing at 60 ticks/s ({CALLS} calls): median {median:.0} µs, p99 {p99:.0} µs, max {max:.0} µs"
    );
}
