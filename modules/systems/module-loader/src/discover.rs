//! Finds the modules under a modules root (`<root>/<layer>/<name>/module.toml`) and where
//! each one's library is built.

use std::path::{Path, PathBuf};

use playground_api::toml;

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{Layer, Manifest};

/// One module found on disk.
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleSource {
    pub manifest: Manifest,
    /// The module's folder (holding `module.toml` and `Cargo.toml`).
    pub dir: PathBuf,
    /// The cargo package name, for `cargo build -p`.
    pub package: String,
    /// Where cargo puts the module's dylib; `None` for contracts, which have none.
    pub library: Option<PathBuf>,
}

impl ModuleSource {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }
}

/// The file name of a dylib on this platform.
pub fn dylib_file_name(lib_name: &str) -> String {
    format!("{}{lib_name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

fn io_error(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, format!("{}: cannot {what}: {e}", path.display()))
}

/// Reads the package name, the library name and whether it builds a dylib.
fn read_cargo_toml(path: &Path) -> Result<(String, String, bool)> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, "read", e))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        Error::new(ErrorKind::Manifest, format!("{}: {}", path.display(), e.message()))
    })?;
    let package = table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| Error::new(ErrorKind::Manifest, format!("{}: no [package] name", path.display())))?
        .to_owned();
    let lib = table.get("lib");
    let lib_name = lib
        .and_then(|l| l.get("name"))
        .and_then(|n| n.as_str())
        .map_or_else(|| package.replace('-', "_"), str::to_owned);
    let dylib = lib
        .and_then(|l| l.get("crate-type"))
        .and_then(|t| t.as_array())
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("dylib")));
    Ok((package, lib_name, dylib))
}

/// Reads one module folder.
pub fn read_module(dir: &Path, library_dir: &Path) -> Result<ModuleSource> {
    let manifest = Manifest::load(&dir.join("module.toml"))?;
    let folder_layer = dir.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("");
    let folder_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let expected = format!("{folder_layer}/{folder_name}");
    if manifest.id != expected {
        return Err(Error::new(
            ErrorKind::Manifest,
            format!(
                "{}: the id `{}` does not match the folder: a module in {} must have id `{expected}`",
                dir.join("module.toml").display(),
                manifest.id,
                dir.display()
            ),
        ));
    }
    let (package, lib_name, dylib) = read_cargo_toml(&dir.join("Cargo.toml"))?;
    let library = if manifest.layer == Layer::Core {
        None
    } else if dylib {
        Some(library_dir.join(dylib_file_name(&lib_name)))
    } else {
        return Err(Error::new(
            ErrorKind::Manifest,
            format!(
                "{}: `{}` is a {} module but does not build a dylib: add `[lib] crate-type = [\"dylib\"]`",
                dir.join("Cargo.toml").display(),
                manifest.id,
                manifest.layer
            ),
        ));
    };
    Ok(ModuleSource { manifest, dir: dir.to_owned(), package, library })
}

/// Finds every module under `root`, in id order. Any unreadable or invalid module is an
/// error naming its file: a graph with a hole in it is not loaded.
pub fn discover(root: &Path, library_dir: &Path) -> Result<Vec<ModuleSource>> {
    if !root.is_dir() {
        return Err(Error::new(ErrorKind::Io, format!("{}: the modules folder does not exist", root.display())));
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
