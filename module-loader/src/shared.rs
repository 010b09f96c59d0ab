//! The shared crates' check, in process: whether `workspace-hack/Cargo.toml` still says every
//! feature the workspace's crates ask of third-party crates, computed by `hakari` (the
//! library behind `cargo hakari`, pinned to the version cargo-hakari 0.9.39 uses, so both say
//! the same) on cargo's own resolution (`cargo metadata`).
//!
//! Why in process: the check guards the api dylib (ARCHITECTURE.md, invariant 8), and it must
//! hold on a machine where only README's run command ran, which installs no cargo-hakari.
//! When it cannot run, nothing is built: [`veto`] says why.

use std::path::Path;
use std::process::Command;

use guppy::graph::PackageGraph;
use guppy::graph::cargo::CargoResolverVersion;
use guppy::{CargoMetadata, MetadataCommand, PackageId};
use hakari::{DepFormatVersion, Hakari, HakariBuilder, HakariOutputOptions};
use module_rules::commands;
use playground_api::serde::Deserialize;

use crate::cargo::{cargo_program, run_tracked};

/// `.config/hakari.toml`, as far as the generated section depends on it. Unknown keys are
/// refused, so a setting this check would not follow is said, not silently ignored.
#[derive(Deserialize)]
#[serde(crate = "playground_api::serde", rename_all = "kebab-case", deny_unknown_fields)]
struct Config {
    hakari_package: String,
    #[serde(default)]
    dep_format_version: Option<String>,
    #[serde(default)]
    resolver: Option<String>,
    #[serde(default)]
    platforms: Vec<String>,
    #[serde(default)]
    exact_versions: bool,
    /// How members name the workspace-hack: `manage-deps`' business, not the section's
    /// (named so that the key is known, and not read).
    #[serde(default, rename = "workspace-hack-line-style")]
    _line_style: Option<playground_api::serde::de::IgnoredAny>,
}

const CONFIG: &str = ".config/hakari.toml";

/// How the shared crates' features stand against the workspace's `Cargo.toml`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SharedCrates {
    /// `workspace-hack/Cargo.toml` is up to date: every build compiles the api alike.
    UpToDate,
    /// A dependency asks shared crates for other features: building now would rebuild the api
    /// under the running process. What changes, one sentence per crate.
    Change(Vec<String>),
}

/// The workspace's package graph as cargo resolves it now (`cargo metadata`, which also
/// brings `Cargo.lock` up to date with a changed `Cargo.toml`, as cargo-hakari's run does).
fn package_graph(workspace: &Path) -> Result<PackageGraph, String> {
    let mut metadata = MetadataCommand::new();
    metadata.cargo_path(cargo_program()).current_dir(workspace);
    let mut command: Command = metadata.cargo_command();
    let output = run_tracked(&mut command).map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        // Cargo's (or rustup's) `error:` line says why; a backtrace may follow it.
        let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
        let why = lines().find(|l| l.starts_with("error")).or_else(|| lines().next_back()).unwrap_or("no output");
        return Err(format!("cargo metadata failed ({}): {why}", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = stdout.lines().find(|l| l.starts_with('{')).ok_or("cargo metadata printed no JSON")?;
    CargoMetadata::parse_json(json)
        .and_then(CargoMetadata::build_graph)
        .map_err(|e| format!("cannot read cargo metadata's package graph: {e}"))
}

/// `hakari` set up as `.config/hakari.toml` says, over `graph`.
fn builder<'g>(workspace: &Path, graph: &'g PackageGraph) -> Result<(HakariBuilder<'g>, HakariOutputOptions), String> {
    let path = workspace.join(CONFIG);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let config: Config = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let hack = graph
        .workspace()
        .member_by_name(&config.hakari_package)
        .map_err(|e| format!("{}: hakari-package `{}`: {e}", path.display(), config.hakari_package))?;
    let mut builder = HakariBuilder::new(graph, Some(hack.id())).map_err(|e| format!("hakari: {e}"))?;
    builder.set_resolver(match config.resolver.as_deref() {
        None | Some("2" | "3") => CargoResolverVersion::V2,
        Some("1") => CargoResolverVersion::V1,
        Some(other) => return Err(format!("{}: unknown resolver `{other}`", path.display())),
    });
    builder.set_dep_format_version(match config.dep_format_version.as_deref() {
        None | Some("1") => DepFormatVersion::V1,
        Some("2") => DepFormatVersion::V2,
        Some("3") => DepFormatVersion::V3,
        Some("4") => DepFormatVersion::V4,
        Some(other) => return Err(format!("{}: unknown dep-format-version `{other}`", path.display())),
    });
    builder.set_platforms(config.platforms).map_err(|e| format!("{}: platforms: {e}", path.display()))?;
    let mut options = HakariOutputOptions::new();
    options.set_exact_versions(config.exact_versions);
    Ok((builder, options))
}

/// The generated section as the workspace's `Cargo.toml`s ask for it now, hakari's view of
/// the file that holds it, and the workspace-hack package.
fn compute(workspace: &Path, graph: &PackageGraph) -> Result<(String, hakari::HakariCargoToml, PackageId), String> {
    let (builder, options) = builder(workspace, graph)?;
    let hack = builder.hakari_package().map(|p| p.id().clone()).ok_or("hakari has no workspace-hack package")?;
    let hakari: Hakari<'_> = builder.compute();
    let section = hakari.to_toml_string(&options).map_err(|e| format!("hakari cannot write the section: {e}"))?;
    let file = hakari
        .read_toml()
        .ok_or("hakari has no workspace-hack package")?
        .map_err(|e| format!("cannot read workspace-hack/Cargo.toml: {e}"))?;
    Ok((section, file, hack))
}

/// Whether `workspace-hack/Cargo.toml` would change, as `cargo hakari generate --diff` says.
pub(crate) fn check(workspace: &Path) -> Result<SharedCrates, String> {
    let graph = package_graph(workspace)?;
    let (section, file, _) = compute(workspace, &graph)?;
    let patch = file.diff_toml(&section);
    if patch.hunks().is_empty() {
        return Ok(SharedCrates::UpToDate);
    }
    let diff = hakari::diffy::PatchFormatter::new().fmt_patch(&patch).to_string();
    let changes = commands::hack_changes(&diff);
    let changes = if changes.is_empty() { vec!["workspace-hack/Cargo.toml changes".to_owned()] } else { changes };
    Ok(SharedCrates::Change(changes))
}

/// Writes the section [`check`] computed into `workspace-hack/Cargo.toml` (what `cargo hakari
/// generate` does), and says which workspace members do not depend on the workspace-hack
/// (what `cargo hakari manage-deps` would add), since without it their builds would not
/// agree on the shared crates.
pub(crate) fn update(workspace: &Path) -> Result<(), String> {
    let graph = package_graph(workspace)?;
    let (section, file, hack) = compute(workspace, &graph)?;
    file.write_to_file(&section).map_err(|e| format!("cannot write workspace-hack/Cargo.toml: {e}"))?;
    let missing: Vec<String> = graph
        .workspace()
        .iter()
        .filter(|member| *member.id() != hack)
        .filter(|member| !member.direct_links().any(|link| *link.to().id() == hack))
        .map(|member| member.name().to_owned())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} do(es) not depend on the workspace-hack, so their builds would not agree on the shared crates: add \
             `workspace-hack.workspace = true` to their [dependencies]",
            missing.join(", ")
        ))
    }
}

/// Why modules must not build now.
#[derive(Debug, PartialEq, Eq)]
pub enum Veto {
    /// Their dependencies ask shared crates for other features: building would rebuild the
    /// api under the running process, which only a restart's build may do.
    Restart(String),
    /// The check could not run, so whether it would is not known: nothing is built.
    Unchecked(String),
}

/// Whether `modules` may build now: `None`, or why not.
pub fn veto(workspace: &Path, modules: &[String]) -> Option<Veto> {
    let whose = || if modules.is_empty() { "the workspace".to_owned() } else { modules.join(", ") };
    match check(workspace) {
        Ok(SharedCrates::UpToDate) => None,
        Ok(SharedCrates::Change(changes)) => Some(Veto::Restart(format!(
            "the dependencies of {} ask the shared crates for other features ({}): the api must be rebuilt, which \
             only a restart can load; nothing was built",
            whose(),
            changes.join("; ")
        ))),
        Err(why) => Some(Veto::Unchecked(format!(
            "cannot check whether the dependencies of {} change the shared crates' features ({why}); nothing was \
             built: fix that and save again",
            whose()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::{SharedCrates, check};

    #[test]
    fn the_workspace_as_committed_is_up_to_date_as_cargo_hakari_says() {
        // The same hakari as cargo-hakari 0.9.39 on the same graph: the committed section,
        // which `cargo hakari generate` wrote (and scripts/check.sh verifies), is what this
        // check computes, byte for byte.
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        assert_eq!(check(&workspace), Ok(SharedCrates::UpToDate));
    }
}
