//! `baton bots new`: from the scaffold to a running bot, the way the README
//! tells a newcomer to go, in each language: its unit test passes, it
//! builds (for `wasm32-wasip2`, with componentize-py, with
//! componentize-js), `baton bots check` accepts it, and a ticket created
//! over HTTP goes through it to `done`. For Python and JavaScript the
//! commands run are the ones `baton bots new` printed.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

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

/// `baton bots new demo --lang LANG --dir DIR`; returns what it printed.
fn new_demo(dir: &Path, lang: &str) -> String {
    let made = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["bots", "new", "demo", "--lang", lang, "--dir"])
        .arg(dir)
        .output()
        .expect("running baton bots new");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    String::from_utf8_lossy(&made.stdout).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scaffolded_rust_bot_builds_passes_its_test_and_serves() {
    let work = tempfile::tempdir().expect("a directory");
    let said = new_demo(work.path(), "rust");
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

/// Runs the command lines `baton bots new` printed after `next:` whose
/// comment is `# {what}`, as a shell would (the first one `cd`s into the
/// project; the others run there).
fn run_printed(said: &str, what: &str, project: &Path) {
    let line = said
        .lines()
        .find(|l| l.trim_end().ends_with(&format!("# {what}")))
        .unwrap_or_else(|| panic!("no `# {what}` line in:\n{said}"));
    let command = line.split(" # ").next().unwrap_or_default().trim();
    let out = Command::new("sh")
        .args(["-c", command])
        .current_dir(project)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("running sh");
    assert!(
        out.status.success(),
        "{command}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `baton bots new demo --lang LANG`, then its printed unit test and
/// build, then the built file served: a ticket goes through it to `done`.
async fn scaffold_to_running(lang: &str, toolchain: &str) {
    // The toolchains come with the built examples of these languages
    // (`cargo xtask build-bots --langs` installs them under target/tools).
    let _ = crate::support::lang_bots();
    let temp = tempfile::tempdir().expect("a directory");
    // A folder with a space in its name: the printed commands quote it.
    let work = temp.path().join("my bots");
    std::fs::create_dir(&work).expect("a folder");
    let said = new_demo(&work, lang);
    let project = work.join("demo/request");
    run_printed(&said, "the unit test", &project);
    run_printed(&said, "the component", &project);
    let wasm = project.join("build/bots/demo-request-1-open.wasm");
    assert!(
        said.contains("build/bots/demo-request-1-open.wasm"),
        "{said}"
    );
    let manifest = work.join("demo/demo.metaservice.toml");
    let server = Server::start(|bots| {
        std::fs::copy(&manifest, bots.join("demo.metaservice.toml")).expect("the manifest");
        std::fs::copy(&wasm, bots.join("demo-request-1-open.wasm")).expect("the bot");
    })
    .await;
    let path = server.bots_dir().join("demo-request-1-open.wasm");
    let checked = server.baton(&["bots", "check", &path.display().to_string()]);
    let report = String::from_utf8_lossy(&checked.stdout).to_string();
    assert!(
        checked.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(
        report.contains(&format!("toolchain: {toolchain}")),
        "{report}"
    );
    let id = server
        .create("demo", "request", json!({"text": "hello"}))
        .await;
    // The first load compiles the component (seconds); the ticket waits
    // for its bot meanwhile.
    let done = server
        .wait_for_ticket_within(Duration::from_secs(180), id, "done", |t| {
            t["state"]["name"] == "done"
        })
        .await;
    assert_eq!(done["status"], "closed", "{done}");
    let logs = server.logs(id).await;
    assert!(
        logs.iter()
            .any(|l| l["message"].as_str().is_some_and(|m| m.contains("hello"))),
        "{logs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scaffolded_python_bot_passes_its_test_builds_and_serves() {
    scaffold_to_running("python", "baton-sdk-python 0.1.0 (componentize-py 0.25.1)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scaffolded_javascript_bot_passes_its_test_builds_and_serves() {
    scaffold_to_running("js", "baton-sdk-js 0.1.0 (componentize-js 0.23.0)").await;
}
