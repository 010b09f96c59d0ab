//! The ABI fingerprint: a plain byte array every module exports beside its vtable.
//!
//! A module's vtable holds Rust-ABI fn pointers, which are only callable if the module was
//! built by the same compiler, for the same target and profile, against the same api. The
//! loader reads [`SYMBOL`] from a fresh library and compares it with [`running`] before it
//! touches anything else in it. The stamp is a fixed-size byte array, not a `&str`, so it can
//! be read safely even from a library whose Rust layouts differ from ours.

/// Length of the stamp in bytes; the text is zero-padded.
pub const STAMP_LEN: usize = 256;

/// The fingerprint as stored in a library.
pub type Stamp = [u8; STAMP_LEN];

/// The name of the exported static holding a module's stamp.
pub const SYMBOL: &[u8] = b"PLAYGROUND_ABI";

/// The fingerprint text this crate was compiled with (see `build.rs` for its parts).
pub const TEXT: &str = env!("PLAYGROUND_ABI");

/// The fingerprint of the api a caller is being compiled against. A module bakes this value
/// into its library at its own compile time.
pub const STAMP: Stamp = to_stamp(TEXT);

/// The stamp of the api dylib loaded in this process, as opposed to [`STAMP`], which is the
/// one the *caller* was compiled against.
static RUNNING: Stamp = STAMP;

const fn to_stamp(text: &str) -> Stamp {
    let bytes = text.as_bytes();
    let mut out = [0u8; STAMP_LEN];
    let mut i = 0;
    while i < bytes.len() && i < STAMP_LEN {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// The stamp of the api dylib this process actually runs. Never inlined, so that the value
/// comes from the loaded library and not from the caller's compile-time copy.
#[inline(never)]
pub fn running() -> &'static Stamp {
    &RUNNING
}

/// The readable text of a stamp (up to its first zero byte).
pub fn text(stamp: &Stamp) -> String {
    let end = stamp.iter().position(|b| *b == 0).unwrap_or(STAMP_LEN);
    String::from_utf8_lossy(&stamp[..end]).into_owned()
}

/// Explains how two stamps differ, part by part, for an error message.
pub fn difference(expected: &Stamp, found: &Stamp) -> String {
    let (want, got) = (text(expected), text(found));
    let parts: Vec<String> = want
        .split("; ")
        .zip(got.split("; "))
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("{b} (the shell has {a})"))
        .collect();
    if parts.is_empty() { format!("`{got}` (the shell has `{want}`)") } else { parts.join(", ") }
}

/// Checks that the api dylib loaded in this process is the one the caller was compiled
/// against. The shell calls this at start-up: a rebuilt api under an old shell is a clear
/// error instead of a crash at the first call.
pub fn check_running(compiled_against: &Stamp) -> Result<(), String> {
    if running() == compiled_against {
        Ok(())
    } else {
        Err(format!(
            "the api library loaded in this process does not match the one this program was \
             built against: {}. Rebuild and restart.",
            difference(compiled_against, running())
        ))
    }
}
