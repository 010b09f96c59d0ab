//! The ECS system: owns the world of entities as its state and implements `core/ecs`.

use std::collections::BTreeMap;

use core_ecs::{EntityId, Transform, Vec2, World, methods};
use playground_api::serde::{Deserialize, Serialize};
use playground_api::{Context, Module, codec};

/// The world: every entity's transform, and the next id to hand out.
#[derive(Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
struct WorldState {
    next_id: u32,
    entities: BTreeMap<EntityId, Transform>,
}

#[derive(Default, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct Config {
    demo_entities: u32,
}

#[derive(Default)]
struct EcsSystem {
    world: WorldState,
}

impl World for EcsSystem {
    fn spawn(&mut self, transform: Transform) -> EntityId {
        let id = EntityId(self.world.next_id);
        self.world.next_id += 1;
        self.world.entities.insert(id, transform);
        id
    }

    fn despawn(&mut self, id: EntityId) -> bool {
        self.world.entities.remove(&id).is_some()
    }

    fn get(&self, id: EntityId) -> Option<Transform> {
        self.world.entities.get(&id).copied()
    }

    fn len(&self) -> usize {
        self.world.entities.len()
    }

    fn for_each_mut(&mut self, f: &mut dyn FnMut(EntityId, &mut Transform)) {
        for (id, transform) in &mut self.world.entities {
            f(*id, transform);
        }
    }

    fn replace(&mut self, entities: &[(EntityId, Transform)]) {
        self.world.entities = entities.iter().copied().collect();
        let after = entities.iter().map(|(id, _)| id.0 + 1).max().unwrap_or(0);
        self.world.next_id = self.world.next_id.max(after);
    }
}

impl Module for EcsSystem {
    fn create() -> Self {
        EcsSystem::default()
    }

    fn initialize(&mut self, ctx: &Context) -> Result<(), String> {
        let config: Config = ctx.config()?;
        for i in 0..config.demo_entities {
            let k = i as f32;
            self.spawn(Transform { position: Vec2::new(k * 10.0, 0.0), velocity: Vec2::new(1.0, 0.5 * k) });
        }
        Ok(())
    }

    fn call(&mut self, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        match method {
            methods::SPAWN => {
                let transform: Transform = codec::decode(args)?;
                codec::encode(&self.spawn(transform))
            }
            methods::DESPAWN => codec::encode(&self.despawn(codec::decode(args)?)),
            methods::GET => codec::encode(&self.get(codec::decode(args)?)),
            methods::COUNT => codec::encode(&self.len()),
            methods::ENTITIES => {
                let all: Vec<(EntityId, Transform)> = self.world.entities.iter().map(|(id, t)| (*id, *t)).collect();
                codec::encode(&all)
            }
            other => Err(playground_api::module::unknown_method(other)),
        }
    }

    playground_api::persist!(world);
}

playground_api::export_module!(EcsSystem, services = [dyn World]);
