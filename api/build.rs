//! Computes the ABI fingerprint the api stamps into itself and into every module built against it.
//!
//! The fingerprint names what must match for a module's Rust-ABI vtable to be callable from
//! this process: the compiler, the target, the profile and flags, the api's own sources, the
//! features its dependencies are built with (the generated `workspace-hack/Cargo.toml`), and
//! the locked versions of the api's dependency closure. It deliberately does not watch
//! `Cargo.lock` for changes: a rerun build script makes cargo recompile the api, and a new
//! module added to the workspace (which touches the lock) must not rebuild the immortal dylib.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

/// FNV-1a, 64 bit: stable across Rust versions, unlike `DefaultHasher`.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so that ("ab", "c") and ("a", "bc") hash apart.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
    }
}

fn files_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_below(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn env_or(name: &str, fallback: &str) -> String {
    env::var(name).unwrap_or_else(|_| fallback.to_owned())
}

/// Hash of `name version source` for every package the api depends on, read from Cargo.lock.
fn lock_closure_hash(lock: &Path) -> String {
    let Ok(text) = fs::read_to_string(lock) else {
        return "nolock".to_owned();
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return "badlock".to_owned();
    };
    let packages = doc.get("package").and_then(|p| p.as_array()).cloned().unwrap_or_default();
    // name -> list of (version, source, dependency names)
    let mut by_name: BTreeMap<String, Vec<(String, String, Vec<String>)>> = BTreeMap::new();
    for p in &packages {
        let field = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let deps = p
            .get("dependencies")
            .and_then(|d| d.as_array())
            .map(|d| d.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        by_name.entry(field("name")).or_default().push((field("version"), field("source"), deps));
    }
    let mut seen = BTreeSet::new();
    let mut todo = vec!["playground-api".to_owned()];
    while let Some(dep) = todo.pop() {
        // A lock entry names a dependency as "name" or "name version" when versions are ambiguous.
        let mut parts = dep.split(' ');
        let name = parts.next().unwrap_or_default().to_owned();
        let version = parts.next().map(str::to_owned);
        for (v, source, deps) in by_name.get(&name).into_iter().flatten() {
            if version.as_ref().is_some_and(|want| want != v) {
                continue;
            }
            if seen.insert(format!("{name} {v} {source}")) {
                todo.extend(deps.iter().cloned());
            }
        }
    }
    let mut h = Fnv::new();
    for entry in &seen {
        h.write(entry.as_bytes());
    }
    format!("{:016x}", h.0)
}

fn main() {
    let manifest_dir = PathBuf::from(env_or("CARGO_MANIFEST_DIR", "."));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=build.rs");
    // The features of the api's dependencies: a change there changes the api's symbols.
    println!("cargo:rerun-if-changed=../workspace-hack/Cargo.toml");

    let mut files = Vec::new();
    files_below(&manifest_dir.join("src"), &mut files);
    files.push(manifest_dir.join("Cargo.toml"));
    files.push(manifest_dir.join("build.rs"));
    files.push(manifest_dir.join("../workspace-hack/Cargo.toml"));
    files.sort();
    let mut sources = Fnv::new();
    for f in &files {
        sources.write(f.strip_prefix(&manifest_dir).unwrap_or(f).to_string_lossy().as_bytes());
        sources.write(&fs::read(f).unwrap_or_default());
    }

    let rustc = env_or("RUSTC", "rustc");
    let rustc_version = Command::new(&rustc)
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "rustc ?".to_owned());
    let mut flags = Fnv::new();
    flags.write(env_or("CARGO_ENCODED_RUSTFLAGS", "").as_bytes());
    flags.write(env_or("OPT_LEVEL", "").as_bytes());
    flags.write(env_or("DEBUG", "").as_bytes());

    let lock = manifest_dir.join("../Cargo.lock");
    let stamp = format!(
        "playground-abi/1; {rustc_version}; {}; {}; flags={:016x}; api={:016x}; lock={}",
        env_or("TARGET", "?"),
        env_or("PROFILE", "?"),
        flags.0,
        sources.0,
        lock_closure_hash(&lock),
    );
    assert!(stamp.len() < 256, "the ABI stamp must fit its 256-byte static: {stamp}");
    println!("cargo:rustc-env=PLAYGROUND_ABI={stamp}");
}
