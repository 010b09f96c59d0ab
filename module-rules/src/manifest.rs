//! Parses and checks one module's `module.toml`: its id, version, layer, features,
//! contracts and dependencies. Checks that need other modules live in `graph.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use semver::{Version, VersionReq};

use crate::error::{Error, Result};

/// The four layers, in load order. The folder a module lives in is its layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// Contracts: types and traits, no logic. Compiled into dependents; no library.
    Core,
    /// Implementations of contracts.
    Systems,
    /// Features, reaching systems through contracts.
    Plugins,
    /// Whole apps, the editor among them.
    Apps,
}

impl Layer {
    pub const ALL: [Layer; 4] = [Layer::Core, Layer::Systems, Layer::Plugins, Layer::Apps];

    pub fn name(self) -> &'static str {
        match self {
            Layer::Core => "core",
            Layer::Systems => "systems",
            Layer::Plugins => "plugins",
            Layer::Apps => "apps",
        }
    }

    pub fn parse(name: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The layer rule: core depends on core only; systems and plugins on core only (plugins
    /// reach systems through contracts); apps on anything.
    pub fn may_depend_on(self, dependency: Layer) -> bool {
        match self {
            Layer::Core | Layer::Systems | Layer::Plugins => dependency == Layer::Core,
            Layer::Apps => true,
        }
    }

    /// Why [`Layer::may_depend_on`] said no, for the error message.
    pub fn rule(self) -> &'static str {
        match self {
            Layer::Core => "core modules depend on other core modules only",
            Layer::Systems => "systems depend on core contracts only",
            Layer::Plugins => "plugins depend on core contracts only and reach systems through them",
            Layer::Apps => "apps may depend on anything",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One declared dependency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub id: String,
    pub requirement: VersionReq,
    /// Features of the dependency this module needs enabled.
    pub features: Vec<String>,
}

/// A parsed, self-consistent manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// `<layer>/<name>`, e.g. `plugins/movement`.
    pub id: String,
    pub version: Version,
    pub layer: Layer,
    pub description: String,
    /// Contract ids (core modules) this module implements.
    pub implements: Vec<String>,
    /// Every feature the module offers, with the features each one turns on.
    pub features: BTreeMap<String, Vec<String>>,
    /// Features on unless a dependent asks for more; `default` in the manifest.
    pub default_features: Vec<String>,
    pub dependencies: Vec<Dependency>,
    /// Modules this one shows at run time without compiling against them (the editor's panel
    /// modules, drawn with `Host::show`): loaded with it when it runs as the only app, but
    /// neither a dependency nor reloaded with it.
    pub shows: Vec<String>,
    /// The `[config]` table, handed to `initialize` (empty when the manifest has none).
    pub config: toml::Table,
}

fn manifest_error(origin: &Path, message: impl fmt::Display) -> Error {
    Error::new(format!("{}: {message}", origin.display()))
}

/// Line and column (from 1) of a byte offset, for TOML errors.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before.len(), |nl| before.len() - nl - 1) + 1;
    (line, col)
}

/// Whether `name` is a valid module name or feature name: lowercase ASCII, digits, `-`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Splits and checks an id of the form `<layer>/<name>`.
pub fn parse_id(id: &str) -> Result<(Layer, &str), String> {
    let Some((layer, name)) = id.split_once('/') else {
        return Err(format!("`{id}` is not a module id: write `<layer>/<name>`, e.g. `plugins/movement`"));
    };
    let Some(layer) = Layer::parse(layer) else {
        return Err(format!(
            "`{id}` names layer `{layer}`, which does not exist (layers: core, systems, plugins, apps)"
        ));
    };
    if !is_valid_name(name) {
        return Err(format!("`{id}`: a module name is lowercase letters, digits and `-`, starting with a letter"));
    }
    Ok((layer, name))
}

fn string_list(value: &toml::Value, what: &str) -> Result<Vec<String>, String> {
    let toml::Value::Array(items) = value else {
        return Err(format!("{what} must be a list of strings"));
    };
    items
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| format!("{what} must be a list of strings")))
        .collect()
}

impl Manifest {
    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| manifest_error(path, format!("cannot read the manifest: {e}")))?;
        Manifest::parse(&text, path)
    }

    /// Parses manifest text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Manifest> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let at = e.span().map(|s| line_col(text, s.start));
            let message = e.message().trim_end().to_owned();
            match at {
                Some((line, col)) => {
                    manifest_error(origin, format!("invalid TOML at line {line}, column {col}: {message}"))
                }
                None => manifest_error(origin, format!("invalid TOML: {message}")),
            }
        })?;
        Manifest::from_table(&table).map_err(|m| manifest_error(origin, m))
    }

    fn from_table(table: &toml::Table) -> Result<Manifest, String> {
        const KNOWN: [&str; 9] =
            ["id", "version", "layer", "description", "implements", "features", "dependencies", "shows", "config"];
        if let Some(unknown) = table.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(format!("unknown key `{unknown}` (known keys: {})", KNOWN.join(", ")));
        }
        let text = |key: &str| -> Result<Option<&str>, String> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(format!("`{key}` must be a string")),
            }
        };
        let id = text("id")?.ok_or("missing `id` (e.g. id = \"plugins/movement\")")?.to_owned();
        let (id_layer, _) = parse_id(&id)?;
        let version_text = text("version")?.ok_or("missing `version` (e.g. version = \"1.0.0\")")?;
        let version = Version::parse(version_text)
            .map_err(|e| format!("`version = \"{version_text}\"` is not a semver version: {e}"))?;
        let layer_text = text("layer")?.ok_or("missing `layer` (core, systems, plugins or apps)")?;
        let layer = Layer::parse(layer_text).ok_or_else(|| {
            format!("`layer = \"{layer_text}\"` does not exist (layers: core, systems, plugins, apps)")
        })?;
        if layer != id_layer {
            return Err(format!("`layer = \"{layer}\"` does not match the id `{id}`"));
        }
        let description = text("description")?.unwrap_or_default().to_owned();

        let implements = match table.get("implements") {
            None => Vec::new(),
            Some(v) => string_list(v, "`implements`")?,
        };
        for contract in &implements {
            let (contract_layer, _) = parse_id(contract)?;
            if contract_layer != Layer::Core {
                return Err(format!("`implements` names `{contract}`, but only core modules are contracts"));
            }
        }

        let mut features = BTreeMap::new();
        let mut default_features = Vec::new();
        if let Some(value) = table.get("features") {
            let toml::Value::Table(entries) = value else {
                return Err("`[features]` must be a table of `name = [implied features]`".to_owned());
            };
            for (name, implied) in entries {
                let list = string_list(implied, &format!("feature `{name}`"))?;
                if name == "default" {
                    default_features = list;
                } else if !is_valid_name(name) {
                    return Err(format!("feature `{name}`: use lowercase letters, digits and `-`"));
                } else {
                    features.insert(name.clone(), list);
                }
            }
            for (name, implied) in features.iter().chain([(&"default".to_owned(), &default_features)]) {
                if let Some(missing) = implied.iter().find(|f| !features.contains_key(*f)) {
                    return Err(format!(
                        "feature `{name}` turns on `{missing}`, which is not a feature of this module"
                    ));
                }
            }
        }

        let mut dependencies = Vec::new();
        if let Some(value) = table.get("dependencies") {
            let toml::Value::Table(entries) = value else {
                return Err(
                    "`[dependencies]` must be a table of `\"<layer>/<name>\" = \"<version requirement>\"`".to_owned()
                );
            };
            for (dep_id, spec) in entries {
                parse_id(dep_id).map_err(|e| format!("dependency {e}"))?;
                if *dep_id == id {
                    return Err(format!("`{id}` depends on itself"));
                }
                let (req_text, dep_features) = match spec {
                    toml::Value::String(req) => (req.as_str(), Vec::new()),
                    toml::Value::Table(t) => {
                        if let Some(unknown) = t.keys().find(|k| *k != "version" && *k != "features") {
                            return Err(format!(
                                "dependency `{dep_id}`: unknown key `{unknown}` (use `version` and `features`)"
                            ));
                        }
                        let req = t
                            .get("version")
                            .and_then(|v| v.as_str())
                            .ok_or_else(|| format!("dependency `{dep_id}` needs `version = \"<requirement>\"`"))?;
                        let feats = match t.get("features") {
                            None => Vec::new(),
                            Some(v) => string_list(v, &format!("features of dependency `{dep_id}`"))?,
                        };
                        (req, feats)
                    }
                    _ => return Err(format!("dependency `{dep_id}` must be a version requirement string or a table")),
                };
                let requirement = VersionReq::parse(req_text)
                    .map_err(|e| format!("dependency `{dep_id}`: `{req_text}` is not a version requirement: {e}"))?;
                dependencies.push(Dependency { id: dep_id.clone(), requirement, features: dep_features });
            }
        }
        for contract in &implements {
            if !dependencies.iter().any(|d| d.id == *contract) {
                return Err(format!(
                    "`{id}` implements `{contract}` but does not depend on it: add it to [dependencies]"
                ));
            }
        }

        let shows = match table.get("shows") {
            None => Vec::new(),
            Some(v) => string_list(v, "`shows`")?,
        };
        for shown in &shows {
            parse_id(shown).map_err(|e| format!("`shows`: {e}"))?;
            if *shown == id {
                return Err(format!("`{id}` shows itself"));
            }
        }

        let config = match table.get("config") {
            None => toml::Table::new(),
            Some(toml::Value::Table(t)) => t.clone(),
            Some(_) => return Err("`[config]` must be a table".to_owned()),
        };

        Ok(Manifest {
            id,
            version,
            layer,
            description,
            implements,
            features,
            default_features,
            dependencies,
            shows,
            config,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::Manifest;

    /// Parses `text` as `m/module.toml` and renders the manifest (one fact a line) or the
    /// error.
    fn check(text: &str, expected: &str) {
        let text: String = text.lines().map(str::trim).collect::<Vec<_>>().join("\n");
        let rendered = match Manifest::parse(&text, Path::new("m/module.toml")) {
            Ok(m) => {
                let mut lines = vec![format!("{} {} ({}) {:?}", m.id, m.version, m.layer, m.description)];
                if !m.implements.is_empty() {
                    lines.push(format!("implements {}", m.implements.join(", ")));
                }
                for (feature, implied) in &m.features {
                    lines.push(format!("feature {feature} -> [{}]", implied.join(", ")));
                }
                if !m.default_features.is_empty() {
                    lines.push(format!("default [{}]", m.default_features.join(", ")));
                }
                for d in &m.dependencies {
                    lines.push(format!("needs {} {} [{}]", d.id, d.requirement, d.features.join(", ")));
                }
                if !m.shows.is_empty() {
                    lines.push(format!("shows {}", m.shows.join(", ")));
                }
                if !m.config.is_empty() {
                    lines.push(format!("config {}", m.config.to_string().trim().replace('\n', "; ")));
                }
                lines.join("\n")
            }
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(rendered, expected.trim());
    }

    #[test]
    fn reads_every_part() {
        check(
            r#"
            id = "plugins/movement"
            version = "1.2.3"
            layer = "plugins"
            description = "Moves things."
            implements = []
            [features]
            default = ["integrate"]
            integrate = []
            wrap = ["integrate"]
            [dependencies]
            "core/ecs" = "^1.0"
            "core/types" = { version = ">=1.0, <2.0", features = ["serde"] }
            [config]
            arena = 100.0
            "#,
            r#"
plugins/movement 1.2.3 (plugins) "Moves things."
feature integrate -> []
feature wrap -> [integrate]
default [integrate]
needs core/ecs ^1.0 []
needs core/types >=1.0, <2.0 [serde]
config arena = 100.0
"#,
        );
        check(
            r#"
            id = "systems/ecs"
            version = "0.1.0"
            layer = "systems"
            implements = ["core/ecs"]
            [dependencies]
            "core/ecs" = "^1"
            "#,
            "systems/ecs 0.1.0 (systems) \"\"\nimplements core/ecs\nneeds core/ecs ^1 []",
        );
    }

    #[test]
    fn reads_the_modules_an_app_shows_and_refuses_bad_ids_there() {
        let app = |shows: &str| format!("id = \"apps/editor\"\nversion = \"0.1.0\"\nlayer = \"apps\"\nshows = {shows}");
        check(
            &app(r#"["plugins/editor-graph", "plugins/editor-log"]"#),
            "apps/editor 0.1.0 (apps) \"\"\nshows plugins/editor-graph, plugins/editor-log",
        );
        check(
            &app(r#"["graph"]"#),
            "error: m/module.toml: `shows`: `graph` is not a module id: write `<layer>/<name>`, e.g. `plugins/movement`",
        );
        check(&app(r#"["apps/editor"]"#), "error: m/module.toml: `apps/editor` shows itself");
    }

    #[test]
    fn refuses_malformed_text_with_its_position() {
        check(
            "id = \"plugins/x\"\nversion = \"1.0.0",
            "error: m/module.toml: invalid TOML at line 2, column 17: invalid basic string, expected `\"`",
        );
    }

    #[test]
    fn refuses_missing_and_mistyped_keys() {
        check("version = \"1.0.0\"", "error: m/module.toml: missing `id` (e.g. id = \"plugins/movement\")");
        check("id = \"plugins/x\"", "error: m/module.toml: missing `version` (e.g. version = \"1.0.0\")");
        check(
            "id = \"plugins/x\"\nversion = \"1.0.0\"",
            "error: m/module.toml: missing `layer` (core, systems, plugins or apps)",
        );
        check("id = 7", "error: m/module.toml: `id` must be a string");
        check(
            "id = \"plugins/x\"\nversion = \"1.0.0\"\nlayer = \"plugins\"\nauthor = \"me\"",
            "error: m/module.toml: unknown key `author` (known keys: id, version, layer, description, implements, features, dependencies, shows, config)",
        );
        check(
            "id = \"plugins/x\"\nversion = \"one\"\nlayer = \"plugins\"",
            "error: m/module.toml: `version = \"one\"` is not a semver version: unexpected character 'o' while parsing major version number",
        );
    }

    #[test]
    fn refuses_ids_and_layers_that_do_not_fit() {
        check(
            "id = \"movement\"\nversion = \"1.0.0\"\nlayer = \"plugins\"",
            "error: m/module.toml: `movement` is not a module id: write `<layer>/<name>`, e.g. `plugins/movement`",
        );
        check(
            "id = \"widgets/x\"\nversion = \"1.0.0\"\nlayer = \"plugins\"",
            "error: m/module.toml: `widgets/x` names layer `widgets`, which does not exist (layers: core, systems, plugins, apps)",
        );
        check(
            "id = \"plugins/X\"\nversion = \"1.0.0\"\nlayer = \"plugins\"",
            "error: m/module.toml: `plugins/X`: a module name is lowercase letters, digits and `-`, starting with a letter",
        );
        check(
            "id = \"plugins/x\"\nversion = \"1.0.0\"\nlayer = \"systems\"",
            "error: m/module.toml: `layer = \"systems\"` does not match the id `plugins/x`",
        );
        check(
            "id = \"plugins/x\"\nversion = \"1.0.0\"\nlayer = \"gizmos\"",
            "error: m/module.toml: `layer = \"gizmos\"` does not exist (layers: core, systems, plugins, apps)",
        );
    }

    #[test]
    fn refuses_bad_features() {
        let head = "id = \"plugins/x\"\nversion = \"1.0.0\"\nlayer = \"plugins\"\n";
        check(
            &format!("{head}[features]\ndefault = [\"fast\"]"),
            "error: m/module.toml: feature `default` turns on `fast`, which is not a feature of this module",
        );
        check(
            &format!("{head}[features]\na = [\"b\"]"),
            "error: m/module.toml: feature `a` turns on `b`, which is not a feature of this module",
        );
        check(
            &format!("{head}[features]\nFast = []"),
            "error: m/module.toml: feature `Fast`: use lowercase letters, digits and `-`",
        );
        check(
            &format!("{head}features = 3"),
            "error: m/module.toml: `[features]` must be a table of `name = [implied features]`",
        );
        check(&format!("{head}[features]\na = \"b\""), "error: m/module.toml: feature `a` must be a list of strings");
    }

    #[test]
    fn refuses_bad_dependencies() {
        let head = "id = \"plugins/x\"\nversion = \"1.0.0\"\nlayer = \"plugins\"\n";
        check(
            &format!("{head}[dependencies]\n\"plugins/x\" = \"^1\""),
            "error: m/module.toml: `plugins/x` depends on itself",
        );
        check(
            &format!("{head}[dependencies]\n\"core/a\" = \"one\""),
            "error: m/module.toml: dependency `core/a`: `one` is not a version requirement: unexpected character 'o' while parsing major version number",
        );
        check(
            &format!("{head}[dependencies]\n\"core/a\" = {{ features = [] }}"),
            "error: m/module.toml: dependency `core/a` needs `version = \"<requirement>\"`",
        );
        check(
            &format!("{head}[dependencies]\n\"core/a\" = {{ version = \"^1\", optional = true }}"),
            "error: m/module.toml: dependency `core/a`: unknown key `optional` (use `version` and `features`)",
        );
        check(
            &format!("{head}[dependencies]\n\"core/a\" = 1"),
            "error: m/module.toml: dependency `core/a` must be a version requirement string or a table",
        );
        check(
            &format!("{head}[dependencies]\n\"a\" = \"^1\""),
            "error: m/module.toml: dependency `a` is not a module id: write `<layer>/<name>`, e.g. `plugins/movement`",
        );
    }

    #[test]
    fn refuses_bad_contracts() {
        let head = "id = \"systems/x\"\nversion = \"1.0.0\"\nlayer = \"systems\"\n";
        check(
            &format!("{head}implements = [\"systems/y\"]"),
            "error: m/module.toml: `implements` names `systems/y`, but only core modules are contracts",
        );
        check(
            &format!("{head}implements = [\"core/y\"]"),
            "error: m/module.toml: `systems/x` implements `core/y` but does not depend on it: add it to [dependencies]",
        );
        check(
            &format!("{head}implements = \"core/y\""),
            "error: m/module.toml: `implements` must be a list of strings",
        );
        check(&format!("{head}config = 1"), "error: m/module.toml: `[config]` must be a table");
    }
}
