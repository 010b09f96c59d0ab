//! The joiner's worker: says hello, hands each snapshot from the host to the app in order
//! (counting any missing or seen twice by sequence number), and sends the app's input.

use std::time::Duration;

use core_net::{NetStatus, Role, app};
use playground_api::codec;
use playground_api::serde::{Deserialize, Serialize};
use playground_api::tracing;
use playground_api::worker::Stop;

use crate::conn::{Conn, Got, Pending};
use crate::wire::{self, Message};
use crate::{Link, note_closed};

/// What the connection to the host carries across a reload besides its socket.
#[derive(Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
pub(crate) struct JoinNote {
    pub(crate) addr: String,
    pub(crate) status: NetStatus,
    pub(crate) last_seq: u64,
    pub(crate) pending: Pending,
}

pub(crate) fn run(stop: &Stop, link: &Link, mut conn: Conn, mut last_seq: u64) {
    while !stop.requested() && !link.leaving() {
        if let Err(reason) = serve(stop, link, &mut conn, &mut last_seq) {
            // The host is gone or broke the protocol: say so, keep the last world.
            tracing::warn!("left the game: {reason}");
            note_closed(link, reason);
            link.update(|s| s.role = Role::Offline);
            link.sockets.close(crate::HOST);
            return;
        }
        stop.sleep(Duration::from_millis(1));
    }
    if link.leaving() {
        let _ = wire::push(&mut conn.out, &Message::Goodbye { reason: "the player left".to_owned() });
        let _ = conn.flush();
        link.sockets.close(crate::HOST);
        return;
    }
    let (addr, status) = (link.addr(), link.status());
    conn.keep_pending(&link.sockets, |pending| codec::encode(&JoinNote { addr, status, last_seq, pending }));
}

fn serve(stop: &Stop, link: &Link, conn: &mut Conn, last_seq: &mut u64) -> Result<(), String> {
    if let Got::Closed = conn.read()? {
        return Err("the host closed the connection".to_owned());
    }
    while let Some((message, size)) =
        wire::next(&mut conn.unread, wire::MAX_FRAME).map_err(|e| format!("the host sent {e}"))?
    {
        match message {
            Message::Welcome { payload } => link.update(|s| s.welcome = Some(payload)),
            Message::Snapshot { seq, .. } if seq <= *last_seq => link.update(|s| s.snapshots_duplicated += 1),
            Message::Snapshot { seq, payload } => match link.caller.call_blocking(&link.app, app::APPLY, &payload) {
                Ok(_) => {
                    let lost = seq - *last_seq - 1;
                    *last_seq = seq;
                    link.update(|s| {
                        s.snapshots_received += 1;
                        s.snapshots_lost += lost;
                        s.last_snapshot_bytes = size as u64;
                    });
                }
                // This module is being reloaded: the snapshot waits for the next generation.
                Err(_) if stop.requested() => {
                    wire::unread_again(&mut conn.unread, &Message::Snapshot { seq, payload })?;
                    break;
                }
                Err(e) => {
                    tracing::warn!("`{}` did not apply snapshot {seq}: {e}", link.app);
                    *last_seq = seq;
                }
            },
            Message::Goodbye { reason } => return Err(format!("the host said goodbye: {reason}")),
            other => return Err(format!("the host sent {other:?} out of turn")),
        }
    }
    if let Some(input) = link.take_input() {
        wire::push(&mut conn.out, &Message::Input { payload: input })?;
    }
    conn.flush()
}
