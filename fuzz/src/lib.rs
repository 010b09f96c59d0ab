//! Every parser of outside input, compiled from its own source file, and one function per
//! fuzz target that feeds it bytes as an attacker would.
//!
//! The parsers live in crates that link egui and wgpu (the api, the shell, a module), which
//! an instrumented nightly build would take a quarter of an hour to compile. So each source
//! file is compiled here as it is (`#[path]`), beside the few paths it names: `playground_api`
//! is `api-shim/` (the real codec and serde), and `crate::` paths of `module-rules` and the
//! shell's line protocol resolve to the modules below, which are those very files. A target
//! that panics, hangs or allocates over 64 MiB (`scripts/fuzz.sh` sets the limit) is a bug
//! in the file it names.
#![allow(dead_code, reason = "each target uses a part of the files it compiles; the rest is theirs to use")]

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::PathBuf;

use bytes::BytesMut;
use playground_api::codec;
use serde::{Deserialize, Serialize};

// module-rules: the manifest, discovery's records and the graph (its `crate::` paths).
#[path = "../../module-rules/src/discover.rs"]
pub mod discover;
#[path = "../../module-rules/src/error.rs"]
pub mod error;
#[path = "../../module-rules/src/graph.rs"]
pub mod graph;
#[path = "../../module-rules/src/manifest.rs"]
pub mod manifest;

// The shell's line protocol, and the vocabulary it parses into.
#[path = "../../editor-shell/src/inbox.rs"]
pub mod inbox;
#[path = "../../editor-shell/src/lines/parse.rs"]
pub mod lines;
/// What `lines/parse.rs` names of the shell's `ops.rs`: only the help text, in its errors.
pub mod ops {
    pub(crate) const HELP: &str = "commands: see `help`";
}

// MCP's tool arguments.
#[path = "../../editor-shell/src/mcp/args.rs"]
pub mod mcp_args;

// The game's wire format.
#[path = "../../modules/systems/networking/src/wire.rs"]
pub mod wire;

/// A state as modules keep them: named fields, nesting, lists, maps, options, an enum, a blob.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct State {
    ticks: u64,
    name: String,
    #[serde(default)]
    health: Option<f32>,
    fighters: BTreeMap<u32, Fighter>,
    path: Vec<(f32, f32)>,
    phase: Phase,
    pixels: codec::Blob,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Fighter {
    team: String,
    health: f32,
    cooldown: f64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
enum Phase {
    Waiting,
    Playing { since: f64 },
    Over(u32, u32),
}

/// The codec as the loader and modules use it on bytes from elsewhere: a state handed to a
/// new generation's `restore_state`, a call's arguments (typed, and as JSON for a person).
pub fn codec(data: &[u8]) {
    if let Ok(state) = codec::decode::<State>(data) {
        // What decodes must encode again, and decode to the same (compared as bytes: a NaN
        // is not equal to itself).
        let again = codec::encode(&state).expect("a decoded state encodes");
        let state = codec::decode::<State>(&again).expect("what the codec wrote, it reads");
        assert_eq!(codec::encode(&state).as_ref(), Ok(&again), "round trip");
    }
    let _ = codec::decode::<(String, bool)>(data);
    let _ = codec::decode::<Vec<u64>>(data);
    let _ = codec::decode::<codec::Blob>(data);
    let _ = codec::decode::<serde_json::Value>(data);
    if let Ok(json) = codec::to_json(data) {
        let _ = codec::from_json(&json);
    }
}

/// The game's frames and messages as a host and a joiner read them, before and after the hello.
pub fn wire(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else { return };
    let max = if first & 1 == 0 { wire::HELLO_FRAME } else { wire::MAX_FRAME };
    let mut unread = BytesMut::from(rest);
    // Each message takes at least its 4-byte header off: bounded by the input.
    for _ in 0..=rest.len() / 4 {
        match wire::next(&mut unread, max) {
            Ok(Some((message, _))) => {
                let mut copy = unread.clone();
                wire::unread_again(&mut copy, &message).expect("a decoded message frames again");
                let again = wire::next(&mut copy, wire::MAX_FRAME).expect("and decodes").map(|(m, _)| m);
                assert_eq!(again.as_ref(), Some(&message), "round trip");
            }
            Ok(None) | Err(_) => return,
        }
    }
}

/// `module.toml`s, up to eight separated by `\n%%\n`, parsed and resolved into a graph, and
/// asked what a change of the first one reaches.
pub fn manifests(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut sources = Vec::new();
    for (i, part) in text.split("\n%%\n").take(8).enumerate() {
        let origin = PathBuf::from(format!("/modules/m{i}/module.toml"));
        let Ok(manifest) = manifest::Manifest::parse(part, &origin) else { continue };
        let library = (manifest.layer != manifest::Layer::Core).then(|| PathBuf::from(format!("/lib/libm{i}.so")));
        sources.push(discover::ModuleSource {
            manifest,
            dir: PathBuf::from(format!("/modules/m{i}")),
            package: format!("m{i}"),
            library,
            crates: Vec::new(),
        });
    }
    let first = sources.first().map(|s| s.manifest.id.clone());
    let Ok(graph) = graph::Graph::resolve(sources) else { return };
    for id in graph.order().to_vec() {
        let _ = graph.enabled_features(&id);
    }
    if let Some(first) = first {
        let _ = graph.reload_set(std::slice::from_ref(&first));
        let _ = graph.packages_for(&[first]);
    }
}

/// stdin as the line protocol reads it: bounded lines, then each parsed as a command.
pub fn lines(data: &[u8]) {
    // A small buffer, so that lines span many reads as they do from a pipe.
    let mut input = BufReader::with_capacity(16, data);
    // Each line takes at least its newline (or the end): bounded by the input.
    for _ in 0..=data.len() {
        match lines::next_line(&mut input) {
            Ok(Some(Ok(line))) => {
                let _ = lines::parse_line(&line);
            }
            Ok(Some(Err(_))) => {}
            Ok(None) | Err(_) => return,
        }
    }
}

/// A tool call's arguments as rmcp hands them to the tools (a JSON object, decoded into each
/// tool's type), and what the tools do with them first.
pub fn mcp_args(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(args) = serde_json::from_value::<mcp_args::IdArgs>(value.clone()) {
        let _ = manifest::parse_id(&args.id);
    }
    if let Ok(args) = serde_json::from_value::<mcp_args::CreateArgs>(value.clone()) {
        let _ = manifest::parse_id(&args.id);
    }
    if let Ok(args) = serde_json::from_value::<mcp_args::CallArgs>(value)
        && let Some(args) = args.args
        && let Ok(bytes) = codec::from_json(&args)
    {
        // What a module answers is shown the same way: what the codec wrote, it reads.
        codec::to_json(&bytes).expect("the codec reads what it wrote");
    }
}
