//! The game's rules for one tick: the player moves where the input points, enemies near it
//! chase it, `plugins/movement` moves everyone, `plugins/combat` settles contact, blows,
//! defeats and comebacks.

use std::rc::Rc;

use core_combat::{EntityId, Fighter, Score, StepReport, Team, methods};
use core_ecs::{Transform, Vec2, World};
use playground_api::host::Callee;
use playground_api::serde::{Deserialize, Serialize};
use playground_api::{Service, codec};

/// How the player and the enemies move.
#[derive(Clone, Copy, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
pub(crate) struct Speeds {
    pub(crate) player_speed: f32,
    pub(crate) enemy_speed: f32,
    pub(crate) chase_radius: f32,
}

impl Default for Speeds {
    fn default() -> Self {
        Speeds { player_speed: 30.0, enemy_speed: 9.0, chase_radius: 35.0 }
    }
}

/// Where the player starts: the middle of the arena.
pub(crate) const START: Vec2 = Vec2::new(50.0, 50.0);

/// The modules the game plays through, resolved in `initialize`.
pub(crate) struct Links {
    pub(crate) world: Service<dyn World>,
    pub(crate) movement: Rc<dyn Callee>,
    pub(crate) combat: Rc<dyn Callee>,
}

impl Links {
    pub(crate) fn fighters(&self) -> Result<Vec<Fighter>, String> {
        codec::decode(&self.combat.call(methods::FIGHTERS, &[])?)
    }

    pub(crate) fn score(&self) -> Result<Score, String> {
        codec::decode(&self.combat.call(methods::SCORE, &[])?)
    }

    /// A blow of `attacker`; whom it hit.
    pub(crate) fn attack(&self, attacker: EntityId) -> Result<Vec<EntityId>, String> {
        codec::decode(&self.combat.call(methods::ATTACK, &codec::encode(&attacker)?)?)
    }

    /// Makes sure the player exists and that every entity fights: the player on its side,
    /// everyone else against it. Returns the player.
    pub(crate) fn join_everyone(&self, player: Option<EntityId>) -> Result<EntityId, String> {
        let player = match player.filter(|p| self.world.with(|w| w.get(*p).is_some()).unwrap_or(false)) {
            Some(player) => player,
            None => self.world.with(|w| w.spawn(Transform { position: START, velocity: Vec2::ZERO }))?,
        };
        let mut ids = Vec::new();
        self.world.with(|w| w.for_each_mut(&mut |id, _| ids.push(id)))?;
        for id in ids {
            let team = if id == player { Team::Player } else { Team::Enemy };
            self.combat.call(methods::JOIN, &codec::encode(&(id, team))?)?;
        }
        Ok(player)
    }

    /// One tick of `dt` seconds, each player steered by its input (each axis in -1..=1):
    /// the local one and every joiner's.
    pub(crate) fn tick(
        &self,
        speeds: Speeds,
        players: &[(EntityId, Vec2)],
        dt: f32,
    ) -> Result<(StepReport, Vec<Fighter>), String> {
        let fighters = self.fighters()?;
        let alive = |id: EntityId| core_combat::find(&fighters, id).is_none_or(Fighter::alive);
        let mut targets = Vec::new();
        for (player, _) in players.iter().filter(|(p, _)| alive(*p)) {
            if let Some(t) = self.world.with(|w| w.get(*player))? {
                targets.push(t.position);
            }
        }
        self.world.with(|w| {
            w.for_each_mut(&mut |id, t: &mut Transform| {
                if let Some((_, input)) = players.iter().find(|(p, _)| *p == id) {
                    t.velocity = if alive(id) { *input * speeds.player_speed } else { Vec2::ZERO };
                } else if alive(id) {
                    // An enemy chases the nearest player in sight.
                    let nearest = targets
                        .iter()
                        .map(|target| *target - t.position)
                        .filter(|towards| towards.length() <= speeds.chase_radius)
                        .min_by(|a, b| a.length().total_cmp(&b.length()));
                    if let Some(towards) = nearest {
                        t.velocity = towards.normalized() * speeds.enemy_speed;
                    }
                }
            });
        })?;
        self.movement.call("step", &codec::encode(&dt)?)?;
        let report: StepReport = codec::decode(&self.combat.call(methods::STEP, &codec::encode(&dt)?)?)?;
        Ok((report, self.fighters()?))
    }

    /// A new player for a joiner: in the middle, on the players' side.
    pub(crate) fn add_player(&self) -> Result<EntityId, String> {
        let id = self.world.with(|w| w.spawn(Transform { position: START, velocity: Vec2::ZERO }))?;
        self.combat.call(methods::JOIN, &codec::encode(&(id, Team::Player))?)?;
        Ok(id)
    }

    /// A joiner's player leaves with it.
    pub(crate) fn remove_player(&self, id: EntityId) -> Result<(), String> {
        self.combat.call(methods::LEAVE, &codec::encode(&id)?)?;
        self.world.with(|w| w.despawn(id))?;
        Ok(())
    }
}

/// What a joiner sends: where its player goes, and whether it struck.
#[derive(Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub(crate) struct RemoteInput {
    pub(crate) direction: Vec2,
    pub(crate) strike: bool,
}

/// What the host sends its joiners on every snapshot: the game as it draws it, in plain
/// tuples (arrays on the wire, no field names: 1000 entities make about 30 kB).
#[derive(Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub(crate) struct Snapshot {
    pub(crate) ticks: u64,
    /// (id, x, y): where each entity is (a joiner does not move them itself).
    pub(crate) entities: Vec<(u32, f32, f32)>,
    /// (id, a player, health, seconds until it is back), in id order.
    pub(crate) fighters: Vec<(u32, bool, f32, f32)>,
    pub(crate) max_health: f32,
    pub(crate) score: Score,
}

impl Snapshot {
    pub(crate) fn new(ticks: u64, world: &[(EntityId, Transform)], fighters: &[Fighter], score: Score) -> Snapshot {
        Snapshot {
            ticks,
            entities: world.iter().map(|(id, t)| (id.0, t.position.x, t.position.y)).collect(),
            fighters: fighters.iter().map(|f| (f.id.0, f.team == Team::Player, f.health, f.respawn_in)).collect(),
            max_health: fighters.first().map_or(100.0, |f| f.max_health),
            score,
        }
    }

    /// The entities as the world holds them (standing still).
    pub(crate) fn world(&self) -> Vec<(EntityId, Transform)> {
        let at = |x, y| Transform { position: Vec2::new(x, y), velocity: Vec2::ZERO };
        self.entities.iter().map(|(id, x, y)| (EntityId(*id), at(*x, *y))).collect()
    }

    pub(crate) fn fighters(&self) -> Vec<Fighter> {
        self.fighters
            .iter()
            .map(|(id, player, health, respawn_in)| Fighter {
                id: EntityId(*id),
                team: if *player { Team::Player } else { Team::Enemy },
                health: *health,
                max_health: self.max_health,
                respawn_in: *respawn_in,
            })
            .collect()
    }
}

/// The input direction, each axis clamped to -1..=1.
pub(crate) fn clamp(v: Vec2) -> Vec2 {
    Vec2::new(v.x.clamp(-1.0, 1.0), v.y.clamp(-1.0, 1.0))
}

/// What the game says about itself (`status`).
#[derive(Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub(crate) struct Status {
    pub(crate) playing: bool,
    pub(crate) ticks: u64,
    pub(crate) entities: usize,
    pub(crate) player: Option<EntityId>,
    /// The player's health, if it fights.
    pub(crate) health: Option<f32>,
    pub(crate) score: Score,
    /// Why nothing can be drawn, if so.
    pub(crate) view: Option<String>,
}
