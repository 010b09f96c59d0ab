//! The one place that opens libraries: copy a build to a unique generation path, check that
//! it is a whole ELF file, `dlopen` it, check its ABI stamp, and find its module declaration.
//!
//! Libraries are never closed (ARCHITECTURE.md, invariant 1): a module that used a `thread_local!` with
//! a destructor crashes the process at thread exit if its code is unmapped. Every `Library`
//! opened here is kept in a process-wide list that is never dropped. This file holds all of
//! the loader's `unsafe`; see the count in README.md.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW, Symbol};
use playground_api::abi::{self, Stamp};
use playground_api::module::{self, ModuleDecl};

use crate::error::{Error, Result};

/// Every library ever opened, kept mapped for the life of the process.
static OPENED: Mutex<Vec<Library>> = Mutex::new(Vec::new());

/// A module library, opened and checked.
#[derive(Clone, Copy)]
pub struct Opened {
    /// The declaration inside the library. `'static` is true: the library is never unmapped.
    pub decl: &'static ModuleDecl,
}

fn library_error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::new(format!("{}: {message}", path.display()))
}

/// How many libraries this process has opened (and keeps), for the leak budget.
pub fn opened_count() -> usize {
    OPENED.lock().map_or(0, |list| list.len())
}

/// Copies `source` to `copy_to` (a path never used before in this process) and opens it.
pub fn open(source: &Path, copy_to: &Path) -> Result<Opened> {
    if let Some(dir) = copy_to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| library_error(dir, format!("cannot create the folder: {e}")))?;
    }
    // A new file (a new inode), so the dynamic linker cannot hand back an old mapping; and
    // never written in place, since a library being written while mapped crashes with SIGBUS.
    // `fs::copy` copies inside the kernel (copy_file_range): for the 5 MB editor that is
    // 2 ms where reading it and writing it back took 11.
    let _ = std::fs::remove_file(copy_to);
    std::fs::copy(source, copy_to).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            library_error(source, "no library here: the module has not been built")
        } else {
            library_error(source, format!("cannot copy the library to {}: {e}", copy_to.display()))
        }
    })?;
    // The copy is what gets mapped, so the copy is what is checked. The check needs the
    // headers at the start and the file's length, not the 5 MB in between.
    let checked = read_head(copy_to).and_then(|(head, len)| match check_elf(&head, len) {
        Err(message) if message == HEADERS_FURTHER => std::fs::read(copy_to).map(|all| check_elf(&all, len)),
        checked => Ok(checked),
    });
    let checked = checked.map_err(|e| library_error(copy_to, format!("cannot read the copy: {e}")))?;
    if let Err(message) = checked {
        let _ = std::fs::remove_file(copy_to);
        return Err(library_error(source, message));
    }
    open_checked(copy_to, source)
}

fn open_checked(path: &Path, source: &Path) -> Result<Opened> {
    // SAFETY: loading runs the library's initialisers. Module libraries are Rust dylibs built
    // by this workspace; RTLD_NOW makes a missing symbol an error here instead of a crash at
    // the first call, and RTLD_LOCAL keeps one generation's symbols from shadowing another's.
    #[allow(unsafe_code, reason = "dlopen: one of the two audited unsafe sites")]
    let library = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }
        .map_err(|e| library_error(source, format!("cannot load the library: {}", with_causes(&e))))?;

    // The stamp is read before anything else and is a plain byte array, so a library built
    // against another api cannot mislead us about its layout.
    // SAFETY: `PLAYGROUND_ABI` is declared by `export_module!` as a `[u8; 256]` static.
    #[allow(unsafe_code, reason = "symbol lookup: one of the two audited unsafe sites")]
    let stamp: Stamp = unsafe {
        let symbol: Symbol<*const Stamp> = library.get(abi::SYMBOL).map_err(|_| {
            library_error(
                source,
                "not a Playground module: it exports no `PLAYGROUND_ABI` (does it call `playground_api::export_module!`?)",
            )
        })?;
        **symbol
    };
    if &stamp != abi::running() {
        return Err(library_error(
            source,
            format!(
                "built against a different api: {}. Rebuild the module (and restart the shell if the api changed)",
                abi::difference(abi::running(), &stamp)
            ),
        ));
    }

    // SAFETY: the stamp matched, so the library was built by the same compiler against this
    // api, and `PLAYGROUND_MODULE` has the layout of our `ModuleDecl`. The library is kept
    // open forever (pushed to OPENED below), so the reference is valid for `'static`.
    #[allow(unsafe_code, reason = "symbol lookup: one of the two audited unsafe sites")]
    let decl: &'static ModuleDecl = unsafe {
        let symbol: Symbol<*const ModuleDecl> = library
            .get(module::SYMBOL)
            .map_err(|_| library_error(source, "has an ABI stamp but no `PLAYGROUND_MODULE` declaration"))?;
        &**symbol
    };
    OPENED.lock().map_err(|_| library_error(source, "the list of open libraries is poisoned"))?.push(library);
    Ok(Opened { decl })
}

/// Generation copies waiting for [`page_out`], and how many are queued or in progress.
static PAGE_OUTS: Mutex<Option<std::sync::mpsc::Sender<PathBuf>>> = Mutex::new(None);
static PAGE_OUTS_PENDING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Starts the thread that pages out replaced generations, once per process: writing an
/// old copy out takes milliseconds, which a reload's frame must not wait for.
pub(crate) fn start_page_out() {
    let mut queue = PAGE_OUTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if queue.is_some() {
        return;
    }
    let (send, copies) = std::sync::mpsc::channel::<PathBuf>();
    let started = std::thread::Builder::new().name("page-out".to_owned()).spawn(move || {
        for copy in copies {
            page_out(&copy);
            PAGE_OUTS_PENDING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    if started.is_ok() {
        *queue = Some(send);
    }
}

/// Queues `copy` for [`page_out`] on its thread (or does nothing if that thread is not
/// running: the pages then just stay resident).
pub(crate) fn queue_page_out(copy: PathBuf) {
    let queue = PAGE_OUTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(send) = queue.as_ref() {
        PAGE_OUTS_PENDING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if send.send(copy).is_err() {
            PAGE_OUTS_PENDING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// How many replaced generations are queued for [`page_out`] or being paged out: a bench
/// waits for none before it measures.
pub fn pending_page_outs() -> usize {
    PAGE_OUTS_PENDING.load(std::sync::atomic::Ordering::SeqCst)
}

/// Tells the kernel it may take back the memory of a generation copy whose module was
/// replaced by a newer one: its text, read-only data and relocated pages stay mapped
/// (libraries are never closed, invariant 1) but are not needed while nothing runs them.
/// `MADV_PAGEOUT` is a reclaim hint that keeps every page's contents: a file page is read
/// back from the copy, an anonymous one (relocations) is kept or swapped, so a thread or a
/// destructor still in old code later finds it intact. Returns the bytes advised.
pub fn page_out(copy: &Path) -> usize {
    // The copy was written moments before it was mapped, so its pages are still dirty in the
    // page cache, and reclaim passes dirty pages by: write them out first.
    let _ = std::fs::File::open(copy).and_then(|file| file.sync_data());
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return 0 };
    let path = copy.to_string_lossy();
    let mut advised = 0;
    for line in maps.lines() {
        // `start-end perms offset dev inode path`, the path last (` (deleted)` once removed).
        let mut fields = line.split_whitespace();
        let range = fields.next().unwrap_or_default();
        let mapped = fields.nth(4).unwrap_or_default();
        if mapped != path {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else { continue };
        let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) else {
            continue;
        };
        // SAFETY: `start..end` is a mapping of this process (read from its own maps) that
        // stays mapped (libraries are never closed); `MADV_PAGEOUT` only asks the kernel to
        // reclaim its pages and never changes what reading them returns, so no reference
        // into it is invalidated. A failure (an old kernel) leaves everything as it was.
        #[allow(unsafe_code, reason = "madvise: one of the two audited unsafe sites")]
        let done = unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT) };
        if done == 0 {
            advised += end - start;
        }
    }
    advised
}

/// An error and its chain of causes, as one line (libloading keeps dlerror's text in
/// `source()`).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// How much of a library [`read_head`] reads: the ELF header and the program headers are at
/// the start of every library our toolchain links.
const HEAD: u64 = 64 * 1024;

/// What [`check_elf`] says when the program headers lie past the head it was given.
const HEADERS_FURTHER: &str = "the program headers lie past the head that was read";

/// The first [`HEAD`] bytes of a file, and its length.
fn read_head(path: &Path) -> std::io::Result<(Vec<u8>, u64)> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = Vec::new();
    file.take(HEAD).read_to_end(&mut head)?;
    Ok((head, len))
}

/// Rejects files the dynamic linker would choke on: not ELF, the wrong class or machine, or
/// truncated (a segment past the end of the file would fault when touched). `bytes` is the
/// start of the file (at least its headers), `len` the file's length.
fn check_elf(bytes: &[u8], len: u64) -> std::result::Result<(), String> {
    const HEADER: usize = 64;
    if bytes.len() < HEADER || &bytes[..4] != b"\x7fELF" {
        return Err(format!("not a library: not an ELF file ({len} bytes)"));
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        return Err("not a library for this machine: not 64-bit little-endian ELF".to_owned());
    }
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u64_at = |at: usize| -> Option<u64> { Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?)) };
    const ET_DYN: u16 = 3;
    if u16_at(16) != ET_DYN {
        return Err("not a shared library (ELF type is not DYN)".to_owned());
    }
    let phoff = u64_at(32).unwrap_or(u64::MAX);
    let phentsize = u64::from(u16_at(54));
    let phnum = u64::from(u16_at(56));
    let ph_end = phoff.saturating_add(phentsize.saturating_mul(phnum));
    if phentsize < 56 || ph_end > len {
        return Err(format!(
            "the file is truncated or corrupt: its program headers end at byte {ph_end}, the file has {len}"
        ));
    }
    // The section header table is written last, at the end of the file: a file cut short
    // anywhere loses it, even when every loadable segment survived.
    let shoff = u64_at(40).unwrap_or(u64::MAX);
    let sh_end = shoff.saturating_add(u64::from(u16_at(58)).saturating_mul(u64::from(u16_at(60))));
    if sh_end > len {
        return Err(format!("the file is truncated: its section headers end at byte {sh_end}, the file has {len}"));
    }
    if ph_end > bytes.len() as u64 {
        return Err(HEADERS_FURTHER.to_owned());
    }
    const PT_LOAD: u32 = 1;
    for i in 0..phnum {
        let at = usize::try_from(phoff + i * phentsize).map_err(|_| "corrupt program header".to_owned())?;
        let kind = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        if kind != PT_LOAD {
            continue;
        }
        let offset = u64_at(at + 8).unwrap_or(u64::MAX);
        let size = u64_at(at + 32).unwrap_or(u64::MAX);
        let end = offset.saturating_add(size);
        if end > len {
            return Err(format!("the file is truncated: a segment ends at byte {end}, the file has {len}"));
        }
    }
    Ok(())
}

/// The generation copy's path for a module's library.
pub fn generation_path(dir: &Path, package: &str, generation: u64) -> PathBuf {
    dir.join(format!("{package}.g{generation}{}", std::env::consts::DLL_SUFFIX))
}

#[cfg(test)]
mod tests {
    use super::check_elf;

    #[test]
    fn rejects_non_elf_and_truncated_files() {
        let err = check_elf(b"hello", 5).unwrap_err();
        assert!(err.contains("not an ELF file"), "{err}");
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = 2;
        header[5] = 1;
        header[16] = 3;
        header[32] = 64; // program headers start right after the header...
        header[54] = 56;
        header[56] = 1; // ...and there is one, which is not in the file.
        let err = check_elf(&header, header.len() as u64).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
        // The same header read as the head of a longer file: the program header is in the
        // file but not in the head, so the caller must read on.
        assert_eq!(check_elf(&header, 4096), Err(super::HEADERS_FURTHER.to_owned()));
    }
}
