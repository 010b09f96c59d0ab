//! The demo game: steps the world on a steady clock while it plays (movement through its
//! `step` call), draws the world through the `core/rendering` contract, and shows the view in
//! a resizable panel of the window with Play, Pause and Step. Headless it ticks without
//! drawing; a capture draws once and reads the pixels back.

mod view;

use std::rc::Rc;

use core_ecs::{Transform, Vec2, World};
use core_rendering::Renderer;
use playground_api::host::Callee;
use playground_api::serde::{Deserialize, Serialize};
use playground_api::{Context, Module, Service, codec, egui};

/// What survives a reload: whether it plays, and how far it got.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct Play {
    playing: bool,
    ticks: u64,
}

#[derive(Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct Config {
    entities: u32,
    rate: u32,
    play_on_start: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config { entities: 40, rate: 60, play_on_start: true }
    }
}

/// The game's status, for the line protocol, MCP and tests.
#[derive(Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
struct Status {
    playing: bool,
    ticks: u64,
    entities: usize,
    /// Why nothing can be drawn, if so.
    view: Option<String>,
}

struct Game {
    play: Play,
    world: Option<Service<dyn World>>,
    renderer: Option<Service<dyn Renderer>>,
    movement: Option<Rc<dyn Callee>>,
    /// Seconds per tick, and time not yet stepped.
    step: f32,
    pending: f32,
    view: view::View,
}

impl Game {
    fn world(&self) -> Result<&Service<dyn World>, String> {
        self.world.as_ref().ok_or_else(|| "the game is not initialized".to_owned())
    }

    /// One tick of the game: movement moves the world by one step.
    fn tick_once(&mut self) -> Result<(), String> {
        let movement = self.movement.as_ref().ok_or("the game is not initialized")?;
        movement.call("step", &codec::encode(&self.step)?)?;
        self.play.ticks += 1;
        self.view.dirty = true;
        Ok(())
    }

    fn status(&self) -> Status {
        let entities = self.world().ok().and_then(|w| w.with(|w| w.len()).ok()).unwrap_or(0);
        let view = match &self.renderer {
            Some(renderer) => renderer.with(|r| r.unavailable()).unwrap_or_else(|busy| Some(busy.to_string())),
            None => Some("no renderer".to_owned()),
        };
        Status { playing: self.play.playing, ticks: self.play.ticks, entities, view }
    }

    /// Draws the world once and reads the view back as PNG.
    fn capture(&mut self) -> Result<Vec<u8>, String> {
        let renderer = self.renderer.as_ref().ok_or("no renderer runs: the game has nothing to draw with")?;
        let world = self.world()?;
        view::draw(world, renderer)?;
        renderer.with(|r| r.capture_png())?
    }
}

impl Module for Game {
    fn create() -> Self {
        Game {
            play: Play::default(),
            world: None,
            renderer: None,
            movement: None,
            step: 1.0 / 60.0,
            pending: 0.0,
            view: view::View::default(),
        }
    }

    fn initialize(&mut self, ctx: &Context) -> Result<(), String> {
        let config: Config = ctx.config()?;
        self.step = 1.0 / config.rate.max(1) as f32;
        // A fresh start plays; after a reload the saved state says (restore comes next).
        self.play.playing = config.play_on_start;
        let world = ctx.service::<dyn World>()?;
        // A world smaller than the game wants is filled up; a reload finds it full.
        world.with(|w| {
            for i in w.len()..config.entities as usize {
                let k = i as f32;
                let position = Vec2::new((k * 37.0) % 100.0, (k * 61.0) % 100.0);
                let velocity = Vec2::new((k * 1.7).sin() * 12.0, (k * 2.3).cos() * 12.0);
                w.spawn(Transform { position, velocity });
            }
        })?;
        self.world = Some(world);
        self.renderer = Some(ctx.service::<dyn Renderer>()?);
        self.movement = Some(ctx.host().callee("plugins/movement")?);
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
        let _ = args;
        match method {
            "play" => {
                self.play.playing = true;
                codec::encode(&self.status())
            }
            "pause" => {
                self.play.playing = false;
                codec::encode(&self.status())
            }
            "step" => {
                self.play.playing = false;
                self.tick_once()?;
                codec::encode(&self.status())
            }
            "status" => codec::encode(&self.status()),
            // nothing -> PNG bytes of the world as the view shows it
            "capture" => codec::encode(&self.capture()?),
            other => Err(playground_api::module::unknown_method(other)),
        }
    }

    fn save_state(&self) -> Result<Vec<u8>, String> {
        codec::encode(&self.play)
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.play = codec::decode(bytes)?;
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui) {
        let (Some(world), Some(renderer)) = (self.world.clone(), self.renderer.clone()) else { return };
        let action = self.view.show(ui, &world, &renderer, &self.play, self.step);
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

playground_api::export_module!(Game);
