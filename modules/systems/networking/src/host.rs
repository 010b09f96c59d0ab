//! The host's worker: accepts joiners, answers their `Hello`, hands their input to the app,
//! and sends every joiner the app's snapshot at a steady rate. Everything it does to the app
//! goes through the host's `ModuleCaller`, so it runs on the main thread at a safe point.
//!
//! It holds under a flood: a connection must say hello within the deadline, in a tiny frame;
//! connections waiting to say hello are capped in all and per address (the oldest waiting
//! one makes room for a new one, read first in case its hello has come, so a real joiner,
//! whose hello follows its connect at once, gets in while idle connections churn); players
//! are capped; each refusal is counted in the status and closes that connection with the
//! reason. With one descriptor per connection, the caps are networking's descriptor budget
//! (`limits` in `lib.rs`).

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::{IpAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use core_net::{NetStatus, Refusals, app};
use playground_api::codec;
use playground_api::net::Socket;
use playground_api::serde::{Deserialize, Serialize};
use playground_api::tracing;
use playground_api::worker::Stop;

use crate::conn::{Conn, Got, Pending};
use crate::wire::{self, HELLO_FRAME, MAX_FRAME, Message, PROTOCOL};
use crate::{Link, note_closed};

/// What the listener carries across a reload besides its socket.
#[derive(Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
pub(crate) struct HostNote {
    pub(crate) addr: String,
    pub(crate) status: NetStatus,
    pub(crate) next_peer: u32,
}

/// What a joiner's connection carries across a reload besides its socket.
#[derive(Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
pub(crate) struct PeerNote {
    pub(crate) peer: u32,
    pub(crate) ready: bool,
    pub(crate) pending: Pending,
    /// How long it had been waiting to say hello: its deadline holds across the reload.
    pub(crate) waited_ms: u64,
}

pub(crate) struct Peer {
    pub(crate) id: u32,
    /// Past the handshake: it gets snapshots and its input counts.
    pub(crate) ready: bool,
    pub(crate) conn: Conn,
    /// When it connected (as this generation counts: a reload carries how long it waited).
    pub(crate) since: Instant,
    /// The address it connected from, for the per-address cap.
    pub(crate) from: Option<IpAddr>,
}

impl Peer {
    pub(crate) fn new(id: u32, ready: bool, conn: Conn, waited: Duration) -> Peer {
        let from = conn.stream.peer_addr().ok().map(|a| a.ip());
        let now = Instant::now();
        Peer { id, ready, conn, since: now.checked_sub(waited).unwrap_or(now), from }
    }

    pub(crate) fn note(&self, pending: Pending) -> PeerNote {
        let waited_ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        PeerNote { peer: self.id, ready: self.ready, pending, waited_ms }
    }
}

/// The peers' socket names start so.
pub(crate) const PEER_PREFIX: &str = "peer-";

/// Why a connection is turned away, counted in [`Refusals`].
#[derive(Clone, Copy)]
enum Refusal {
    LateHello,
    PendingFull,
    AddressFull,
    GameFull,
}

/// Why a connection closes: what it did, or a refusal (counted, and logged quietly: a flood
/// must not flood the log too).
struct Closing {
    reason: String,
    refusal: Option<Refusal>,
}

impl Closing {
    fn refused(refusal: Refusal, reason: String) -> Closing {
        Closing { reason, refusal: Some(refusal) }
    }
}

impl From<String> for Closing {
    fn from(reason: String) -> Closing {
        Closing { reason, refusal: None }
    }
}

pub(crate) fn run(stop: &Stop, link: &Link, listener: &TcpListener, mut peers: Vec<Peer>, mut next_peer: u32) {
    let period = Duration::from_secs_f64(1.0 / f64::from(link.rate.max(1)));
    let mut next_snapshot = Instant::now();
    link.update(|s| s.limits = link.limits.clone());
    while !stop.requested() && !link.leaving() {
        let mut closing: BTreeMap<u32, Closing> = BTreeMap::new();
        accept(stop, link, listener, &mut peers, &mut next_peer);
        let deadline = Duration::from_millis(link.limits.hello_timeout_ms);
        for peer in &mut peers {
            if !peer.ready && peer.since.elapsed() > deadline {
                let reason = format!("it did not say hello within {} ms", link.limits.hello_timeout_ms);
                closing.insert(peer.id, Closing::refused(Refusal::LateHello, reason));
            } else if let Err(why) = serve(stop, link, peer) {
                closing.insert(peer.id, why);
            }
        }
        if Instant::now() >= next_snapshot {
            next_snapshot = (next_snapshot + period).max(Instant::now());
            if peers.iter().any(|p| p.ready) {
                snapshot(stop, link, &mut peers);
            }
        }
        for peer in &mut peers {
            if let Err(reason) = peer.conn.flush() {
                closing.entry(peer.id).or_insert(Closing::from(reason));
            }
        }
        for (id, why) in closing {
            if let Some(at) = peers.iter().position(|p| p.id == id) {
                close(link, peers.remove(at), why);
            }
        }
        let ready = peers.iter().filter(|p| p.ready).count();
        let pending = peers.len() - ready;
        let now = link.status();
        if (now.peers, now.pending) != (ready, pending) {
            link.update(|s| (s.peers, s.pending) = (ready, pending));
        }
        stop.sleep(Duration::from_millis(1));
    }
    if link.leaving() {
        for peer in peers {
            close(link, peer, Closing::from("the host stopped hosting".to_owned()));
        }
        link.sockets.close(crate::LISTENER);
        return;
    }
    // A reload: everything goes back to the host, for the next generation.
    for peer in &peers {
        peer.conn.keep_pending(&link.sockets, |pending| codec::encode(&peer.note(pending)));
    }
    let note = HostNote { addr: link.addr(), status: link.status(), next_peer };
    match codec::encode(&note) {
        Ok(bytes) => link.sockets.set_note(crate::LISTENER, bytes),
        Err(e) => tracing::warn!("cannot keep the host's counters: {e}"),
    }
}

/// Takes every connection waiting in the kernel's queue, making room for each first.
fn accept(stop: &Stop, link: &Link, listener: &TcpListener, peers: &mut Vec<Peer>, next_peer: &mut u32) {
    loop {
        match listener.accept() {
            Ok((stream, from)) => {
                make_room(stop, link, peers, from.ip());
                *next_peer += 1;
                let name = format!("{PEER_PREFIX}{next_peer}");
                let kept = link.sockets.keep(&name, Socket::Stream(Arc::new(stream))).into_stream();
                match kept
                    .ok_or_else(|| "not a stream".to_owned())
                    .and_then(|s| Conn::new(name, s, &Pending::default()))
                {
                    Ok(conn) => {
                        tracing::debug!("peer {next_peer} connected from {from}");
                        link.update(|s| s.connections += 1);
                        peers.push(Peer::new(*next_peer, false, conn, Duration::ZERO));
                    }
                    Err(e) => tracing::warn!("a connection from {from} could not be kept: {e}"),
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) => {
                tracing::warn!("accepting a connection failed: {e}");
                return;
            }
        }
    }
}

/// Before a connection from `from` joins the ones waiting to say hello: when a cap is
/// reached (from that address, else overall), the oldest waiting one is refused. It is read
/// first, in case its hello has arrived since (then it plays, and the next oldest is looked
/// at), so a joiner that said hello at once is never the one turned away.
fn make_room(stop: &Stop, link: &Link, peers: &mut Vec<Peer>, from: IpAddr) {
    let limits = &link.limits;
    // Each turn settles one waiting connection: bounded by how many there are.
    for _ in 0..=peers.len() {
        let waiting =
            |same: bool| peers.iter().enumerate().filter(move |(_, p)| !p.ready && (!same || p.from == Some(from)));
        let (cap, refusal, why) = if waiting(true).count() >= limits.pending_per_address {
            let why = format!(
                "too many connections from {from} waiting to say hello (at most {})",
                limits.pending_per_address
            );
            (true, Refusal::AddressFull, why)
        } else if waiting(false).count() >= limits.pending {
            (
                false,
                Refusal::PendingFull,
                format!("too many connections waiting to say hello (at most {})", limits.pending),
            )
        } else {
            return;
        };
        let Some(at) = waiting(cap).min_by_key(|(_, p)| p.since).map(|(at, _)| at) else { return };
        match serve(stop, link, &mut peers[at]) {
            Ok(()) if peers[at].ready => {}
            Ok(()) => {
                close(link, peers.remove(at), Closing::refused(refusal, why));
                return;
            }
            Err(own) => close(link, peers.remove(at), own),
        }
    }
}

/// Reads what a peer sent and handles each whole message; `Err` closes it, with the reason.
fn serve(stop: &Stop, link: &Link, peer: &mut Peer) -> Result<(), Closing> {
    if let Got::Closed = peer.conn.read()? {
        return Err(Closing::from("it closed the connection".to_owned()));
    }
    loop {
        let max = if peer.ready { MAX_FRAME } else { HELLO_FRAME };
        let Some((message, _)) = wire::next(&mut peer.conn.unread, max)? else { return Ok(()) };
        let handled = match &message {
            Message::Hello { protocol } if *protocol != PROTOCOL => {
                return Err(format!("it speaks protocol {protocol}, this host speaks {PROTOCOL}").into());
            }
            Message::Hello { .. } if !peer.ready => {
                let players = link.status().peers;
                if players >= link.limits.players {
                    let why = format!("the game is full ({players} players, at most {})", link.limits.players);
                    return Err(Closing::refused(Refusal::GameFull, why));
                }
                link.caller.call_blocking(&link.app, app::JOINED, &codec::encode(&peer.id)?).map(|payload| {
                    peer.ready = true;
                    // Counted at once: two hellos in one turn must not both find room.
                    link.update(|s| s.peers += 1);
                    wire::push(&mut peer.conn.out, &Message::Welcome { payload })
                })
            }
            Message::Input { payload } if peer.ready => {
                link.caller.call_blocking(&link.app, app::INPUT, &codec::encode(&(peer.id, payload))?).map(|_| Ok(0))
            }
            Message::Goodbye { reason } => return Err(format!("it left: {reason}").into()),
            other => return Err(format!("it sent {} out of turn", kind(other)).into()),
        };
        match handled {
            Ok(pushed) => {
                pushed?;
            }
            // The module is being reloaded: the message waits for the next generation.
            Err(_) if stop.requested() => {
                wire::unread_again(&mut peer.conn.unread, &message)?;
                return Ok(());
            }
            Err(e) => tracing::warn!("the app did not take peer {}'s {}: {e}", peer.id, kind(&message)),
        }
    }
}

fn snapshot(stop: &Stop, link: &Link, peers: &mut [Peer]) {
    let payload = match link.caller.call_blocking(&link.app, app::SNAPSHOT, &[]) {
        Ok(payload) => payload,
        Err(e) => {
            if !stop.requested() {
                tracing::warn!("no snapshot from `{}`: {e}", link.app);
            }
            return;
        }
    };
    let seq = link.status().snapshots_sent + 1;
    let message = Message::Snapshot { seq, payload };
    let mut size = 0;
    for peer in peers.iter_mut().filter(|p| p.ready) {
        match wire::push(&mut peer.conn.out, &message) {
            Ok(n) => size = n,
            Err(e) => tracing::warn!("cannot send a snapshot: {e}"),
        }
    }
    link.update(|s| {
        s.snapshots_sent = seq;
        s.last_snapshot_bytes = size as u64;
    });
}

/// Says goodbye (best effort), closes the socket for good, and tells the app.
fn close(link: &Link, mut peer: Peer, why: Closing) {
    let Closing { reason, refusal } = why;
    match refusal {
        Some(refusal) => {
            tracing::debug!("refusing peer {}: {reason}", peer.id);
            link.update(|s| count(&mut s.refused, refusal));
        }
        // A stranger (no hello yet) breaking the protocol is as common in a flood: quiet too.
        None if !peer.ready => tracing::debug!("closing peer {} before its hello: {reason}", peer.id),
        None => tracing::warn!("closing peer {}: {reason}", peer.id),
    }
    let _ = wire::push(&mut peer.conn.out, &Message::Goodbye { reason: reason.clone() });
    let _ = peer.conn.flush();
    link.sockets.close(&peer.conn.name);
    note_closed(link, format!("peer {}: {reason}", peer.id));
    if peer.ready
        && let Err(e) = codec::encode(&peer.id).and_then(|id| link.caller.call_blocking(&link.app, app::LEFT, &id))
    {
        tracing::warn!("the app did not hear that peer {} left: {e}", peer.id);
    }
}

fn count(refused: &mut Refusals, refusal: Refusal) {
    let counter = match refusal {
        Refusal::LateHello => &mut refused.late_hello,
        Refusal::PendingFull => &mut refused.pending_full,
        Refusal::AddressFull => &mut refused.address_full,
        Refusal::GameFull => &mut refused.game_full,
    };
    *counter += 1;
}

fn kind(message: &Message) -> &'static str {
    match message {
        Message::Hello { .. } => "a hello",
        Message::Welcome { .. } => "a welcome",
        Message::Snapshot { .. } => "a snapshot",
        Message::Input { .. } => "input",
        Message::Goodbye { .. } => "a goodbye",
    }
}
