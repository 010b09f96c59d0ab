//! Network sockets the host keeps for a module across its reloads, so that a listener keeps
//! listening and a connection stays open while the networking code itself is swapped.
//!
//! Why this is sound (ARCHITECTURE.md, invariant 13): what the host keeps is a [`Socket`],
//! one of std's own socket types (their code lives in std, which no reload replaces), and
//! plain bytes the module wrote beside it ([`Sockets::set_note`]: what it had read but not
//! yet used, counters); never a module's type. A module shares the kept socket (an `Arc`
//! of it: one file descriptor per connection, however many hold it), so a generation that
//! fails half-way through its start loses nothing: the host's share keeps the connection
//! open for the next one. After a reload, whatever the new generation did not take back is
//! shut down by the host ([`SocketStore::sweep`]), whoever still shares it.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::kept::ByModule;

/// A socket the host can keep: std's own types only, shared (`&TcpStream` reads and writes,
/// `&TcpListener` accepts).
#[derive(Clone, Debug)]
pub enum Socket {
    Listener(Arc<TcpListener>),
    Stream(Arc<TcpStream>),
}

impl Socket {
    /// The listener, if this is one.
    pub fn into_listener(self) -> Option<Arc<TcpListener>> {
        match self {
            Socket::Listener(l) => Some(l),
            Socket::Stream(_) => None,
        }
    }

    /// The stream, if this is one.
    pub fn into_stream(self) -> Option<Arc<TcpStream>> {
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

/// A socket the host lets go of is done with, whoever still shares it: a stream is shut
/// down both ways (a generation's leftover share must not keep a peer waiting), a listener
/// closes with its last share.
impl Drop for NetKept {
    fn drop(&mut self) {
        if let Socket::Stream(stream) = &self.socket {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
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
    /// Keeps `socket` as `name` (in place of whatever was kept so), and returns the
    /// module's share of it.
    pub fn keep(&self, name: &str, socket: Socket) -> Socket {
        self.store.lock().insert(&self.module, name, NetKept { socket: socket.clone(), note: Vec::new() });
        socket
    }

    /// The socket kept as `name` and the note kept with it, taken back by this generation.
    pub fn take(&self, name: &str) -> Option<(Socket, Vec<u8>)> {
        let mut store = self.store.lock();
        let kept = store.get_mut(&self.module, name)?;
        kept.taken = true;
        Some((kept.value.socket.clone(), kept.value.note.clone()))
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
        // Dropped outside the lock; dropping shuts a stream down.
        let removed = self.store.lock().remove(&self.module, name);
        drop(removed);
    }
}
