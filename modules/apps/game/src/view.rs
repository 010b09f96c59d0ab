//! The game's view: the world as sprites with health bars, and the panel that shows it with
//! Play, Pause, Step and the score. It draws only when something changed (a tick, a resize, a
//! reload), so a paused game costs nothing while the window idles. Clicking the view gives it
//! the keyboard: WASD or the arrows steer the player, Space strikes.

use core_combat::{Fighter, Score};
use core_ecs::{EntityId, Transform, World};
use core_net::{NetStatus, Role};
use core_rendering::{Camera, Color, Line, Renderer, Shape, Sprite, Vec2};
use playground_api::{Service, egui};

/// Whether the game plays, and how far it got.
pub(crate) struct PlaySummary {
    pub(crate) playing: bool,
    pub(crate) ticks: u64,
}

/// What the panel's header and the drawing need to know of the game.
pub(crate) struct Header<'a> {
    pub(crate) play: &'a PlaySummary,
    pub(crate) score: Score,
    pub(crate) fighters: &'a [Fighter],
    pub(crate) player: EntityId,
    pub(crate) net: &'a NetStatus,
}

/// The keys held on the view while it has focus.
#[derive(Default)]
pub(crate) struct Keys {
    /// Where the player is steered, each axis in -1..=1 (y up, as the world's).
    pub(crate) direction: Vec2,
    /// Space was pressed.
    pub(crate) strike: bool,
}

/// What the user asked for in the panel.
pub(crate) enum Action {
    Play,
    Pause,
    Step,
    /// Host a game at this address, join the one there, or leave the game.
    Host(String),
    Join(String),
    Leave,
}

/// The panel's own state; none of it needs to survive a reload (egui keeps the panel's width).
pub(crate) struct View {
    /// Something changed since the last draw.
    pub(crate) dirty: bool,
    pub(crate) error: Option<String>,
    /// No editor runs beside the game: it takes the whole window.
    pub(crate) alone: bool,
    /// The address the network row hosts at or joins.
    pub(crate) address: String,
}

impl Default for View {
    fn default() -> Self {
        View { dirty: true, error: None, alone: false, address: "127.0.0.1:7777".to_owned() }
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

/// The size of an entity's sprite, and of the player's, in world units.
pub(crate) const SPRITE_SIZE: f32 = 4.0;
const PLAYER_SIZE: f32 = 6.0;

/// The world as sprites (the fighters that are out are not drawn), a health bar over each
/// hurt fighter, and the arena's border, as lines.
fn sprites(
    world: &Service<dyn World>,
    fighters: &[Fighter],
    player: EntityId,
) -> Result<(Vec<Sprite>, Vec<Line>), String> {
    let mut sprites = Vec::new();
    let mut lines = Vec::new();
    let (red, green) = (Color::rgb(0.85, 0.2, 0.2), Color::rgb(0.3, 0.9, 0.3));
    world.with(|w| {
        w.for_each_mut(&mut |id, t: &mut Transform| {
            let fighter = core_combat::find(fighters, id);
            if fighter.is_some_and(|f| !f.alive()) {
                return;
            }
            let (size, color, shape) = if id == player {
                (PLAYER_SIZE, Color::rgb(1.0, 1.0, 1.0), Shape::Disc)
            } else {
                (SPRITE_SIZE, color_of(id), if id.0 % 2 == 0 { Shape::Disc } else { Shape::Square })
            };
            sprites.push(Sprite { position: t.position, size: Vec2::new(size, size), color, shape });
            if let Some(f) = fighter.filter(|f| f.health < f.max_health) {
                let left = t.position + Vec2::new(-size / 2.0, size / 2.0 + 1.5);
                let full = left + Vec2::new(size, 0.0);
                let part = left + Vec2::new(size * (f.health / f.max_health).clamp(0.0, 1.0), 0.0);
                lines.push(Line { from: left, to: full, color: red });
                lines.push(Line { from: left, to: part, color: green });
            }
        });
    })?;
    let grey = Color { r: 0.5, g: 0.5, b: 0.55, a: 1.0 };
    let corners = [Vec2::new(0.0, 0.0), Vec2::new(100.0, 0.0), Vec2::new(100.0, 100.0), Vec2::new(0.0, 100.0)];
    lines.extend((0..4).map(|i| Line { from: corners[i], to: corners[(i + 1) % 4], color: grey }));
    Ok((sprites, lines))
}

/// Draws the world into the renderer's view.
pub(crate) fn draw(
    world: &Service<dyn World>,
    renderer: &Service<dyn Renderer>,
    fighters: &[Fighter],
    player: EntityId,
) -> Result<(), String> {
    let (sprites, lines) = sprites(world, fighters, player)?;
    renderer.with(|r| r.draw(&sprites, &lines))?
}

impl View {
    /// The panel, beside the editor's graph; its width is the user's and egui keeps it.
    pub(crate) fn show(
        &mut self,
        ui: &mut egui::Ui,
        world: &Service<dyn World>,
        renderer: &Service<dyn Renderer>,
        header: &Header<'_>,
        step: f32,
    ) -> (Option<Action>, Keys) {
        let mut action = None;
        let mut keys = Keys::default();
        let playing = header.play.playing;
        let alone = self.alone;
        let contents = |ui: &mut egui::Ui| {
            ui.horizontal(|ui| {
                ui.strong("Game");
                if playing {
                    if ui.button("⏸ Pause").clicked() {
                        action = Some(Action::Pause);
                    }
                } else if ui.button("▶ Play").clicked() {
                    action = Some(Action::Play);
                }
                if ui.button("Step").clicked() {
                    action = Some(Action::Step);
                }
                ui.label(format!("tick {}", header.play.ticks));
                ui.separator();
                ui.label(format!("score {}", header.score.defeated));
                ui.label(format!("deaths {}", header.score.deaths));
                if let Some(me) = core_combat::find(header.fighters, header.player) {
                    if me.alive() {
                        ui.label(format!("health {:.0}", me.health));
                    } else {
                        ui.colored_label(ui.visuals().warn_fg_color, format!("back in {:.1} s", me.respawn_in));
                    }
                }
            });
            if let Some(net) = self.network_row(ui, header.net) {
                action = Some(net);
            }
            if let Some(error) = &self.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
            keys = self.viewport(ui, world, renderer, header);
        };
        if alone {
            // Run as the only app (`--app game`): the whole window is the game's.
            egui::CentralPanel::default().show(ui, contents);
        } else {
            egui::Panel::right("game_view").resizable(true).default_size(460.0).min_size(220.0).show(ui, contents);
        }
        if playing {
            // The steady rate: a frame for every tick while it plays, none while paused.
            ui.ctx().request_repaint_after(std::time::Duration::from_secs_f32(step));
        }
        (action, keys)
    }

    /// Host or join a game over the network, or leave it.
    fn network_row(&mut self, ui: &mut egui::Ui, net: &NetStatus) -> Option<Action> {
        let mut action = None;
        ui.horizontal(|ui| match &net.role {
            Role::Offline => {
                ui.label("Network");
                ui.add(egui::TextEdit::singleline(&mut self.address).desired_width(130.0));
                if ui.button("Host").clicked() {
                    action = Some(Action::Host(self.address.clone()));
                }
                if ui.button("Join").clicked() {
                    action = Some(Action::Join(self.address.clone()));
                }
            }
            Role::Hosting(addr) => {
                ui.label(format!("Hosting at {addr}: {} playing", net.peers));
                let refused = &net.refused;
                let turned_away = refused.late_hello + refused.pending_full + refused.address_full + refused.game_full;
                if turned_away > 0 {
                    // A flood shows here, with why, and the caps that held it.
                    let limits = &net.limits;
                    ui.colored_label(ui.visuals().warn_fg_color, format!("{turned_away} turned away")).on_hover_text(
                        format!(
                            "no hello within {} ms: {}\ntoo many waiting (at most {}): {}\ntoo many waiting from one \
                             address (at most {}): {}\nthe game full (at most {} players): {}",
                            limits.hello_timeout_ms,
                            refused.late_hello,
                            limits.pending,
                            refused.pending_full,
                            limits.pending_per_address,
                            refused.address_full,
                            limits.players,
                            refused.game_full
                        ),
                    );
                }
                if ui.button("Stop hosting").clicked() {
                    action = Some(Action::Leave);
                }
            }
            Role::Joined(addr) => {
                ui.label(format!("Joined {addr}: the host plays, this view follows"));
                if ui.button("Leave").clicked() {
                    action = Some(Action::Leave);
                }
            }
        });
        action
    }

    fn viewport(
        &mut self,
        ui: &mut egui::Ui,
        world: &Service<dyn World>,
        renderer: &Service<dyn Renderer>,
        header: &Header<'_>,
    ) -> Keys {
        if let Ok(Some(why)) = renderer.with(|r| r.unavailable()) {
            ui.label(format!("The game view cannot be drawn: {why}"));
            return Keys::default();
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
        if self.dirty || header.play.playing || resized.unwrap_or(true) {
            match draw(world, renderer, header.fighters, header.player) {
                Ok(()) => {
                    self.dirty = false;
                    self.error = None;
                }
                Err(e) => self.error = Some(e),
            }
        }
        let texture = match renderer.with(|r| r.texture()) {
            Ok(Ok(texture)) => texture,
            Ok(Err(e)) => {
                ui.label(format!("The game view cannot be shown: {e}"));
                return Keys::default();
            }
            Err(busy) => {
                ui.label(format!("The game view cannot be shown: {busy}"));
                return Keys::default();
            }
        };
        let response = ui.add(egui::Image::new((texture, size)).sense(egui::Sense::click()));
        let response = response.on_hover_text("Click to play: WASD or the arrows move, Space strikes, Esc lets go");
        if response.clicked() {
            response.request_focus();
        }
        if !response.has_focus() {
            return Keys::default();
        }
        // The arrows are the player's while the view has focus, not egui's focus moves.
        let filter = egui::EventFilter { horizontal_arrows: true, vertical_arrows: true, ..Default::default() };
        ui.memory_mut(|m| m.set_focus_lock_filter(response.id, filter));
        ui.painter().rect_stroke(response.rect, 0.0, ui.visuals().selection.stroke, egui::StrokeKind::Inside);
        ui.input(|i| {
            let held = |keys: [egui::Key; 2]| keys.iter().any(|k| i.key_down(*k));
            let axis = |minus: bool, plus: bool| f32::from(u8::from(plus)) - f32::from(u8::from(minus));
            if i.key_pressed(egui::Key::Escape) {
                return Keys::default();
            }
            Keys {
                direction: Vec2::new(
                    axis(held([egui::Key::A, egui::Key::ArrowLeft]), held([egui::Key::D, egui::Key::ArrowRight])),
                    axis(held([egui::Key::S, egui::Key::ArrowDown]), held([egui::Key::W, egui::Key::ArrowUp])),
                ),
                strike: i.key_pressed(egui::Key::Space),
            }
        })
    }
}
