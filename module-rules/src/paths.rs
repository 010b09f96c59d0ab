//! What a changed path means to live edit: a hot module to rebuild and reload, a contract
//! whose dependents reload, immortal code that only a restart picks up, or nothing of ours.
//!
//! The tree says which is which: `modules/<layer>/<name>/` holds hot modules (contracts in
//! `core/`); `api/`, `module-loader/`, `module-rules/` and `editor-shell/` are immortal,
//! compiled into the running process; the workspace's `Cargo.toml` and `.cargo/config.toml`
//! shape every crate's build, the api's included. Anything else (docs, tests, build output,
//! an editor's swap file) is not a change live edit acts on.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::manifest::Layer;

/// The immortal parts of the process: an edit of any of them needs a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Immortal {
    /// `editor-shell/`: the `playground` binary (window, frame loop, controllers).
    Shell,
    /// `api/`: the api dylib every module and the shell link.
    Api,
    /// `module-loader/` and `module-rules/`: compiled into the shell.
    Loader,
    /// The workspace's `Cargo.toml`, `.cargo/config.toml` or `workspace-hack/`: features
    /// and flags of every crate, the api's included.
    Workspace,
}

impl Immortal {
    /// The immortal crates' folders, relative to the workspace root.
    pub const CRATES: [(&'static str, Immortal); 5] = [
        ("editor-shell", Immortal::Shell),
        ("api", Immortal::Api),
        ("module-loader", Immortal::Loader),
        ("module-rules", Immortal::Loader),
        ("workspace-hack", Immortal::Workspace),
    ];

    /// The workspace-level files that shape every build, relative to the workspace root.
    /// `Cargo.lock` is not one: cargo rewrites it when a new module crate first builds.
    pub const FILES: [&'static str; 2] = ["Cargo.toml", ".cargo/config.toml"];
}

impl fmt::Display for Immortal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Immortal::Shell => "the shell",
            Immortal::Api => "the api",
            Immortal::Loader => "the loader",
            Immortal::Workspace => "the workspace's build settings",
        })
    }
}

/// What kind of file of a module changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    /// A Rust source file: the recorded rustc command still applies.
    Source,
    /// `module.toml`: read by the loader, not by rustc.
    Manifest,
    /// `Cargo.toml`: dependencies or features may have changed; only cargo knows.
    CargoToml,
    /// The module's folder itself appeared or went away.
    Folder,
}

impl Edit {
    /// Whether only cargo can build this change (a recorded rustc command may be stale).
    pub fn needs_cargo(self) -> bool {
        matches!(self, Edit::CargoToml | Edit::Folder)
    }
}

/// What a changed path is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathClass {
    /// A hot module (systems, plugins, apps): rebuild it and reload it with its dependents.
    Module { id: String, edit: Edit },
    /// A contract (`core/*`): compiled into its dependents, which rebuild and reload with it.
    Contract { id: String, edit: Edit },
    /// Immortal code: no reload can swap it; the user restarts. `file` is relative to the
    /// workspace root.
    Immortal { part: Immortal, file: PathBuf },
    /// Not something live edit acts on.
    Ignored,
}

/// Whether a file name is an editor's swap, backup or temp file.
pub fn is_noise(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name == "4913"
        || [".swp", ".swx", ".swo", ".tmp", ".bak", ".orig"].iter().any(|ext| name.ends_with(ext))
}

/// The normal components of a relative path, as text.
fn parts(relative: &Path) -> Vec<&str> {
    relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect()
}

/// Whether `parts` name a source file (Rust or TOML) that is not build output or noise.
fn is_source(parts: &[&str]) -> bool {
    let file = parts.last().copied().unwrap_or("");
    !parts.contains(&"target") && !is_noise(file) && (file.ends_with(".rs") || file.ends_with(".toml"))
}

/// Where the workspace and its hot modules are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The workspace root: the folder with the workspace `Cargo.toml` and the immortal crates.
    pub workspace: PathBuf,
    /// The folder holding `core/`, `systems/`, `plugins/` and `apps/` (usually
    /// `<workspace>/modules`; tests point it elsewhere).
    pub modules_root: PathBuf,
}

impl Layout {
    pub fn new(workspace: &Path, modules_root: &Path) -> Layout {
        Layout { workspace: workspace.to_owned(), modules_root: modules_root.to_owned() }
    }

    /// The folders a watcher must watch to see every class of change, each with whether to
    /// watch it recursively. The workspace root itself is watched only one level deep (its
    /// `Cargo.toml`), never into `target/`.
    pub fn watched(&self) -> Vec<(PathBuf, bool)> {
        let mut dirs = vec![(self.modules_root.clone(), true)];
        for (dir, _) in Immortal::CRATES {
            let dir = self.workspace.join(dir);
            if !dir.starts_with(&self.modules_root) {
                dirs.push((dir, true));
            }
        }
        dirs.push((self.workspace.clone(), false));
        dirs.push((self.workspace.join(".cargo"), false));
        dirs
    }

    /// What the change of `path` means.
    pub fn classify(&self, path: &Path) -> PathClass {
        if let Ok(relative) = path.strip_prefix(&self.modules_root) {
            return classify_module(&parts(relative));
        }
        let Ok(relative) = path.strip_prefix(&self.workspace) else { return PathClass::Ignored };
        let parts = parts(relative);
        let immortal = |part| PathClass::Immortal { part, file: relative.to_owned() };
        if let Some((_, part)) = Immortal::CRATES.iter().find(|(dir, _)| parts.first() == Some(dir)) {
            return if is_source(&parts) { immortal(*part) } else { PathClass::Ignored };
        }
        if Immortal::FILES.iter().any(|file| parts.join("/") == *file) {
            return immortal(Immortal::Workspace);
        }
        PathClass::Ignored
    }
}

/// A path under the modules root, as its components.
fn classify_module(parts: &[&str]) -> PathClass {
    let (Some(layer), Some(name)) = (parts.first(), parts.get(1)) else { return PathClass::Ignored };
    let Some(layer) = Layer::parse(layer) else { return PathClass::Ignored };
    let edit = match parts.len() {
        // The module's folder itself, created or deleted.
        2 => Edit::Folder,
        _ if !is_source(parts) => return PathClass::Ignored,
        _ => match parts.last().copied() {
            Some("Cargo.toml") if parts.len() == 3 => Edit::CargoToml,
            Some("module.toml") if parts.len() == 3 => Edit::Manifest,
            // The crate's own sources: its recorded rustc command rebuilds them.
            Some(file) if file.ends_with(".rs") && parts.get(2) == Some(&"src") => Edit::Source,
            // Anything else in the module's folder (a build script, a library crate of the
            // module's own such as the editor's `source-text`, a test's data): only cargo
            // knows what it feeds, so cargo decides.
            _ => Edit::CargoToml,
        },
    };
    if is_noise(name) {
        return PathClass::Ignored;
    }
    let id = format!("{layer}/{name}");
    if layer == Layer::Core { PathClass::Contract { id, edit } } else { PathClass::Module { id, edit } }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Layout, PathClass};

    /// Classifies `path` (relative to the workspace `/w`, whose modules are in `/w/modules`)
    /// and renders the class in one line.
    fn check(path: &str, expected: &str) {
        let layout = Layout::new(Path::new("/w"), Path::new("/w/modules"));
        let rendered = match layout.classify(&Path::new("/w").join(path)) {
            PathClass::Module { id, edit } => format!("module {id} ({edit:?})"),
            PathClass::Contract { id, edit } => format!("contract {id} ({edit:?})"),
            PathClass::Immortal { part, file } => format!("restart: {part} ({})", file.display()),
            PathClass::Ignored => "ignored".to_owned(),
        };
        assert_eq!(rendered, expected, "for {path}");
    }

    #[test]
    fn hot_modules() {
        check("modules/plugins/movement/src/lib.rs", "module plugins/movement (Source)");
        check("modules/plugins/movement/src/deep/more.rs", "module plugins/movement (Source)");
        check("modules/plugins/movement/module.toml", "module plugins/movement (Manifest)");
        check("modules/plugins/movement/Cargo.toml", "module plugins/movement (CargoToml)");
        check("modules/plugins/movement", "module plugins/movement (Folder)");
        check("modules/systems/ecs/src/lib.rs", "module systems/ecs (Source)");
        check("modules/apps/editor/src/graph.rs", "module apps/editor (Source)");
        // Not the crate's own sources: its recorded command would not see them.
        check("modules/apps/editor/build.rs", "module apps/editor (CargoToml)");
        check("modules/apps/editor/source-text/src/lib.rs", "module apps/editor (CargoToml)");
        check("modules/apps/editor/source-text/Cargo.toml", "module apps/editor (CargoToml)");
    }

    #[test]
    fn contracts() {
        check("modules/core/ecs/src/lib.rs", "contract core/ecs (Source)");
        check("modules/core/ecs/Cargo.toml", "contract core/ecs (CargoToml)");
        check("modules/core/types", "contract core/types (Folder)");
    }

    #[test]
    fn immortal_code_needs_a_restart() {
        check("api/src/lib.rs", "restart: the api (api/src/lib.rs)");
        check("api/build.rs", "restart: the api (api/build.rs)");
        check("api/Cargo.toml", "restart: the api (api/Cargo.toml)");
        check("module-loader/src/runtime.rs", "restart: the loader (module-loader/src/runtime.rs)");
        check("module-rules/src/graph.rs", "restart: the loader (module-rules/src/graph.rs)");
        check("editor-shell/src/window.rs", "restart: the shell (editor-shell/src/window.rs)");
        check("Cargo.toml", "restart: the workspace's build settings (Cargo.toml)");
        check(".cargo/config.toml", "restart: the workspace's build settings (.cargo/config.toml)");
        check("workspace-hack/Cargo.toml", "restart: the workspace's build settings (workspace-hack/Cargo.toml)");
    }

    #[test]
    fn noise_and_what_is_not_ours() {
        check("modules/plugins/movement/src/.lib.rs.swp", "ignored");
        check("modules/plugins/movement/src/lib.rs~", "ignored");
        check("modules/plugins/movement/src/4913", "ignored");
        check("modules/plugins/movement/src/.#lib.rs", "ignored");
        check("modules/plugins/movement/README.md", "ignored");
        check("modules/plugins/movement/target/debug/x.rs", "ignored");
        check("modules/elsewhere/x/src/lib.rs", "ignored");
        check("modules/plugins", "ignored");
        check("api/src/.lib.rs.swp", "ignored");
        check("api/README.md", "ignored");
        check("editor-shell/target/debug/build/out.rs", "ignored");
        check("Cargo.lock", "ignored");
        check("README.md", "ignored");
        check("target/debug/x.rs", "ignored");
        check("tests/reload.rs", "ignored");
        check("docs/editor.png", "ignored");
    }

    #[test]
    fn modules_outside_the_workspace() {
        let layout = Layout::new(Path::new("/w"), Path::new("/tmp/sandbox/modules"));
        assert_eq!(
            layout.classify(Path::new("/tmp/sandbox/modules/plugins/counter/src/lib.rs")),
            PathClass::Module { id: "plugins/counter".to_owned(), edit: super::Edit::Source }
        );
        assert!(matches!(layout.classify(Path::new("/w/api/src/lib.rs")), PathClass::Immortal { .. }));
        assert_eq!(layout.classify(Path::new("/w/modules/plugins/movement/src/lib.rs")), PathClass::Ignored);
        let watched: Vec<String> =
            layout.watched().iter().map(|(dir, deep)| format!("{} {deep}", dir.display())).collect();
        assert_eq!(
            watched,
            [
                "/tmp/sandbox/modules true",
                "/w/editor-shell true",
                "/w/api true",
                "/w/module-loader true",
                "/w/module-rules true",
                "/w/workspace-hack true",
                "/w false",
                "/w/.cargo false",
            ]
        );
    }
}
