//! The sandbox the editor's tests load: the demo modules and the editor (which the shared
//! support builds with the other modules).

use playground_tests::{Sandbox, build_all};

/// A sandbox with the demo modules and the editor.
pub(crate) fn sandbox() -> Sandbox {
    build_all();
    Sandbox::with(&["core/types", "core/ecs", "systems/ecs", "plugins/movement", "apps/editor"])
}
