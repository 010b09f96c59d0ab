//! The fast path of live edit: when only a module's own sources changed, re-run the exact
//! rustc command cargo used for it last time (recorded from `cargo -vv`), skipping cargo's
//! start-up, fingerprinting and locking, then put the library where cargo would (the
//! "uplift" from `deps/`). Anything unexpected falls back to cargo.
//!
//! Measured on this machine kind: rustc alone 0.24-0.36 s for a small module against
//! 0.65-0.90 s for `cargo build -p` (see BENCHMARKS.md).
//!
//! The commands are kept beside the built libraries for the next session ([`save`],
//! [`load`]), so that its first edit of a module need not wait for cargo either. They are
//! kept together with a digest of everything besides a module's sources that shapes its
//! command ([`inputs`]); a session whose inputs differ starts without them.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use playground_api::host::Diagnostic;
use playground_api::serde::{Deserialize, Serialize};
use playground_api::{abi, serde_json};

use crate::cargo::{Invocations, convert};

/// The file, in the folder of the built libraries, that keeps the recorded commands.
const KEPT: &str = "playground-rustc-commands.json";

/// The recorded commands, as [`save`] keeps them and [`load`] reads them back.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub struct Kept {
    /// The rustc command of each crate.
    pub commands: Invocations,
    /// A digest of each crate's `Cargo.toml` when its command was recorded: a command whose
    /// manifest changed since no longer applies.
    #[serde(default)]
    pub manifests: BTreeMap<String, String>,
}

/// What [`save`] writes: the commands under the [`inputs`] they were recorded with.
#[derive(Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
struct KeptFile {
    inputs: String,
    #[serde(flatten)]
    kept: Kept,
}

/// A digest of what shapes a module's rustc command besides its sources: the compiler,
/// target, profile and flags (from the ABI stamp), the flags from the environment, the api's
/// sources, the workspace's `Cargo.toml`, `Cargo.lock` and `.cargo/config.toml`, and every
/// `Cargo.toml` under `modules_root` (its dependencies and their features).
///
/// The api is hashed from its files on disk, not from the running process's stamp: a
/// restart's build records its commands against the new api while the old process still
/// runs, and the new process must find them. `DefaultHasher` may change between Rust
/// releases; the stamp names the release, so that only ever makes a kept file miss.
pub fn inputs(workspace: &Path, modules_root: &Path) -> String {
    let mut hasher = DefaultHasher::new();
    let stamp = abi::text(abi::running());
    stamp.split("; ").filter(|part| !part.starts_with("api=") && !part.starts_with("lock=")).for_each(|part| {
        part.hash(&mut hasher);
    });
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS", "RUSTC", "RUSTC_WRAPPER"] {
        std::env::var_os(var).hash(&mut hasher);
    }
    let mut files: BTreeSet<PathBuf> =
        ["Cargo.toml", "Cargo.lock", ".cargo/config.toml"].iter().map(|f| workspace.join(f)).collect();
    collect(&workspace.join("api"), &mut files, &|_| true);
    collect(modules_root, &mut files, &|name| name == "Cargo.toml");
    for file in files {
        file.hash(&mut hasher);
        std::fs::read(&file).ok().hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

/// The files below `dir` whose name `wanted` accepts; build outputs and hidden folders are
/// left out.
fn collect(dir: &Path, into: &mut BTreeSet<PathBuf>, wanted: &dyn Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if name != "target" && !name.starts_with('.') {
                collect(&path, into, wanted);
            }
        } else if wanted(&name) {
            into.insert(path);
        }
    }
}

/// Keeps `kept` in `library_dir` for the next session, under `inputs`. Best effort: a
/// session that cannot read them builds its first edit with cargo, as before.
pub fn save(library_dir: &Path, inputs: &str, kept: &Kept) {
    let kept = KeptFile { inputs: inputs.to_owned(), kept: kept.clone() };
    let path = library_dir.join(KEPT);
    let staged = path.with_extension("json.new");
    let written = serde_json::to_vec_pretty(&kept)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&staged, bytes))
        .and_then(|()| std::fs::rename(&staged, &path));
    if let Err(e) = written {
        playground_api::tracing::debug!("cannot keep the rustc commands in {}: {e}", path.display());
    }
}

/// The commands an earlier session kept in `library_dir`, if they were recorded under the
/// same `inputs`; none otherwise.
pub fn load(library_dir: &Path, inputs: &str) -> Kept {
    std::fs::read(library_dir.join(KEPT))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<KeptFile>(&bytes).ok())
        .filter(|file| file.inputs == inputs)
        .map(|file| file.kept)
        .unwrap_or_default()
}

/// The first file a recorded command reads that is no longer there (the crate's root source,
/// or a library it links with `--extern`), relative paths taken from `workspace`. Such a
/// command would fail for a reason that is not the user's code.
pub fn missing_input(command: &str, workspace: &Path) -> Option<PathBuf> {
    let words: Vec<&str> = command.split_whitespace().map(|w| w.trim_matches('\'')).collect();
    let root = words.iter().find(|w| w.ends_with(".rs") && !w.starts_with('-')).map(|w| PathBuf::from(*w));
    let externs = words
        .windows(2)
        .filter(|pair| pair[0] == "--extern")
        .filter_map(|pair| pair[1].split_once('=').map(|(_, path)| PathBuf::from(path)));
    root.into_iter().chain(externs).map(|path| workspace.join(path)).find(|path| !path.exists())
}

/// How a direct rustc run ended.
#[derive(Debug)]
pub enum FastBuild {
    /// Compiled and uplifted; warnings, if any.
    Built(Vec<Diagnostic>),
    /// The code does not compile: these are rustc's errors, as cargo would have shown them.
    Failed(Vec<Diagnostic>),
    /// The fast path could not be used (no output, a failure without diagnostics...): build
    /// with cargo instead. The text says why, for the log.
    Unusable(String),
}

/// Runs `command` (a recorded rustc invocation) in `workspace` and, on success, copies the
/// produced dylib to `library` (where the loader and cargo expect it).
pub fn rebuild(workspace: &Path, command: &str, library: &Path) -> FastBuild {
    let output = match Command::new("sh").arg("-c").arg(command).current_dir(workspace).stdin(Stdio::null()).output() {
        Ok(output) => output,
        Err(e) => return FastBuild::Unusable(format!("cannot run sh: {e}")),
    };
    let mut diagnostics = Vec::new();
    let mut produced: Option<PathBuf> = None;
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        match value.get("$message_type").and_then(|t| t.as_str()) {
            Some("diagnostic") => {
                // "aborting due to N previous errors" is rustc's summary, which cargo drops
                // too: the fast path reports what cargo would.
                if let Ok(d) = serde_json::from_value::<cargo_metadata::diagnostic::Diagnostic>(value)
                    && !(d.spans.is_empty() && d.message.starts_with("aborting due to"))
                    && let Some(d) = convert(&d)
                {
                    diagnostics.push(d);
                }
            }
            Some("artifact") if value.get("emit").and_then(|e| e.as_str()) == Some("link") => {
                produced = value.get("artifact").and_then(|a| a.as_str()).map(PathBuf::from);
            }
            _ => {}
        }
    }
    if !output.status.success() {
        return if diagnostics.iter().any(|d| d.level.is_error()) {
            diagnostics.sort_by_key(|d| !d.level.is_error());
            FastBuild::Failed(diagnostics)
        } else {
            FastBuild::Unusable(format!("rustc failed without a diagnostic ({})", output.status))
        };
    }
    let Some(produced) = produced.filter(|p| p.extension().is_some_and(|e| e == "so")) else {
        return FastBuild::Unusable("rustc reported no library".to_owned());
    };
    // Replace, never overwrite in place: the old file may be mapped by a process (SIGBUS).
    let staged = library.with_extension("so.fast");
    if let Err(e) = std::fs::copy(&produced, &staged).and_then(|_| std::fs::rename(&staged, library)) {
        return FastBuild::Unusable(format!("cannot put the library in place: {e}"));
    }
    FastBuild::Built(diagnostics)
}
