//! Lets `playground` start without `cargo run` (double-click, another cwd): an rpath to its
//! own folder, where cargo puts `libplayground_api.so`, and to the toolchain's folder holding
//! `libstd-<hash>.so`. Link arguments for the binary only, so no dependency is rebuilt.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-arg-bins=-Wl,-rpath,$ORIGIN");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let target = std::env::var("TARGET").unwrap_or_default();
    if let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() {
        let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !sysroot.is_empty() {
            println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{sysroot}/lib/rustlib/{target}/lib");
        }
    }
}
