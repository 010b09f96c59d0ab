//! Scaffolds a new module crate from a template: `module.toml`, `Cargo.toml` and a
//! `src/lib.rs` that uses `export_module!` and carries a unit test. The shell (and through it
//! MCP's `module.create`) builds and loads the result; this file only checks and writes.
//!
//! The crate lands in `<modules root>/<layer>/<name>/`, which the workspace's `modules/*/*`
//! member glob picks up, so it needs no edit of the workspace's `Cargo.toml`. Core modules are
//! refused: a contract is a hand-written rlib of types and traits (see ARCHITECTURE.md), and
//! an empty one would be of no use to anyone.

use std::path::{Path, PathBuf};

use crate::manifest::{Layer, parse_id};

/// The longest description a scaffold accepts; it becomes a `//!` line and a TOML string.
const MAX_DESCRIPTION: usize = 200;

/// What [`create`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scaffold {
    /// `<layer>/<name>`.
    pub id: String,
    /// The cargo package name: `<layer>-<name>`.
    pub package: String,
    /// The new module's folder.
    pub dir: PathBuf,
    /// Every file written, relative to `dir`.
    pub files: Vec<String>,
}

/// The Rust type name for a module name: `my-tool` -> `MyTool`.
fn type_name(name: &str) -> String {
    name.split('-')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// A TOML basic string with every character that needs it escaped.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// Checks `id` and `description` and that the module's folder would lie inside
/// `modules_root` and not exist yet. Returns the layer, the name and the folder.
fn check(modules_root: &Path, id: &str, description: &str) -> Result<(Layer, String, PathBuf), String> {
    let (layer, name) = parse_id(id)?;
    if layer == Layer::Core {
        return Err(format!(
            "`{id}`: core modules are contracts (an rlib of types and traits, no library to load), \
             written by hand; create a systems, plugins or apps module instead"
        ));
    }
    if description.chars().count() > MAX_DESCRIPTION || description.contains(['\n', '\r']) {
        return Err(format!("the description must be one line of at most {MAX_DESCRIPTION} characters"));
    }
    let root = modules_root
        .canonicalize()
        .map_err(|e| format!("the modules folder {} is not there: {e}", modules_root.display()))?;
    let layer_dir = root.join(layer.name());
    std::fs::create_dir_all(&layer_dir).map_err(|e| format!("cannot create {}: {e}", layer_dir.display()))?;
    // `parse_id` admits no `/` or `..` in a name, but a layer folder may be a symlink:
    // whatever it resolves to must still be inside the modules folder.
    let layer_dir = layer_dir.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", layer_dir.display()))?;
    let dir = layer_dir.join(name);
    if !dir.starts_with(&root) {
        return Err(format!("`{id}` would be created at {}, outside the modules folder", dir.display()));
    }
    // An empty folder is fine: a folder dialog lets the user make the module's folder first.
    let empty_dir = dir.is_dir() && std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_none());
    if dir.symlink_metadata().is_ok() && !empty_dir {
        return Err(format!("`{id}` already exists ({}); pick another name", dir.display()));
    }
    Ok((layer, name.to_owned(), dir))
}

/// Writes a new module crate for `id` under `modules_root`. Refuses a malformed id, a
/// layer that does not exist, a core (contract) id, an existing folder, and any folder that
/// would resolve outside `modules_root`. On a write failure, removes what it wrote.
pub fn create(modules_root: &Path, id: &str, description: &str) -> Result<Scaffold, String> {
    let (layer, name, dir) = check(modules_root, id, description)?;
    let description =
        if description.trim().is_empty() { format!("The {id} module.") } else { description.trim().to_owned() };
    let package = format!("{}-{name}", layer.name());
    let ty = type_name(&name);
    let quoted_id = toml_string(id);
    let quoted_description = toml_string(&description);

    let manifest = format!(
        "id = {quoted_id}\nversion = \"0.1.0\"\nlayer = \"{layer}\"\ndescription = {quoted_description}\n\
         implements = []\n\n[features]\ndefault = []\n\n[dependencies]\n"
    );
    let cargo_toml = format!(
        "[package]\nname = \"{package}\"\nversion = \"0.1.0\"\ndescription = {quoted_description}\n\
         edition.workspace = true\nrust-version.workspace = true\nlicense.workspace = true\n\
         publish.workspace = true\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\n\
         playground-api.workspace = true\nworkspace-hack.workspace = true\n\n[lints]\nworkspace = true\n"
    );
    let lib_rs = LIB_TEMPLATE
        .replace("{DESCRIPTION}", &description)
        .replace("{TYPE}", &ty)
        .replace("{ID}", &id.replace(['\\', '"'], ""));

    // module.toml last: it is what makes the folder a module to the watcher and the loader,
    // so neither sees a module without its crate.
    let files = [("Cargo.toml", cargo_toml), ("src/lib.rs", lib_rs), ("module.toml", manifest)];
    if let Err(e) = write_files(&dir, &files) {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(format!("cannot write the module at {}: {e}", dir.display()));
    }
    Ok(Scaffold { id: id.to_owned(), package, dir, files: files.iter().map(|(file, _)| (*file).to_owned()).collect() })
}

fn write_files(dir: &Path, files: &[(&str, String)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("src"))?;
    for (file, text) in files {
        std::fs::write(dir.join(file), text)?;
    }
    Ok(())
}

/// The new module's code: a counter with state that survives reloads, and a test.
const LIB_TEMPLATE: &str = r#"//! {DESCRIPTION}

use playground_api::serde::{Deserialize, Serialize};
use playground_api::{Module, codec};

/// What survives a reload: `persist!(state)` below saves it and the next build takes it back.
/// Add fields with `#[serde(default)]` and the others keep their values.
#[derive(Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
struct State {
    total: u64,
    calls: u64,
}

#[derive(Default)]
struct {TYPE} {
    state: State,
}

impl Module for {TYPE} {
    fn create() -> Self {
        {TYPE}::default()
    }

    fn call(&mut self, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        self.state.calls += 1;
        match method {
            // () -> a greeting
            "hello" => codec::encode("hello from {ID}"),
            // u64 -> the new total
            "add" => {
                let amount: u64 = codec::decode(args)?;
                self.state.total = self.state.total.saturating_add(amount);
                codec::encode(&self.state.total)
            }
            // () -> the total
            "get" => codec::encode(&self.state.total),
            other => Err(playground_api::module::unknown_method(other)),
        }
    }

    playground_api::persist!(state);
}

playground_api::export_module!({TYPE});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_and_keeps_its_total_across_a_reload() -> Result<(), String> {
        let mut module = {TYPE}::create();
        module.call("add", &codec::encode(&5u64)?)?;
        let mut next = {TYPE}::create();
        next.restore_state(&module.save_state()?)?;
        assert_eq!(codec::decode::<u64>(&next.call("get", &[])?)?, 5);
        Ok(())
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::{create, type_name};
    use crate::manifest::Manifest;

    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::create_dir_all(dir.path().join("plugins")).expect("a layer folder");
        dir
    }

    #[test]
    fn writes_a_module_the_loader_accepts() {
        let dir = root();
        let made = create(dir.path(), "plugins/my-tool", "Says \"hi\".").expect("created");
        assert_eq!(made.package, "plugins-my-tool");
        assert_eq!(made.files, ["Cargo.toml", "src/lib.rs", "module.toml"]);
        let manifest = Manifest::load(&made.dir.join("module.toml")).expect("a valid manifest");
        assert_eq!(manifest.id, "plugins/my-tool");
        assert_eq!(manifest.description, "Says \"hi\".");
        let cargo: toml::Table =
            std::fs::read_to_string(made.dir.join("Cargo.toml")).expect("read").parse().expect("valid TOML");
        assert_eq!(cargo["package"]["name"].as_str(), Some("plugins-my-tool"));
        assert_eq!(cargo["lib"]["crate-type"][0].as_str(), Some("cdylib"));
        assert_eq!(cargo["dependencies"]["playground-api"]["workspace"].as_bool(), Some(true));
        let lib = std::fs::read_to_string(made.dir.join("src/lib.rs")).expect("read");
        assert!(lib.starts_with("//! Says \"hi\".\n"), "{lib}");
        assert!(lib.contains("export_module!(MyTool)"), "{lib}");
        // A new layer folder is fine: apps/ need not exist yet.
        create(dir.path(), "apps/game", "").expect("created in a new layer folder");
    }

    #[test]
    fn refuses_bad_ids_existing_modules_and_escapes() {
        let dir = root();
        let refused = |id: &str| create(dir.path(), id, "").expect_err(id);
        assert!(refused("nolayer").contains("is not a module id"));
        assert!(refused("widgets/x").contains("does not exist"));
        assert!(refused("plugins/../../etc").contains("a module name is lowercase"));
        assert!(refused("plugins/Upper").contains("a module name is lowercase"));
        assert!(refused("plugins/").contains("a module name is lowercase"));
        assert!(refused("/plugins/x").contains("does not exist"));
        assert!(refused("core/thing").contains("contracts"));
        create(dir.path(), "plugins/once", "").expect("created");
        assert!(refused("plugins/once").contains("already exists"));
        std::fs::create_dir_all(dir.path().join("plugins/empty")).expect("an empty folder");
        create(dir.path(), "plugins/empty", "").expect("an empty folder takes the module");
        assert!(create(dir.path(), "plugins/two", "line\nbreak").is_err());
    }

    #[test]
    fn refuses_a_layer_folder_that_leads_outside() {
        let dir = root();
        let outside = tempfile::tempdir().expect("a temp dir");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("apps")).expect("symlink");
        let message = create(dir.path(), "apps/escape", "").expect_err("escapes");
        assert!(message.contains("outside the modules folder"), "{message}");
        assert!(std::fs::read_dir(outside.path()).expect("read").next().is_none(), "nothing written outside");
    }

    #[test]
    fn names_types_in_camel_case() {
        assert_eq!(type_name("my-tool"), "MyTool");
        assert_eq!(type_name("a2-b"), "A2B");
    }
}
