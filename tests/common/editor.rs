//! Building the editor module for the tests that load it (the shared support builds the
//! other modules; this adds `apps-editor` with the same cargo, profile and target dir).

use std::process::Command;
use std::sync::OnceLock;

use playground_tests::{Sandbox, build_all, profile_dir, workspace};

/// Builds the editor module once per test binary.
pub(crate) fn build_editor() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        build_all();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut command = Command::new(cargo);
        command.current_dir(workspace()).args(["build", "-p", "apps-editor"]);
        if profile_dir().file_name().is_some_and(|n| n == "release") {
            command.arg("--release");
        }
        let output = command.output().expect("cargo runs");
        assert!(output.status.success(), "building the editor failed:\n{}", String::from_utf8_lossy(&output.stderr));
    });
}

/// A sandbox with the demo modules and the editor.
pub(crate) fn sandbox() -> Sandbox {
    build_editor();
    Sandbox::with(&["core/types", "core/ecs", "systems/ecs", "plugins/movement", "apps/editor"])
}
