//! Finds the modules under a modules root (`<root>/<layer>/<name>/module.toml`) and where
//! each one's library is built.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::manifest::{Layer, Manifest};

/// One module found on disk.
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleSource {
    pub manifest: Manifest,
    /// The module's folder (holding `module.toml` and `Cargo.toml`).
    pub dir: PathBuf,
    /// The cargo package name, for `cargo build -p`.
    pub package: String,
    /// Where cargo puts the module's library; `None` for contracts, which have none.
    pub library: Option<PathBuf>,
    /// The packages its `Cargo.toml` links into its library (`[dependencies]`, also under
    /// `[target.*]`), by package name: the graph refuses a hot module's crate among them.
    pub crates: Vec<String>,
}

impl ModuleSource {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }
}

/// The file name of a shared library on this platform.
pub fn dylib_file_name(lib_name: &str) -> String {
    format!("{}{lib_name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

fn io_error(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(format!("{}: cannot {what}: {e}", path.display()))
}

/// What a module's `Cargo.toml` says that the loader needs.
struct CargoToml {
    package: String,
    lib_name: String,
    /// Whether it builds a shared library (`cdylib`, or `dylib` as modules once were).
    shared_library: bool,
    crates: Vec<String>,
}

/// The package names of a `[dependencies]` table: the key, or its `package = "..."` rename.
fn dependency_packages(table: Option<&toml::Value>) -> impl Iterator<Item = String> + '_ {
    table
        .and_then(toml::Value::as_table)
        .into_iter()
        .flatten()
        .map(|(key, spec)| spec.get("package").and_then(toml::Value::as_str).map_or_else(|| key.clone(), str::to_owned))
}

/// Reads the package name, the library name, whether it builds a shared library, and what it
/// links.
fn read_cargo_toml(path: &Path) -> Result<CargoToml> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, "read", e))?;
    let table: toml::Table =
        text.parse().map_err(|e: toml::de::Error| Error::new(format!("{}: {}", path.display(), e.message())))?;
    let package = table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| Error::new(format!("{}: no [package] name", path.display())))?
        .to_owned();
    let lib = table.get("lib");
    let lib_name = lib
        .and_then(|l| l.get("name"))
        .and_then(|n| n.as_str())
        .map_or_else(|| package.replace('-', "_"), str::to_owned);
    let shared_library = lib
        .and_then(|l| l.get("crate-type"))
        .and_then(|t| t.as_array())
        .is_some_and(|types| types.iter().any(|t| matches!(t.as_str(), Some("cdylib" | "dylib"))));
    let mut crates: Vec<String> = dependency_packages(table.get("dependencies")).collect();
    for target in table.get("target").and_then(toml::Value::as_table).into_iter().flat_map(|t| t.values()) {
        crates.extend(dependency_packages(target.get("dependencies")));
    }
    Ok(CargoToml { package, lib_name, shared_library, crates })
}

/// Reads one module folder.
pub fn read_module(dir: &Path, library_dir: &Path) -> Result<ModuleSource> {
    let manifest = Manifest::load(&dir.join("module.toml"))?;
    let folder_layer = dir.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("");
    let folder_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let expected = format!("{folder_layer}/{folder_name}");
    if manifest.id != expected {
        return Err(Error::new(format!(
            "{}: the id `{}` does not match the folder: a module in {} must have id `{expected}`",
            dir.join("module.toml").display(),
            manifest.id,
            dir.display()
        )));
    }
    let CargoToml { package, lib_name, shared_library, crates } = read_cargo_toml(&dir.join("Cargo.toml"))?;
    let library = if manifest.layer == Layer::Core {
        None
    } else if shared_library {
        Some(library_dir.join(dylib_file_name(&lib_name)))
    } else {
        return Err(Error::new(format!(
            "{}: `{}` is a {} module but does not build a shared library: add `[lib] crate-type = [\"cdylib\"]`",
            dir.join("Cargo.toml").display(),
            manifest.id,
            manifest.layer
        )));
    };
    Ok(ModuleSource { manifest, dir: dir.to_owned(), package, library, crates })
}

/// Finds every module under `root`, in id order. Any unreadable or invalid module is an
/// error naming its file: a graph with a hole in it is not loaded.
pub fn discover(root: &Path, library_dir: &Path) -> Result<Vec<ModuleSource>> {
    if !root.is_dir() {
        return Err(Error::new(format!("{}: the modules folder does not exist", root.display())));
    }
    let mut found = Vec::new();
    for layer in Layer::ALL {
        let layer_dir = root.join(layer.name());
        let Ok(entries) = std::fs::read_dir(&layer_dir) else { continue };
        let mut dirs: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.join("module.toml").is_file()).collect();
        dirs.sort();
        for dir in dirs {
            found.push(read_module(&dir, library_dir)?);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::discover;

    /// Writes each `(path, text)` under a fresh modules root, discovers it with libraries in
    /// `/lib`, and renders each module found (id, package, library) or the error, with the
    /// root's path written `<root>`.
    fn check(files: &[(&str, &str)], expected: &str) {
        let dir = tempfile::tempdir().expect("a temp dir");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("create the folder");
            std::fs::write(path, text).expect("write the file");
        }
        let rendered = match discover(dir.path(), Path::new("/lib")) {
            Ok(found) => found
                .iter()
                .map(|m| {
                    let library = m.library.as_ref().map_or("no library".to_owned(), |l| l.display().to_string());
                    format!("{} {} {library}", m.id(), m.package)
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(rendered.replace(&dir.path().display().to_string(), "<root>"), expected.trim());
    }

    const DYLIB: &str = "[package]\nname = \"plugins-x\"\n[lib]\ncrate-type = [\"cdylib\"]\n";

    #[test]
    fn finds_modules_in_layer_order_with_their_libraries() {
        check(
            &[
                ("plugins/x/module.toml", "id = \"plugins/x\"\nversion = \"1.0.0\"\nlayer = \"plugins\""),
                ("plugins/x/Cargo.toml", DYLIB),
                ("core/c/module.toml", "id = \"core/c\"\nversion = \"1.0.0\"\nlayer = \"core\""),
                ("core/c/Cargo.toml", "[package]\nname = \"core-c\"\n"),
                ("plugins/not-a-module/Cargo.toml", DYLIB),
                ("elsewhere/y/module.toml", "id = \"elsewhere/y\""),
            ],
            "core/c core-c no library\nplugins/x plugins-x /lib/libplugins_x.so",
        );
    }

    #[test]
    fn reads_the_packages_a_module_links_renamed_or_per_target() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let module = dir.path().join("plugins/x");
        std::fs::create_dir_all(&module).expect("the module folder");
        std::fs::write(module.join("module.toml"), "id = \"plugins/x\"\nversion = \"1.0.0\"\nlayer = \"plugins\"")
            .expect("write");
        std::fs::write(
            module.join("Cargo.toml"),
            format!(
                "{DYLIB}[dependencies]\nplayground-api.workspace = true\necs = {{ package = \"systems-ecs\", path = \"../../systems/ecs\" }}\n\
                 [target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n[dev-dependencies]\ntempfile = \"3\"\n"
            ),
        )
        .expect("write");
        let found = discover(dir.path(), Path::new("/lib")).expect("discovered");
        assert_eq!(found[0].crates, ["systems-ecs", "playground-api", "libc"], "table order (by key), then per target");
    }

    #[test]
    fn refuses_a_module_in_the_wrong_folder_or_without_a_dylib() {
        check(
            &[
                ("plugins/x/module.toml", "id = \"plugins/y\"\nversion = \"1.0.0\"\nlayer = \"plugins\""),
                ("plugins/x/Cargo.toml", DYLIB),
            ],
            "error: <root>/plugins/x/module.toml: the id `plugins/y` does not match the folder: a module in <root>/plugins/x must have id `plugins/x`",
        );
        check(
            &[
                ("plugins/x/module.toml", "id = \"plugins/x\"\nversion = \"1.0.0\"\nlayer = \"plugins\""),
                ("plugins/x/Cargo.toml", "[package]\nname = \"plugins-x\"\n"),
            ],
            "error: <root>/plugins/x/Cargo.toml: `plugins/x` is a plugins module but does not build a shared library: add `[lib] crate-type = [\"cdylib\"]`",
        );
        check(
            &[("plugins/x/module.toml", "id = \"plugins/x\"\nversion = \"1.0.0\"\nlayer = \"plugins\"")],
            "error: <root>/plugins/x/Cargo.toml: cannot read: No such file or directory (os error 2)",
        );
    }
}
