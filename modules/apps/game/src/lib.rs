//! The demo game: the player (WASD or the arrows while the view has focus, Space to strike)
//! against enemies that chase it, on a steady clock while it plays; movement moves everyone,
//! combat keeps health, defeats, comebacks and the score. It draws the world through the
//! `core/rendering` contract in a resizable panel of the window with Play, Pause and Step.
//! Headless it ticks without drawing, takes its input from calls (`input`, `attack`), and a
//! capture draws once and reads the pixels back.
//!
//! Over the network (`core/net`) the host's game is the one that plays: it makes a player for
//! each joiner, steers it by the joiner's input, and snapshots the whole game for them
//! (`net_*` calls, which the networking module makes); a joiner's game only shows the
//! snapshots it is given and sends its input.

mod play;
mod view;

use std::collections::BTreeMap;

use core_combat::{EntityId, Fighter, Score};
use core_ecs::{Transform, Vec2, World};
use core_net::{Net, NetStatus, Role};
use core_rendering::Renderer;
use playground_api::serde::{Deserialize, Serialize};
use playground_api::{Context, Module, Service, codec, egui};

use crate::play::{Links, RemoteInput, Snapshot, Speeds, Status};

/// What survives a reload: whether it plays, how far it got, who the player is, and, when
/// it hosts, each joiner's player and latest input.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct Play {
    playing: bool,
    ticks: u64,
    player: Option<EntityId>,
    peers: BTreeMap<u32, EntityId>,
    remote: BTreeMap<u32, RemoteInput>,
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
    net: Option<Service<dyn Net>>,
    /// On a joiner: the score as the host's last snapshot said, and the input last sent.
    remote_score: Score,
    sent: Option<RemoteInput>,
    /// This process was in a host's game: when the host goes, the last world stays still.
    was_joined: bool,
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

    /// What this process is in a networked game.
    fn role(&self) -> Role {
        self.net_status().role
    }

    /// The network's counters (players, refusals), for the panel.
    fn net_status(&self) -> NetStatus {
        self.net.as_ref().and_then(|n| n.with(|n| n.status()).ok()).unwrap_or_default()
    }

    /// The player, made and everyone joined to the fight on first need in a generation; on
    /// a joiner, the one the host made for it.
    fn player(&mut self) -> Result<EntityId, String> {
        if let Role::Joined(_) = self.role() {
            let welcome = self.net.as_ref().and_then(|n| n.with(|n| n.status().welcome).ok()).flatten();
            let player = welcome.map(|w| codec::decode::<EntityId>(&w)).transpose()?;
            return player.ok_or_else(|| "the host has not welcomed this player yet".to_owned());
        }
        if !self.joined || self.play.player.is_none() {
            let player = self.links()?.join_everyone(self.play.player)?;
            self.play.player = Some(player);
            self.joined = true;
            self.fighters = self.links()?.fighters()?;
        }
        self.play.player.ok_or_else(|| "the game has no player".to_owned())
    }

    /// One tick of the game: the rules on a host or alone, the input sent on a joiner.
    fn tick_once(&mut self) -> Result<(), String> {
        let input = play::clamp(self.keys + self.commanded);
        match self.role() {
            Role::Joined(_) => {
                self.was_joined = true;
                let strike = std::mem::take(&mut self.strike);
                let now = RemoteInput { direction: input, strike };
                if self.sent != Some(now) || strike {
                    if let Some(net) = &self.net {
                        let bytes = codec::encode(&now)?;
                        net.with(|n| n.send_input(bytes))?;
                    }
                    self.sent = Some(now);
                }
                return Ok(());
            }
            Role::Offline if self.was_joined => {
                // The host went away: the last world stays as it was, and says so.
                self.play.playing = false;
                self.view.error = Some("the host went away; this is the last world it sent".to_owned());
                return Ok(());
            }
            _ => {}
        }
        let player = self.player()?;
        let mut players = vec![(player, input)];
        let mut strikers = Vec::new();
        if std::mem::take(&mut self.strike) {
            strikers.push(player);
        }
        for (peer, entity) in &self.play.peers {
            let remote = self.play.remote.get_mut(peer).map(std::mem::take).unwrap_or_default();
            players.push((*entity, play::clamp(remote.direction)));
            if remote.strike {
                strikers.push(*entity);
            }
            // The direction holds until the joiner sends another; a strike counts once.
            self.play.remote.insert(*peer, RemoteInput { strike: false, ..remote });
        }
        for striker in strikers {
            self.links()?.attack(striker)?;
        }
        let (_, fighters) = self.links()?.tick(self.speeds, &players, self.step)?;
        self.fighters = fighters;
        self.play.ticks += 1;
        self.view.dirty = true;
        Ok(())
    }

    /// The whole game, for the joiners (host).
    fn snapshot(&self) -> Result<Vec<u8>, String> {
        let links = self.links()?;
        let mut entities = Vec::new();
        links.world.with(|w| w.for_each_mut(&mut |id, t: &mut Transform| entities.push((id, *t))))?;
        codec::encode(&Snapshot::new(self.play.ticks, &entities, &self.fighters, links.score()?))
    }

    /// The host's game as its snapshot says (joiner).
    fn apply(&mut self, bytes: &[u8]) -> Result<(), String> {
        let snapshot: Snapshot = codec::decode(bytes)?;
        self.links()?.world.with(|w| w.replace(&snapshot.world()))?;
        self.fighters = snapshot.fighters();
        self.remote_score = snapshot.score;
        self.play.ticks = snapshot.ticks;
        self.view.dirty = true;
        Ok(())
    }

    /// The generic calls the networking module makes (see `core_net::app`).
    fn net_call(&mut self, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        match method {
            core_net::app::SNAPSHOT => self.snapshot(),
            core_net::app::APPLY => {
                self.apply(args)?;
                codec::encode(&())
            }
            core_net::app::JOINED => {
                let peer: u32 = codec::decode(args)?;
                let entity = self.links()?.add_player()?;
                self.play.peers.insert(peer, entity);
                playground_api::tracing::info!("peer {peer} joined as entity {}", entity.0);
                codec::encode(&entity)
            }
            core_net::app::INPUT => {
                let (peer, payload): (u32, Vec<u8>) = codec::decode(args)?;
                let input: RemoteInput = codec::decode(&payload)?;
                let held = self.play.remote.entry(peer).or_default();
                // A strike not yet played stays; the latest direction wins.
                *held = RemoteInput { direction: input.direction, strike: held.strike || input.strike };
                codec::encode(&())
            }
            core_net::app::LEFT => {
                let peer: u32 = codec::decode(args)?;
                self.play.remote.remove(&peer);
                if let Some(entity) = self.play.peers.remove(&peer) {
                    self.links()?.remove_player(entity)?;
                }
                codec::encode(&())
            }
            other => Err(playground_api::module::unknown_method(other)),
        }
    }

    fn score(&self) -> Score {
        match self.role() {
            Role::Joined(_) => self.remote_score,
            _ => self.links.as_ref().and_then(|l| l.score().ok()).unwrap_or_default(),
        }
    }

    fn status(&mut self) -> Status {
        let player = self.player().ok();
        let links = self.links.as_ref();
        let entities = links.and_then(|l| l.world.with(|w| w.len()).ok()).unwrap_or(0);
        let health = player.and_then(|p| core_combat::find(&self.fighters, p)).map(|f| f.health);
        let score = self.score();
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
            net: None,
            remote_score: Score::default(),
            sent: None,
            was_joined: false,
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
        self.net = Some(ctx.service::<dyn Net>()?);
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
            "input" => {
                self.commanded = play::clamp(codec::decode(args)?);
                // A joiner's input goes to the host at once, playing or not.
                if let Role::Joined(_) = self.role() {
                    self.tick_once()?;
                }
            }
            // nothing -> the entities the player's blow hit, at once (a joiner's blow goes to
            // the host, which says nothing back).
            "attack" => {
                if let Role::Joined(_) = self.role() {
                    self.strike = true;
                    self.tick_once()?;
                    return codec::encode(&Vec::<EntityId>::new());
                }
                let player = self.player()?;
                let hit = self.links()?.attack(player)?;
                self.fighters = self.links()?.fighters()?;
                self.view.dirty = true;
                return codec::encode(&hit);
            }
            net if net.starts_with("net_") => return self.net_call(net, args),
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
        let player = self.player().unwrap_or(EntityId(u32::MAX));
        let score = self.score();
        let (Some(links), Some(renderer)) = (self.links.as_ref(), self.renderer.clone()) else { return };
        let world = links.world.clone();
        let net = self.net_status();
        let header = view::Header { play: &self.play_summary(), score, fighters: &self.fighters, player, net: &net };
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
            Some(view::Action::Host(addr)) => self.network(|net| net.host(&addr, false).map(|_| ())),
            Some(view::Action::Join(addr)) => {
                self.network(|net| net.join(&addr, false));
                self.play.playing = true;
            }
            Some(view::Action::Leave) => self.network(|net| {
                net.leave();
                Ok(())
            }),
            None => {}
        }
    }
}

impl Game {
    /// Does `what` with the networking service, showing a failure in the panel.
    fn network(&mut self, what: impl FnOnce(&mut dyn Net) -> Result<(), String>) {
        let Some(net) = &self.net else { return };
        let done = net.with(|n| what(n)).map_err(|busy| busy.to_string()).and_then(|r| r);
        self.view.error = done.err();
        self.was_joined = false;
    }

    fn play_summary(&self) -> view::PlaySummary {
        view::PlaySummary { playing: self.play.playing, ticks: self.play.ticks }
    }
}

playground_api::export_module!(Game);
