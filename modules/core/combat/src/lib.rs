//! The combat vocabulary: which side an entity fights on, how it is doing, and what the
//! generic calls of `plugins/combat` take and answer ([`methods`]). Plugins are reached by
//! calls, not typed services, so this crate holds types only.

pub use core_types::EntityId;
use playground_api::serde::{Deserialize, Serialize};

/// The side an entity fights on: players and enemies hurt each other, never their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub enum Team {
    Player,
    Enemy,
}

/// One fighter as the game draws it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub struct Fighter {
    pub id: EntityId,
    pub team: Team,
    pub health: f32,
    pub max_health: f32,
    /// Seconds until it is back; zero while it is alive.
    pub respawn_in: f32,
}

impl Fighter {
    pub fn alive(&self) -> bool {
        self.respawn_in <= 0.0
    }
}

/// The fighter of `id` in a list in id order (as [`methods::FIGHTERS`] answers), found by
/// bisection: a game looks one up for every entity it draws.
pub fn find(fighters: &[Fighter], id: EntityId) -> Option<&Fighter> {
    fighters.binary_search_by_key(&id, |f| f.id).ok().map(|at| &fighters[at])
}

/// The score board.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub struct Score {
    /// Enemies the players defeated.
    pub defeated: u64,
    /// Times a player was defeated.
    pub deaths: u64,
}

/// What one step of combat did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub struct StepReport {
    /// Fighters defeated in this step.
    pub defeated: Vec<EntityId>,
    /// Fighters back in this step.
    pub respawned: Vec<EntityId>,
}

/// The generic-call methods of `plugins/combat`, with their argument and result types.
pub mod methods {
    /// `(EntityId, Team)` -> `bool` (false if it already fights): joins at full health.
    pub const JOIN: &str = "join";
    /// `EntityId` -> `bool`: leaves the fight (its entity stays in the world).
    pub const LEAVE: &str = "leave";
    /// `f32` seconds -> `StepReport`: contact damage, deaths and respawns.
    pub const STEP: &str = "step";
    /// `EntityId` (the attacker) -> `Vec<EntityId>` (whom it hit): a blow to every enemy of
    /// the attacker's team in reach, unless the attacker's last blow is too recent.
    pub const ATTACK: &str = "attack";
    /// nothing -> `Vec<Fighter>`, in id order.
    pub const FIGHTERS: &str = "fighters";
    /// nothing -> `Score`.
    pub const SCORE: &str = "score";
}
