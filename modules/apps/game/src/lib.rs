//! The demo game: the player (WASD or the arrows while the view has focus, Space to strike)
//! against enemies that chase it, on a steady clock while it plays; movement moves everyone,
//! combat keeps health, defeats, comebacks and the score. It draws the world through the
//! `core/rendering` contract in a resizable panel of the window with Play, Pause and Step.
//! Headless it ticks without drawing, takes its input from calls (`input`, `attack`), and a
//! capture draws once and reads the pixels back.

mod play;
mod view;

use core_combat::{EntityId, Fighter};
use core_ecs::{Transform, Vec2, World};
use core_rendering::Renderer;
use playground_api::serde::{Deserialize, Serialize};
use playground_api::{Context, Module, Service, codec, egui};

use crate::play::{Links, Speeds, Status};

/// What survives a reload: whether it plays, how far it got, and who the player is.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct Play {
    playing: bool,
    ticks: u64,
    player: Option<EntityId>,
}

#[derive(Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct Config {
    entities: u32,
    rate: u32,
    play_on_start: bool,
    #[serde(flatten)]
    speeds: Speeds,
}

impl Default for Config {
    fn default() -> Self {
        Config { entities: 40, rate: 60, play_on_start: true, speeds: Speeds::default() }
    }
}

struct Game {
    play: Play,
    links: Option<Links>,
    renderer: Option<Service<dyn Renderer>>,
    speeds: Speeds,
    /// Whether this generation has made sure the player exists and everyone fights (after
    /// `restore_state`, which says who the player is).
    joined: bool,
    /// Where the player is steered: by the keys while the view has focus, and by `input`
    /// calls (a script, a test, a remote player).
    keys: Vec2,
    commanded: Vec2,
    /// A strike asked for since the last tick.
    strike: bool,
    /// The fighters as of the last tick, for drawing.
    fighters: Vec<Fighter>,
    /// Seconds per tick, and time not yet stepped.
    step: f32,
    pending: f32,
    view: view::View,
}

impl Game {
    fn links(&self) -> Result<&Links, String> {
        self.links.as_ref().ok_or_else(|| "the game is not initialized".to_owned())
    }

    /// The player, made and everyone joined to the fight on first need in a generation.
    fn player(&mut self) -> Result<EntityId, String> {
        if !self.joined || self.play.player.is_none() {
            let player = self.links()?.join_everyone(self.play.player)?;
            self.play.player = Some(player);
            self.joined = true;
            self.fighters = self.links()?.fighters()?;
        }
        self.play.player.ok_or_else(|| "the game has no player".to_owned())
    }

    /// One tick of the game.
    fn tick_once(&mut self) -> Result<(), String> {
        let player = self.player()?;
        if std::mem::take(&mut self.strike) {
            self.links()?.attack(player)?;
        }
        let input = play::clamp(self.keys + self.commanded);
        let (_, fighters) = self.links()?.tick(self.speeds, player, input, self.step)?;
        self.fighters = fighters;
        self.play.ticks += 1;
        self.view.dirty = true;
        Ok(())
    }

    fn status(&mut self) -> Status {
        let player = self.player().ok();
        let links = self.links.as_ref();
        let entities = links.and_then(|l| l.world.with(|w| w.len()).ok()).unwrap_or(0);
        let health = self.fighters.iter().find(|f| Some(f.id) == player).map(|f| f.health);
        let score = links.and_then(|l| l.score().ok()).unwrap_or_default();
        let view = match &self.renderer {
            Some(renderer) => renderer.with(|r| r.unavailable()).unwrap_or_else(|busy| Some(busy.to_string())),
            None => Some("no renderer".to_owned()),
        };
        Status { playing: self.play.playing, ticks: self.play.ticks, entities, player, health, score, view }
    }

    /// Draws the world once and reads the view back as PNG.
    fn capture(&mut self) -> Result<Vec<u8>, String> {
        let player = self.player()?;
        let renderer = self.renderer.as_ref().ok_or("no renderer runs: the game has nothing to draw with")?;
        view::draw(&self.links()?.world, renderer, &self.fighters, player)?;
        renderer.with(|r| r.capture_png())?
    }
}

impl Module for Game {
    fn create() -> Self {
        Game {
            play: Play::default(),
            links: None,
            renderer: None,
            speeds: Speeds::default(),
            joined: false,
            keys: Vec2::ZERO,
            commanded: Vec2::ZERO,
            strike: false,
            fighters: Vec::new(),
            step: 1.0 / 60.0,
            pending: 0.0,
            view: view::View::default(),
        }
    }

    fn initialize(&mut self, ctx: &Context) -> Result<(), String> {
        let config: Config = ctx.config()?;
        self.step = 1.0 / config.rate.max(1) as f32;
        self.speeds = config.speeds;
        // A fresh start plays; after a reload the saved state says (restore comes next).
        self.play.playing = config.play_on_start;
        let world = ctx.service::<dyn World>()?;
        // A world smaller than the game wants is filled up with enemies; a reload finds it
        // full. On an empty world the player comes first, in the middle.
        world.with(|w| {
            if w.is_empty() {
                self.play.player = Some(w.spawn(Transform { position: play::START, velocity: Vec2::ZERO }));
            }
            for i in w.len()..config.entities as usize {
                let k = i as f32;
                let position = Vec2::new((k * 37.0) % 100.0, (k * 61.0) % 100.0);
                let velocity = Vec2::new((k * 1.7).sin() * 12.0, (k * 2.3).cos() * 12.0);
                w.spawn(Transform { position, velocity });
            }
        })?;
        let host = ctx.host();
        self.view.alone = !host.modules().iter().any(|m| m.id == "apps/editor");
        self.links =
            Some(Links { world, movement: host.callee("plugins/movement")?, combat: host.callee("plugins/combat")? });
        self.renderer = Some(ctx.service::<dyn Renderer>()?);
        Ok(())
    }

    fn tick(&mut self, dt: f32) {
        if !self.play.playing {
            return;
        }
        self.pending += dt;
        // At most a few ticks to catch up after a stall: a slow frame does not snowball.
        let mut steps = 0;
        while self.pending >= self.step && steps < 5 {
            self.pending -= self.step;
            steps += 1;
            if let Err(e) = self.tick_once() {
                playground_api::tracing::warn!("the game could not tick: {e}");
                self.play.playing = false;
                return;
            }
        }
        if steps == 5 {
            self.pending = 0.0;
        }
    }

    fn call(&mut self, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        match method {
            "play" => self.play.playing = true,
            "pause" => self.play.playing = false,
            "step" => {
                self.play.playing = false;
                self.tick_once()?;
            }
            // Vec2, each axis in -1..=1 -> status: where the player is steered from now on.
            "input" => self.commanded = play::clamp(codec::decode(args)?),
            // nothing -> the entities the player's blow hit, at once.
            "attack" => {
                let player = self.player()?;
                let hit = self.links()?.attack(player)?;
                self.fighters = self.links()?.fighters()?;
                self.view.dirty = true;
                return codec::encode(&hit);
            }
            "status" => {}
            // nothing -> PNG bytes of the world as the view shows it
            "capture" => return codec::encode(&self.capture()?),
            other => return Err(playground_api::module::unknown_method(other)),
        }
        codec::encode(&self.status())
    }

    fn save_state(&self) -> Result<Vec<u8>, String> {
        codec::encode(&self.play)
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.play = codec::decode(bytes)?;
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui) {
        let Ok(player) = self.player() else { return };
        let (Some(links), Some(renderer)) = (self.links.as_ref(), self.renderer.clone()) else { return };
        let score = links.score().unwrap_or_default();
        let world = links.world.clone();
        let header = view::Header { play: &self.play_summary(), score, fighters: &self.fighters, player };
        let (action, keys) = self.view.show(ui, &world, &renderer, &header, self.step);
        self.keys = keys.direction;
        self.strike |= keys.strike;
        match action {
            Some(view::Action::Play) => self.play.playing = true,
            Some(view::Action::Pause) => self.play.playing = false,
            Some(view::Action::Step) => {
                self.play.playing = false;
                if let Err(e) = self.tick_once() {
                    self.view.error = Some(e);
                }
            }
            None => {}
        }
    }
}

impl Game {
    fn play_summary(&self) -> view::PlaySummary {
        view::PlaySummary { playing: self.play.playing, ticks: self.play.ticks }
    }
}

playground_api::export_module!(Game);
