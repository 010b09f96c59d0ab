//! The renderer: draws sprites and debug lines with wgpu on the shell's GPU into a view
//! texture the game shows, and implements `core/rendering`.
//!
//! Everything it makes on the GPU is kept by the host across its reloads (`gpu.rs`), and its
//! shader is a file it watches (`shader.rs`): a save swaps the pipeline without a Rust
//! build, and a shader that does not compile leaves the last good pipeline drawing while
//! the error shows where build errors show.

mod gpu;
mod shader;

use std::rc::Rc;

use core_rendering::{Camera, Image, Line, RenderStats, Renderer, Sprite, methods};
use playground_api::gpu::Gpu;
use playground_api::serde::{Deserialize, Serialize};
use playground_api::{Context, Host, Module, codec, egui, tracing};

use crate::gpu::{Fixed, Pipelines, Target};
use crate::shader::{Change, Watched};

/// What survives a reload as bytes: the camera and the view's size. The GPU resources
/// survive through the host (see `gpu.rs`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct Settings {
    camera: Camera,
    size: (u32, u32),
    frames: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { camera: Camera::default(), size: (640, 400), frames: 0 }
    }
}

#[derive(Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct Config {
    shader: String,
    width: u32,
    height: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config { shader: "../assets/shaders/sprite.wgsl".to_owned(), width: 640, height: 400 }
    }
}

/// The GPU side, once there is a GPU.
struct Drawing {
    gpu: Gpu,
    fixed: Fixed,
    /// The pipelines drawing now (the last good shader's), and their key.
    pipelines: Option<(Pipelines, u64)>,
    target: Target,
}

struct SystemRenderer {
    settings: Settings,
    host: Option<Rc<dyn Host>>,
    /// Why there is no GPU, when there is none.
    drawing: Result<Drawing, String>,
    shader: Option<Watched>,
    /// The last shader problem, also reported to the host.
    shader_error: Option<String>,
}

impl SystemRenderer {
    /// Looks at the shader file and, when its text changed, checks it and makes new
    /// pipelines; a problem keeps the pipelines drawing and is reported with its place.
    fn refresh_shader(&mut self) {
        let (Some(watched), Ok(drawing)) = (self.shader.as_mut(), self.drawing.as_mut()) else { return };
        let problem = match watched.look() {
            Change::None => return,
            Change::Gone(why) => {
                Some(shader::diagnostic(&watched.name, &format!("{why}; the last good shader keeps drawing"), None))
            }
            Change::Text(text) => match shader::check(&watched.name, text) {
                Err(diagnostic) => Some(diagnostic),
                Ok(checked)
                    if drawing.pipelines.as_ref().is_some_and(|(_, key)| *key == gpu::pipeline_key(checked.key)) =>
                {
                    None
                }
                Ok(checked) => match gpu::make_pipelines(&drawing.gpu, &drawing.fixed, &checked) {
                    Ok(pipelines) => {
                        tracing::info!("{}: new pipelines", watched.name);
                        drawing.pipelines = Some((pipelines, gpu::pipeline_key(checked.key)));
                        None
                    }
                    Err(e) => Some(shader::diagnostic(&watched.name, &format!("the pipeline was refused: {e}"), None)),
                },
            },
        };
        self.shader_error =
            problem.as_ref().map(|d| format!("{}:{}:{}: {}", watched.name, d.line, d.column, d.message));
        if let Some(d) = &problem {
            tracing::warn!("{}", d.rendered);
        }
        if let Some(host) = &self.host {
            host.report_problems(problem.into_iter().collect());
        }
    }

    fn drawing(&mut self) -> Result<&mut Drawing, String> {
        self.drawing.as_mut().map_err(|why| why.clone())
    }
}

impl Renderer for SystemRenderer {
    fn set_view_size(&mut self, width: u32, height: u32) {
        self.settings.size = (width.max(1), height.max(1));
    }

    fn view_size(&self) -> (u32, u32) {
        self.settings.size
    }

    fn set_camera(&mut self, camera: Camera) {
        self.settings.camera = camera;
    }

    fn camera(&self) -> Camera {
        self.settings.camera
    }

    fn draw(&mut self, sprites: &[Sprite], lines: &[Line]) -> Result<(), String> {
        self.refresh_shader();
        let (size, camera) = (self.settings.size, self.settings.camera);
        let drawing = self.drawing()?;
        if drawing.target.size != size {
            drawing.target = gpu::target(&drawing.gpu, size);
        }
        gpu::draw(
            &drawing.gpu,
            &drawing.fixed,
            drawing.pipelines.as_ref().map(|(p, _)| p),
            &drawing.target,
            camera,
            (sprites, lines),
        );
        self.settings.frames += 1;
        Ok(())
    }

    fn texture(&mut self) -> Result<egui::TextureId, String> {
        let drawing = self.drawing()?;
        drawing.gpu.show_texture("view", &drawing.target.view)
    }

    fn capture(&mut self) -> Result<Image, String> {
        let drawing = self.drawing()?;
        gpu::read(&drawing.gpu, &drawing.target)
    }

    fn capture_png(&mut self) -> Result<Vec<u8>, String> {
        png(&self.capture()?)
    }

    fn unavailable(&self) -> Option<String> {
        self.drawing.as_ref().err().cloned()
    }

    fn stats(&self) -> RenderStats {
        let mut stats = RenderStats {
            frames: self.settings.frames,
            shader: self.shader.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
            shader_error: self.shader_error.clone(),
            ..RenderStats::default()
        };
        match &self.drawing {
            Ok(drawing) => {
                let counts = drawing.gpu.counts();
                let hal = drawing.gpu.device().get_internal_counters().hal;
                stats.adapter = drawing.gpu.adapter();
                stats.kept = counts.kept;
                stats.made = counts.made;
                stats.uploaded = counts.uploaded;
                stats.alive =
                    [hal.buffers.read(), hal.textures.read(), hal.render_pipelines.read(), hal.bind_groups.read()];
            }
            Err(why) => stats.adapter = why.clone(),
        }
        stats
    }
}

/// Encodes an image as PNG.
fn png(image: &Image) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, image.width, image.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| format!("cannot encode the capture: {e}"))?;
    writer.write_image_data(&image.rgba).map_err(|e| format!("cannot encode the capture: {e}"))?;
    writer.finish().map_err(|e| format!("cannot encode the capture: {e}"))?;
    Ok(bytes)
}

impl Module for SystemRenderer {
    fn create() -> Self {
        SystemRenderer {
            settings: Settings::default(),
            host: None,
            drawing: Err("the renderer has not started".to_owned()),
            shader: None,
            shader_error: None,
        }
    }

    fn initialize(&mut self, ctx: &Context) -> Result<(), String> {
        let config: Config = ctx.config()?;
        self.settings.size = (config.width, config.height);
        let host = ctx.host();
        if let Some(root) = host.modules_root() {
            self.shader = Some(Watched::new(root.join(&config.shader), config.shader.clone()));
        }
        self.host = Some(host);
        // Everything the last generation made is taken back here, before the host releases
        // what this one does not ask for (right after it starts).
        self.drawing = ctx.gpu().map(|gpu| {
            let fixed = gpu::fixed(&gpu);
            let pipelines = gpu::kept_pipelines(&gpu);
            let target = gpu::target(&gpu, self.settings.size);
            gpu::take_vertices(&gpu);
            Drawing { gpu, fixed, pipelines, target }
        });
        if let Err(why) = &self.drawing {
            tracing::warn!("the renderer cannot draw: {why}");
        }
        self.refresh_shader();
        Ok(())
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.settings = codec::decode(bytes)?;
        // The view of the restored size, taken back before the host sweeps.
        let size = self.settings.size;
        if let Ok(drawing) = &mut self.drawing
            && drawing.target.size != size
        {
            drawing.target = gpu::target(&drawing.gpu, size);
        }
        Ok(())
    }

    fn save_state(&self) -> Result<Vec<u8>, String> {
        codec::encode(&self.settings)
    }

    fn tick(&mut self, _dt: f32) {
        self.refresh_shader();
    }

    fn call(&mut self, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        let _ = args;
        match method {
            methods::STATS => codec::encode(&self.stats()),
            methods::CAPTURE_PNG => codec::encode(&self.capture_png()?),
            other => Err(playground_api::module::unknown_method(other)),
        }
    }
}

playground_api::export_module!(SystemRenderer, services = [dyn Renderer]);
