//! Names a module that holds the main thread. While module code runs, the loader marks what
//! runs (the module, the step); a watchdog thread samples the mark and reports one that has
//! not changed for [`STUCK_AFTER`], once, in the log and to whoever listens ([`on_stuck`]: the
//! shell prints an event line), and [`stuck`] tells any thread (the MCP server) where the main
//! thread is.
//!
//! The mark is on every call into a module (a tick, a call by id, a frame's `ui`), so it costs
//! that path two plain stores and a load: one word says which entry runs (a sequence number,
//! the module, the step), and the clock is read by the watchdog when it first sees an entry,
//! never by the main thread. A lock, a reference count and a clock read per call measured
//! 127-134 ns for a generic call by id, against 28 ns without them (BENCHMARKS.md).
//!
//! The main thread cannot be rescued (module code cannot be interrupted), but everything on
//! other threads can say why the editor does not answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

use playground_api::tracing;

/// How long module code may hold the main thread before it is named.
pub const STUCK_AFTER: Duration = Duration::from_secs(3);

/// How often the watchdog looks at the mark: a module is named between [`STUCK_AFTER`] and
/// this much later.
const SAMPLE: Duration = Duration::from_millis(100);

/// What the main thread is running now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    /// The module, e.g. `plugins/movement`.
    pub module: Arc<str>,
    /// The step: `tick`, `call`, `ui`, `initialize`, `shutdown`, ...
    pub step: &'static str,
    /// When the watchdog first saw it run (at most a tenth of a second after it started).
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

/// The module code a mark names the step of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Tick,
    Call,
    Service,
    Ui,
    Initialize,
    RestoreState,
    SaveState,
    Shutdown,
}

impl Step {
    const ALL: [Step; 8] = [
        Step::Tick,
        Step::Call,
        Step::Service,
        Step::Ui,
        Step::Initialize,
        Step::RestoreState,
        Step::SaveState,
        Step::Shutdown,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::Tick => "tick",
            Step::Call => "call",
            Step::Service => "service",
            Step::Ui => "ui",
            Step::Initialize => "initialize",
            Step::RestoreState => "restore_state",
            Step::SaveState => "save_state",
            Step::Shutdown => "shutdown",
        }
    }
}

/// A module's name as the mark holds it: an index into [`NAMES`], from [`name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Name(u32);

/// Every module name marked in this process, once each (a reload marks the same name).
static NAMES: Mutex<Vec<Arc<str>>> = Mutex::new(Vec::new());

/// The mark's name for `module` (taken once per generation, not per call).
pub(crate) fn name(module: &str) -> Name {
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    let index = names.iter().position(|n| &**n == module).unwrap_or_else(|| {
        names.push(Arc::from(module));
        names.len() - 1
    });
    // 24 bits of the mark, 0 meaning none: beyond 16 million distinct names they share the last.
    Name(u32::try_from(index).unwrap_or(u32::MAX).min(NAME_MASK as u32 - 1) + 1)
}

// The mark's layout: bits 0..24 the name (0: nothing runs), 24..32 the step, 32..64 the
// entry's sequence number (a nested entry has its own; leaving it puts the outer one back).
const NAME_MASK: u64 = (1 << 24) - 1;

/// The innermost module code running on the main thread (0: none).
static MARK: AtomicU64 = AtomicU64::new(0);
/// The next entry's sequence number. Module code runs on the main thread, so this is a plain
/// load and store, not a read-modify-write; two runtimes on two threads (tests) may share a
/// number, which only blurs what the watchdog reports.
static SEQUENCE: AtomicU64 = AtomicU64::new(1);

/// Marks `module`'s `step` as running until the guard drops; nests (a module calling another
/// through the host marks the inner one, and the outer one again when it returns).
#[inline]
pub(crate) fn enter(module: Name, step: Step) -> Guard {
    let sequence = SEQUENCE.load(Ordering::Relaxed);
    SEQUENCE.store(sequence.wrapping_add(1), Ordering::Relaxed);
    let mark = (sequence << 32) | ((step as u64) << 24) | u64::from(module.0);
    let outer = MARK.load(Ordering::Relaxed);
    MARK.store(mark, Ordering::Relaxed);
    Guard { outer }
}

/// Restores the outer mark when the module code it guards returns (or unwinds).
pub(crate) struct Guard {
    outer: u64,
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        MARK.store(self.outer, Ordering::Relaxed);
    }
}

/// What a mark names, or `None` for "nothing runs".
fn decode(mark: u64) -> Option<(Arc<str>, &'static str)> {
    let name = usize::try_from(mark & NAME_MASK).ok()?.checked_sub(1)?;
    let module = NAMES.lock().unwrap_or_else(PoisonError::into_inner).get(name).cloned()?;
    let step = Step::ALL.get(usize::try_from((mark >> 24) & 0xff).ok()?)?.name();
    Some((module, step))
}

/// The marks the watchdog has seen lately and when it first saw each: an outer entry that
/// called into another module is the same entry again when the inner one returns.
#[derive(Default)]
struct Seen {
    marks: Vec<(u64, Instant)>,
}

impl Seen {
    const KEPT: usize = 16;

    /// When `mark` was first seen (now, if it is new).
    fn since(&mut self, mark: u64, now: Instant) -> Instant {
        if let Some(&(_, since)) = self.marks.iter().find(|(m, _)| *m == mark) {
            return since;
        }
        if self.marks.len() == Self::KEPT {
            self.marks.remove(0);
        }
        self.marks.push((mark, now));
        now
    }
}

/// The entry running now and when the watchdog first saw it, as its last sample found it.
static SAMPLED: Mutex<Option<(u64, Instant)>> = Mutex::new(None);

/// The module code holding the main thread for longer than [`STUCK_AFTER`], if any.
pub fn stuck() -> Option<Running> {
    let (mark, since) = (*SAMPLED.lock().unwrap_or_else(PoisonError::into_inner))?;
    // Still the same entry (the sample may be one period old).
    if MARK.load(Ordering::Relaxed) != mark || since.elapsed() < STUCK_AFTER {
        return None;
    }
    let (module, step) = decode(mark)?;
    Some(Running { module, step, since })
}

/// Who is told when module code is stuck (called on the watchdog's thread).
type Listener = Box<dyn Fn(&Running) + Send>;
static LISTENERS: Mutex<Vec<Listener>> = Mutex::new(Vec::new());

/// Calls `listener` (on the watchdog's thread) each time module code is found stuck.
pub fn on_stuck(listener: impl Fn(&Running) + Send + 'static) {
    LISTENERS.lock().unwrap_or_else(PoisonError::into_inner).push(Box::new(listener));
}

/// Starts the watchdog thread, once per process.
pub(crate) fn start() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new().name("watchdog".to_owned()).spawn(|| {
            let mut seen = Seen::default();
            let mut reported = None;
            loop {
                std::thread::sleep(SAMPLE);
                let mark = MARK.load(Ordering::Relaxed);
                let sampled = (mark != 0).then(|| (mark, seen.since(mark, Instant::now())));
                *SAMPLED.lock().unwrap_or_else(PoisonError::into_inner) = sampled;
                let Some(running) = stuck() else { continue };
                if reported == Some(mark) {
                    continue;
                }
                reported = Some(mark);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_names_its_module_and_step_and_nesting_puts_the_outer_one_back() {
        let outer_name = name("plugins/outer");
        assert_eq!(name("plugins/outer"), outer_name, "one name per module, however often it is marked");
        let outer = enter(outer_name, Step::Tick);
        let outer_mark = MARK.load(Ordering::Relaxed);
        assert_eq!(decode(outer_mark), Some((Arc::from("plugins/outer"), "tick")));
        {
            let _inner = enter(name("systems/inner"), Step::Call);
            let inner_mark = MARK.load(Ordering::Relaxed);
            assert_ne!(inner_mark, outer_mark);
            assert_eq!(decode(inner_mark), Some((Arc::from("systems/inner"), "call")));
        }
        assert_eq!(MARK.load(Ordering::Relaxed), outer_mark, "the same outer entry, not a new one");
        drop(outer);
        assert_eq!(decode(MARK.load(Ordering::Relaxed)), None, "nothing runs");
    }

    #[test]
    fn an_entry_seen_again_after_an_inner_one_keeps_when_it_was_first_seen() {
        let mut seen = Seen::default();
        let start = Instant::now();
        assert_eq!(seen.since(7, start), start);
        let later = start + Duration::from_secs(1);
        assert_eq!(seen.since(8, later), later, "the inner entry is new");
        assert_eq!(seen.since(7, later + Duration::from_secs(1)), start, "the outer one ran all along");
        for mark in 100..100 + Seen::KEPT as u64 {
            seen.since(mark, later);
        }
        assert_eq!(seen.marks.len(), Seen::KEPT, "only the last few are kept");
    }
}
