//! The engine as a user meets it headless: the game's view drawn by the renderer module on a
//! real GPU (Mesa's software Vulkan here), read back as PNG through the line protocol; its
//! shader edited on disk while it runs, broken in each way the renderer must survive; the
//! renderer reloaded with its GPU resources kept, and its Rust code edited while it runs (in
//! a copy of the workspace, built by the running shell as a user's save is).

use std::path::Path;
use std::time::{Duration, Instant};

use playground_api::serde_json::{Value, json};
use playground_tests::{LiveWorkspace, Sandbox, Shell};

/// The colours the game gives entities by id (`apps/game/src/view.rs`), in 0..=255.
const PALETTE: [[f32; 3]; 6] = [
    [0.95, 0.35, 0.30],
    [0.30, 0.75, 0.95],
    [0.45, 0.90, 0.40],
    [0.98, 0.80, 0.25],
    [0.75, 0.45, 0.95],
    [0.95, 0.55, 0.80],
];

/// The view's size headless, and what the default camera shows (`core/rendering`).
const VIEW: (f32, f32) = (640.0, 400.0);
const CAMERA_CENTER: (f32, f32) = (50.0, 50.0);
const CAMERA_HEIGHT: f32 = 110.0;

struct Capture {
    width: u32,
    rgba: Vec<u8>,
}

impl Capture {
    fn read(path: &Path) -> Capture {
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).expect("the capture")));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut rgba = vec![0; reader.output_buffer_size().expect("a size")];
        let info = reader.next_frame(&mut rgba).expect("the PNG's pixels");
        assert_eq!(info.color_type, png::ColorType::Rgba);
        assert_eq!((info.width, info.height), (VIEW.0 as u32, VIEW.1 as u32), "the view's size");
        Capture { width: info.width, rgba }
    }

    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let at = ((y * self.width + x) * 4) as usize;
        [self.rgba[at], self.rgba[at + 1], self.rgba[at + 2]]
    }

    /// The pixel at a world position, as the default camera maps it.
    fn at_world(&self, x: f32, y: f32) -> [u8; 3] {
        let half = (CAMERA_HEIGHT * VIEW.0 / VIEW.1 / 2.0, CAMERA_HEIGHT / 2.0);
        let px = (x - CAMERA_CENTER.0) / half.0 * VIEW.0 / 2.0 + VIEW.0 / 2.0;
        let py = VIEW.1 / 2.0 - (y - CAMERA_CENTER.1) / half.1 * VIEW.1 / 2.0;
        self.pixel(px as u32, py as u32)
    }
}

fn close(pixel: [u8; 3], expected: [f32; 3]) -> bool {
    pixel.iter().zip(expected).all(|(p, e)| (f32::from(*p) - e * 255.0).abs() <= 4.0)
}

/// Enemies (id, x, y) far enough from every other entity and from the arena's border that
/// the pixel at their centre is theirs (the player, drawn larger and in white, is left out).
fn lone_entities(shell: &mut Shell) -> Vec<(u64, f32, f32)> {
    let player = shell.ok("call apps/game status")["player"].as_u64();
    let all = shell.ok("call systems/ecs entities");
    let entities: Vec<(u64, f32, f32)> = all
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| {
            let p = &e[1]["position"];
            (e[0].as_u64().expect("an id"), p["x"].as_f64().expect("x") as f32, p["y"].as_f64().expect("y") as f32)
        })
        .collect();
    entities
        .iter()
        .filter(|(id, x, y)| {
            Some(*id) != player
                && (3.0..97.0).contains(x)
                && (3.0..97.0).contains(y)
                && entities.iter().all(|(other, ox, oy)| other == id || (ox - x).hypot(oy - y) > 7.0)
        })
        .copied()
        .collect()
}

fn capture(shell: &mut Shell, to: &Path) -> Capture {
    let answer = shell.ok(&format!("capture {}", to.display()));
    assert_eq!((answer["width"].clone(), answer["height"].clone()), (json!(640), json!(400)), "{answer}");
    Capture::read(to)
}

/// Captures until `check` holds (the renderer notices a save on its next tick), or panics
/// with the last answer after a bounded number of tries.
fn capture_until(shell: &mut Shell, to: &Path, what: &str, check: impl Fn(&Capture) -> bool) -> Capture {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let captured = capture(shell, to);
        if check(&captured) {
            return captured;
        }
        assert!(Instant::now() < deadline, "the capture never showed {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stats(shell: &mut Shell) -> Value {
    shell.ok("call systems/renderer stats")
}

/// The shader problems `build` shows, as (file, line, column, message).
fn shader_problems(shell: &mut Shell) -> Vec<(String, u64, u64, String)> {
    let status = shell.ok("build");
    status["assets"].as_array().expect("assets").iter().map(playground_tests::diagnostic_place).collect()
}

fn wait_for_problem(shell: &mut Shell, needle: &str) -> (String, u64, u64, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(problem) = shader_problems(shell).into_iter().find(|p| p.3.contains(needle)) {
            return problem;
        }
        assert!(Instant::now() < deadline, "no shader problem said `{needle}`: {:?}", shader_problems(shell));
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("the shader");
    assert!(text.contains(from), "the shader has no `{from}`");
    std::fs::write(path, text.replacen(from, to, 1)).expect("save the shader");
}

const SPRITE_COLOUR: &str = "return in.color * textureSample(atlas, atlas_sampler, in.uv);";
const MAGENTA: &str = "return vec4<f32>(1.0, 0.0, 1.0, 1.0) * textureSample(atlas, atlas_sampler, in.uv);";

#[test]
fn the_game_view_shows_the_world_and_follows_shader_edits_and_keeps_drawing_through_bad_ones() {
    let sandbox = Sandbox::engine();
    let mut shell = sandbox.shell();
    // Paused, so the world holds still between reading its positions and capturing it.
    shell.ok("call apps/game pause");
    let shots = sandbox.path().join("view.png");
    let shader = sandbox.shader();

    // The world's entities, drawn where they are, in their colours; the rest is background.
    let lone = lone_entities(&mut shell);
    assert!(lone.len() >= 5, "the demo world has entities to look at: {lone:?}");
    let first = capture(&mut shell, &shots);
    for (id, x, y) in &lone {
        let expected = PALETTE[*id as usize % PALETTE.len()];
        assert!(close(first.at_world(*x, *y), expected), "entity {id} at ({x}, {y}): {:?}", first.at_world(*x, *y));
    }
    assert_eq!(first.pixel(2, 2), [15, 18, 26], "the background (0.06, 0.07, 0.10) in a corner");

    // A colour change in the shader, saved while it runs: new pixels, no build.
    edit(&shader, SPRITE_COLOUR, MAGENTA);
    let (id, x, y) = lone[0];
    let magenta =
        capture_until(&mut shell, &shots, "the magenta sprites", |c| close(c.at_world(x, y), [1.0, 0.0, 1.0]));
    assert!(shader_problems(&mut shell).is_empty(), "a good shader reports nothing");

    // A syntax error: said with file, line and column; the last good pipeline keeps drawing.
    edit(&shader, "let corner = corners[index];", "let corner = corners[index]");
    let (file, line, column, message) = wait_for_problem(&mut shell, "expected");
    assert!(file.ends_with("shaders/sprite.wgsl"), "{file}");
    assert!(line > 30 && column > 1, "the place of the error: {line}:{column} {message}");
    assert_eq!(capture(&mut shell, &shots).rgba, magenta.rgba, "the last good pipeline draws entity {id}");
    assert!(stats(&mut shell)["shader_error"].as_str().is_some_and(|e| e.contains("expected")));
    edit(&shader, "let corner = corners[index]", "let corner = corners[index];");
    wait_until_clear(&mut shell);

    // Valid WGSL that the renderer's pipelines cannot use: an entry point it does not have...
    edit(&shader, "fn fs_sprite(", "fn fs_main(");
    wait_for_problem(&mut shell, "no entry point `fs_sprite`");
    assert_eq!(capture(&mut shell, &shots).rgba, magenta.rgba);
    edit(&shader, "fn fs_main(", "fn fs_sprite(");
    wait_until_clear(&mut shell);

    // ...and a binding its layout lacks, pointed at by line.
    edit(&shader, "@group(0) @binding(2) var atlas_sampler", "@group(0) @binding(5) var atlas_sampler");
    let (_, line, _, message) = wait_for_problem(&mut shell, "@binding(5)");
    assert_eq!(line, 12, "the line of `atlas_sampler`: {message}");
    assert_eq!(capture(&mut shell, &shots).rgba, magenta.rgba);

    // A deleted shader: said, and the last good pipeline still draws.
    std::fs::remove_file(&shader).expect("delete the shader");
    wait_for_problem(&mut shell, "cannot read the shader");
    assert_eq!(capture(&mut shell, &shots).rgba, magenta.rgba);

    // Put back as it was: the original colours again.
    std::fs::copy(playground_tests::workspace().join("assets/shaders/sprite.wgsl"), &shader).expect("restore");
    let expected = PALETTE[id as usize % PALETTE.len()];
    capture_until(&mut shell, &shots, "the original colours", |c| close(c.at_world(x, y), expected));
    wait_until_clear(&mut shell);
    assert!(shell.quit());
}

fn wait_until_clear(shell: &mut Shell) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !shader_problems(shell).is_empty() {
        assert!(Instant::now() < deadline, "the shader problem never cleared: {:?}", shader_problems(shell));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn reloading_the_renderer_keeps_its_gpu_resources_and_uploads_nothing() {
    let sandbox = Sandbox::engine();
    let mut shell = sandbox.shell();
    // Paused, so the world holds still between reading its positions and capturing it.
    shell.ok("call apps/game pause");
    let shots = sandbox.path().join("view.png");
    let lone = lone_entities(&mut shell);
    let before = capture(&mut shell, &shots);
    let first = stats(&mut shell);
    assert!(first["kept"].as_u64().is_some_and(|k| k >= 10), "{first}");
    assert!(first["uploaded"].as_u64().is_some_and(|u| u >= 4 << 20), "the 4 MiB atlas was uploaded once: {first}");

    for _ in 0..10 {
        let record = shell.ok("reload systems/renderer");
        assert_eq!(record["outcome"]["kind"], "swapped", "{record}");
    }
    let after = stats(&mut shell);
    assert_eq!(after["made"], first["made"], "nothing was made again: {after}");
    assert_eq!(after["uploaded"], first["uploaded"], "nothing was uploaded by the reloads: {after}");
    assert_eq!(after["kept"], first["kept"]);
    assert_eq!(after["alive"], first["alive"], "the GPU holds as many resources as before");
    assert_eq!(after["adapter"], first["adapter"]);
    let again = capture(&mut shell, &shots);
    assert_eq!(again.rgba, before.rgba, "the first frame after the swaps draws the same world");
    assert!(!lone.is_empty());
    assert!(shell.quit());
}

#[test]
fn a_capture_says_why_when_there_is_no_gpu_or_no_game() {
    // No adapter at all: Vulkan only, and no Vulkan driver. The editor's modules still run.
    let sandbox = Sandbox::engine();
    let mut command = sandbox.headless_command();
    command
        .env("WGPU_BACKEND", "vulkan")
        .env("VK_ICD_FILENAMES", sandbox.path().join("no-driver.json"))
        .env("VK_DRIVER_FILES", sandbox.path().join("no-driver.json"));
    let mut shell = Shell::spawn(command);
    let status = shell.ok("call apps/game status");
    assert!(status["view"].as_str().is_some_and(|v| v.contains("no GPU adapter")), "{status}");
    let ticks = shell.ok("call apps/game pause")["ticks"].as_u64().expect("ticks");
    assert_eq!(shell.ok("call apps/game step")["ticks"], json!(ticks + 1), "the game still ticks");
    let error = shell.err("capture");
    assert!(error.contains("no GPU adapter"), "{error}");
    assert!(shell.quit());

    // No game at all.
    let sandbox = Sandbox::demo();
    let mut shell = sandbox.shell();
    let error = shell.err("capture");
    assert!(error.contains("no `apps/game` module is loaded"), "{error}");
    assert!(shell.quit());
}

/// The renderer's sources in the workspace copy, and what the live edits change there.
const RENDERER_GPU: &str = "modules/systems/renderer/src/gpu.rs";
const RENDERER_LIB: &str = "modules/systems/renderer/src/lib.rs";
const BACKGROUND: &str = "wgpu::Color { r: 0.06, g: 0.07, b: 0.10, a: 1.0 }";
const TEAL: &str = "wgpu::Color { r: 0.0, g: 0.5, b: 0.5, a: 1.0 }";
/// The end of the renderer's `initialize`, after it has taken its GPU resources back.
const END_OF_INITIALIZE: &str = "        self.refresh_shader();\n        Ok(())";
const PANIC_AT_THE_END: &str = "        self.refresh_shader();\n        if self.host.is_some() {\n            \
     panic!(\"a renderer that panics in initialize\");\n        }\n        Ok(())";
const BUILD: Duration = Duration::from_secs(300);

/// The GPU figures a reload must leave as they were: what was made and uploaded, what is
/// kept, and what the device holds.
fn gpu_figures(shell: &mut Shell) -> Value {
    let stats = stats(shell);
    json!([stats["made"], stats["uploaded"], stats["kept"], stats["alive"], stats["adapter"]])
}

fn renderer_generation(shell: &mut Shell) -> u64 {
    let modules = shell.ok("modules");
    let renderer = modules.as_array().and_then(|all| all.iter().find(|m| m["id"] == "systems/renderer"));
    renderer.and_then(|m| m["generation"].as_u64()).expect("the renderer runs")
}

#[test]
fn a_saved_change_to_the_renderers_code_swaps_it_and_a_panicking_one_rolls_back_with_its_gpu_resources() {
    let live = LiveWorkspace::prepare();
    let mut shell = live.engine_shell();
    shell.ok("call apps/game pause");
    let shots = live.root.join("target/engine-live-view.png");
    let lone = lone_entities(&mut shell);
    assert!(!lone.is_empty(), "the demo world has entities to look at");
    let before = capture(&mut shell, &shots);
    assert_eq!(before.pixel(2, 2), [15, 18, 26], "the background");
    let figures = gpu_figures(&mut shell);

    // The renderer's Rust code, saved with a new background: built, swapped, drawn.
    live.edit(RENDERER_GPU, BACKGROUND, TEAL);
    let events = shell.wait_for("reloaded", BUILD);
    let record = &events.last().expect("reloaded")["record"];
    assert_eq!(record["outcome"]["kind"], "swapped", "{record}");
    assert!(record["modules"].as_array().is_some_and(|m| m.contains(&json!("systems/renderer"))), "{record}");
    // Read before the next draw: a draw uploads that frame's sprites, a reload nothing.
    assert_eq!(gpu_figures(&mut shell), figures, "nothing made or uploaded again, nothing more alive");
    let teal = capture(&mut shell, &shots);
    assert!(close(teal.pixel(2, 2), [0.0, 0.5, 0.5]), "the new code draws: {:?}", teal.pixel(2, 2));
    for (id, x, y) in &lone {
        let expected = PALETTE[*id as usize % PALETTE.len()];
        assert!(close(teal.at_world(*x, *y), expected), "entity {id} is still drawn at ({x}, {y})");
    }

    // A build whose `initialize` panics after taking the resources back: rolled back, and
    // the old generation takes them again, drawing the same pixels.
    let generation = renderer_generation(&mut shell);
    let figures = gpu_figures(&mut shell);
    live.edit(RENDERER_LIB, END_OF_INITIALIZE, PANIC_AT_THE_END);
    let events = shell.wait_for("reloaded", BUILD);
    let record = &events.last().expect("reloaded")["record"];
    assert_eq!(record["outcome"]["kind"], "rolled_back", "{record}");
    let why = record["outcome"]["detail"].as_str().unwrap_or_default();
    assert!(why.contains("a renderer that panics in initialize"), "{why}");
    assert_eq!(gpu_figures(&mut shell), figures, "the rollback made and uploaded nothing");
    assert_eq!(capture(&mut shell, &shots).rgba, teal.rgba, "the old renderer draws as before");
    assert_eq!(renderer_generation(&mut shell), generation, "the old generation runs");
    assert!(shell.quit());
}
