//! The demo game played headless through the real `playground`, as a script or a remote
//! player drives it (`input`, `attack`, `step`): the player hunts an enemy down, and every
//! module of the game reloads mid-fight with health, positions and the score intact.

use playground_api::serde_json::{Value, json};
use playground_tests::{Sandbox, Shell};

fn position(shell: &mut Shell, id: &Value) -> (f64, f64) {
    let t = shell.ok(&format!("call systems/ecs get {id}"));
    (t["position"]["x"].as_f64().expect("x"), t["position"]["y"].as_f64().expect("y"))
}

/// The living enemy nearest the player, and how far it is.
fn nearest_enemy(shell: &mut Shell, player: &Value) -> (Value, f64, (f64, f64)) {
    let me = position(shell, player);
    let fighters = shell.ok("call plugins/combat fighters");
    let mut best: Option<(Value, f64, (f64, f64))> = None;
    for f in fighters.as_array().expect("fighters") {
        if f["team"] != "Enemy" || f["respawn_in"].as_f64().unwrap_or(0.0) > 0.0 {
            continue;
        }
        let at = position(shell, &f["id"]);
        let d = (at.0 - me.0).hypot(at.1 - me.1);
        if best.as_ref().is_none_or(|b| d < b.1) {
            best = Some((f["id"].clone(), d, (at.0 - me.0, at.1 - me.1)));
        }
    }
    best.expect("an enemy lives")
}

/// Everything a reload must keep: the game's status, every fighter, every entity.
fn snapshot(shell: &mut Shell) -> Value {
    json!([
        shell.ok("call apps/game status"),
        shell.ok("call plugins/combat fighters"),
        shell.ok("call systems/ecs entities")
    ])
}

#[test]
fn the_player_hunts_an_enemy_down_and_every_module_reloads_mid_fight_with_the_game_intact() {
    let sandbox = Sandbox::engine();
    let mut shell = sandbox.shell();
    let status = shell.ok("call apps/game pause");
    let player = status["player"].clone();
    assert!(player.is_u64(), "the game has a player: {status}");
    assert_eq!(status["health"], json!(100.0));

    // Steer towards the nearest enemy until it is in reach, then strike twice (a blow takes
    // half its health; the second waits out the cooldown).
    let mut target = None;
    for _ in 0..300 {
        let (enemy, distance, (dx, dy)) = nearest_enemy(&mut shell, &player);
        if distance <= 8.0 {
            target = Some(enemy);
            break;
        }
        shell.ok(&format!("call apps/game input {}", json!({"x": dx.signum(), "y": dy.signum()})));
        shell.ok("call apps/game step");
    }
    shell.ok(r#"call apps/game input {"x":0,"y":0}"#);
    let target = target.expect("the player reached an enemy");
    let hit = shell.ok("call apps/game attack");
    assert!(hit.as_array().is_some_and(|h| h.contains(&target)), "the blow hit {target}: {hit}");
    assert_eq!(shell.ok("call apps/game attack"), json!([]), "a second blow at once is too soon");
    for _ in 0..20 {
        shell.ok("call apps/game step");
    }
    shell.ok("call apps/game attack");
    let status = shell.ok("call apps/game status");
    assert_eq!(status["score"]["defeated"], json!(1), "the enemy was defeated: {status}");
    let fighters = shell.ok("call plugins/combat fighters");
    let out = fighters.as_array().and_then(|all| all.iter().find(|f| f["id"] == target)).cloned();
    assert!(out.is_some_and(|f| f["respawn_in"].as_f64().is_some_and(|s| s > 0.0)), "it is out for a while");

    // Mid-fight, every module of the game reloads; nothing it knows changes.
    let before = snapshot(&mut shell);
    for id in ["plugins/combat", "plugins/movement", "apps/game", "core/combat", "systems/ecs"] {
        let record = shell.ok(&format!("reload {id}"));
        assert_eq!(record["outcome"]["kind"], "swapped", "{id}: {record}");
        assert_eq!(snapshot(&mut shell), before, "after reloading {id}");
    }

    // And the fight goes on: the defeated enemy comes back after its two seconds.
    for _ in 0..130 {
        shell.ok("call apps/game step");
    }
    let fighters = shell.ok("call plugins/combat fighters");
    let back = fighters.as_array().and_then(|all| all.iter().find(|f| f["id"] == target)).cloned();
    assert!(back.is_some_and(|f| f["health"] == json!(100.0) && f["respawn_in"] == json!(0.0)), "{fighters}");
    assert!(shell.quit());
}

#[test]
fn bad_game_input_is_refused_with_a_reason_and_changes_nothing() {
    let sandbox = Sandbox::engine();
    let mut shell = sandbox.shell();
    shell.ok("call apps/game pause");
    let before = snapshot(&mut shell);
    let error = shell.err(r#"call apps/game input {"up":1}"#);
    assert!(error.contains("x"), "{error}");
    let error = shell.err("call plugins/combat attack 99999");
    assert!(error.contains("does not fight"), "{error}");
    assert_eq!(snapshot(&mut shell), before);
    assert!(shell.quit());
}
