//! What cargo prints, read, and when the rustc command it ran may be run again without it.
//!
//! Cargo run with `-vv` prints each rustc command it runs (`Running `...``); live edit keeps
//! the one of each module crate and, when only a module's own Rust sources changed, re-runs
//! it directly (about half of a cargo build's time). Everything else goes through cargo:
//! a changed `Cargo.toml` or module folder, a contract (its dependents must rebuild), a
//! module with no recorded command yet. [`fast_path`] decides, and says why not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::graph::Graph;

/// The rustc command (a line for `sh -c`, environment included) cargo last ran for each
/// crate, by crate name.
pub type Invocations = BTreeMap<String, String>;

/// Units compiled so far, out of how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub done: u32,
    pub total: u32,
}

/// Reads "N/M" out of a cargo progress line ("    Building [====>   ] 12/340: egui, ...").
pub fn parse_progress(line: &str) -> Option<Progress> {
    let after = line.split("] ").nth(1)?;
    let counts = after.split(':').next()?;
    let (done, total) = counts.trim().split_once('/')?;
    Some(Progress { done: done.parse().ok()?, total: total.parse().ok()? })
}

/// Reads the crate name and command out of a `cargo -vv` line
/// "     Running `...rustc --crate-name x ...`".
pub fn parse_running(line: &str) -> Option<(String, String)> {
    let command = line.trim().strip_prefix("Running `")?.strip_suffix('`')?;
    let mut words = command.split_whitespace();
    words.find(|w| *w == "--crate-name")?;
    let name = words.next()?.to_owned();
    Some((name, command.to_owned()))
}

/// Removes terminal colour codes (rustc renders with them when cargo asks it to).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ parameters final-letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a diagnostic of the package cargo names `package_id` is about the user's code: a
/// crate from a path (the workspace's own crates), not one from a registry or git, whose
/// warnings the user can neither fix nor silence.
pub fn is_own_package(package_id: &str) -> bool {
    package_id.starts_with("path+file://")
}

/// What a change of `workspace-hack/Cargo.toml` does to the shared crates, read from the diff
/// `cargo hakari generate --diff` prints: one sentence per crate, e.g. `serde_json gains
/// preserve_order`. Empty when the diff changes no dependency line.
pub fn hack_changes(diff: &str) -> Vec<String> {
    /// The features of one crate on the diff's removed lines and on its added lines (`None`:
    /// no such line).
    type Sides = (Option<BTreeSet<String>>, Option<BTreeSet<String>>);
    let mut changes: BTreeMap<String, Sides> = BTreeMap::new();
    for line in diff.lines() {
        let (added, entry) = match line.as_bytes().first() {
            Some(b'+') if !line.starts_with("+++") => (true, &line[1..]),
            Some(b'-') if !line.starts_with("---") => (false, &line[1..]),
            _ => continue,
        };
        let Ok(table) = entry.parse::<toml::Table>() else { continue };
        for (key, spec) in table {
            let name = spec.get("package").and_then(toml::Value::as_str).map_or(key, str::to_owned);
            let features: BTreeSet<String> = spec
                .get("features")
                .and_then(toml::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect();
            let sides = changes.entry(name).or_default();
            let side = if added { &mut sides.1 } else { &mut sides.0 };
            side.get_or_insert_with(BTreeSet::new).extend(features);
        }
    }
    let list = |set: BTreeSet<&String>| set.into_iter().cloned().collect::<Vec<_>>().join(", ");
    changes
        .into_iter()
        .filter_map(|(name, sides)| match sides {
            (None, Some(added)) if added.is_empty() => Some(format!("{name} joins the shared crates")),
            (None, Some(added)) => {
                Some(format!("{name} joins the shared crates with {}", list(added.iter().collect())))
            }
            (Some(_), None) => Some(format!("{name} leaves the shared crates")),
            (Some(old), Some(new)) => {
                let gained = list(new.difference(&old).collect());
                let lost = list(old.difference(&new).collect());
                match (gained.is_empty(), lost.is_empty()) {
                    (true, true) => None,
                    (false, true) => Some(format!("{name} gains {gained}")),
                    (true, false) => Some(format!("{name} loses {lost}")),
                    (false, false) => Some(format!("{name} gains {gained} and loses {lost}")),
                }
            }
            (None, None) => None,
        })
        .collect()
}

/// The crate name (as rustc spells it) of the library at `library` (`lib<crate>.so`).
pub fn crate_of(library: &std::path::Path) -> Option<String> {
    library.file_stem()?.to_str()?.strip_prefix("lib").map(str::to_owned)
}

/// One module the fast path rebuilds: its crate name, recorded command and library.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FastUnit {
    pub krate: String,
    pub command: String,
    /// Where cargo puts the module's library, and so where the rebuilt one goes.
    pub library: PathBuf,
}

/// The rustc commands that rebuild `changed` (module ids) without cargo, or why cargo must
/// build them: `needs_cargo` says a change since the last build was one only cargo can
/// handle (see [`crate::paths::Edit::needs_cargo`]).
pub fn fast_path(
    graph: &Graph,
    changed: &[String],
    needs_cargo: bool,
    known: &Invocations,
) -> Result<Vec<FastUnit>, String> {
    if needs_cargo {
        return Err("a Cargo.toml or a module folder changed".to_owned());
    }
    changed
        .iter()
        .map(|id| {
            let source = graph.get(id).ok_or_else(|| format!("`{id}` is not in the graph"))?;
            let library = source
                .library
                .clone()
                .ok_or_else(|| format!("`{id}` is a contract: its dependents rebuild with it"))?;
            let krate =
                crate_of(&library).ok_or_else(|| format!("`{id}`: {} is not a library name", library.display()))?;
            let command =
                known.get(&krate).ok_or_else(|| format!("no rustc command of `{krate}` was recorded yet"))?.clone();
            Ok(FastUnit { krate, command, library })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Invocations, Progress, fast_path, parse_progress, parse_running, strip_ansi};
    use crate::fixture;

    #[test]
    fn reads_rustc_commands() {
        let check = |line: &str, expected: Option<(&str, &str)>| {
            let parsed = parse_running(line);
            assert_eq!(parsed.as_ref().map(|(n, c)| (n.as_str(), c.as_str())), expected, "for {line}");
        };
        check(
            "     Running `CARGO_PKG_NAME=fx-counter /bin/rustc --crate-name fx_counter --edition=2024 src/lib.rs`",
            Some((
                "fx_counter",
                "CARGO_PKG_NAME=fx-counter /bin/rustc --crate-name fx_counter --edition=2024 src/lib.rs",
            )),
        );
        check("     Running `/bin/rustc --crate-name`", None);
        check("     Running `build/script-build`", None);
        check("   Compiling fx-counter v0.1.0", None);
    }

    #[test]
    fn reads_progress_and_strips_colours() {
        assert_eq!(
            parse_progress("    Building [=====>      ] 12/340: egui, wgpu"),
            Some(Progress { done: 12, total: 340 })
        );
        assert_eq!(parse_progress("    Building [=====>      ] 12/x: egui"), None);
        assert_eq!(parse_progress("   Compiling egui v0.36.2"), None);
        assert_eq!(strip_ansi("\u{1b}[0m\u{1b}[1m\u{1b}[38;5;9merror\u{1b}[0m: oops"), "error: oops");
    }

    #[test]
    fn reads_what_a_new_dependency_asks_of_the_shared_crates() {
        let diff = r#"info:
--- original
+++ modified
@@ -3,7 +3,7 @@
 clap_builder = { version = "4", default-features = false, features = ["std"] }
-serde_json = { version = "1", features = ["alloc", "unbounded_depth"] }
+serde_json = { version = "1", features = ["alloc", "preserve_order", "unbounded_depth"] }
-memchr = { version = "2", features = ["libc"] }
+memchr = { version = "2" }
+tokio = { version = "1", features = ["net", "rt"] }
+syn-7b89eefb6aaa9bf3 = { package = "syn", version = "3", features = ["full"] }
-syn-7b89eefb6aaa9bf3 = { package = "syn", version = "3", features = ["extra-traits"] }
-once_cell = { version = "1" }
 [build-dependencies]
-serde_json = { version = "1", features = ["alloc", "unbounded_depth"] }
+serde_json = { version = "1", features = ["alloc", "preserve_order", "unbounded_depth"] }
"#;
        assert_eq!(
            super::hack_changes(diff),
            [
                "memchr loses libc",
                "once_cell leaves the shared crates",
                "serde_json gains preserve_order",
                "syn gains full and loses extra-traits",
                "tokio joins the shared crates with net, rt",
            ]
        );
        assert!(super::hack_changes("info: \n").is_empty());
    }

    #[test]
    fn diagnostics_of_registry_crates_are_not_ours() {
        assert!(super::is_own_package("path+file:///work/main/modules/plugins/movement#plugins-movement@1.0.0"));
        assert!(!super::is_own_package("registry+https://github.com/rust-lang/crates.io-index#foldhash@0.2.0"));
        assert!(!super::is_own_package("git+https://github.com/emilk/egui#egui@0.36.2"));
    }

    /// Decides the fast path for `changed` over the fixture's graph, with commands recorded
    /// for `recorded` crates; renders the crates it would rebuild, or why cargo must.
    fn check(changed: &[&str], needs_cargo: bool, recorded: &[&str], expected: &str) {
        let graph = fixture::graph(
            "
            //- core/probe
            //- systems/probe
            implements = [\"core/probe\"]
            [dependencies]
            \"core/probe\" = \"^1\"
            //- plugins/counter
            [dependencies]
            \"core/probe\" = \"^1\"
            ",
        )
        .expect("the fixture resolves");
        let known: Invocations =
            recorded.iter().map(|k| ((*k).to_owned(), format!("rustc --crate-name {k}"))).collect();
        let changed: Vec<String> = changed.iter().map(|s| (*s).to_owned()).collect();
        let rendered = match fast_path(&graph, &changed, needs_cargo, &known) {
            Ok(units) => {
                units.iter().map(|u| format!("{} -> {}", u.krate, u.library.display())).collect::<Vec<_>>().join("; ")
            }
            Err(why) => format!("cargo: {why}"),
        };
        assert_eq!(rendered, expected);
    }

    #[test]
    fn decides_when_a_recorded_command_applies() {
        check(&["plugins/counter"], false, &["plugins_counter"], "plugins_counter -> /lib/libplugins_counter.so");
        check(
            &["plugins/counter", "systems/probe"],
            false,
            &["plugins_counter", "systems_probe"],
            "plugins_counter -> /lib/libplugins_counter.so; systems_probe -> /lib/libsystems_probe.so",
        );
        check(&["plugins/counter"], true, &["plugins_counter"], "cargo: a Cargo.toml or a module folder changed");
        check(&["plugins/counter"], false, &[], "cargo: no rustc command of `plugins_counter` was recorded yet");
        check(
            &["core/probe"],
            false,
            &["plugins_counter"],
            "cargo: `core/probe` is a contract: its dependents rebuild with it",
        );
        check(&["plugins/gone"], false, &[], "cargo: `plugins/gone` is not in the graph");
    }
}
