//! Where the Playground workspace is, found the one way both binaries find it (the shell
//! and the std-only launcher, which includes this file too).

use std::path::{Path, PathBuf};

/// Whether `dir` is the Playground workspace: a `Cargo.toml` beside a `modules/` folder.
pub(crate) fn looks_like_workspace(dir: &Path) -> bool {
    dir.join("modules").is_dir() && dir.join("Cargo.toml").is_file()
}

/// The workspace holding the current folder, else the one holding `exe_dir`.
pub(crate) fn find_workspace(exe_dir: &Path) -> Option<PathBuf> {
    let up = |start: &Path| start.ancestors().find(|dir| looks_like_workspace(dir)).map(Path::to_path_buf);
    std::env::current_dir().ok().and_then(|cwd| up(&cwd)).or_else(|| up(exe_dir))
}
