//! The engine's figures, headless through the real `playground` binary on Mesa's software
//! Vulkan: a shader save to new pixels in a capture, a reload of `systems/renderer` (its
//! transaction time, the bytes it uploaded, the resources it made) and the GPU resources alive
//! on the device after 100 reloads against after the first, and a capture of 1000 entities.
//!
//! `cargo bench -p playground-tests --bench engine` (`ENGINE_RELOADS=20` for a shorter run).

#![allow(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]

use std::time::{Duration, Instant};

use playground_api::serde_json::{Value, json};
use playground_tests::{Sandbox, Shell, median_p95_max, millis};

const SPRITE_COLOUR: &str = "return in.color * textureSample(atlas, atlas_sampler, in.uv);";

fn stats(shell: &mut Shell) -> Value {
    shell.ok("call systems/renderer stats")
}

fn main() {
    let reloads: usize = std::env::var("ENGINE_RELOADS").ok().and_then(|n| n.parse().ok()).unwrap_or(100);
    let sandbox = Sandbox::engine();
    let mut shell = sandbox.shell();
    shell.ok("call apps/game pause");
    let shot = sandbox.path().join("view.png");
    let shader = sandbox.shader();
    let original = std::fs::read_to_string(&shader).expect("the shader");
    shell.ok(&format!("capture {}", shot.display()));

    // Shader save to new pixels: save a new colour, capture until the PNG differs.
    let mut saves = Vec::new();
    let mut last = std::fs::read(&shot).expect("the capture");
    for i in 0..20 {
        let colour = format!(
            "return vec4<f32>({:.2}, 0.5, 0.5, 1.0) * textureSample(atlas, atlas_sampler, in.uv);",
            f64::from(i) / 20.0
        );
        let started = Instant::now();
        std::fs::write(&shader, original.replace(SPRITE_COLOUR, &colour)).expect("save the shader");
        loop {
            shell.ok(&format!("capture {}", shot.display()));
            let now = std::fs::read(&shot).expect("the capture");
            if now != last {
                last = now;
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the save never showed");
        }
        saves.push(millis(started.elapsed()));
    }
    let (median, p95, max) = median_p95_max(&mut saves);
    println!(
        "shader save to new pixels in a capture (20 saves): median {median:.1} ms, p95 {p95:.1} ms, max {max:.1} ms"
    );

    // Reloads of the renderer: what they cost and what they leave behind.
    let first_reload = shell.ok("reload systems/renderer");
    let after_first = stats(&mut shell);
    let mut totals = vec![first_reload["timings"]["total_us"].as_f64().unwrap_or(0.0) / 1000.0];
    for _ in 1..reloads {
        let record = shell.ok("reload systems/renderer");
        assert_eq!(record["outcome"]["kind"], json!("swapped"), "{record}");
        totals.push(record["timings"]["total_us"].as_f64().unwrap_or(0.0) / 1000.0);
    }
    let after_all = stats(&mut shell);
    let (median, p95, max) = median_p95_max(&mut totals);
    println!(
        "renderer reload transaction ({reloads} reloads): median {median:.2} ms, p95 {p95:.2} ms, max {max:.2} ms"
    );
    let diff = |field: &str| after_all[field].as_i64().unwrap_or(0) - after_first[field].as_i64().unwrap_or(0);
    println!(
        "across reloads 2..{reloads}: bytes uploaded {}, resources made {}, kept {} -> {}",
        diff("uploaded"),
        diff("made"),
        after_first["kept"],
        after_all["kept"]
    );
    println!(
        "GPU resources alive [buffers, textures, render pipelines, bind groups]: after the first reload {}, after {reloads}: {}",
        after_first["alive"], after_all["alive"]
    );

    // 1000 entities: spawn up to 1000, then time draw + read back.
    let count = shell.ok("call systems/ecs count").as_u64().unwrap_or(0);
    for i in count..1000 {
        let f = i as f64;
        shell.ok(&format!(
            r#"call systems/ecs spawn {{"position":{{"x":{},"y":{}}},"velocity":{{"x":1,"y":0}}}}"#,
            (f * 7.3) % 100.0,
            (f * 3.1) % 100.0
        ));
    }
    let mut captures = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        shell.ok(&format!("capture {}", shot.display()));
        captures.push(millis(started.elapsed()));
    }
    let (median, p95, _) = median_p95_max(&mut captures);
    println!("capture of 1000 entities (draw, read back, PNG, write): median {median:.1} ms, p95 {p95:.1} ms");
    std::fs::write(&shader, original).expect("restore the shader");
    assert!(shell.quit());
}
