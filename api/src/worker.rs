//! Background work a module owns: threads the host starts for it and stops with its
//! generation, so that after a reload no thread runs the old generation's code
//! (ARCHITECTURE.md, invariant 12).
//!
//! A module starts a worker with [`crate::Context::spawn_worker`] in `initialize` (or later,
//! through the host it kept, [`crate::Host::spawn_worker`]). The worker gets a [`Stop`]: it
//! checks [`Stop::requested`] between units of work, or waits with [`Stop::sleep`], which
//! returns early when the stop comes. When the module stops (a reload, a removal, quitting),
//! the host asks every worker to stop and joins it before the module's `shutdown` runs; a
//! worker that ignores the request is named in a warning and in the module's last error.
//!
//! What the host keeps of a worker is std's: a thread handle and this stop signal. Nothing
//! of the module's types lives in host data (ARCHITECTURE.md, invariant 4).

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A worker's stop signal, shared by the worker and the host.
#[derive(Clone, Default)]
pub struct Stop {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Whether the host asked the worker to stop.
    pub fn requested(&self) -> bool {
        *self.inner.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits up to `duration`, waking at once when a stop is asked for. Returns whether to
    /// keep going: `false` once a stop was asked for. The way to write a timer:
    /// `while stop.sleep(period) { work() }`.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let (lock, wake) = &*self.inner;
        let mut stopped = lock.lock().unwrap_or_else(PoisonError::into_inner);
        while !*stopped {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            stopped = wake.wait_timeout(stopped, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        false
    }

    /// Asks the worker to stop; the host does this when the module stops.
    pub fn request(&self) {
        let (lock, wake) = &*self.inner;
        *lock.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
    }
}

/// A worker's body: the module's code, run on the host's thread until it returns.
pub type Work = Box<dyn FnOnce(Stop) + Send + 'static>;

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::Stop;

    #[test]
    fn sleep_wakes_at_once_when_a_stop_is_asked_for() {
        let stop = Stop::new();
        assert!(stop.sleep(Duration::from_millis(1)), "no stop yet: keep going");
        let remote = stop.clone();
        let asker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            remote.request();
        });
        let started = Instant::now();
        assert!(!stop.sleep(Duration::from_secs(30)), "a stop ends the sleep");
        assert!(started.elapsed() < Duration::from_secs(10), "long before the 30 s");
        assert!(stop.requested());
        asker.join().expect("the asker ends");
    }
}
