//! Calls into modules from any thread: [`ModuleCaller`], the seed's
//! `MODULE_LOADER.call_module(module_id, "method", args).await`.
//!
//! Module code runs on the main thread only, between the shell's frames; a module's IO thread,
//! an async task, a tool or a test reaches it through a [`ModuleCaller`], which is `Send` and
//! `Clone`. A call is queued, the host wakes its main loop, and the call runs at the next safe
//! point, never while a reload is in progress; its answer comes back through a one-shot
//! channel, to `.await` or to wait for ([`ModuleCaller::call_blocking`]).
//!
//! What crosses between threads is the module id, the method name, the encoded arguments and
//! the encoded answer: owned bytes and strings, nothing of a module's own types (ARCHITECTURE.md,
//! invariant 4).

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};
use std::thread::ThreadId;

use futures_channel::oneshot;

use crate::codec;
use crate::serde::Serialize;
use crate::serde::de::DeserializeOwned;

/// What a call answers: the method's encoded answer, or why there is none.
pub type CallResult = Result<Vec<u8>, String>;

/// One call waiting for the main thread.
pub struct QueuedCall {
    pub module: String,
    pub method: String,
    pub args: Vec<u8>,
    reply: oneshot::Sender<CallResult>,
}

impl QueuedCall {
    /// Sends the answer to whoever waits for it (nobody, if they stopped waiting).
    pub fn answer(self, result: CallResult) {
        let _ = self.reply.send(result);
    }
}

type Wake = Arc<dyn Fn() + Send + Sync>;

/// The host's end: where calls from other threads wait for the main thread. The host owns
/// one, hands out [`ModuleCaller`]s, and drains it at its safe point ([`CallQueue::take`]).
pub struct CallQueue {
    sender: Sender<QueuedCall>,
    receiver: Receiver<QueuedCall>,
    wake: Arc<Mutex<Option<Wake>>>,
    main: ThreadId,
}

impl CallQueue {
    /// A queue whose calls the current thread (the main thread) runs.
    pub fn new() -> CallQueue {
        let (sender, receiver) = channel();
        CallQueue { sender, receiver, wake: Arc::default(), main: std::thread::current().id() }
    }

    /// A handle for calling modules from any thread.
    pub fn caller(&self) -> ModuleCaller {
        ModuleCaller { sender: self.sender.clone(), wake: Arc::clone(&self.wake), main: self.main }
    }

    /// How a caller wakes the main loop when it queues a call (the window sleeps when idle).
    pub fn set_wake(&self, wake: impl Fn() + Send + Sync + 'static) {
        *self.wake.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(wake));
    }

    /// The calls queued so far, oldest first.
    pub fn take(&self) -> Vec<QueuedCall> {
        self.receiver.try_iter().collect()
    }
}

impl Default for CallQueue {
    fn default() -> Self {
        CallQueue::new()
    }
}

/// Calls modules from any thread or async task; `Send + Clone`. Get one from
/// `ctx.caller()` in a module, or from the host.
#[derive(Clone)]
pub struct ModuleCaller {
    sender: Sender<QueuedCall>,
    wake: Arc<Mutex<Option<Wake>>>,
    main: ThreadId,
}

impl ModuleCaller {
    /// Calls `method` of module `module` with encoded `args`; the future resolves to its
    /// encoded answer once the main thread has run it, or to an error saying why it did not
    /// run (an unknown module, one that is not running, a panic in the method, a host that
    /// has stopped).
    pub fn call_module(&self, module: &str, method: &str, args: &[u8]) -> CallFuture {
        let (reply, answer) = oneshot::channel();
        let call = QueuedCall { module: module.to_owned(), method: method.to_owned(), args: args.to_vec(), reply };
        if self.sender.send(call).is_err() {
            return CallFuture { answer: Err(Some(HOST_STOPPED.to_owned())) };
        }
        let wake = self.wake.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(wake) = wake {
            wake();
        }
        CallFuture { answer: Ok(answer) }
    }

    /// [`ModuleCaller::call_module`] with typed arguments and answer, encoded with [`codec`].
    pub fn request<A: Serialize, R: DeserializeOwned>(
        &self,
        module: &str,
        method: &str,
        args: &A,
    ) -> impl Future<Output = Result<R, String>> + Send + use<A, R> {
        let call = codec::encode(args).map(|bytes| self.call_module(module, method, &bytes));
        async move { codec::decode(&call?.await?) }
    }

    /// [`ModuleCaller::call_module`], waiting on this thread for the answer. Not on the main
    /// thread, which would wait for itself: there it fails at once and says so.
    pub fn call_blocking(&self, module: &str, method: &str, args: &[u8]) -> CallResult {
        if std::thread::current().id() == self.main {
            return Err(format!(
                "`call_blocking` of `{module}` on the main thread would wait for itself: call through \
                 `ctx.host()` there, or `.await` the call"
            ));
        }
        futures_executor::block_on(self.call_module(module, method, args))
    }
}

const HOST_STOPPED: &str = "the host has stopped: no module can be called";

/// The answer of a [`ModuleCaller::call_module`], to `.await`.
pub struct CallFuture {
    /// The channel the answer comes through, or the error known at once.
    answer: Result<oneshot::Receiver<CallResult>, Option<String>>,
}

impl Future for CallFuture {
    type Output = CallResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<CallResult> {
        match &mut self.answer {
            Ok(answer) => match Pin::new(answer).poll(cx) {
                Poll::Ready(Ok(result)) => Poll::Ready(result),
                // The host dropped the call unanswered: it stopped before reaching it.
                Poll::Ready(Err(oneshot::Canceled)) => {
                    Poll::Ready(Err("the host stopped before the call could run".to_owned()))
                }
                Poll::Pending => Poll::Pending,
            },
            Err(error) => Poll::Ready(Err(error.take().unwrap_or_else(|| HOST_STOPPED.to_owned()))),
        }
    }
}
