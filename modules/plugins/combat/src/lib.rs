//! Health, damage, death and respawn, and the score: the demo game's fighting. It keeps a
//! fighter per entity that joined, reads where entities are through the `core/ecs` contract,
//! and puts a defeated fighter back somewhere in the arena when it returns. Everything it knows is
//! its state, so a reload mid-fight keeps every health bar, timer and the score.

use std::collections::BTreeMap;

use core_combat::{EntityId, Fighter, Score, StepReport, Team, methods};
use core_ecs::{Transform, Vec2, World};
use playground_api::serde::{Deserialize, Serialize};
use playground_api::{Context, Module, Service, codec};

#[derive(Clone, Copy, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct Config {
    max_health: f32,
    attack_damage: f32,
    attack_reach: f32,
    attack_cooldown: f32,
    contact_damage: f32,
    contact_reach: f32,
    respawn_seconds: f32,
    arena: f32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_health: 100.0,
            attack_damage: 50.0,
            attack_reach: 12.0,
            attack_cooldown: 0.3,
            contact_damage: 20.0,
            contact_reach: 4.0,
            respawn_seconds: 2.0,
            arena: 100.0,
        }
    }
}

/// One fighter, as the state keeps it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
struct Kept {
    team: Team,
    health: f32,
    respawn_in: f32,
    /// Seconds until this fighter may strike again.
    cooldown: f32,
}

/// What survives a reload: every fighter, the score, and where the next comeback lands.
#[derive(Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct State {
    fighters: BTreeMap<u32, Kept>,
    score: Score,
    /// A simple generator's state: comeback places are the same in every run.
    seed: u64,
}

#[derive(Default)]
struct Combat {
    state: State,
    config: Config,
    world: Option<Service<dyn World>>,
}

impl Combat {
    fn world(&self) -> Result<&Service<dyn World>, String> {
        self.world.as_ref().ok_or_else(|| "combat is not initialized".to_owned())
    }

    /// Where every entity is, by id.
    fn positions(&self) -> Result<BTreeMap<u32, Vec2>, String> {
        let mut positions = BTreeMap::new();
        self.world()?.with(|w| w.for_each_mut(&mut |id, t: &mut Transform| _ = positions.insert(id.0, t.position)))?;
        Ok(positions)
    }

    fn join(&mut self, id: EntityId, team: Team) -> bool {
        if self.state.fighters.contains_key(&id.0) {
            return false;
        }
        let health = self.config.max_health;
        self.state.fighters.insert(id.0, Kept { team, health, respawn_in: 0.0, cooldown: 0.0 });
        true
    }

    /// Takes `damage` from fighter `id`; true if that defeated it.
    fn hurt(&mut self, id: u32, damage: f32) -> bool {
        let respawn = self.config.respawn_seconds;
        let Some(fighter) = self.state.fighters.get_mut(&id) else { return false };
        if fighter.respawn_in > 0.0 {
            return false;
        }
        fighter.health -= damage;
        if fighter.health > 0.0 {
            return false;
        }
        fighter.health = 0.0;
        fighter.respawn_in = respawn;
        match fighter.team {
            Team::Enemy => self.state.score.defeated += 1,
            Team::Player => self.state.score.deaths += 1,
        }
        true
    }

    /// The next place in the arena, from the state's generator.
    fn next_place(&mut self) -> Vec2 {
        let mut next = || {
            self.state.seed =
                self.state.seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.state.seed >> 40) as f32 / (1u64 << 24) as f32
        };
        let arena = self.config.arena;
        Vec2::new(next() * arena, next() * arena)
    }

    fn step(&mut self, dt: f32) -> Result<StepReport, String> {
        let mut report = StepReport::default();
        // Comebacks: somewhere new in the arena (a player back where it fell would be back
        // among the enemies that defeated it).
        let mut back = Vec::new();
        for (id, fighter) in &mut self.state.fighters {
            fighter.cooldown = (fighter.cooldown - dt).max(0.0);
            if fighter.respawn_in > 0.0 {
                fighter.respawn_in -= dt;
                if fighter.respawn_in <= 0.0 {
                    fighter.respawn_in = 0.0;
                    fighter.health = self.config.max_health;
                    back.push(*id);
                    report.respawned.push(EntityId(*id));
                }
            }
        }
        let places: Vec<(u32, Vec2)> = back.iter().map(|id| (*id, self.next_place())).collect();
        if !places.is_empty() {
            self.world()?.with(|w| {
                w.for_each_mut(&mut |id, t: &mut Transform| {
                    if let Some((_, place)) = places.iter().find(|(p, _)| *p == id.0) {
                        t.position = *place;
                    }
                });
            })?;
        }
        // Contact: every living enemy touching a living player hurts it.
        let positions = self.positions()?;
        let alive = |team: Team| {
            self.state
                .fighters
                .iter()
                .filter(move |(_, f)| f.team == team && f.respawn_in <= 0.0)
                .filter_map(|(id, _)| positions.get(id).map(|p| (*id, *p)))
                .collect::<Vec<_>>()
        };
        let (players, enemies) = (alive(Team::Player), alive(Team::Enemy));
        let reach = self.config.contact_reach;
        for (player, at) in players {
            let touching = enemies.iter().filter(|(_, e)| (*e - at).length() <= reach).count();
            if touching > 0 && self.hurt(player, self.config.contact_damage * dt * touching as f32) {
                report.defeated.push(EntityId(player));
            }
        }
        // Fighters whose entity is gone leave the fight.
        self.state.fighters.retain(|id, _| positions.contains_key(id));
        Ok(report)
    }

    fn attack(&mut self, attacker: EntityId) -> Result<Vec<EntityId>, String> {
        let Some(fighter) = self.state.fighters.get_mut(&attacker.0) else {
            return Err(format!("entity {} does not fight", attacker.0));
        };
        if fighter.respawn_in > 0.0 || fighter.cooldown > 0.0 {
            return Ok(Vec::new());
        }
        fighter.cooldown = self.config.attack_cooldown;
        let team = fighter.team;
        let positions = self.positions()?;
        let Some(at) = positions.get(&attacker.0).copied() else { return Ok(Vec::new()) };
        let reach = self.config.attack_reach;
        let targets: Vec<u32> = self
            .state
            .fighters
            .iter()
            .filter(|(_, f)| f.team != team && f.respawn_in <= 0.0)
            .filter(|(id, _)| positions.get(id).is_some_and(|p| (*p - at).length() <= reach))
            .map(|(id, _)| *id)
            .collect();
        let damage = self.config.attack_damage;
        for target in &targets {
            self.hurt(*target, damage);
        }
        Ok(targets.into_iter().map(EntityId).collect())
    }

    fn fighters(&self) -> Vec<Fighter> {
        let max_health = self.config.max_health;
        self.state
            .fighters
            .iter()
            .map(|(id, f)| Fighter {
                id: EntityId(*id),
                team: f.team,
                health: f.health,
                max_health,
                respawn_in: f.respawn_in,
            })
            .collect()
    }
}

impl Module for Combat {
    fn create() -> Self {
        Combat::default()
    }

    fn initialize(&mut self, ctx: &Context) -> Result<(), String> {
        self.config = ctx.config()?;
        self.world = Some(ctx.service::<dyn World>()?);
        Ok(())
    }

    fn call(&mut self, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        match method {
            methods::JOIN => {
                let (id, team): (EntityId, Team) = codec::decode(args)?;
                codec::encode(&self.join(id, team))
            }
            methods::LEAVE => {
                let id: EntityId = codec::decode(args)?;
                codec::encode(&self.state.fighters.remove(&id.0).is_some())
            }
            methods::STEP => {
                let dt: f32 = codec::decode(args)?;
                codec::encode(&self.step(dt)?)
            }
            methods::ATTACK => {
                let attacker: EntityId = codec::decode(args)?;
                codec::encode(&self.attack(attacker)?)
            }
            methods::FIGHTERS => codec::encode(&self.fighters()),
            methods::SCORE => codec::encode(&self.state.score),
            other => Err(playground_api::module::unknown_method(other)),
        }
    }

    playground_api::persist!(state);
}

playground_api::export_module!(Combat);
