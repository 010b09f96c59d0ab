//! One TCP connection as the workers use it: non-blocking, with what was read but not yet
//! handled and what is waiting to be written. Both survive a reload of this module in the
//! note the host keeps beside the socket, so a frame cut in half by the swap is finished by
//! the next generation, not lost or sent twice.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use bytes::BytesMut;
use playground_api::net::Sockets;
use playground_api::serde::{Deserialize, Serialize};

/// Bytes waiting to be written beyond which a peer is too slow to keep.
const MAX_BACKLOG: usize = 64 << 20;

/// The most one read takes from a connection before the worker turns to the others: a fast
/// sender is not read without end, and never holds more than a frame and this unhandled.
const READ_PER_TURN: usize = 1 << 20;

pub(crate) struct Conn {
    /// The name the host keeps its socket by.
    pub(crate) name: String,
    /// The host's socket, shared (one file descriptor).
    pub(crate) stream: Arc<TcpStream>,
    pub(crate) unread: BytesMut,
    pub(crate) out: BytesMut,
}

/// What a connection carries across a reload besides its socket.
#[derive(Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
pub(crate) struct Pending {
    pub(crate) unread: Vec<u8>,
    pub(crate) out: Vec<u8>,
}

/// How reading went.
pub(crate) enum Got {
    /// Whatever was there was read (maybe nothing).
    Open,
    /// The other side closed the connection.
    Closed,
}

impl Conn {
    pub(crate) fn new(name: String, stream: Arc<TcpStream>, pending: &Pending) -> Result<Conn, String> {
        stream.set_nonblocking(true).map_err(|e| format!("cannot use the connection `{name}`: {e}"))?;
        let _ = stream.set_nodelay(true);
        Ok(Conn { name, stream, unread: BytesMut::from(&pending.unread[..]), out: BytesMut::from(&pending.out[..]) })
    }

    /// Reads what has arrived, up to [`READ_PER_TURN`] bytes.
    pub(crate) fn read(&mut self) -> Result<Got, String> {
        let mut buffer = [0u8; 64 * 1024];
        let mut taken = 0;
        while taken < READ_PER_TURN {
            match (&*self.stream).read(&mut buffer) {
                Ok(0) => return Ok(Got::Closed),
                Ok(n) => {
                    self.unread.extend_from_slice(&buffer[..n]);
                    taken += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Got::Open),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading failed: {e}")),
            }
        }
        Ok(Got::Open)
    }

    /// Writes as much of what waits as the socket takes now.
    pub(crate) fn flush(&mut self) -> Result<(), String> {
        while !self.out.is_empty() {
            match (&*self.stream).write(&self.out) {
                Ok(0) => return Err("the connection took no more bytes".to_owned()),
                Ok(n) => {
                    let _ = self.out.split_to(n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("writing failed: {e}")),
            }
        }
        if self.out.len() > MAX_BACKLOG {
            return Err(format!("the peer reads too slowly ({} MiB waiting)", self.out.len() >> 20));
        }
        Ok(())
    }

    /// Keeps what is pending beside the socket, for the next generation.
    pub(crate) fn keep_pending(&self, sockets: &Sockets, extra: impl FnOnce(Pending) -> Result<Vec<u8>, String>) {
        let pending = Pending { unread: self.unread.to_vec(), out: self.out.to_vec() };
        match extra(pending) {
            Ok(note) => sockets.set_note(&self.name, note),
            Err(e) => playground_api::tracing::warn!("cannot keep the state of `{}`: {e}", self.name),
        }
    }
}
