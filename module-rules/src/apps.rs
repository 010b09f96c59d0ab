//! Loading one app without the rest (`playground --app game`): the app, what it depends on
//! and shows (the editor's panel modules), what those need in turn, and the module
//! implementing each contract among them, as a game built with Playground would ship.
//! Features follow, since the graph enables only what the chosen modules ask for.

use std::collections::BTreeSet;

use crate::discover::ModuleSource;
use crate::error::{Error, Result};
use crate::manifest::Layer;

/// The full id an `--app` names: `game` is `apps/game`.
pub fn app_id(name: &str) -> String {
    if name.contains('/') { name.to_owned() } else { format!("apps/{name}") }
}

/// The sources `app` needs, in the order `sources` had them. An unknown app or a module that
/// is not an app is an error naming the apps there are; a dependency that is missing is left
/// for the graph to report (it names who needs it).
pub fn closure(sources: Vec<ModuleSource>, app: &str) -> Result<Vec<ModuleSource>> {
    let id = app_id(app);
    let apps: Vec<&str> =
        sources.iter().filter(|s| s.manifest.layer == Layer::Apps).map(|s| s.manifest.id.as_str()).collect();
    let Some(root) = sources.iter().find(|s| s.manifest.id == id) else {
        return Err(Error::new(format!("there is no app `{id}`: the apps here are {}", apps.join(", "))));
    };
    if root.manifest.layer != Layer::Apps {
        return Err(Error::new(format!(
            "`{id}` is not an app ({} module): --app takes one of {}",
            root.manifest.layer,
            apps.join(", ")
        )));
    }
    let mut needed = BTreeSet::from([id]);
    let mut todo: Vec<&ModuleSource> = vec![root];
    while let Some(source) = todo.pop() {
        let mut wanted: Vec<&str> = source.manifest.dependencies.iter().map(|d| d.id.as_str()).collect();
        // What it shows at run time comes too, when it is here (a missing one is the app's
        // to report: the editor's tab says which panel module is missing).
        wanted.extend(
            source.manifest.shows.iter().map(String::as_str).filter(|id| sources.iter().any(|s| s.manifest.id == *id)),
        );
        // A contract comes with the module implementing it.
        for dep in &source.manifest.dependencies {
            wanted.extend(
                sources.iter().filter(|s| s.manifest.implements.contains(&dep.id)).map(|s| s.manifest.id.as_str()),
            );
        }
        for id in wanted {
            if needed.insert(id.to_owned())
                && let Some(next) = sources.iter().find(|s| s.manifest.id == id)
            {
                todo.push(next);
            }
        }
    }
    Ok(sources.into_iter().filter(|s| needed.contains(&s.manifest.id)).collect())
}

#[cfg(test)]
mod tests {
    use super::closure;
    use crate::fixture;
    use crate::graph::Graph;

    /// The load order of `app`'s closure in the fixture, with enabled features, or the error.
    fn check(fixture: &str, app: &str, expected: &str) {
        let sources = fixture::sources(fixture).expect("the fixture parses");
        let graph = closure(sources, app).and_then(Graph::resolve).map_err(|e| e.to_string());
        assert_eq!(fixture::render_order(graph), expected.trim());
    }

    const TWO_APPS: &str = r#"
        //- core/types
        //- core/ecs
        [dependencies]
        "core/types" = "^1"
        //- core/net
        //- systems/ecs
        implements = ["core/ecs"]
        [dependencies]
        "core/ecs" = "^1"
        //- systems/net
        implements = ["core/net"]
        [dependencies]
        "core/net" = "^1"
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
        "core/net" = "^1"
        //- apps/game
        [dependencies]
        "plugins/movement" = "^1"
    "#;

    #[test]
    fn an_app_loads_with_what_it_needs_and_the_features_it_asks_for() {
        // The game needs no network and no `wrap`: only the editor asked for those.
        check(TWO_APPS, "game", "core/types\ncore/ecs\nsystems/ecs\nplugins/movement [integrate]\napps/game");
        check(
            TWO_APPS,
            "apps/editor",
            "core/net\ncore/types\ncore/ecs\nsystems/ecs\nsystems/net\nplugins/movement [integrate, wrap]\napps/editor",
        );
    }

    #[test]
    fn an_app_brings_the_modules_it_shows_and_what_they_need() {
        let fixture = r#"
            //- core/types
            //- plugins/panel
            [dependencies]
            "core/types" = "^1"
            //- plugins/unrelated
            //- apps/editor
            shows = ["plugins/panel", "plugins/not-here"]
        "#;
        // The missing panel is the editor's to report; the closure takes what is there.
        check(fixture, "editor", "core/types\nplugins/panel\napps/editor");
    }

    #[test]
    fn an_unknown_app_or_a_module_that_is_not_one_is_refused_with_the_apps_there_are() {
        check(TWO_APPS, "chess", "error: there is no app `apps/chess`: the apps here are apps/editor, apps/game");
        check(
            TWO_APPS,
            "core/ecs",
            "error: `core/ecs` is not an app (core module): --app takes one of apps/editor, apps/game",
        );
        // A closure that does not resolve says which dependency is missing, and who needs it.
        check(
            r#"
            //- apps/game
            [dependencies]
            "plugins/gone" = "^1"
            "#,
            "game",
            "error: `apps/game` depends on `plugins/gone`, which is not a module here (known modules: apps/game)",
        );
    }
}
