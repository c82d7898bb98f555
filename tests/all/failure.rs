//! A bot that asks for every kind of change and then returns an error:
//! nothing of its invocations is committed, the event is retried and then
//! parked, and an error ticket goes to the metaservice's error group.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;

use crate::support::{Server, copy_dir, fixture_bots};

#[tokio::test]
async fn a_failing_bot_commits_nothing_and_an_error_ticket_is_filed() {
    let server = Server::start(|bots| copy_dir(&fixture_bots(), bots)).await;
    let body = json!({"metaservice": "fixture", "ticket_type": "doomed", "title": "t", "metadata": {"n": 1}});
    let (status, created) = server.post("/api/v1/tickets", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().expect("an id");

    // max_attempts = 3 in the test config: three failures, then parked.
    let store = server.store().await;
    let parked = server.parked(id).await;
    assert_eq!(parked.attempts, 3);
    let error = parked.last_error.clone().unwrap_or_default();
    assert!(error.contains("bot fixture-doomed-1-start"), "{error}");
    assert!(error.contains("deliberate failure"), "{error}");

    // The ticket is exactly as created.
    let (_, ticket) = server.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(ticket["state"]["code"], 1);
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["version"], 1);
    assert_eq!(ticket["metadata"], json!({"n": 1}));

    // No bot log line, no child: only the creation and the host's note.
    let logs = server.logs(id).await;
    assert!(logs.iter().all(|l| l["actor"]["kind"] != "bot"), "{logs:?}");
    let note = logs
        .iter()
        .find(|l| l["action"] == "error_filed")
        .expect("an error_filed row");
    assert_eq!(note["actor"]["kind"], "host");
    let children: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM tickets WHERE ticket_type = 'doomed'")
            .fetch_one(store.pool())
            .await
            .and_then(|r| r.try_get("n"))
            .expect("counting tickets");
    assert_eq!(children, 1, "the child the bot created must not exist");

    // The error ticket: built-in type, child of the failed ticket, assigned
    // to the fixture metaservice's error group.
    let error_id = note["data"]["error_ticket_id"]
        .as_i64()
        .expect("the error ticket's id");
    let (status, report) = server.get(&format!("/api/v1/tickets/{error_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["metaservice"], "baton");
    assert_eq!(report["ticket_type"], "error");
    assert_eq!(report["parent_id"], id);
    assert_eq!(report["state"], json!({"code": 1, "name": "open"}));
    assert_eq!(report["metadata"]["bot"], "fixture-doomed-1-start");
    assert!(
        report["metadata"]["bot_version"]
            .as_str()
            .is_some_and(|v| v.len() == 64)
    );
    let stakeholder = &report["stakeholders"][0];
    assert_eq!(
        stakeholder["principal"],
        json!({"kind": "group", "name": "fixture_admins"})
    );
    assert_eq!(stakeholder["connection"], "assigned");

    // The bot is reported as crashing after failing every time.
    let (_, bots) = server.get("/api/v1/bots").await;
    let bot = bots["items"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["name"] == "fixture-doomed-1-start"))
        .cloned();
    let bot = bot.expect("the bot is listed");
    assert_eq!(bot["status"], "crashing");
    // What built it, as its `describe()` says.
    assert_eq!(bot["toolchain"], "baton-sdk 0.1.0 (rust)", "{bot}");
    assert!(
        bot["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("deliberate failure"))
    );

    // A restart by hand reloads the file and clears the crash state.
    let (status, restarted) = server
        .post("/api/v1/bots/fixture-doomed-1-start/restart", &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{restarted}");
    assert_eq!(restarted["status"], "running");
    assert_eq!(restarted["restarts"], 1);
    let (status, problem) = server
        .post("/api/v1/bots/fixture-nothing-1-start/restart", &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert_eq!(problem["type"], "urn:baton:problem:not-found");

    // Resolving the error ticket with `retry` queues the parked event again.
    let (status, body) = server
        .post(
            &format!("/api/v1/tickets/{error_id}/actions/retry"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (_, report) = server.get(&format!("/api/v1/tickets/{error_id}")).await;
    assert_eq!(report["state"], json!({"code": 2, "name": "resolved"}));
    assert!(
        server
            .logs(id)
            .await
            .iter()
            .any(|l| l["action"] == "retry_requested")
    );
    // The bot really runs again: it fails three more times, and a second
    // error ticket is filed.
    let start = std::time::Instant::now();
    while server
        .logs(id)
        .await
        .iter()
        .filter(|l| l["action"] == "error_filed")
        .count()
        < 2
    {
        assert!(
            start.elapsed().as_secs() < 30,
            "the retried event never ran\n{}",
            server.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

const DRIFT: &str = "name = \"drift\"\nerror_group = \"drift_admins\"\n\
[ticket_types.item]\ntransitions = [[1, 2]]\nstates = [\n\
  { code = 1, name = \"open\" },\n  { code = 2, name = \"done\", terminal = true },\n]\n";

#[tokio::test]
async fn a_ticket_in_a_state_the_manifest_no_longer_declares_is_parked_at_once() {
    let mut server = Server::start(|bots| {
        std::fs::write(bots.join("drift.metaservice.toml"), DRIFT).expect("writing the manifest")
    })
    .await;
    // No bot for state 1: the ticket's `entered` event waits for one.
    let id = server.create("drift", "item", json!({})).await;

    // The manifest is rewritten with other state codes while the host is
    // down: the code no longer knows the state the database has.
    let renumbered = DRIFT
        .replace("[[1, 2]]", "[[10, 20]]")
        .replace("code = 1,", "code = 10,")
        .replace("code = 2,", "code = 20,");
    std::fs::write(server.bots_dir().join("drift.metaservice.toml"), renumbered)
        .expect("rewriting the manifest");
    server.restart().await;

    let parked = server.parked(id).await;
    // Retrying cannot help: parked after the first attempt.
    assert_eq!(parked.attempts, 1, "{parked:?}");
    let error = parked.last_error.clone().unwrap_or_default();
    assert!(error.contains("code and database don't match"), "{error}");
    assert!(error.contains("state 1 of drift/item"), "{error}");

    let logs = server.logs(id).await;
    let note = logs
        .iter()
        .find(|l| l["action"] == "error_filed")
        .expect("an error_filed row");
    let error_id = note["data"]["error_ticket_id"].as_i64().expect("an id");
    let (_, report) = server.get(&format!("/api/v1/tickets/{error_id}")).await;
    assert_eq!(report["ticket_type"], "error");
    assert_eq!(report["parent_id"], id);
    let text = report["metadata"].to_string();
    assert!(text.contains("code and database don't match"), "{text}");
    assert_eq!(
        report["stakeholders"][0]["principal"],
        json!({"kind": "group", "name": "drift_admins"})
    );
}
