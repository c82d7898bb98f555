//! Retention on a real server: a closed ticket past its type's `retention`
//! leaves the live tables and is readable whole at `GET /api/v1/archive/{id}`
//! (admins only), or is deleted outright when `on_retention` says so. Time
//! is moved by restarting the process with `BATON_CLOCK_OFFSET`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Server, ServerSetup, copy_dir, fixture_bots};

/// Polls until `GET path` answers `status`.
async fn until_status(server: &Server, path: &str, status: StatusCode) -> Value {
    let start = std::time::Instant::now();
    loop {
        let (now, body) = server.get(path).await;
        if now == status {
            return body;
        }
        assert!(
            start.elapsed().as_secs() < 30,
            "{path} never answered {status}: {now} {body}\n{}",
            server.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn closed_tickets_are_archived_or_deleted_after_their_retention() {
    let mut setup = ServerSetup::default();
    setup.engine.push_str("retention_every_ms = 50\n");
    let mut server = Server::start_with(setup, |bots| copy_dir(&fixture_bots(), bots)).await;
    let user = server.person("someone").await;
    // waiter/job: a "chore" waits an hour and closes; retention is 30 days.
    let chore = server
        .create("waiter", "job", json!({"mode": "chore"}))
        .await;
    let stuck = server
        .create("waiter", "job", json!({"mode": "stuck"}))
        .await;
    let waits = |k: &[String]| k.iter().any(|k| k == "wait");
    server.timers_until(chore, waits).await;
    server.restart_with(&[("BATON_CLOCK_OFFSET", "1h1m")]).await;
    server
        .wait_for_ticket(chore, "closed", |t| t["status"] == "closed")
        .await;
    let (status, _) = server.get(&format!("/api/v1/archive/{chore}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not archived yet");

    // Thirty days after it closed, it is archived: gone from the tickets,
    // whole in the archive.
    server
        .restart_with(&[("BATON_CLOCK_OFFSET", "30d2h")])
        .await;
    until_status(
        &server,
        &format!("/api/v1/tickets/{chore}"),
        StatusCode::NOT_FOUND,
    )
    .await;
    let doc = until_status(&server, &format!("/api/v1/archive/{chore}"), StatusCode::OK).await;
    assert_eq!(doc["ticket"]["id"], chore);
    assert_eq!(doc["ticket"]["status"], "closed");
    assert_eq!(doc["ticket"]["metadata"], json!({"mode": "chore"}));
    let logs: Vec<&str> = doc["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert!(logs.contains(&"woke after the wait"), "{logs:?}");
    assert_eq!(doc["stakeholders"][0]["role"], "requester");
    let (status, _) = server
        .as_(&user, "GET", &format!("/api/v1/archive/{chore}"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");
    // An open ticket is never retired, however old.
    let (status, _) = server.get(&format!("/api/v1/tickets/{stuck}")).await;
    assert_eq!(status, StatusCode::OK);

    // The admin switches the type to "delete": the next closed ticket goes
    // without a trace.
    let (status, body) = server
        .call(
            "PATCH",
            "/api/v1/metaservices/waiter/ticket-types/job/settings",
            Some(&json!({"on_retention": "delete"})),
            Some(crate::support::ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = server
        .create("waiter", "job", json!({"mode": "chore"}))
        .await;
    server.timers_until(second, waits).await;
    server
        .restart_with(&[("BATON_CLOCK_OFFSET", "30d3h2m")])
        .await;
    server
        .wait_for_ticket(second, "closed", |t| t["status"] == "closed")
        .await;
    server
        .restart_with(&[("BATON_CLOCK_OFFSET", "60d4h")])
        .await;
    until_status(
        &server,
        &format!("/api/v1/tickets/{second}"),
        StatusCode::NOT_FOUND,
    )
    .await;
    let (status, _) = server.get(&format!("/api/v1/archive/{second}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleted, not archived");
    let (status, _) = server.get(&format!("/api/v1/archive/{chore}")).await;
    assert_eq!(status, StatusCode::OK, "the earlier archive is kept");
}
