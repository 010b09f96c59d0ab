//! The workspace-hack build script: cargo builds a package's build-dependencies only when it has one.
fn main() {}
