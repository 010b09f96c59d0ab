//! Two real `playground` processes on 127.0.0.1, headless: one hosts, one joins, and they
//! share one world; the host's modules reload mid-game with every connection kept; bad
//! peers are closed with a reason and harm nothing; a host that goes away leaves the joiner
//! its last world. A raw TCP client from the test plays the hostile peer, and a flood of
//! idle connections (`tests/net/flood.py`) the hostile process.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use playground_api::codec;
use playground_api::serde::Serialize;
use playground_api::serde_json::{Value, json};
use playground_tests::{LiveWorkspace, Sandbox, Shell, have, workspace};

/// A headless `playground` over the engine's modules, hosting or joining as `args` say.
fn playground(sandbox: &Sandbox, args: &[&str]) -> Shell {
    let mut command = sandbox.headless_command();
    command.args(args);
    Shell::spawn(command)
}

fn status(shell: &mut Shell) -> Value {
    shell.ok("call systems/networking status")
}

/// Waits (bounded) until `check` holds for the networking status.
fn until(shell: &mut Shell, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = status(shell);
        if check(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "never: {what}; last status {now}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A host on a free loopback port, and the address it listens at.
fn host(sandbox: &Sandbox) -> (Shell, String) {
    let mut shell = playground(sandbox, &["--host", "127.0.0.1:0"]);
    let hosting = status(&mut shell);
    let addr = hosting["role"]["Hosting"].as_str().expect("hosting").to_owned();
    (shell, addr)
}

/// Every entity and where it is, as `systems/ecs` holds them (a joiner's entities stand
/// still between snapshots: only positions cross the wire).
fn world(shell: &mut Shell) -> Value {
    let all = shell.ok("call systems/ecs entities");
    Value::Array(all.as_array().expect("entities").iter().map(|e| json!([e[0], e[1]["position"]])).collect())
}

/// Waits until the joiner's world is the host's (the host paused, so it holds still).
fn same_world(host: &mut Shell, joiner: &mut Shell) {
    let expected = world(host);
    let deadline = Instant::now() + Duration::from_secs(20);
    while world(joiner) != expected {
        assert!(Instant::now() < deadline, "the joiner's world never became the host's");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_processes_share_one_world_and_every_connection_outlives_the_hosts_reloads() {
    let sandbox = Sandbox::engine();
    let (mut host, addr) = host(&sandbox);
    let mut joiner = playground(&sandbox, &["--join", &addr]);
    until(&mut joiner, "snapshots arrive", |s| s["snapshots_received"].as_u64().unwrap_or(0) >= 3);
    let welcome = status(&mut joiner)["welcome"].clone();
    let mine = joiner.ok("call apps/game status")["player"].clone();
    assert_eq!(json!([mine.clone()]), welcome, "the joiner plays the entity the host made for it");

    // The same world on both sides, the joiner's player in it.
    host.ok("call apps/game pause");
    same_world(&mut host, &mut joiner);
    assert_eq!(host.ok("call systems/ecs count"), joiner.ok("call systems/ecs count"));
    assert_eq!(until(&mut host, "the peer is counted", |s| s["peers"] == 1)["connections"], 1);

    // The joiner's input moves its player on the host.
    let before = host.ok(&format!("call systems/ecs get {mine}"))["position"]["x"].as_f64().expect("x");
    joiner.ok(r#"call apps/game input {"x":1,"y":0}"#);
    for _ in 0..30 {
        host.ok("call apps/game step");
    }
    let after = host.ok(&format!("call systems/ecs get {mine}"))["position"]["x"].as_f64().expect("x");
    // 30 ticks of 1/60 s at 30 units a second: at most 15 units right (around the arena's
    // edge if it wraps at 100), a little less if the input reached the host a few ticks in.
    let moved = (after - before).rem_euclid(100.0);
    assert!((10.0..=15.5).contains(&moved), "the joiner's player moved right: {before} -> {after}");
    joiner.ok(r#"call apps/game input {"x":0,"y":0}"#);

    // Mid-game (playing), the host's networking, combat and movement reload; then the
    // joiner's networking. Nobody reconnects, no snapshot is lost or seen twice.
    host.ok("call apps/game play");
    let received = status(&mut joiner)["snapshots_received"].as_u64().unwrap_or(0);
    for (on_host, id) in [
        (true, "systems/networking"),
        (true, "plugins/combat"),
        (true, "plugins/movement"),
        (true, "systems/networking"),
        (false, "systems/networking"),
    ] {
        std::thread::sleep(Duration::from_millis(150));
        let shell = if on_host { &mut host } else { &mut joiner };
        let record = shell.ok(&format!("reload {id}"));
        assert_eq!(record["outcome"]["kind"], "swapped", "{id}: {record}");
    }
    let later = until(&mut joiner, "snapshots keep coming", |s| s["snapshots_received"].as_u64() > Some(received + 10));
    assert_eq!(
        (later["snapshots_lost"].clone(), later["snapshots_duplicated"].clone()),
        (json!(0), json!(0)),
        "{later}"
    );
    assert_eq!(later["connections"], 1, "the joiner never reconnected: {later}");
    assert_eq!(later["closed"], json!([]), "{later}");
    let hosting = status(&mut host);
    assert_eq!((hosting["connections"].clone(), hosting["peers"].clone()), (json!(1), json!(1)), "{hosting}");
    assert_eq!(hosting["closed"], json!([]), "{hosting}");

    // Paused again, both worlds agree.
    host.ok("call apps/game pause");
    same_world(&mut host, &mut joiner);

    // The host goes away: the joiner says so and keeps its last world, still.
    let last = world(&mut joiner);
    assert!(host.quit());
    let gone = until(&mut joiner, "the joiner notices", |s| s["role"] == "Offline");
    assert!(gone["closed"].as_array().is_some_and(|c| !c.is_empty()), "{gone}");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(world(&mut joiner), last, "the joiner keeps the host's last world");
    assert_eq!(joiner.ok("call apps/game status")["playing"], false);
    assert!(joiner.quit());
}

#[derive(Serialize)]
#[serde(crate = "playground_api::serde")]
enum Message {
    Hello { protocol: u32 },
}

/// A frame as the protocol writes it: a 4-byte big-endian length, then the bytes.
fn frame(body: &[u8]) -> Vec<u8> {
    let mut bytes = u32::try_from(body.len()).expect("a short body").to_be_bytes().to_vec();
    bytes.extend_from_slice(body);
    bytes
}

/// Sends `bytes` from a raw client and reads until the host closes (bounded), or, with
/// `vanish`, goes away at once.
fn send_raw(addr: &str, bytes: &[u8], vanish: bool) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    stream.write_all(bytes).expect("send");
    let mut answer = Vec::new();
    if !vanish {
        let _ = stream.read_to_end(&mut answer);
    }
    answer
}

#[test]
fn hostile_peers_are_closed_with_a_reason_and_the_game_goes_on() {
    let sandbox = Sandbox::engine();
    let (mut host, addr) = host(&sandbox);
    let mut joiner = playground(&sandbox, &["--join", &addr]);
    until(&mut joiner, "snapshots arrive", |s| s["snapshots_received"].as_u64().unwrap_or(0) >= 1);

    send_raw(&addr, &frame(&[0xc1, 0xc1, 0xc1]), false);
    send_raw(&addr, &(64u32 << 20).to_be_bytes(), false);
    let old = codec::encode(&Message::Hello { protocol: 99 }).expect("encode");
    let answer = send_raw(&addr, &frame(&old), false);
    assert!(String::from_utf8_lossy(&answer).contains("speaks protocol 99"), "the goodbye says why");
    // Half a frame, then the peer vanishes.
    send_raw(&addr, &frame(&old)[..3], true);

    let hosting = until(&mut host, "four peers closed", |s| s["closed"].as_array().is_some_and(|c| c.len() >= 4));
    let closed: Vec<String> =
        hosting["closed"].as_array().expect("closed").iter().filter_map(|c| c.as_str().map(str::to_owned)).collect();
    for reason in
        ["malformed message", "bad frame", "it speaks protocol 99, this host speaks 1", "closed the connection"]
    {
        assert!(closed.iter().any(|c| c.contains(reason)), "a peer closed for `{reason}`: {closed:?}");
    }
    // The real joiner never noticed.
    let received = status(&mut joiner)["snapshots_received"].as_u64().unwrap_or(0);
    let still = until(&mut joiner, "snapshots keep coming", |s| s["snapshots_received"].as_u64() > Some(received + 5));
    assert_eq!((still["closed"].clone(), still["snapshots_lost"].clone()), (json!([]), json!(0)), "{still}");
    assert_eq!(status(&mut host)["peers"], 1);
    assert!(joiner.quit());
    assert!(host.quit());
}

#[test]
fn joining_where_nobody_listens_or_leaving_loopback_is_refused_with_the_reason() {
    let sandbox = Sandbox::engine();
    // A port nobody listens on (bound, then let go).
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let mut alone = playground(&sandbox, &["--join", &format!("127.0.0.1:{port}")]);
    let offline = status(&mut alone);
    assert_eq!(offline["role"], "Offline");
    let why = offline["closed"][0].as_str().unwrap_or_default();
    assert!(why.contains(&format!("cannot join 127.0.0.1:{port}")), "{offline}");
    assert_eq!(alone.ok("call apps/game step")["ticks"].as_u64().map(|t| t > 0), Some(true), "it plays alone");

    let error = alone.err(r#"call systems/networking host ["0.0.0.0:0", false]"#);
    assert!(error.contains("not a loopback address") && error.contains("--net-allow-remote"), "{error}");
    let error = alone.err(r#"call systems/networking join ["192.0.2.1:7777", false]"#);
    assert!(error.contains("not a loopback address"), "{error}");
    assert_eq!(status(&mut alone)["role"], "Offline", "nothing changed");
    assert!(alone.quit());
}

#[test]
fn a_networking_build_that_fails_to_start_rolls_back_with_every_connection_open() {
    // The host runs from a copy of the workspace and rebuilds what is saved there.
    let live = LiveWorkspace::prepare();
    let mut command = live.engine_command();
    command.args(["--headless", "--host", "127.0.0.1:0"]);
    let mut host = Shell::spawn(command);
    let addr = status(&mut host)["role"]["Hosting"].as_str().expect("hosting").to_owned();
    let mut command = live.engine_command();
    command.args(["--headless", "--no-watch", "--join", &addr]);
    let mut joiner = Shell::spawn(command);
    until(&mut joiner, "snapshots arrive", |s| s["snapshots_received"].as_u64().unwrap_or(0) >= 3);

    // A new build whose `initialize` panics after it took the sockets back and started its
    // worker: rolled back, and the old code carries on with the same connections.
    live.edit(
        "modules/systems/networking/src/lib.rs",
        "        self.host = Some(host);\n        self.resume()",
        "        self.host = Some(host);\n        self.resume()?;\n        panic!(\"a networking build that panics in initialize\")",
    );
    let events = host.wait_for("reloaded", Duration::from_secs(300));
    let record = &events.last().expect("reloaded")["record"];
    assert_eq!(record["outcome"]["kind"], "rolled_back", "{record}");
    let received = status(&mut joiner)["snapshots_received"].as_u64().unwrap_or(0);
    let later = until(&mut joiner, "snapshots keep coming", |s| s["snapshots_received"].as_u64() > Some(received + 10));
    assert_eq!(
        (later["snapshots_lost"].clone(), later["snapshots_duplicated"].clone()),
        (json!(0), json!(0)),
        "{later}"
    );
    assert_eq!((later["connections"].clone(), later["closed"].clone()), (json!(1), json!([])), "{later}");
    let hosting = status(&mut host);
    assert_eq!((hosting["peers"].clone(), hosting["connections"].clone()), (json!(1), json!(1)), "{hosting}");
    assert!(joiner.quit());
    assert!(host.quit());
}

/// A raw client that connects, waits `wait`, says hello, and reads until the host closes.
fn hello_after(addr: &str, wait: Duration) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    std::thread::sleep(wait);
    let hello = codec::encode(&Message::Hello { protocol: 1 }).expect("encode");
    // The host may have closed it already: the goodbye is what counts.
    let _ = stream.write_all(&frame(&hello));
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// Waits (bounded) until the host has closed `stream`; what it sent before.
fn closed_by_host(mut stream: TcpStream) -> String {
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn a_late_hello_an_oversized_first_frame_and_a_full_game_are_refused_counted_and_survive_a_reload() {
    let sandbox = Sandbox::engine();
    let manifest = sandbox.manifest("systems/networking");
    let tight = manifest
        .replace("hello_timeout_ms = 3000", "hello_timeout_ms = 400")
        .replace("max_pending_per_address = 16", "max_pending_per_address = 2")
        .replace("max_players = 16", "max_players = 1");
    assert_ne!(tight, manifest, "the networking manifest has the caps in its [config]");
    sandbox.write_manifest("systems/networking", &tight);
    let (mut host, addr) = host(&sandbox);
    let mut joiner = playground(&sandbox, &["--join", &addr]);
    until(&mut joiner, "snapshots arrive", |s| s["snapshots_received"].as_u64().unwrap_or(0) >= 1);
    let limits = status(&mut host)["limits"].clone();
    assert_eq!((limits["players"].clone(), limits["pending_per_address"].clone()), (json!(1), json!(2)), "{limits}");

    // A hello after the deadline: closed with the reason before it could say it.
    let late = hello_after(&addr, Duration::from_millis(900));
    assert!(late.contains("it did not say hello within 400 ms"), "{late:?}");
    // A first frame over a KiB: closed at its header, nothing more read.
    let big = String::from_utf8_lossy(&send_raw(&addr, &2048u32.to_be_bytes(), false)).into_owned();
    assert!(big.contains("bad frame"), "{big:?}");
    // The game holds one player, who is playing: a second hello is told it is full.
    let full = hello_after(&addr, Duration::ZERO);
    assert!(full.contains("the game is full (1 players, at most 1)"), "{full:?}");
    // Three waiting from one address, two allowed: the oldest makes room.
    let oldest = TcpStream::connect(&addr).expect("connect");
    std::thread::sleep(Duration::from_millis(50));
    let _second = TcpStream::connect(&addr).expect("connect");
    std::thread::sleep(Duration::from_millis(50));
    let _third = TcpStream::connect(&addr).expect("connect");
    let evicted = closed_by_host(oldest);
    assert!(evicted.contains("too many connections from 127.0.0.1 waiting to say hello (at most 2)"), "{evicted:?}");
    let counted = until(&mut host, "the refusals are counted", |s| s["refused"]["late_hello"].as_u64() >= Some(3));
    assert_eq!(counted["refused"]["game_full"], 1, "{counted}");
    assert_eq!(counted["refused"]["address_full"], 1, "{counted}");

    // A connection waiting through a reload of networking is still held to its deadline,
    // and the caps and counts are the same after.
    let waiting = TcpStream::connect(&addr).expect("connect");
    let record = host.ok("reload systems/networking");
    assert_eq!(record["outcome"]["kind"], "swapped", "{record}");
    let after = closed_by_host(waiting);
    assert!(after.contains("it did not say hello within 400 ms"), "{after:?}");
    let reloaded = until(&mut host, "counted after the reload", |s| s["refused"]["late_hello"].as_u64() >= Some(4));
    assert_eq!(reloaded["limits"], limits, "the caps survive the reload");
    assert_eq!((reloaded["refused"]["game_full"].clone(), reloaded["peers"].clone()), (json!(1), json!(1)));
    let full = hello_after(&addr, Duration::ZERO);
    assert!(full.contains("the game is full"), "still capped after the reload: {full:?}");

    // The player never noticed.
    let received = status(&mut joiner)["snapshots_received"].as_u64().unwrap_or(0);
    let still = until(&mut joiner, "snapshots keep coming", |s| s["snapshots_received"].as_u64() > Some(received + 5));
    assert_eq!((still["closed"].clone(), still["snapshots_lost"].clone()), (json!([]), json!(0)), "{still}");
    assert!(joiner.quit());
    assert!(host.quit());
}

/// `command` run under `prlimit --nofile=N` (soft and hard), as on a desktop's default.
fn under_prlimit(command: &Command, files: u32) -> Command {
    let mut limited = Command::new("prlimit");
    limited.arg(format!("--nofile={files}:{files}")).arg("--").arg(command.get_program()).args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => limited.env(key, value),
            None => limited.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        limited.current_dir(dir);
    }
    limited
}

/// How many files process `pid` has open.
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(Iterator::count).unwrap_or(0)
}

#[test]
fn a_flood_of_idle_connections_under_1024_files_leaves_the_player_playing_and_builds_working() {
    if !have(&["prlimit", "python3"]) {
        return;
    }
    // The host runs from a copy of the workspace (a build during the flood builds there),
    // with a desktop's limit of 1024 open files.
    let live = LiveWorkspace::prepare();
    let mut command = live.engine_command();
    command.args(["--headless", "--host", "127.0.0.1:0"]);
    let mut host = Shell::spawn(under_prlimit(&command, 1024));
    let addr = status(&mut host)["role"]["Hosting"].as_str().expect("hosting").to_owned();
    let mut command = live.engine_command();
    command.args(["--headless", "--no-watch", "--join", &addr]);
    let mut joiner = Shell::spawn(command);
    until(&mut joiner, "snapshots arrive", |s| s["snapshots_received"].as_u64().unwrap_or(0) >= 3);
    let files_before = open_files(host.pid());

    // 1700 connections at a time that never say hello (a quarter announcing a frame just
    // under 4 MiB), each the host closes replaced by another, for 10 s, from another process
    // and eight other loopback addresses.
    let flood = Command::new("python3")
        .arg(workspace().join("tests/net/flood.py"))
        .args([&addr, "1700", "10"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the flood");
    let mut flood = flood;
    let flooding = |flood: &mut std::process::Child| flood.try_wait().is_ok_and(|done| done.is_none());
    // During it: a build of a module (a leaf) and its reload, the player's snapshots, and
    // the host's open files.
    std::thread::sleep(Duration::from_millis(500));
    live.edit("modules/plugins/movement/src/lib.rs", "//!", "//! Edited during a flood.\n//!");
    let received = status(&mut joiner)["snapshots_received"].as_u64().unwrap_or(0);
    let mut most_files = 0;
    let events = {
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut seen = Vec::new();
        loop {
            most_files = most_files.max(open_files(host.pid()));
            if let Some(event) = host.event(Duration::from_millis(100)) {
                let done = event["kind"] == "reloaded";
                seen.push(event);
                if done {
                    break seen;
                }
            }
            assert!(Instant::now() < deadline, "no reload during the flood; saw {seen:?}");
        }
    };
    let record = &events.last().expect("reloaded")["record"];
    assert_eq!(record["outcome"]["kind"], "swapped", "the build during the flood: {record}");
    assert!(flooding(&mut flood), "the build ended after the flood: a slower machine needs a longer flood");
    let playing =
        until(&mut joiner, "snapshots keep coming", |s| s["snapshots_received"].as_u64() > Some(received + 30));
    // A second player joins while the flood goes on, from the same address as the flood.
    let mut command = live.engine_command();
    command.args(["--headless", "--no-watch", "--join", &addr]);
    let mut second = Shell::spawn(command);
    let joined =
        until(&mut second, "the second player gets snapshots", |s| s["snapshots_received"].as_u64().unwrap_or(0) >= 3);
    assert_eq!(joined["closed"], json!([]), "{joined}");
    assert!(flooding(&mut flood), "the second player joined after the flood: a slower machine needs a longer flood");
    let output = flood.wait_with_output().expect("the flood ends");
    let report: Value = playground_api::serde_json::from_slice(&output.stdout).expect("the flood's report");
    for _ in 0..20 {
        most_files = most_files.max(open_files(host.pid()));
    }

    let hosting = status(&mut host);
    let refused = &hosting["refused"];
    let refusals: u64 = ["late_hello", "pending_full", "address_full"].iter().filter_map(|k| refused[k].as_u64()).sum();
    assert!(report["opened"].as_u64() >= Some(1700), "the flood got in: {report}");
    assert!(report["open"].as_u64() <= hosting["limits"]["pending"].as_u64(), "idle ones are closed: {report}");
    assert!(refusals >= report["closed"].as_u64().unwrap_or(0) / 2, "counted: {hosting} {report}");
    assert!(refused["pending_full"].as_u64() > Some(0) && refused["address_full"].as_u64() > Some(0), "{hosting}");
    assert!(
        most_files < files_before + 300,
        "the flood took the host from {files_before} to {most_files} open files: {hosting}"
    );
    assert_eq!(hosting["peers"], 2, "both players are in: {hosting}");
    assert_eq!((playing["closed"].clone(), playing["snapshots_lost"].clone()), (json!([]), json!(0)), "{playing}");
    eprintln!("flood: {report}; host files {files_before} -> at most {most_files}; refused {refused}");
    assert!(second.quit());
    assert!(joiner.quit());
    assert!(host.quit());
}
