//! The rendering contract: what a renderer offers its users. A camera over the world, sprites
//! (coloured squares and discs) and debug lines drawn into a view of a given size, the view
//! shown in egui or read back as pixels.
//!
//! Dependents reach the renderer through `ctx.service::<dyn Renderer>()`; the shell and MCP
//! reach it through the generic calls named in [`methods`].

pub use core_types::Vec2;
use playground_api::egui;
use playground_api::serde::{Deserialize, Serialize};

/// A colour, linear RGBA in 0..=1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub struct Color {
    pub r: f32,
    pub g: f32,
    pub b: f32,
    pub a: f32,
}

impl Color {
    pub const fn rgb(r: f32, g: f32, b: f32) -> Color {
        Color { r, g, b, a: 1.0 }
    }
}

/// What part of the world the view shows: the world point at its centre, and how many world
/// units its height covers (the width follows the view's aspect).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub struct Camera {
    pub center: Vec2,
    pub height: f32,
}

impl Default for Camera {
    fn default() -> Self {
        Camera { center: Vec2::new(50.0, 50.0), height: 110.0 }
    }
}

/// The shape a sprite is cut to, from the renderer's atlas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub enum Shape {
    #[default]
    Square,
    Disc,
}

/// One thing to draw: a shape of `size` world units centred on `position`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub struct Sprite {
    pub position: Vec2,
    pub size: Vec2,
    pub color: Color,
    pub shape: Shape,
}

/// A debug line in world units, drawn over the sprites.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub struct Line {
    pub from: Vec2,
    pub to: Vec2,
    pub color: Color,
}

/// Pixels read back from the view: RGBA, 8 bits a channel, rows top to bottom.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl Image {
    /// The pixel at `(x, y)`, if inside.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let at = ((y * self.width + x) * 4) as usize;
        let p = self.rgba.get(at..at + 4)?;
        Some([p[0], p[1], p[2], p[3]])
    }
}

/// What the renderer holds on the GPU and what it cost, for the editor and the benches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub struct RenderStats {
    /// The adapter, or why there is none.
    pub adapter: String,
    /// Resources the host keeps for the renderer across its reloads.
    pub kept: usize,
    /// Resources made anew since the process started (a reload that takes everything back
    /// adds none).
    pub made: u64,
    /// Bytes written to the GPU since the process started.
    pub uploaded: u64,
    /// GPU resources alive on the device, from wgpu's own counters: buffers, textures,
    /// render pipelines, bind groups.
    pub alive: [isize; 4],
    /// Frames drawn.
    pub frames: u64,
    /// The shader the pipeline was made from, and the error of the last one that failed.
    pub shader: String,
    pub shader_error: Option<String>,
}

/// A renderer drawing into a view of its own.
pub trait Renderer {
    /// Sets the view's size in pixels; the texture is remade on the next draw when it changed.
    fn set_view_size(&mut self, width: u32, height: u32);
    /// The view's size in pixels.
    fn view_size(&self) -> (u32, u32);
    fn set_camera(&mut self, camera: Camera);
    fn camera(&self) -> Camera;
    /// Draws the sprites, then the lines, into the view.
    fn draw(&mut self, sprites: &[Sprite], lines: &[Line]) -> Result<(), String>;
    /// The view, to show with `egui::Image` (in a window only).
    fn texture(&mut self) -> Result<egui::TextureId, String>;
    /// The view's pixels as the last draw left them.
    fn capture(&mut self) -> Result<Image, String>;
    /// The same, encoded as PNG.
    fn capture_png(&mut self) -> Result<Vec<u8>, String>;
    /// Why the renderer cannot draw (no GPU adapter), if it cannot.
    fn unavailable(&self) -> Option<String>;
    fn stats(&self) -> RenderStats;
}

playground_api::contract!(dyn Renderer, "core/rendering");

/// The generic-call methods of the module implementing this contract.
pub mod methods {
    /// nothing -> `RenderStats`
    pub const STATS: &str = "stats";
    /// nothing -> PNG bytes (`Vec<u8>`) of the view as the last draw left it
    pub const CAPTURE_PNG: &str = "capture_png";
}
