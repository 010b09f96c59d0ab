//! The ECS contract: what an entity is, and the `World` trait the ECS system implements.
//!
//! Dependents reach the world through `ctx.service::<dyn World>()` (the typed fast path) or
//! through the generic calls named in [`methods`].

pub use core_types::{EntityId, Vec2};
use playground_api::serde::{Deserialize, Serialize};

/// Where an entity is and where it is going.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub struct Transform {
    pub position: Vec2,
    pub velocity: Vec2,
}

/// A world of entities with transforms.
pub trait World {
    /// Adds an entity and returns its new id.
    fn spawn(&mut self, transform: Transform) -> EntityId;
    /// Removes an entity; false if it did not exist.
    fn despawn(&mut self, id: EntityId) -> bool;
    /// An entity's transform.
    fn get(&self, id: EntityId) -> Option<Transform>;
    /// How many entities exist.
    fn len(&self) -> usize;
    /// Whether the world is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Visits every entity mutably, in id order.
    fn for_each_mut(&mut self, f: &mut dyn FnMut(EntityId, &mut Transform));
    /// Makes the world exactly `entities`, ids included (a joiner mirroring its host); new
    /// ids are given after the largest.
    fn replace(&mut self, entities: &[(EntityId, Transform)]);
}

playground_api::contract!(dyn World, "core/ecs");

/// The generic-call methods of the module implementing this contract, with their argument
/// and result types.
pub mod methods {
    /// `Transform` -> `EntityId`
    pub const SPAWN: &str = "spawn";
    /// `EntityId` -> `bool`
    pub const DESPAWN: &str = "despawn";
    /// `EntityId` -> `Option<Transform>`
    pub const GET: &str = "get";
    /// nothing -> `usize`
    pub const COUNT: &str = "count";
    /// nothing -> `Vec<(EntityId, Transform)>`
    pub const ENTITIES: &str = "entities";
}
