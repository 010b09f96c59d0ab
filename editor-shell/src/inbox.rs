//! The one way into the main loop. Every controller (the stdin line protocol, the MCP
//! server, the window's own buttons, live edit's watcher) sends [`Message`]s through an
//! [`Inbox`] it is handed, and the loop handles them at its safe point. The inbox knows no
//! controller: an operation carries its own [`Reply`], a closure the controller made, so
//! the loop answers without knowing where the answer goes.
//!
//! This file depends on nothing else in the shell.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};

use playground_api::serde::Serialize;
use playground_api::serde_json::{self, Value};

/// Called after each message is queued, so a host that waits on something else (a window
/// waiting for input) looks at the inbox. A headless loop waits on the inbox itself.
pub(crate) type Waker = Arc<dyn Fn() + Send + Sync>;

/// One request, whoever sent it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Op {
    Help,
    /// Every module: id, version, layer, status, generation, dependencies, ...
    Modules,
    /// Every reload so far.
    History,
    /// The last build's outcome and diagnostics, and what is building now.
    BuildStatus,
    /// A module's state as JSON.
    State {
        id: String,
    },
    /// A module's metadata, state, last error and reload history.
    Inspect {
        id: String,
    },
    /// The generic call path with JSON arguments (none: empty arguments).
    Call {
        id: String,
        method: String,
        args: Option<Value>,
    },
    /// Reloads a module and its dependents; with `build`, cargo builds them first.
    Reload {
        id: String,
        build: bool,
    },
    /// Scaffolds a new module crate, builds it and loads it.
    Create {
        id: String,
        description: String,
    },
    /// The game's view as PNG: written to `path`, or without one, answered in base64.
    Capture {
        path: Option<String>,
    },
}

/// JSON text, serialized straight from the runtime's types so that fields keep their
/// declared order (`seq`, `requested`, `modules`, ...), as the line protocol always printed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Json(pub(crate) String);

impl Json {
    pub(crate) fn of<T: Serialize + ?Sized>(value: &T) -> Json {
        Json(serde_json::to_string(value).unwrap_or_else(|e| format!("\"unprintable: {e}\"")))
    }
}

/// What an operation gives back: JSON, or a sentence saying what went wrong.
pub(crate) type Answer = Result<Json, String>;

/// Where an operation's answer goes; called once, on the main thread. A controller that
/// went away (an MCP client that disconnected) makes it a no-op.
pub(crate) type Reply = Box<dyn FnOnce(Answer) + Send>;

/// A controller, as the loop tells them apart when one stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Controller {
    /// The stdin line protocol.
    Lines,
    /// The MCP server.
    Mcp,
}

/// Everything the loop waits for, on one channel.
pub(crate) enum Message {
    /// A line of the stdin protocol, or why it cannot be one (too long, not text); the loop
    /// parses it and prints the answer in order with the events it prints.
    Line(Result<String, String>),
    /// An operation, and where its answer goes.
    Request { op: Op, reply: Reply },
    /// A controller stopped (stdin closed; the MCP transport ended), and why.
    Ended { controller: Controller, why: String },
    /// Something has news (live edit's watcher or build): reach the safe point now.
    Wake,
}

/// The sending side of the loop's channel; cheap to clone, one per controller.
#[derive(Clone)]
pub(crate) struct Inbox {
    sender: Sender<Message>,
    waker: Option<Waker>,
}

/// The loop has stopped: nobody will read the message.
#[derive(Debug)]
pub(crate) struct Closed;

impl Inbox {
    /// A new inbox and the loop's end of it.
    pub(crate) fn channel(waker: Option<Waker>) -> (Inbox, Receiver<Message>) {
        let (sender, messages) = mpsc::channel();
        (Inbox { sender, waker }, messages)
    }

    /// Queues `message` and wakes the host.
    pub(crate) fn send(&self, message: Message) -> Result<(), Closed> {
        self.sender.send(message).map_err(|_| Closed)?;
        if let Some(waker) = &self.waker {
            waker();
        }
        Ok(())
    }
}
