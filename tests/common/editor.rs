//! The sandbox the editor's tests load: the demo modules, the editor and the panels it shows
//! (which the shared support builds with the other modules).

use playground_tests::{Sandbox, build_all};

/// A sandbox with the demo modules, the editor and its panel modules.
pub(crate) fn sandbox() -> Sandbox {
    build_all();
    Sandbox::with(&[
        "core/types",
        "core/ecs",
        "systems/ecs",
        "plugins/movement",
        "plugins/editor-graph",
        "plugins/editor-log",
        "plugins/editor-timings",
        "apps/editor",
    ])
}
