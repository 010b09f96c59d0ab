//! Networking over TCP: one process hosts, others join, the host is authoritative. The host
//! sends its app's snapshot to every joiner at a steady rate; joiners send their input. It
//! moves bytes for an app (`app` in its config) and calls the app back through the host's
//! `ModuleCaller`, from its IO worker, so every app call runs on the main thread.
//!
//! Connections outlive a reload of this module: the listener and every stream are kept by the
//! host (`ctx.sockets()`, std's own socket types), the worker stops with its generation and
//! leaves beside each socket what it had read but not handled and what it had not yet
//! written, and the next generation's worker carries on from there. Nobody reconnects, and
//! no snapshot is lost or sent twice.

mod conn;
mod host;
mod join;
mod wire;

use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use core_net::{Net, NetLimits, NetStatus, Role, methods};
use playground_api::caller::ModuleCaller;
use playground_api::net::{Socket, Sockets};
use playground_api::serde::Deserialize;
use playground_api::{Context, Host, Module, codec, tracing};

use crate::conn::{Conn, Pending};
use crate::host::{HostNote, PEER_PREFIX, Peer, PeerNote};
use crate::join::JoinNote;
use crate::wire::{Message, PROTOCOL};

/// The names the host keeps this module's sockets by.
pub(crate) const LISTENER: &str = "listener";
pub(crate) const HOST: &str = "host";

/// How many reasons for closed connections the status keeps.
const CLOSED_KEPT: usize = 8;

#[derive(Clone, Deserialize)]
#[serde(crate = "playground_api::serde", default, deny_unknown_fields)]
struct Config {
    app: String,
    rate: u32,
    hello_timeout_ms: u64,
    max_pending: usize,
    max_pending_per_address: usize,
    max_players: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            app: "apps/game".to_owned(),
            rate: 30,
            hello_timeout_ms: 3000,
            max_pending: 64,
            max_pending_per_address: 16,
            max_players: 16,
        }
    }
}

/// The share of the process's open-file limit networking may hold: the rest is for builds,
/// the file watcher, MCP, the GPU and the modules' own files.
const DESCRIPTOR_SHARE: usize = 4;

/// The process's soft limit on open files (`/proc/self/limits`), if it can be read.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The caps in force: the configured ones, lowered (waiting connections first) until every
/// connection and the listener fit in a quarter of the open-file limit, one descriptor each.
fn limits(config: &Config, open_files: Option<usize>) -> NetLimits {
    let descriptors = open_files.map_or(usize::MAX, |n| n / DESCRIPTOR_SHARE);
    let room = descriptors.saturating_sub(1).max(2);
    let players = config.max_players.clamp(1, room - 1);
    let pending = config.max_pending.clamp(1, room - players);
    NetLimits {
        pending,
        pending_per_address: config.max_pending_per_address.clamp(1, pending),
        players,
        hello_timeout_ms: config.hello_timeout_ms.max(1),
        descriptors,
    }
}

/// What the module's main-thread side and its worker share.
#[derive(Default)]
struct Live {
    status: NetStatus,
    addr: String,
    /// The joiner's input not yet sent.
    input: Option<Vec<u8>>,
}

/// What a worker needs: `Send`, cloned into it.
#[derive(Clone)]
pub(crate) struct Link {
    pub(crate) sockets: Sockets,
    pub(crate) caller: ModuleCaller,
    pub(crate) app: String,
    pub(crate) rate: u32,
    pub(crate) limits: NetLimits,
    live: Arc<Mutex<Live>>,
    /// This session's worker is to leave the game, and has finished.
    leaving: Arc<AtomicBool>,
    finished: Arc<AtomicBool>,
}

impl Link {
    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn leaving(&self) -> bool {
        self.leaving.load(Ordering::Relaxed)
    }

    pub(crate) fn status(&self) -> NetStatus {
        self.live().status.clone()
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut NetStatus)) {
        change(&mut self.live().status);
    }

    pub(crate) fn addr(&self) -> String {
        self.live().addr.clone()
    }

    pub(crate) fn take_input(&self) -> Option<Vec<u8>> {
        self.live().input.take()
    }

    /// A link for a new session, sharing the status.
    fn next_session(&self) -> Link {
        Link { leaving: Arc::default(), finished: Arc::default(), ..self.clone() }
    }
}

/// Notes why a connection closed, keeping the last few reasons.
pub(crate) fn note_closed(link: &Link, reason: String) {
    link.update(|s| {
        s.closed.push(reason);
        let extra = s.closed.len().saturating_sub(CLOSED_KEPT);
        s.closed.drain(..extra);
    });
}

/// `addr` as a socket address, refused unless it is loopback or `allow_remote` says so.
fn check_addr(addr: &str, allow_remote: bool, what: &str) -> Result<SocketAddr, String> {
    let resolved = addr
        .to_socket_addrs()
        .map_err(|e| format!("cannot {what} `{addr}`: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot {what} `{addr}`: it names no address"))?;
    if !resolved.ip().is_loopback() && !allow_remote {
        return Err(format!(
            "refusing to {what} {resolved}: not a loopback address (pass --net-allow-remote to reach other machines)"
        ));
    }
    Ok(resolved)
}

#[derive(Default)]
struct Networking {
    config: Config,
    link: Option<Link>,
    host: Option<Rc<dyn Host>>,
}

impl Networking {
    fn link(&self) -> Result<&Link, String> {
        self.link.as_ref().ok_or_else(|| "networking is not initialized".to_owned())
    }

    fn spawn(
        &self,
        name: &str,
        work: impl FnOnce(&Link, &playground_api::worker::Stop) + Send + 'static,
    ) -> Result<(), String> {
        let host = self.host.as_ref().ok_or("networking is not initialized")?;
        let link = self.link()?.clone();
        host.spawn_worker(
            name,
            Box::new(move |stop| {
                work(&link, &stop);
                link.finished.store(true, Ordering::Relaxed);
            }),
        )
    }

    /// Refuses to start a session while one runs or is still closing.
    fn idle(&mut self) -> Result<(), String> {
        let link = self.link()?;
        if link.status().role != Role::Offline && !link.leaving() {
            return Err(format!("already {:?}: leave first", link.status().role));
        }
        if link.leaving() && !link.finished.load(Ordering::Relaxed) {
            return Err("still leaving the last game; try again in a moment".to_owned());
        }
        let next = link.next_session();
        self.link = Some(next);
        Ok(())
    }

    /// A session left running by the last generation: taken back, its worker started again.
    fn resume(&mut self) -> Result<(), String> {
        let link = self.link()?.clone();
        if let Some((listener, note)) = link.sockets.take(LISTENER) {
            let note: HostNote = if note.is_empty() { HostNote::default() } else { codec::decode(&note)? };
            let listener = listener.into_listener().ok_or("the kept listener is not a listener")?;
            listener.set_nonblocking(true).map_err(|e| format!("cannot use the kept listener: {e}"))?;
            let mut peers = Vec::new();
            for name in link.sockets.names().into_iter().filter(|n| n.starts_with(PEER_PREFIX)) {
                let Some((socket, note)) = link.sockets.take(&name) else { continue };
                let note: PeerNote = if note.is_empty() { PeerNote::default() } else { codec::decode(&note)? };
                let stream = socket.into_stream().ok_or("a kept peer is not a stream")?;
                let waited = Duration::from_millis(note.waited_ms);
                peers.push(Peer::new(note.peer, note.ready, Conn::new(name, stream, &note.pending)?, waited));
            }
            tracing::info!("hosting at {} again after a reload, with {} peer(s)", note.addr, peers.len());
            {
                let mut live = link.live();
                live.status = note.status;
                live.addr = note.addr;
            }
            let next_peer = note.next_peer;
            self.spawn("net-host", move |link, stop| host::run(stop, link, &listener, peers, next_peer))?;
        } else if let Some((stream, note)) = link.sockets.take(HOST) {
            let note: JoinNote = if note.is_empty() { JoinNote::default() } else { codec::decode(&note)? };
            let stream = stream.into_stream().ok_or("the kept connection is not a stream")?;
            let conn = Conn::new(HOST.to_owned(), stream, &note.pending)?;
            {
                let mut live = link.live();
                live.status = note.status;
                live.addr = note.addr;
            }
            let last_seq = note.last_seq;
            self.spawn("net-join", move |link, stop| join::run(stop, link, conn, last_seq))?;
        }
        Ok(())
    }
}

impl Net for Networking {
    fn status(&self) -> NetStatus {
        self.link.as_ref().map(Link::status).unwrap_or_default()
    }

    fn host(&mut self, addr: &str, allow_remote: bool) -> Result<String, String> {
        let at = check_addr(addr, allow_remote, "host on")?;
        self.idle()?;
        let listener = TcpListener::bind(at).map_err(|e| format!("cannot host on {at}: {e}"))?;
        let local = listener.local_addr().map_err(|e| format!("cannot host on {at}: {e}"))?.to_string();
        let link = self.link()?;
        let listener = link
            .sockets
            .keep(LISTENER, Socket::Listener(Arc::new(listener)))
            .into_listener()
            .ok_or("not a listener")?;
        listener.set_nonblocking(true).map_err(|e| format!("cannot host on {at}: {e}"))?;
        {
            let mut live = link.live();
            live.status = NetStatus { role: Role::Hosting(local.clone()), ..NetStatus::default() };
            live.addr.clone_from(&local);
        }
        self.spawn("net-host", move |link, stop| host::run(stop, link, &listener, Vec::new(), 0))?;
        tracing::info!("hosting at {local}");
        Ok(local)
    }

    fn join(&mut self, addr: &str, allow_remote: bool) -> Result<(), String> {
        let at = check_addr(addr, allow_remote, "join")?;
        self.idle()?;
        let link = self.link()?;
        let stream = TcpStream::connect_timeout(&at, Duration::from_secs(2)).map_err(|e| {
            let why = format!("cannot join {at}: {e}");
            note_closed(link, why.clone());
            why
        })?;
        let stream = link.sockets.keep(HOST, Socket::Stream(Arc::new(stream))).into_stream().ok_or("not a stream")?;
        let mut conn = Conn::new(HOST.to_owned(), stream, &Pending::default())?;
        wire::push(&mut conn.out, &Message::Hello { protocol: PROTOCOL })?;
        {
            let mut live = link.live();
            live.status = NetStatus { role: Role::Joined(at.to_string()), connections: 1, ..NetStatus::default() };
            live.addr = at.to_string();
        }
        self.spawn("net-join", move |link, stop| join::run(stop, link, conn, 0))?;
        tracing::info!("joined the game at {at}");
        Ok(())
    }

    fn leave(&mut self) {
        if let Some(link) = &self.link {
            link.leaving.store(true, Ordering::Relaxed);
            link.update(|s| s.role = Role::Offline);
        }
    }

    fn send_input(&mut self, input: Vec<u8>) {
        if let Some(link) = &self.link {
            link.live().input = Some(input);
        }
    }
}

impl Module for Networking {
    fn create() -> Self {
        Networking::default()
    }

    fn initialize(&mut self, ctx: &Context) -> Result<(), String> {
        self.config = ctx.config()?;
        let host = ctx.host();
        self.link = Some(Link {
            sockets: ctx.sockets()?,
            caller: ctx.caller()?,
            app: self.config.app.clone(),
            rate: self.config.rate,
            limits: limits(&self.config, open_file_limit()),
            live: Arc::default(),
            leaving: Arc::default(),
            finished: Arc::default(),
        });
        self.host = Some(host);
        self.resume()
    }

    fn call(&mut self, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        match method {
            methods::HOST => {
                let (addr, allow_remote): (String, bool) = codec::decode(args)?;
                codec::encode(&self.host(&addr, allow_remote)?)
            }
            methods::JOIN => {
                let (addr, allow_remote): (String, bool) = codec::decode(args)?;
                codec::encode(&self.join(&addr, allow_remote)?)
            }
            methods::LEAVE => {
                self.leave();
                codec::encode(&())
            }
            methods::STATUS => codec::encode(&self.status()),
            other => Err(playground_api::module::unknown_method(other)),
        }
    }
}

playground_api::export_module!(Networking, services = [dyn Net]);

#[cfg(test)]
mod tests {
    use super::{Config, limits};

    #[test]
    fn the_caps_fit_a_quarter_of_the_open_file_limit_waiting_connections_first() {
        let config = Config::default();
        let roomy = limits(&config, Some(1 << 20));
        assert_eq!((roomy.pending, roomy.pending_per_address, roomy.players), (64, 16, 16));
        assert_eq!(roomy.descriptors, 1 << 18);
        // 1024 files: 256 for networking, the listener and 80 connections fit.
        assert_eq!(limits(&config, Some(1024)).pending, 64);
        // 256 files: 64 for networking: the listener, 16 players, 47 waiting.
        let tight = limits(&config, Some(256));
        assert_eq!((tight.pending, tight.players, tight.descriptors), (47, 16, 64));
        // Absurdly tight: still one of each.
        let tiny = limits(&config, Some(4));
        assert_eq!((tiny.pending, tiny.pending_per_address, tiny.players), (1, 1, 1));
        assert_eq!(limits(&config, None).pending, 64, "no limit known: the configured caps");
    }
}
