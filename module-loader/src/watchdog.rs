//! Names a module that holds the main thread. While module code runs, the loader marks what
//! runs (the module, the step, since when); a watchdog thread reports a mark older than
//! [`STUCK_AFTER`], once, in the log and to whoever listens ([`on_stuck`]: the shell prints
//! an event line), and [`stuck`] tells any thread (the MCP server) where the main thread is.
//!
//! The main thread cannot be rescued (module code cannot be interrupted), but everything on
//! other threads can say why the editor does not answer.

use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

use playground_api::tracing;

/// How long module code may hold the main thread before it is named.
pub const STUCK_AFTER: Duration = Duration::from_secs(3);

/// What the main thread is running now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    /// The module, e.g. `plugins/movement`.
    pub module: Arc<str>,
    /// The step: `tick`, `call`, `ui`, `initialize`, `shutdown`, ...
    pub step: &'static str,
    pub since: Instant,
}

impl Running {
    /// The sentence for the user.
    pub fn describe(&self) -> String {
        format!(
            "`{}` has been in `{}` for {:.1} s: the main thread waits for it, and the editor answers again when it returns",
            self.module,
            self.step,
            self.since.elapsed().as_secs_f64()
        )
    }
}

/// The innermost module code running on the main thread, if any.
static RUNNING: Mutex<Option<Running>> = Mutex::new(None);

/// Who is told when module code is stuck (called on the watchdog's thread).
type Listener = Box<dyn Fn(&Running) + Send>;
static LISTENERS: Mutex<Vec<Listener>> = Mutex::new(Vec::new());

/// Marks `module`'s `step` as running until the guard drops; nests (a module calling another
/// through the host marks the inner one, and the outer one again when it returns).
pub(crate) fn enter(module: &Arc<str>, step: &'static str) -> Guard {
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    let outer = running.replace(Running { module: Arc::clone(module), step, since: Instant::now() });
    Guard { outer }
}

/// Restores the outer mark when the module code it guards returns (or unwinds).
pub(crate) struct Guard {
    outer: Option<Running>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        *RUNNING.lock().unwrap_or_else(PoisonError::into_inner) = self.outer.take();
    }
}

/// The module code holding the main thread for longer than [`STUCK_AFTER`], if any.
pub fn stuck() -> Option<Running> {
    RUNNING.lock().unwrap_or_else(PoisonError::into_inner).clone().filter(|r| r.since.elapsed() >= STUCK_AFTER)
}

/// Calls `listener` (on the watchdog's thread) each time module code is found stuck.
pub fn on_stuck(listener: impl Fn(&Running) + Send + 'static) {
    LISTENERS.lock().unwrap_or_else(PoisonError::into_inner).push(Box::new(listener));
}

/// Starts the watchdog thread, once per process.
pub(crate) fn start() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new().name("watchdog".to_owned()).spawn(|| {
            let mut reported: Option<Instant> = None;
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let Some(running) = stuck() else { continue };
                if reported == Some(running.since) {
                    continue;
                }
                reported = Some(running.since);
                tracing::warn!("{}", running.describe());
                for listener in LISTENERS.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                    listener(&running);
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("no watchdog for stuck modules: {e}");
        }
    });
}
