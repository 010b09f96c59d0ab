//! Resolves the modules into a graph: checks every dependency (exists, version, features,
//! layer, contracts), finds cycles, computes the load order and the enabled features.

use std::collections::{BTreeMap, BTreeSet};

use crate::discover::ModuleSource;
use crate::error::{Error, Result};
use crate::manifest::Layer;

/// A resolved, loadable set of modules.
#[derive(Clone, Debug)]
pub struct Graph {
    modules: BTreeMap<String, ModuleSource>,
    /// Dependencies first; ties broken by layer, then id, so the order reads well.
    order: Vec<String>,
    /// Per module: its load-order predecessors (declared dependencies, plus the implementer
    /// of every contract it depends on).
    edges: BTreeMap<String, BTreeSet<String>>,
    /// Contract id -> the module implementing it.
    implementers: BTreeMap<String, String>,
    enabled: BTreeMap<String, BTreeSet<String>>,
}

fn resolve_error(message: String) -> Error {
    Error::new(message)
}

impl Graph {
    /// Checks the modules against each other and orders them.
    pub fn resolve(sources: Vec<ModuleSource>) -> Result<Graph> {
        let mut modules = BTreeMap::new();
        for source in sources {
            let id = source.id().to_owned();
            if let Some(previous) = modules.insert(id.clone(), source) {
                return Err(resolve_error(format!(
                    "two modules have the id `{id}` (one in {})",
                    previous.dir.display()
                )));
            }
        }

        let mut implementers: BTreeMap<String, String> = BTreeMap::new();
        for (id, source) in &modules {
            for contract in &source.manifest.implements {
                if let Some(other) = implementers.insert(contract.clone(), id.clone()) {
                    return Err(resolve_error(format!(
                        "`{contract}` is implemented by both `{other}` and `{id}`: a contract has one implementation"
                    )));
                }
            }
        }

        for (id, source) in &modules {
            let m = &source.manifest;
            for dep in &m.dependencies {
                let Some(target) = modules.get(&dep.id) else {
                    let known: Vec<&str> = modules.keys().map(String::as_str).collect();
                    return Err(resolve_error(format!(
                        "`{id}` depends on `{}`, which is not a module here (known modules: {})",
                        dep.id,
                        known.join(", ")
                    )));
                };
                let t = &target.manifest;
                if !m.layer.may_depend_on(t.layer) {
                    return Err(resolve_error(format!(
                        "`{id}` ({}) may not depend on `{}` ({}): {}",
                        m.layer,
                        dep.id,
                        t.layer,
                        m.layer.rule()
                    )));
                }
                if !dep.requirement.matches(&t.version) {
                    return Err(resolve_error(format!(
                        "`{id}` needs `{}` {}, but `{}` is version {}",
                        dep.id, dep.requirement, dep.id, t.version
                    )));
                }
                for feature in &dep.features {
                    if !t.features.contains_key(feature) {
                        let offered: Vec<&str> = t.features.keys().map(String::as_str).collect();
                        return Err(resolve_error(format!(
                            "`{id}` asks `{}` for feature `{feature}`, which `{}` does not offer (it offers: {})",
                            dep.id,
                            dep.id,
                            if offered.is_empty() { "none".to_owned() } else { offered.join(", ") }
                        )));
                    }
                }
            }
            for contract in &m.implements {
                if !modules.contains_key(contract) {
                    return Err(resolve_error(format!("`{id}` implements `{contract}`, which is not a module here")));
                }
            }
        }

        refuse_hot_crates(&modules)?;

        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (id, source) in &modules {
            let mut preds = BTreeSet::new();
            for dep in &source.manifest.dependencies {
                preds.insert(dep.id.clone());
                if let Some(implementer) = implementers.get(&dep.id)
                    && implementer != id
                {
                    preds.insert(implementer.clone());
                }
            }
            edges.insert(id.clone(), preds);
        }

        if let Some(cycle) = find_cycle(&edges) {
            return Err(resolve_error(format!("dependency cycle: {}", cycle.join(" -> "))));
        }
        let order = topological_order(&modules, &edges);
        let enabled = enabled_features(&modules, &order);
        Ok(Graph { modules, order, edges, implementers, enabled })
    }

    /// Module ids, dependencies first.
    pub fn order(&self) -> &[String] {
        &self.order
    }

    pub fn get(&self, id: &str) -> Option<&ModuleSource> {
        self.modules.get(id)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.modules.contains_key(id)
    }

    /// Sources in load order.
    pub fn sources(&self) -> impl Iterator<Item = &ModuleSource> {
        self.order.iter().filter_map(|id| self.modules.get(id))
    }

    /// The module implementing contract `contract`, if any.
    pub fn implementer(&self, contract: &str) -> Option<&str> {
        self.implementers.get(contract).map(String::as_str)
    }

    /// The features enabled for `id`: its defaults, plus what its dependents ask for, with
    /// every implied feature turned on.
    pub fn enabled_features(&self, id: &str) -> BTreeSet<String> {
        self.enabled.get(id).cloned().unwrap_or_default()
    }

    /// The modules `id` must be loaded after.
    pub fn predecessors(&self, id: &str) -> impl Iterator<Item = &str> {
        self.edges.get(id).into_iter().flatten().map(String::as_str)
    }

    /// `id` and everything that transitively depends on it, in load order: the set a reload
    /// of `id` covers.
    pub fn reload_chain(&self, id: &str) -> Vec<String> {
        let mut chain: BTreeSet<&str> = BTreeSet::from([id]);
        // Load order puts every dependent after its dependencies, so one pass suffices.
        for module in &self.order {
            if self.predecessors(module).any(|p| chain.contains(p)) {
                chain.insert(module);
            }
        }
        self.order.iter().filter(|m| chain.contains(m.as_str())).cloned().collect()
    }

    /// Every module a change of `changed` reaches (each one with its dependents), in load
    /// order: the modules one reload transaction covers.
    pub fn reload_set(&self, changed: &[String]) -> Vec<String> {
        let reached: BTreeSet<String> = changed.iter().flat_map(|id| self.reload_chain(id)).collect();
        self.order.iter().filter(|m| reached.contains(*m)).cloned().collect()
    }

    /// The cargo packages a change of `changed` must rebuild: every module it reaches that
    /// has a library (contracts have none; cargo rebuilds them inside their dependents). The
    /// one place that decides what a build of some modules covers.
    pub fn packages_for(&self, changed: &[String]) -> Vec<String> {
        self.reload_set(changed)
            .iter()
            .filter_map(|id| self.modules.get(id))
            .filter(|source| source.library.is_some())
            .map(|source| source.package.clone())
            .collect()
    }
}

/// Refuses a module whose `Cargo.toml` depends on another hot module's crate: it would link
/// that module's library by name, one generation of it, which no reload replaces (and its
/// code would run twice: once loaded, once linked). Contracts are meant to be depended on.
fn refuse_hot_crates(modules: &BTreeMap<String, ModuleSource>) -> Result<()> {
    let hot: BTreeMap<&str, &str> =
        modules.values().filter(|s| s.library.is_some()).map(|s| (s.package.as_str(), s.id())).collect();
    for (id, source) in modules {
        let linked = source
            .crates
            .iter()
            .find_map(|c| hot.get(c.as_str()).filter(|other| **other != id).map(|other| (c, other)));
        if let Some((package, other)) = linked {
            return Err(resolve_error(format!(
                "{}: `{id}` depends on `{package}`, the crate of the hot module `{other}`: that would link one \
                 generation of `{other}` into `{id}` by name, which no reload of `{other}` replaces. Put what \
                 `{id}` needs in a contract (a core module both depend on) or call `{other}` through the host \
                 (`ctx.host().call(\"{other}\", method, args)`)",
                source.dir.join("Cargo.toml").display()
            )));
        }
    }
    Ok(())
}

/// A cycle as a path that returns to its start, if the graph has one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Visiting) => {
                let start = path.iter().position(|n| *n == node).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|s| (*s).to_owned()).collect();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node, Mark::Visiting);
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in edges.keys() {
        let mut path = Vec::new();
        if let Some(mut cycle) = visit(node, edges, &mut marks, &mut path) {
            // Edges point from a module to what it depends on; print the cycle in that
            // direction ("a -> b" reads "a depends on b").
            cycle.dedup();
            return Some(cycle);
        }
    }
    None
}

/// Kahn's algorithm; among ready modules the lowest (layer, id) goes first.
fn topological_order(
    modules: &BTreeMap<String, ModuleSource>,
    edges: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let key = |id: &str| (modules.get(id).map_or(Layer::Apps, |s| s.manifest.layer), id.to_owned());
    let mut remaining: BTreeMap<&str, usize> = edges.iter().map(|(id, preds)| (id.as_str(), preds.len())).collect();
    let mut ready: BTreeSet<(Layer, String)> =
        remaining.iter().filter(|(_, n)| **n == 0).map(|(id, _)| key(id)).collect();
    let mut order = Vec::new();
    while let Some(next) = ready.pop_first() {
        let id = next.1;
        remaining.remove(id.as_str());
        for (other, preds) in edges {
            if preds.contains(&id)
                && let Some(count) = remaining.get_mut(other.as_str())
            {
                *count -= 1;
                if *count == 0 {
                    ready.insert(key(other));
                }
            }
        }
        order.push(id);
    }
    order
}

fn enabled_features(modules: &BTreeMap<String, ModuleSource>, order: &[String]) -> BTreeMap<String, BTreeSet<String>> {
    let mut requested: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in modules.values() {
        let own = requested.entry(source.id().to_owned()).or_default();
        own.extend(source.manifest.default_features.iter().cloned());
        for dep in &source.manifest.dependencies {
            requested.entry(dep.id.clone()).or_default().extend(dep.features.iter().cloned());
        }
    }
    let mut enabled = BTreeMap::new();
    for id in order {
        let Some(source) = modules.get(id) else { continue };
        let mut on = BTreeSet::new();
        let mut todo: Vec<String> = requested.get(id).into_iter().flatten().cloned().collect();
        while let Some(feature) = todo.pop() {
            if on.insert(feature.clone()) {
                todo.extend(source.manifest.features.get(&feature).into_iter().flatten().cloned());
            }
        }
        enabled.insert(id.clone(), on);
    }
    enabled
}

#[cfg(test)]
mod tests {
    use crate::fixture;

    /// Resolves the fixture and renders the load order, one module a line with its enabled
    /// features, or the resolution error.
    fn check(fixture: &str, expected: &str) {
        assert_eq!(fixture::render_order(fixture::graph(fixture)), expected.trim());
    }

    /// Resolves the fixture and renders what a change of `changed` reloads and rebuilds.
    fn check_change(fixture: &str, changed: &[&str], expected: &str) {
        let graph = fixture::graph(fixture).expect("the fixture resolves");
        let changed: Vec<String> = changed.iter().map(|s| (*s).to_owned()).collect();
        let rendered = format!(
            "reload: {}\nbuild: {}",
            graph.reload_set(&changed).join(" "),
            graph.packages_for(&changed).join(" ")
        );
        assert_eq!(rendered, expected.trim());
    }

    const DEMO: &str = r#"
        //- core/types
        //- core/ecs
        [dependencies]
        "core/types" = "^1"
        //- systems/ecs
        implements = ["core/ecs"]
        [dependencies]
        "core/ecs" = "^1"
        //- plugins/movement
        [features]
        default = ["integrate"]
        integrate = []
        wrap = ["integrate"]
        [dependencies]
        "core/ecs" = "^1"
        //- apps/editor
        [dependencies]
        "plugins/movement" = { version = "^1", features = ["wrap"] }
    "#;

    #[test]
    fn orders_dependencies_first_by_layer_then_id() {
        check(
            DEMO,
            "
core/types
core/ecs
systems/ecs
plugins/movement [integrate, wrap]
apps/editor
",
        );
        // An implementer loads before the dependents of its contract, whatever the names.
        check(
            r#"
            //- plugins/aaa
            [dependencies]
            "core/zzz" = "^1"
            //- core/zzz
            //- systems/zzz
            implements = ["core/zzz"]
            [dependencies]
            "core/zzz" = "^1"
            "#,
            "core/zzz\nsystems/zzz\nplugins/aaa",
        );
    }

    #[test]
    fn enables_defaults_requested_and_implied_features() {
        check(
            r#"
            //- core/a
            [features]
            default = []
            x = ["y"]
            y = ["z"]
            z = []
            unused = []
            //- systems/b
            [dependencies]
            "core/a" = { version = "^1", features = ["x"] }
            "#,
            "core/a [x, y, z]\nsystems/b",
        );
    }

    #[test]
    fn refuses_unknown_modules_versions_and_features() {
        check(
            r#"
            //- core/a
            //- systems/b
            [dependencies]
            "core/nope" = "^1"
            "#,
            "error: `systems/b` depends on `core/nope`, which is not a module here (known modules: core/a, systems/b)",
        );
        check(
            r#"
            //- core/a 1.4.0
            //- systems/b
            [dependencies]
            "core/a" = "^2"
            "#,
            "error: `systems/b` needs `core/a` ^2, but `core/a` is version 1.4.0",
        );
        check(
            r#"
            //- core/a
            [features]
            fast = []
            //- systems/b
            [dependencies]
            "core/a" = { version = "^1", features = ["slow"] }
            "#,
            "error: `systems/b` asks `core/a` for feature `slow`, which `core/a` does not offer (it offers: fast)",
        );
        check(
            r#"
            //- core/a
            //- systems/b
            [dependencies]
            "core/a" = { version = "^1", features = ["any"] }
            "#,
            "error: `systems/b` asks `core/a` for feature `any`, which `core/a` does not offer (it offers: none)",
        );
    }

    #[test]
    fn refuses_layer_violations() {
        check(
            r#"
            //- systems/a
            //- plugins/b
            [dependencies]
            "systems/a" = "^1"
            "#,
            "error: `plugins/b` (plugins) may not depend on `systems/a` (systems): plugins depend on core contracts only and reach systems through them",
        );
        check(
            r#"
            //- systems/a
            //- systems/b
            [dependencies]
            "systems/a" = "^1"
            "#,
            "error: `systems/b` (systems) may not depend on `systems/a` (systems): systems depend on core contracts only",
        );
        check(
            r#"
            //- apps/a
            //- core/b
            [dependencies]
            "apps/a" = "^1"
            "#,
            "error: `core/b` (core) may not depend on `apps/a` (apps): core modules depend on other core modules only",
        );
        // Apps may depend on anything, other apps included.
        check(
            r#"
            //- systems/s
            //- apps/a
            //- apps/b
            [dependencies]
            "apps/a" = "^1"
            "systems/s" = "^1"
            "#,
            "systems/s\napps/a\napps/b",
        );
    }

    #[test]
    fn refuses_contract_mistakes() {
        check(
            r#"
            //- core/c
            //- systems/a
            implements = ["core/c"]
            [dependencies]
            "core/c" = "^1"
            //- systems/b
            implements = ["core/c"]
            [dependencies]
            "core/c" = "^1"
            "#,
            "error: `core/c` is implemented by both `systems/a` and `systems/b`: a contract has one implementation",
        );
    }

    #[test]
    fn refuses_cycles_and_names_the_path() {
        check(
            r#"
            //- core/a
            [dependencies]
            "core/b" = "^1"
            //- core/b
            [dependencies]
            "core/c" = "^1"
            //- core/c
            [dependencies]
            "core/a" = "^1"
            "#,
            "error: dependency cycle: core/a -> core/b -> core/c -> core/a",
        );
        // A dependent of a contract loads after its implementer: an implementer that depends
        // on such a dependent closes a cycle through the contract.
        check(
            r#"
            //- core/c
            //- core/x
            [dependencies]
            "core/c" = "^1"
            //- systems/impl
            implements = ["core/c"]
            [dependencies]
            "core/c" = "^1"
            "core/x" = "^1"
            "#,
            "error: dependency cycle: core/x -> systems/impl -> core/x",
        );
    }

    #[test]
    fn a_change_reaches_its_dependents_and_the_contracts_implementer() {
        check_change(
            DEMO,
            &["plugins/movement"],
            "reload: plugins/movement apps/editor\nbuild: plugins-movement apps-editor",
        );
        check_change(
            DEMO,
            &["core/ecs"],
            "reload: core/ecs systems/ecs plugins/movement apps/editor\nbuild: systems-ecs plugins-movement apps-editor",
        );
        check_change(
            DEMO,
            &["core/types"],
            "reload: core/types core/ecs systems/ecs plugins/movement apps/editor\nbuild: systems-ecs plugins-movement apps-editor",
        );
        check_change(DEMO, &["apps/editor"], "reload: apps/editor\nbuild: apps-editor");
        check_change(
            DEMO,
            &["apps/editor", "systems/ecs"],
            "reload: systems/ecs plugins/movement apps/editor\nbuild: systems-ecs plugins-movement apps-editor",
        );
    }

    #[test]
    fn refuses_a_crate_dependency_on_a_hot_module() {
        check(
            r#"
            //- core/c
            //- systems/s
            //- plugins/p
            //cargo core-c serde systems-s
            [dependencies]
            "core/c" = "^1"
            "#,
            "error: /modules/plugins/p/Cargo.toml: `plugins/p` depends on `systems-s`, the crate of the hot module \
             `systems/s`: that would link one generation of `systems/s` into `plugins/p` by name, which no reload of \
             `systems/s` replaces. Put what `plugins/p` needs in a contract (a core module both depend on) or call \
             `systems/s` through the host (`ctx.host().call(\"systems/s\", method, args)`)",
        );
        // A contract's crate, and any crate from a registry, are what Cargo.toml is for.
        check(
            r#"
            //- core/c
            //- plugins/p
            //cargo core-c serde rand
            [dependencies]
            "core/c" = "^1"
            "#,
            "core/c\nplugins/p",
        );
    }

    #[test]
    fn two_modules_with_one_id_are_refused() {
        let mut sources = fixture::sources("//- core/a").expect("a module");
        sources.push(sources[0].clone());
        let error = super::Graph::resolve(sources).expect_err("a duplicate");
        assert_eq!(error.to_string(), "two modules have the id `core/a` (one in /modules/core/a)");
    }
}
