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
    let commands: [&[&str]; 13] = [
        &[],
        &["serve"],
        &["migrate"],
        &["bots"],
        &["bots", "check"],
        &["bots", "list"],
        &["bots", "new"],
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

#[test]
fn bots_check_tells_the_toolchain_and_memory_floor_and_refuses_a_bot_above_its_limit() {
    let dir = tempfile::tempdir().expect("a directory");
    let bots = dir.path().join("bots");
    std::fs::create_dir_all(&bots).expect("the bots directory");
    crate::support::copy_dir(&crate::support::example_bots(), &bots);
    let config = dir.path().join("baton.toml");
    std::fs::write(
        &config,
        format!(
            "bots_dir = \"{0}/bots\"\ndatabase_url = \"sqlite://{0}/baton.db\"\ncache_dir = \"{0}/cache\"\n",
            dir.path().display()
        ),
    )
    .expect("writing the configuration");
    let file = bots.join("wca-edit_person-1-open.wasm");
    let check = || {
        Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("--config")
            .arg(&config)
            .args(["bots", "check"])
            .arg(&file)
            .output()
            .expect("running baton")
    };
    let out = check();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("toolchain: baton-sdk 0.1.0 (rust)"), "{said}");
    let floor: f64 = said
        .split("memory at start: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no memory floor in {said}"));
    assert!(floor > 0.0 && floor < 64.0, "{said}");
    assert!(said.contains("load: "), "{said}");

    // A metaservice limit below what the bot needs to start: refused at
    // load, with that reason.
    let manifest = bots.join("wca.metaservice.toml");
    let text_of = std::fs::read_to_string(&manifest).expect("the manifest");
    assert!(!text_of.contains("[limits]"), "the example sets no limits");
    std::fs::write(&manifest, format!("{text_of}\n[limits]\nmemory_mib = 1\n"))
        .expect("writing the manifest");
    let out = check();
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let said = text(&out.stderr);
    assert!(
        said.contains("MiB of memory to start, above its metaservice's memory limit of 1 MiB"),
        "{said}"
    );
}
