//! Libraries opened ahead of their reload, on the thread that built them: copied, checked,
//! handed to the dynamic linker and their ABI stamp read, so that the frame which runs the
//! reload transaction does not wait for it (with `RTLD_NOW` the dynamic linker binds every
//! symbol at once: about 5 ms for the 2.5 MB renderer in a debug build, a third of a frame).
//!
//! What is kept here is what `library::open` returns, keyed by the built library's path and
//! its stamp (length and mtime) when it was opened. The transaction takes an opened library
//! only if the file still has that stamp; a library rebuilt since is opened afresh, so a
//! stale build never runs. Opening runs no module code but the library's initialisers, which
//! the transaction's own open would run all the same, on the frame. A library opened ahead
//! and never taken (rebuilt again before its reload) stays mapped, like every generation
//! (libraries are never closed, invariant 1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use playground_api::tracing;

use super::slot::FileStamp;
use crate::library::{self, Opened};

/// A library opened ahead: the copy it was opened from, and what it declares.
struct Ahead {
    built: FileStamp,
    copy: PathBuf,
    opened: Opened,
}

/// Opens libraries ahead of their reload from any thread; the runtime takes them back in
/// the transaction's open phase. Cheap to clone.
#[derive(Clone)]
pub struct Preopener {
    generations_dir: PathBuf,
    ahead: Arc<Mutex<BTreeMap<PathBuf, Ahead>>>,
    /// Copies opened ahead are named by this counter, never by a generation number, which
    /// only the transaction hands out.
    next: Arc<AtomicU64>,
}

impl Preopener {
    pub(super) fn new(generations_dir: PathBuf) -> Preopener {
        Preopener { generations_dir, ahead: Arc::default(), next: Arc::new(AtomicU64::new(1)) }
    }

    /// Opens the built library at `library` now, for the reload that will follow. A failure
    /// is only logged: the transaction opens the library itself and reports what is wrong
    /// where reload errors are reported.
    pub fn open(&self, library: &Path) {
        let Some(built) = FileStamp::of(library) else { return };
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let stem = library.file_stem().and_then(|s| s.to_str()).unwrap_or("module");
        let copy = self.generations_dir.join(format!("{stem}.ahead{n}{}", std::env::consts::DLL_SUFFIX));
        match library::open(library, &copy) {
            Ok(opened) => {
                let mut ahead = self.ahead.lock().unwrap_or_else(PoisonError::into_inner);
                ahead.insert(library.to_owned(), Ahead { built, copy, opened });
            }
            Err(e) => tracing::debug!("opening {} ahead failed; the reload will say why: {e}", library.display()),
        }
    }

    /// The library opened ahead for `library`, if the file has not changed since.
    pub(super) fn take(&self, library: &Path, built: Option<FileStamp>) -> Option<(PathBuf, Opened)> {
        let mut ahead = self.ahead.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = ahead.remove(library)?;
        (Some(kept.built) == built).then_some((kept.copy, kept.opened))
    }
}
