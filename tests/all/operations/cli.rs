//! The `baton` commands an operator runs beside the server: admin users
//! and tokens, a ticket's timeline, `--help`, and a configuration refused
//! with the key named.

use std::process::Command;

use super::stepper_only;
use crate::support::Server;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn an_admin_made_by_the_cli_can_use_the_api() {
    let server = Server::start(stepper_only).await;
    let made = server.baton(&[
        "admin",
        "create-user",
        "ops",
        "--name",
        "On Call",
        "--admin",
    ]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    assert!(text(&made.stdout).contains("login ops, administrator"));
    let again = server.baton(&["admin", "create-user", "ops", "--name", "Twice"]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("exists already"),
        "{}",
        text(&again.stderr)
    );
    let bad = server.baton(&["admin", "create-user", "Bad Login", "--name", "x"]);
    assert!(
        text(&bad.stderr).contains("login must be"),
        "{}",
        text(&bad.stderr)
    );

    let token = server.baton(&["admin", "create-token", "ops", "--name", "pager"]);
    assert!(token.status.success(), "{}", text(&token.stderr));
    let token = text(&token.stdout).trim().to_string();
    assert!(token.starts_with("bt_"), "{token}");
    let (status, me) = server.call("GET", "/api/v1/me", None, Some(&token)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["login"], "ops");
    assert_eq!(me["is_admin"], true);
    let nobody = server.baton(&["admin", "create-token", "nobody"]);
    assert!(text(&nobody.stderr).contains("no user with login"));
}

#[tokio::test]
async fn tickets_show_prints_the_timeline() {
    let server = Server::start(stepper_only).await;
    let id = server
        .create("stepper", "flow", serde_json::json!({}))
        .await;
    server
        .wait_for_ticket(id, "closed", |t| t["status"] == "closed")
        .await;
    let shown = server.baton(&["tickets", "show", &id.to_string()]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let out = text(&shown.stdout);
    assert!(out.starts_with(&format!("ticket {id}: ")), "{out}");
    assert!(out.contains("state     done (4), closed"), "{out}");
    // Each move, by the bot that made it, from and to by name.
    assert!(
        out.contains("bot stepper-flow-1-a  state_changed a (1) -> b (2)"),
        "{out}"
    );
    assert!(
        out.contains("bot stepper-flow-3-c  state_changed c (3) -> done (4)"),
        "{out}"
    );
    let missing = server.baton(&["tickets", "show", "999999"]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("no ticket 999999"));
}

#[test]
fn every_command_has_help() {
    let commands: [&[&str]; 12] = [
        &[],
        &["serve"],
        &["migrate"],
        &["bots"],
        &["bots", "check"],
        &["bots", "list"],
        &["admin", "create-user"],
        &["admin", "create-token"],
        &["tickets", "show"],
        &["health"],
        &["manifest", "check"],
        &["openapi"],
    ];
    for command in commands {
        let out = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(command)
            .arg("--help")
            .output()
            .expect("running baton");
        let help = text(&out.stdout);
        assert!(out.status.success(), "{command:?}: {}", text(&out.stderr));
        assert!(help.contains("Usage: baton"), "{command:?}: {help}");
        assert!(help.lines().count() > 3, "{command:?}: {help}");
    }
}

#[test]
fn a_bad_setting_stops_start_up_naming_it() {
    let dir = tempfile::tempdir().expect("a directory");
    let config = dir.path().join("baton.toml");
    let run = |toml: &str, env: &[(&str, &str)]| {
        std::fs::write(&config, toml).expect("writing");
        let out = Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("--config")
            .arg(&config)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .output()
            .expect("running baton");
        assert!(!out.status.success(), "it started");
        text(&out.stderr)
    };
    let said = run("[engine]\nconcurency = 3\n", &[]);
    assert!(said.contains("concurency"), "{said}");
    let said = run("", &[("BATON_ENGINE__LEASE_MS", "soon")]);
    assert!(said.contains("BATON_ENGINE__LEASE_MS"), "{said}");
    let said = run("", &[("BATON_LIMITS__MEMORY", "64")]);
    assert!(said.contains("limits.memory"), "{said}");
}
