//! The host's worker: accepts joiners, answers their `Hello`, hands their input to the app,
//! and sends every joiner the app's snapshot at a steady rate. Everything it does to the app
//! goes through the host's `ModuleCaller`, so it runs on the main thread at a safe point.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use core_net::{NetStatus, app};
use playground_api::codec;
use playground_api::net::Socket;
use playground_api::serde::{Deserialize, Serialize};
use playground_api::tracing;
use playground_api::worker::Stop;

use crate::conn::{Conn, Got, Pending};
use crate::wire::{self, Message, PROTOCOL};
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
}

pub(crate) struct Peer {
    pub(crate) id: u32,
    /// Past the handshake: it gets snapshots and its input counts.
    pub(crate) ready: bool,
    pub(crate) conn: Conn,
}

/// The peers' socket names start so.
pub(crate) const PEER_PREFIX: &str = "peer-";

pub(crate) fn run(stop: &Stop, link: &Link, listener: &TcpListener, mut peers: Vec<Peer>, mut next_peer: u32) {
    let period = Duration::from_secs_f64(1.0 / f64::from(link.rate.max(1)));
    let mut next_snapshot = Instant::now();
    while !stop.requested() && !link.leaving() {
        accept(link, listener, &mut peers, &mut next_peer);
        let mut closing: BTreeMap<u32, String> = BTreeMap::new();
        for peer in &mut peers {
            if let Err(reason) = serve(stop, link, peer) {
                closing.insert(peer.id, reason);
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
                closing.entry(peer.id).or_insert(reason);
            }
        }
        for (id, reason) in closing {
            if let Some(at) = peers.iter().position(|p| p.id == id) {
                close(link, peers.remove(at), &reason);
            }
        }
        let ready = peers.iter().filter(|p| p.ready).count();
        if link.status().peers != ready {
            link.update(|s| s.peers = ready);
        }
        stop.sleep(Duration::from_millis(1));
    }
    if link.leaving() {
        for peer in peers {
            close(link, peer, "the host stopped hosting");
        }
        link.sockets.close(crate::LISTENER);
        return;
    }
    // A reload: everything goes back to the host, for the next generation.
    for peer in &peers {
        let (id, ready) = (peer.id, peer.ready);
        peer.conn.keep_pending(&link.sockets, |pending| codec::encode(&PeerNote { peer: id, ready, pending }));
    }
    let note = HostNote { addr: link.addr(), status: link.status(), next_peer };
    match codec::encode(&note) {
        Ok(bytes) => link.sockets.set_note(crate::LISTENER, bytes),
        Err(e) => tracing::warn!("cannot keep the host's counters: {e}"),
    }
}

fn accept(link: &Link, listener: &TcpListener, peers: &mut Vec<Peer>, next_peer: &mut u32) {
    loop {
        match listener.accept() {
            Ok((stream, from)) => {
                *next_peer += 1;
                let name = format!("{PEER_PREFIX}{next_peer}");
                let kept = link.sockets.keep(&name, Socket::Stream(stream)).map(Socket::into_stream);
                match kept.and_then(|s| Conn::new(name, s.ok_or("not a stream")?, &Pending::default())) {
                    Ok(conn) => {
                        tracing::info!("peer {next_peer} connected from {from}");
                        link.update(|s| s.connections += 1);
                        peers.push(Peer { id: *next_peer, ready: false, conn });
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

/// Reads what a peer sent and handles each whole message; `Err` closes it, with the reason.
fn serve(stop: &Stop, link: &Link, peer: &mut Peer) -> Result<(), String> {
    if let Got::Closed = peer.conn.read()? {
        return Err("it closed the connection".to_owned());
    }
    while let Some((message, _)) = wire::next(&mut peer.conn.unread)? {
        let handled = match &message {
            Message::Hello { protocol } if *protocol != PROTOCOL => {
                return Err(format!("it speaks protocol {protocol}, this host speaks {PROTOCOL}"));
            }
            Message::Hello { .. } if !peer.ready => {
                link.caller.call_blocking(&link.app, app::JOINED, &codec::encode(&peer.id)?).map(|payload| {
                    peer.ready = true;
                    wire::push(&mut peer.conn.out, &Message::Welcome { payload })
                })
            }
            Message::Input { payload } if peer.ready => {
                link.caller.call_blocking(&link.app, app::INPUT, &codec::encode(&(peer.id, payload))?).map(|_| Ok(0))
            }
            Message::Goodbye { reason } => return Err(format!("it left: {reason}")),
            other => return Err(format!("it sent {} out of turn", kind(other))),
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
    Ok(())
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
fn close(link: &Link, mut peer: Peer, reason: &str) {
    tracing::warn!("closing peer {}: {reason}", peer.id);
    let _ = wire::push(&mut peer.conn.out, &Message::Goodbye { reason: reason.to_owned() });
    let _ = peer.conn.flush();
    link.sockets.close(&peer.conn.name);
    note_closed(link, format!("peer {}: {reason}", peer.id));
    if peer.ready
        && let Err(e) = codec::encode(&peer.id).and_then(|id| link.caller.call_blocking(&link.app, app::LEFT, &id))
    {
        tracing::warn!("the app did not hear that peer {} left: {e}", peer.id);
    }
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
