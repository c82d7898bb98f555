//! `baton bots new`: from the scaffold to a running bot, the way the README
//! tells a newcomer to go: its unit test passes, it builds for
//! `wasm32-wasip2`, `baton bots check` accepts it, and a ticket created
//! over HTTP goes through it to `done`.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::support::Server;

/// Runs cargo (offline: tests reach nothing but loopback; every crate the
/// scaffold needs is the workspace's own) in `dir`, with a target directory
/// kept between runs so that the second run is quick.
fn cargo(dir: &Path, args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/scaffold-check");
    let out = Command::new(cargo)
        .args(args)
        .arg("--offline")
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(dir)
        .output()
        .expect("running cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} in {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scaffolded_rust_bot_builds_passes_its_test_and_serves() {
    let work = tempfile::tempdir().expect("a directory");
    let made = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["bots", "new", "demo", "--lang", "rust", "--dir"])
        .arg(work.path())
        .output()
        .expect("running baton bots new");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let said = String::from_utf8_lossy(&made.stdout).to_string();
    assert!(
        said.contains("cargo build --release --target wasm32-wasip2"),
        "{said}"
    );
    // A second time: refused, nothing overwritten.
    let again = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["bots", "new", "demo", "--dir"])
        .arg(work.path())
        .output()
        .expect("running baton bots new");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    let krate = work.path().join("demo/request");
    cargo(&krate, &["test", "--quiet"]);
    cargo(&krate, &["build", "--release", "--target", "wasm32-wasip2"]);
    let wasm = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/scaffold-check/wasm32-wasip2/release/demo_request.wasm");
    let manifest = work.path().join("demo/demo.metaservice.toml");
    let server = Server::start(|bots| {
        std::fs::copy(&manifest, bots.join("demo.metaservice.toml")).expect("the manifest");
        std::fs::copy(&wasm, bots.join("demo-request-1-open.wasm")).expect("the bot");
    })
    .await;
    let checked = server.baton(&[
        "bots",
        "check",
        &server
            .bots_dir()
            .join("demo-request-1-open.wasm")
            .display()
            .to_string(),
    ]);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let id = server
        .create("demo", "request", json!({"text": "hello"}))
        .await;
    let done = server
        .wait_for_ticket(id, "done", |t| t["state"]["name"] == "done")
        .await;
    assert_eq!(done["status"], "closed", "{done}");
}
