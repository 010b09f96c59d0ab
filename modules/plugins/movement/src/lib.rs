//! Moves every entity by its velocity each tick, through the typed `core/ecs` contract.

use core_ecs::{Transform, World};
use playground_api::serde::{Deserialize, Serialize};
use playground_api::{Context, Module, Service, codec};

/// What survives a reload.
#[derive(Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
struct Stats {
    ticks: u64,
    /// Total distance moved by all entities, in world units.
    distance: f64,
}

#[derive(Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct Config {
    arena: f32,
}

impl Default for Config {
    fn default() -> Self {
        Config { arena: 100.0 }
    }
}

#[derive(Default)]
struct Movement {
    stats: Stats,
    world: Option<Service<dyn World>>,
    integrate: bool,
    /// A dependent calls `step` on its own clock; `tick` does nothing.
    driven: bool,
    wrap: Option<f32>,
}

impl Movement {
    fn step(&mut self, dt: f32) -> Result<usize, String> {
        let world = self.world.as_ref().ok_or("movement is not initialized")?;
        if !self.integrate {
            return Ok(0);
        }
        let wrap = self.wrap;
        let mut moved = 0;
        let mut distance = 0.0;
        world.with(|w| {
            w.for_each_mut(&mut |_, t: &mut Transform| {
                let delta = t.velocity * dt;
                t.position += delta;
                if let Some(arena) = wrap {
                    t.position.x = t.position.x.rem_euclid(arena);
                    t.position.y = t.position.y.rem_euclid(arena);
                }
                distance += f64::from(delta.length());
                moved += 1;
            });
        })?;
        self.stats.ticks += 1;
        self.stats.distance += distance;
        Ok(moved)
    }
}

impl Module for Movement {
    fn create() -> Self {
        Movement::default()
    }

    fn initialize(&mut self, ctx: &Context) -> Result<(), String> {
        let config: Config = ctx.config()?;
        self.world = Some(ctx.service::<dyn World>()?);
        self.integrate = ctx.feature("integrate");
        self.driven = ctx.feature("driven");
        self.wrap = ctx.feature("wrap").then_some(config.arena);
        Ok(())
    }

    fn tick(&mut self, dt: f32) {
        if self.driven {
            return;
        }
        if let Err(e) = self.step(dt) {
            playground_api::tracing::warn!("movement: {e}");
        }
    }

    fn call(&mut self, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        match method {
            // f32 seconds -> number of entities moved
            "step" => {
                let dt: f32 = codec::decode(args)?;
                codec::encode(&self.step(dt)?)
            }
            "ticks" => codec::encode(&self.stats.ticks),
            "distance" => codec::encode(&self.stats.distance),
            other => Err(playground_api::module::unknown_method(other)),
        }
    }

    playground_api::persist!(stats);
}

playground_api::export_module!(Movement);
