//! The networking contract: one process hosts, others join; the host is authoritative.
//!
//! The module implementing it moves opaque bytes for an app and calls the app back (on the
//! main thread, through the host) with the methods named in [`app`]: the host's app makes
//! snapshots and receives each joiner's input; a joiner's app applies snapshots and sends
//! its input with [`Net::send_input`]. What a snapshot or an input holds is the app's
//! business, not the network's.

use playground_api::serde::{Deserialize, Serialize};

/// What this process is in a networked game.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub enum Role {
    #[default]
    Offline,
    /// Listening at this address.
    Hosting(String),
    /// Connected to a host at this address.
    Joined(String),
}

/// Counters and state for the user, tests and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
pub struct NetStatus {
    pub role: Role,
    /// Peers connected and past the handshake (hosting).
    pub peers: usize,
    /// Connections the host accepted since it started hosting; a joiner's connections made.
    pub connections: u64,
    pub snapshots_sent: u64,
    pub snapshots_received: u64,
    /// Snapshots a joiner found missing, or seen twice, by their sequence numbers.
    pub snapshots_lost: u64,
    pub snapshots_duplicated: u64,
    /// The size of the last snapshot sent or received, on the wire.
    pub last_snapshot_bytes: u64,
    /// Why connections were closed, latest last (a few are kept).
    pub closed: Vec<String>,
    /// On a joiner: what the host's app answered when it joined (its player, say).
    pub welcome: Option<Vec<u8>>,
    /// Hosting: connections accepted that have not said hello yet.
    pub pending: usize,
    /// Hosting: connections turned away, by why.
    pub refused: Refusals,
    /// Hosting: the caps in force (the configured ones, lowered to fit the descriptor budget).
    pub limits: NetLimits,
}

/// How many connections a host turned away, by why (each also closed with the reason).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
pub struct Refusals {
    /// It did not say hello within the deadline.
    pub late_hello: u64,
    /// It was the oldest of too many connections waiting to say hello.
    pub pending_full: u64,
    /// It was the oldest of too many such connections from one address.
    pub address_full: u64,
    /// It said hello to a full game.
    pub game_full: u64,
}

/// What a host takes at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
pub struct NetLimits {
    /// Connections waiting to say hello, in all and from one address.
    pub pending: usize,
    pub pending_per_address: usize,
    /// Players past the hello.
    pub players: usize,
    /// How long a connection may take to say hello.
    pub hello_timeout_ms: u64,
    /// The file descriptors networking may hold (one per connection, one for the listener).
    pub descriptors: usize,
}

/// The networking service. Addresses are loopback unless `allow_remote` says otherwise.
pub trait Net {
    fn status(&self) -> NetStatus;
    /// Starts hosting at `addr` (port 0 picks one); the address it listens at.
    fn host(&mut self, addr: &str, allow_remote: bool) -> Result<String, String>;
    /// Joins the game hosted at `addr`.
    fn join(&mut self, addr: &str, allow_remote: bool) -> Result<(), String>;
    /// Stops hosting or leaves, closing every connection.
    fn leave(&mut self);
    /// On a joiner: the input to send to the host (the latest replaces one not yet sent).
    fn send_input(&mut self, input: Vec<u8>);
}

playground_api::contract!(dyn Net, "core/net");

/// The generic-call methods of the module implementing this contract.
pub mod methods {
    /// `(String, bool)` address and allow_remote -> `String`, the address listened at.
    pub const HOST: &str = "host";
    /// `(String, bool)` -> nothing.
    pub const JOIN: &str = "join";
    /// nothing -> nothing.
    pub const LEAVE: &str = "leave";
    /// nothing -> `NetStatus`.
    pub const STATUS: &str = "status";
}

/// The methods the networking module calls on the app it serves (`app` in its config).
pub mod app {
    /// Host: nothing -> the snapshot bytes to send to every joiner.
    pub const SNAPSHOT: &str = "net_snapshot";
    /// Host: `u32` peer -> the welcome bytes for it (what the joiner's status shows).
    pub const JOINED: &str = "net_joined";
    /// Host: `(u32, Vec<u8>)` a peer's input.
    pub const INPUT: &str = "net_input";
    /// Host: `u32` peer that left.
    pub const LEFT: &str = "net_left";
    /// Joiner: `Vec<u8>` a snapshot from the host, to apply.
    pub const APPLY: &str = "net_apply";
}
