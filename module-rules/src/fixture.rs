//! Test fixtures: several modules written in one string, rust-analyzer style.
//!
//! ```text
//! //- core/types
//! //- systems/ecs 1.2.0
//! implements = ["core/ecs"]
//! [dependencies]
//! "core/ecs" = "^1"
//! ```
//!
//! Each `//- <id> [version]` line starts a module (version 1.0.0 unless given); the lines
//! under it are the rest of its `module.toml` (its `id`, `version` and `layer` are written
//! for it), but for `//cargo <package> ...` lines, which list the packages its `Cargo.toml`
//! depends on. Indentation is ignored. Modules get the package `<layer>-<name>`, and a
//! library at `/lib/lib<layer>_<name>.so` unless they are contracts.

use std::path::PathBuf;

use crate::discover::ModuleSource;
use crate::graph::Graph;
use crate::manifest::{Layer, Manifest};

/// The modules of a fixture, in the order written; a manifest error is the error.
pub(crate) fn sources(fixture: &str) -> Result<Vec<ModuleSource>, String> {
    let mut modules: Vec<(String, String, String, Vec<String>)> = Vec::new();
    for line in fixture.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(header) = line.strip_prefix("//-") {
            let mut words = header.split_whitespace();
            let id = words.next().unwrap_or_default().to_owned();
            let version = words.next().unwrap_or("1.0.0").to_owned();
            modules.push((id, version, String::new(), Vec::new()));
        } else if let Some(packages) = line.strip_prefix("//cargo") {
            if let Some((_, _, _, crates)) = modules.last_mut() {
                crates.extend(packages.split_whitespace().map(str::to_owned));
            }
        } else if let Some((_, _, body, _)) = modules.last_mut() {
            body.push_str(line);
            body.push('\n');
        } else {
            return Err(format!("fixture text before the first `//-` line: {line}"));
        }
    }
    modules
        .into_iter()
        .map(|(id, version, body, crates)| {
            let (layer, name) = id.split_once('/').unwrap_or(("", &id));
            let text = format!("id = \"{id}\"\nversion = \"{version}\"\nlayer = \"{layer}\"\n{body}");
            let manifest =
                Manifest::parse(&text, &PathBuf::from(format!("{id}/module.toml"))).map_err(|e| e.to_string())?;
            let library = (manifest.layer != Layer::Core).then(|| PathBuf::from(format!("/lib/lib{layer}_{name}.so")));
            Ok(ModuleSource {
                manifest,
                dir: PathBuf::from(format!("/modules/{id}")),
                package: format!("{layer}-{name}"),
                library,
                crates,
            })
        })
        .collect()
}

/// The fixture's modules, resolved.
pub(crate) fn graph(fixture: &str) -> Result<Graph, String> {
    Graph::resolve(sources(fixture)?).map_err(|e| e.to_string())
}

/// A resolved graph as the tests compare it: its load order, one module a line with its
/// enabled features; or the resolution error.
pub(crate) fn render_order(graph: Result<Graph, String>) -> String {
    match graph {
        Ok(graph) => graph
            .order()
            .iter()
            .map(|id| {
                let features: Vec<String> = graph.enabled_features(id).into_iter().collect();
                if features.is_empty() { id.clone() } else { format!("{id} [{}]", features.join(", ")) }
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("error: {e}"),
    }
}
