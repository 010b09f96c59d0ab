//! Network sockets the host keeps for a module across its reloads, so that a listener keeps
//! listening and a connection stays open while the networking code itself is swapped.
//!
//! Why this is sound (ARCHITECTURE.md, invariant 13): what the host keeps is a [`Socket`],
//! one of std's own socket types (their code lives in std, which no reload replaces), and
//! plain bytes the module wrote beside it ([`Sockets::set_note`]: what it had read but not
//! yet used, counters); never a module's type. A module gets a clone of the kept socket (the
//! same connection, another file descriptor), so a generation that fails half-way through
//! its start loses nothing: the host's handle keeps the connection open for the next one.
//! After a reload, whatever the new generation did not take back is closed by the host
//! ([`SocketStore::sweep`]).

use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::kept::ByModule;

/// A socket the host can keep: std's own types only.
#[derive(Debug)]
pub enum Socket {
    Listener(TcpListener),
    Stream(TcpStream),
}

impl Socket {
    /// Another handle to the same socket.
    pub fn try_clone(&self) -> std::io::Result<Socket> {
        Ok(match self {
            Socket::Listener(l) => Socket::Listener(l.try_clone()?),
            Socket::Stream(s) => Socket::Stream(s.try_clone()?),
        })
    }

    /// The listener, if this is one.
    pub fn into_listener(self) -> Option<TcpListener> {
        match self {
            Socket::Listener(l) => Some(l),
            Socket::Stream(_) => None,
        }
    }

    /// The stream, if this is one.
    pub fn into_stream(self) -> Option<TcpStream> {
        match self {
            Socket::Stream(s) => Some(s),
            Socket::Listener(_) => None,
        }
    }
}

/// One kept socket, and the bytes the module wrote beside it.
struct NetKept {
    socket: Socket,
    note: Vec<u8>,
}

/// The host's side: every module's kept sockets, by module and name.
#[derive(Clone, Default)]
pub struct SocketStore(Arc<Mutex<ByModule<NetKept>>>);

impl SocketStore {
    fn lock(&self) -> MutexGuard<'_, ByModule<NetKept>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The handle module `module` uses.
    pub fn for_module(&self, module: &str) -> Sockets {
        Sockets { module: module.to_owned(), store: self.clone() }
    }

    /// Before a generation of `module` starts: nothing of its is taken yet.
    pub fn begin(&self, module: &str) {
        self.lock().begin(module);
    }

    /// After it started: closes what it did not take back; returns how many.
    pub fn sweep(&self, module: &str) -> usize {
        self.lock().sweep(module)
    }

    /// The module is gone: its sockets close.
    pub fn forget(&self, module: &str) {
        self.lock().forget(module);
    }
}

/// A module's kept sockets; `Send + Clone`, so its IO worker can use it too.
#[derive(Clone)]
pub struct Sockets {
    module: String,
    store: SocketStore,
}

impl Sockets {
    /// Keeps `socket` as `name` (in place of whatever was kept so), and returns another
    /// handle to it for the module to use.
    pub fn keep(&self, name: &str, socket: Socket) -> Result<Socket, String> {
        let mine = socket.try_clone().map_err(|e| format!("cannot keep the socket `{name}`: {e}"))?;
        self.store.lock().insert(&self.module, name, NetKept { socket, note: Vec::new() });
        Ok(mine)
    }

    /// The socket kept as `name` and the note kept with it, taken back by this generation.
    pub fn take(&self, name: &str) -> Result<Option<(Socket, Vec<u8>)>, String> {
        let mut store = self.store.lock();
        let Some(kept) = store.get_mut(&self.module, name) else { return Ok(None) };
        let socket = kept.value.socket.try_clone().map_err(|e| format!("cannot take the socket `{name}` back: {e}"))?;
        kept.taken = true;
        Ok(Some((socket, kept.value.note.clone())))
    }

    /// The names of this module's kept sockets.
    pub fn names(&self) -> Vec<String> {
        self.store.lock().names(&self.module)
    }

    /// Replaces the bytes kept beside socket `name` (what was read and not yet used, the
    /// connection's counters): what the next generation's [`Sockets::take`] returns.
    pub fn set_note(&self, name: &str, note: Vec<u8>) {
        if let Some(kept) = self.store.lock().get_mut(&self.module, name) {
            kept.value.note = note;
        }
    }

    /// Closes socket `name` for good (a connection shut down both ways, a listener dropped).
    pub fn close(&self, name: &str) {
        let removed = self.store.lock().remove(&self.module, name);
        if let Some(NetKept { socket: Socket::Stream(stream), .. }) = removed {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}
