//! The game's view: the world as sprites, and the panel that shows it with Play, Pause and
//! Step. It draws only when something changed (a tick, a resize, a reload), so a paused game
//! costs nothing while the window idles.

use core_ecs::{EntityId, Transform, World};
use core_rendering::{Camera, Color, Line, Renderer, Shape, Sprite, Vec2};
use playground_api::{Service, egui};

use crate::Play;

/// What the user asked for in the panel.
pub(crate) enum Action {
    Play,
    Pause,
    Step,
}

/// The panel's own state; none of it needs to survive a reload (egui keeps the panel's width).
pub(crate) struct View {
    /// Something changed since the last draw.
    pub(crate) dirty: bool,
    pub(crate) error: Option<String>,
}

impl Default for View {
    fn default() -> Self {
        View { dirty: true, error: None }
    }
}

/// A colour for an entity, the same in every frame and every process.
pub(crate) fn color_of(id: EntityId) -> Color {
    const PALETTE: [Color; 6] = [
        Color::rgb(0.95, 0.35, 0.30),
        Color::rgb(0.30, 0.75, 0.95),
        Color::rgb(0.45, 0.90, 0.40),
        Color::rgb(0.98, 0.80, 0.25),
        Color::rgb(0.75, 0.45, 0.95),
        Color::rgb(0.95, 0.55, 0.80),
    ];
    PALETTE[id.0 as usize % PALETTE.len()]
}

/// How much of the world the view shows at least, across and down: the arena and a margin.
const ARENA_VIEW: f32 = 110.0;

/// The size of an entity's sprite, in world units.
pub(crate) const SPRITE_SIZE: f32 = 4.0;

/// The world as sprites, and the arena's border as lines.
fn sprites(world: &Service<dyn World>) -> Result<(Vec<Sprite>, Vec<Line>), String> {
    let mut sprites = Vec::new();
    world.with(|w| {
        w.for_each_mut(&mut |id, t: &mut Transform| {
            sprites.push(Sprite {
                position: t.position,
                size: Vec2::new(SPRITE_SIZE, SPRITE_SIZE),
                color: color_of(id),
                shape: if id.0 % 2 == 0 { Shape::Disc } else { Shape::Square },
            });
        });
    })?;
    let grey = Color { r: 0.5, g: 0.5, b: 0.55, a: 1.0 };
    let corners = [Vec2::new(0.0, 0.0), Vec2::new(100.0, 0.0), Vec2::new(100.0, 100.0), Vec2::new(0.0, 100.0)];
    let lines = (0..4).map(|i| Line { from: corners[i], to: corners[(i + 1) % 4], color: grey }).collect();
    Ok((sprites, lines))
}

/// Draws the world into the renderer's view.
pub(crate) fn draw(world: &Service<dyn World>, renderer: &Service<dyn Renderer>) -> Result<(), String> {
    let (sprites, lines) = sprites(world)?;
    renderer.with(|r| r.draw(&sprites, &lines))?
}

impl View {
    /// The panel, beside the editor's graph; its width is the user's and egui keeps it.
    pub(crate) fn show(
        &mut self,
        ui: &mut egui::Ui,
        world: &Service<dyn World>,
        renderer: &Service<dyn Renderer>,
        play: &Play,
        step: f32,
    ) -> Option<Action> {
        let mut action = None;
        egui::Panel::right("game_view").resizable(true).default_size(460.0).min_size(220.0).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong("Game");
                if play.playing {
                    if ui.button("⏸ Pause").clicked() {
                        action = Some(Action::Pause);
                    }
                } else if ui.button("▶ Play").clicked() {
                    action = Some(Action::Play);
                }
                if ui.button("Step").clicked() {
                    action = Some(Action::Step);
                }
                ui.label(format!("tick {}", play.ticks));
            });
            if let Some(error) = &self.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
            self.viewport(ui, world, renderer, play.playing);
        });
        if play.playing {
            // The steady rate: a frame for every tick while it plays, none while paused.
            ui.ctx().request_repaint_after(std::time::Duration::from_secs_f32(step));
        }
        action
    }

    fn viewport(
        &mut self,
        ui: &mut egui::Ui,
        world: &Service<dyn World>,
        renderer: &Service<dyn Renderer>,
        playing: bool,
    ) {
        if let Ok(Some(why)) = renderer.with(|r| r.unavailable()) {
            ui.label(format!("The game view cannot be drawn: {why}"));
            return;
        }
        let size = ui.available_size();
        let ppp = ui.ctx().pixels_per_point();
        let pixels = ((size.x * ppp).round().max(1.0) as u32, (size.y * ppp).round().max(1.0) as u32);
        let resized = renderer.with(|r| {
            let changed = r.view_size() != pixels;
            r.set_view_size(pixels.0, pixels.1);
            // The whole arena in view, whatever the panel's shape.
            let aspect = pixels.0 as f32 / pixels.1 as f32;
            r.set_camera(Camera { center: Vec2::new(50.0, 50.0), height: ARENA_VIEW.max(ARENA_VIEW / aspect) });
            changed
        });
        if self.dirty || playing || resized.unwrap_or(true) {
            match draw(world, renderer) {
                Ok(()) => {
                    self.dirty = false;
                    self.error = None;
                }
                Err(e) => self.error = Some(e),
            }
        }
        match renderer.with(|r| r.texture()) {
            Ok(Ok(texture)) => {
                ui.add(egui::Image::new((texture, size)).sense(egui::Sense::click()));
            }
            Ok(Err(e)) => {
                ui.label(format!("The game view cannot be shown: {e}"));
            }
            Err(busy) => {
                ui.label(format!("The game view cannot be shown: {busy}"));
            }
        }
    }
}
