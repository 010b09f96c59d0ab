//! A process-wide ring buffer of recent `tracing` events, for the editor's log panel.
//!
//! The shell adds [`layer`] to its subscriber; modules read [`recent`]. The buffer lives in
//! the api dylib, which is immortal and loaded once, so the shell's events and every
//! module's land in the same place and survive any module's reload. Only owned strings are
//! kept: nothing here points into a module (ARCHITECTURE.md, invariant 4).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// How many events the buffer keeps; older ones are dropped.
const CAPACITY: usize = 2000;

/// How bad an event is, as a plain enum the editor can filter and save.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    fn of(level: tracing::Level) -> Level {
        match level {
            tracing::Level::ERROR => Level::Error,
            tracing::Level::WARN => Level::Warn,
            tracing::Level::INFO => Level::Info,
            tracing::Level::DEBUG => Level::Debug,
            _ => Level::Trace,
        }
    }

    /// The upper-case name, as log lines show it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Sequence number, from 1, in this process.
    pub seq: u64,
    /// Seconds since the Unix epoch.
    pub time: f64,
    pub level: Level,
    /// The event's target (usually the module path of the code that logged it).
    pub target: String,
    /// The message, followed by the other fields as `name=value`.
    pub message: String,
}

struct Buffer {
    next_seq: u64,
    records: VecDeque<Record>,
    waker: Option<Arc<dyn Fn() + Send + Sync>>,
}

static BUFFER: Mutex<Buffer> = Mutex::new(Buffer { next_seq: 1, records: VecDeque::new(), waker: None });

/// The records with a sequence number above `after`, oldest first.
pub fn recent(after: u64) -> Vec<Record> {
    let buffer = BUFFER.lock().unwrap_or_else(PoisonError::into_inner);
    buffer.records.iter().filter(|r| r.seq > after).cloned().collect()
}

/// The sequence number the next record will get, to tell whether anything new arrived.
pub fn next_seq() -> u64 {
    BUFFER.lock().unwrap_or_else(PoisonError::into_inner).next_seq
}

/// Called (outside the buffer's lock) after each record, e.g. to repaint the window that
/// shows the log. The shell sets it; a module must not, since its code may be unloaded.
pub fn set_waker(waker: Arc<dyn Fn() + Send + Sync>) {
    BUFFER.lock().unwrap_or_else(PoisonError::into_inner).waker = Some(waker);
}

/// The `tracing_subscriber` layer that records events into the buffer.
pub fn layer() -> RecordLayer {
    RecordLayer
}

/// See [`layer`].
pub struct RecordLayer;

/// Collects an event's fields: `message` first, the rest as `name=value`.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for RecordLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        let time = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let mut buffer = BUFFER.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = buffer.next_seq;
        buffer.next_seq += 1;
        buffer.records.push_back(Record {
            seq,
            time,
            level: Level::of(*metadata.level()),
            target: metadata.target().to_owned(),
            message: fields.message + &fields.rest,
        });
        while buffer.records.len() > CAPACITY {
            buffer.records.pop_front();
        }
        // Wake outside the lock: the waker may log or read the buffer itself.
        let waker = buffer.waker.clone();
        drop(buffer);
        if let Some(waker) = waker {
            waker();
        }
    }
}
