//! The example bots written in Python (`bots/feedback`, componentize-py)
//! and JavaScript (`bots/leave`, componentize-js), built by `cargo xtask`
//! and driven over HTTP like any other: their whole workflow with people,
//! a bot's own error reaching the operator as its message (a JavaScript
//! `Error` included, not a trap), Baton's defaults for what the bots leave
//! unhandled, and the memory floor of each runtime enforced at load.
//!
//! Each component holds its language's runtime (12–18 MB) and takes
//! seconds to compile, so each test starts one server for its language and
//! walks every path through it; the servers share one compiled-code cache.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Person, Server, ServerSetup, lang_bots};

/// One compiled-code cache for every server here: the first compiles, the
/// others load.
fn shared_cache() -> PathBuf {
    lang_bots().join("../lang-cache")
}

/// A server with the metaservice `name`'s manifest (and schema) and bot
/// files, once its bots run (compiling a component takes seconds, more
/// under the whole suite's load).
async fn serve(metaservice: &str, edit: impl FnOnce(&Path)) -> Server {
    let setup = ServerSetup {
        cache_dir: Some(shared_cache()),
        ..ServerSetup::default()
    };
    Server::start_with(setup, |bots| {
        for entry in std::fs::read_dir(lang_bots())
            .expect("the built bots")
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().to_string();
            let ours = name.starts_with(&format!("{metaservice}."))
                || name.starts_with(&format!("{metaservice}-"))
                || name.ends_with(".schema.json");
            if ours {
                std::fs::copy(entry.path(), bots.join(&name)).expect("copying a bot file");
            }
        }
        edit(bots);
    })
    .await
}

/// Polls `/api/v1/bots` until `pick` finds what it waits for in the
/// listed bots; a long deadline, since the first load compiles.
async fn bots_until<T>(server: &Server, what: &str, pick: impl Fn(&[Value]) -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        let (_, bots) = server.get("/api/v1/bots").await;
        let items = bots["items"].as_array().cloned().unwrap_or_default();
        if let Some(found) = pick(&items) {
            return found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "never {what}: {bots}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every bot of the server, once all run.
async fn all_running(server: &Server) -> Vec<Value> {
    bots_until(server, "all running", |items| {
        let all = !items.is_empty() && items.iter().all(|b| b["status"] == "running");
        all.then(|| items.to_vec())
    })
    .await
}

/// `bot`'s entry, once it is refused.
async fn refused(server: &Server, bot: &str) -> Value {
    bots_until(server, &format!("{bot} refused"), |items| {
        items
            .iter()
            .find(|b| b["name"] == bot && b["status"] == "refused")
            .cloned()
    })
    .await
}

/// `baton bots check FILE` on one of the server's bot files: it names the
/// toolchain and the memory the component needs to start, which is the
/// language runtime's floor. Returns that floor in MiB.
fn checked(server: &Server, file: &str, toolchain: &str) -> f64 {
    let path = server.bots_dir().join(file).display().to_string();
    let out = server.baton(&["bots", "check", &path]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(&format!("toolchain: {toolchain}")), "{said}");
    said.split("memory at start: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no memory floor in {said}"))
}

async fn ticket_by(
    server: &Server,
    who: &Person,
    metaservice: &str,
    ty: &str,
    metadata: Value,
) -> i64 {
    let body = json!({"metaservice": metaservice, "ticket_type": ty, "title": "a test ticket",
        "metadata": metadata});
    let (status, ticket) = server
        .as_(who, "POST", "/api/v1/tickets", Some(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    ticket["id"].as_i64().expect("an id")
}

async fn in_state(server: &Server, id: i64, name: &str) -> Value {
    server
        .wait_for_ticket(id, name, |t| t["state"]["name"] == name)
        .await
}

/// Waits until a log line of ticket `id` contains `text`.
async fn logged(server: &Server, id: i64, text: &str) -> Value {
    server.wait_for_log(id, text).await
}

async fn post_as(server: &Server, who: &Person, path: &str, body: Value, want: StatusCode) {
    let (status, answer) = server.as_(who, "POST", path, Some(&body)).await;
    assert_eq!(status, want, "{path}: {answer}");
}

/// Takes the ticket (it asked `who`'s group to accept it), then presses
/// `action` with `payload`.
async fn accept_and_press(server: &Server, who: &Person, id: i64, action: &str, payload: Value) {
    let (status, body) = server
        .as_(who, "POST", &format!("/api/v1/tickets/{id}/accept"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = format!("/api/v1/tickets/{id}/actions/{action}");
    let body = json!({ "payload": payload });
    post_as(server, who, &path, body, StatusCode::ACCEPTED).await;
}

/// Waits until ticket `id`'s event is parked after its bot failed, and
/// returns the error Baton stored.
async fn parked_error(server: &Server, id: i64) -> String {
    server.parked(id).await.last_error.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_triages_suggestions_over_http() {
    let server = serve("feedback", |_| {}).await;
    let bots = all_running(&server).await;
    let toolchain = "baton-sdk-python 0.1.0 (componentize-py 0.25.1)";
    for bot in &bots {
        assert_eq!(bot["toolchain"], toolchain, "{bot}");
    }
    let floor = checked(&server, "feedback-suggestion-1-open.wasm", toolchain);
    assert!((8.0..64.0).contains(&floor), "Python's floor: {floor} MiB");
    let author = server.person("author").await;
    let triager = server.person("triager").await;
    server.group("triage", &[&triager]).await;

    // Checked, handed to the triage team, taken and implemented.
    let id = ticket_by(
        &server,
        &author,
        "feedback",
        "suggestion",
        json!({"text": "Dark mode, please", "area": "ui"}),
    )
    .await;
    logged(&server, id, "assigned to group triage").await;
    accept_and_press(&server, &triager, id, "implement", json!({})).await;
    let done = in_state(&server, id, "done").await;
    assert_eq!(done["status"], "closed", "{done}");
    logged(
        &server,
        id,
        &format!("user {} will implement it", triager.id),
    )
    .await;

    // Nothing to triage: the bot declines it alone and tells the author.
    let empty = ticket_by(
        &server,
        &author,
        "feedback",
        "suggestion",
        json!({"text": "   ", "area": "ui"}),
    )
    .await;
    in_state(&server, empty, "declined").await;
    logged(&server, empty, "declined: the suggestion has no text").await;

    // A comment in `triaged` is not the bot's business: Baton logs it.
    let other = ticket_by(
        &server,
        &author,
        "feedback",
        "suggestion",
        json!({"text": "Export to CSV", "area": "reports"}),
    )
    .await;
    logged(&server, other, "assigned to group triage").await;
    let path = format!("/api/v1/tickets/{other}/comments");
    post_as(
        &server,
        &author,
        &path,
        json!({"body": "any news?"}),
        StatusCode::CREATED,
    )
    .await;
    logged(&server, other, "is not handled in this state").await;

    // A decline whose reason is blank passes the schema; the bot refuses it
    // with a `BotError`, whose message is what Baton stores.
    accept_and_press(
        &server,
        &triager,
        other,
        "decline",
        json!({"reason": "   "}),
    )
    .await;
    let error = parked_error(&server, other).await;
    assert!(
        error.ends_with("the bot returned an error: a decline needs a reason"),
        "{error}"
    );
    let ticket = in_state(&server, other, "triaged").await;
    assert_eq!(
        ticket["status"], "open",
        "nothing of the failed call was kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_javascript_example_handles_leave_requests_over_http() {
    let server = serve("leave", |_| {}).await;
    let bots = all_running(&server).await;
    let toolchain = "baton-sdk-js 0.1.0 (componentize-js 0.23.0)";
    for bot in &bots {
        assert_eq!(bot["toolchain"], toolchain, "{bot}");
    }
    let floor = checked(&server, "leave-request-1-open.wasm", toolchain);
    assert!(
        (6.0..64.0).contains(&floor),
        "JavaScript's floor: {floor} MiB"
    );
    let employee = server.person("employee").await;
    let manager = server.person("manager").await;
    server.group("managers", &[&manager]).await;

    let id = ticket_by(
        &server,
        &employee,
        "leave",
        "request",
        json!({"from": "2026-07-06", "to": "2026-07-10", "days": 5}),
    )
    .await;
    logged(&server, id, "passed to the managers").await;
    logged(
        &server,
        id,
        "asked the managers group to accept the request",
    )
    .await;
    accept_and_press(&server, &manager, id, "approve", json!({})).await;
    let approved = in_state(&server, id, "approved").await;
    assert_eq!(
        approved["metadata"]["decision"]["by"], manager.id,
        "{approved}"
    );

    // Dates that do not exist: refused by the bot alone, with the reason.
    let wrong = ticket_by(
        &server,
        &employee,
        "leave",
        "request",
        json!({"from": "2026-02-30", "to": "2026-03-02", "days": 2}),
    )
    .await;
    in_state(&server, wrong, "refused").await;
    logged(
        &server,
        wrong,
        "\"from\" (2026-02-30) is not a day of the calendar",
    )
    .await;

    // A refusal with a blank reason: the bot throws an `Error`, and its
    // message (not "unreachable") is what Baton stores.
    let blank = ticket_by(
        &server,
        &employee,
        "leave",
        "request",
        json!({"from": "2026-08-03", "to": "2026-08-04", "days": 2}),
    )
    .await;
    logged(&server, blank, "asked the managers group").await;
    accept_and_press(&server, &manager, blank, "refuse", json!({"reason": " "})).await;
    let error = parked_error(&server, blank).await;
    assert!(
        error.ends_with("the bot returned an error: a refusal needs a reason"),
        "{error}"
    );
    in_state(&server, blank, "with_manager").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_below_a_runtimes_memory_floor_is_refused_with_the_floor() {
    for (metaservice, bot) in [
        ("feedback", "feedback-suggestion-1-open"),
        ("leave", "leave-request-1-open"),
    ] {
        let server = serve(metaservice, |bots| {
            let manifest = bots.join(format!("{metaservice}.metaservice.toml"));
            let text = std::fs::read_to_string(&manifest).expect("the manifest");
            let lowered = text.replace("memory_mib = 64", "memory_mib = 4");
            assert_ne!(
                text, lowered,
                "{metaservice}'s manifest sets memory_mib = 64"
            );
            std::fs::write(&manifest, lowered).expect("writing the manifest");
        })
        .await;
        let refused = refused(&server, bot).await;
        let error = refused["last_error"].as_str().unwrap_or_default();
        assert!(
            error.contains("MiB of memory to start") && error.contains("4 MiB"),
            "{metaservice}: {refused}"
        );
    }
}
