//! Tickets travelling through the real `wca` bots, end to end.

use std::time::{Duration, Instant};

use baton_host::store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Server, copy_dir, example_bots};

async fn wca() -> Server {
    Server::start(|bots| copy_dir(&example_bots(), bots)).await
}

async fn create(server: &Server, title: &str, changes: Value) -> i64 {
    let body = json!({
        "metaservice": "wca",
        "ticket_type": "edit_person",
        "title": title,
        "metadata": {"wca_id": "2012SMIT01", "changes": changes},
    });
    let (status, ticket) = server.post("/api/v1/tickets", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    assert_eq!(ticket["state"], json!({"code": 1, "name": "open"}));
    assert_eq!(ticket["status"], "open");
    ticket["id"].as_i64().expect("an id")
}

/// (actor, action, to_state code) of every log row.
fn trail(logs: &[Value]) -> Vec<(String, String, Option<i64>)> {
    logs.iter()
        .map(|l| {
            let actor = l["actor"]["name"]
                .as_str()
                .or(l["actor"]["kind"].as_str())
                .unwrap_or_default();
            (
                actor.to_string(),
                l["action"].as_str().unwrap_or_default().to_string(),
                l["to_state"]["code"].as_i64(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_cosmetic_name_fix_travels_through_both_bots_to_approved() {
    let server = wca().await;
    let id = create(
        &server,
        "Capitalise my name",
        json!({"name": {"old": "john smith", "new": "John Smith"}}),
    )
    .await;

    let ticket = server
        .wait_for_ticket(id, "closed", |t| t["status"] == "closed")
        .await;
    assert_eq!(ticket["state"], json!({"code": 3, "name": "approved"}));
    assert_eq!(ticket["metadata"]["review"]["auto_approved"], true);
    assert!(ticket["closed_at"].is_string());

    let open = "wca-edit_person-1-open".to_string();
    let review = "wca-edit_person-2-in_review".to_string();
    let s = |x: &str| x.to_string();
    assert_eq!(
        trail(&server.logs(id).await),
        vec![
            (s("user"), s("created"), Some(1)),
            (open.clone(), s("log"), None),
            (open, s("state_changed"), Some(2)),
            (review.clone(), s("log"), None),
            (review.clone(), s("metadata_changed"), None),
            (review, s("state_changed"), Some(3)),
        ]
    );
}

#[tokio::test]
async fn an_impossible_request_is_rejected_by_the_open_bot_with_its_reasons() {
    let server = wca().await;
    let id = create(
        &server,
        "Move me to Atlantis",
        json!({"country_iso2": {"old": "US", "new": "XX"}, "dob": {"old": "1990-01-01", "new": "2990-01-01"}}),
    )
    .await;

    let ticket = server
        .wait_for_ticket(id, "closed", |t| t["status"] == "closed")
        .await;
    assert_eq!(ticket["state"], json!({"code": 4, "name": "rejected"}));
    let problems = ticket["metadata"]["review"]["problems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(problems.len(), 2, "{ticket}");

    let logs = server.logs(id).await;
    let rejection = logs
        .iter()
        .find(|l| l["action"] == "log")
        .expect("the bot's log line");
    assert_eq!(rejection["actor"]["name"], "wca-edit_person-1-open");
    let message = rejection["message"].as_str().unwrap_or_default();
    assert!(message.contains("\"XX\" is not an ISO 3166-1"), "{message}");
    assert!(message.contains("2990-01-01 is in the future"), "{message}");
    let last = logs.last().expect("a last row");
    assert_eq!(last["from_state"]["code"], 1);
    assert_eq!(last["to_state"], json!({"code": 4, "name": "rejected"}));
}

#[tokio::test]
async fn a_real_change_waits_in_review_for_people() {
    let server = wca().await;
    // The review goes to the group named in the manifest's [config].
    let reviewer = server.person("reviewer").await;
    server.group("wrt", &[&reviewer]).await;
    let id = create(
        &server,
        "My birthday is wrong",
        json!({"dob": {"old": "1990-01-01", "new": "1990-01-02"}}),
    )
    .await;

    let ticket = server
        .wait_for_ticket(id, "in review", |t| t["state"]["code"] == 2)
        .await;
    assert_eq!(ticket["status"], "open");
    // The in_review bot runs, says so, and leaves the ticket to the WRT.
    let waiting = "assigned to group wrt: waiting for a member to accept, then approve or reject";
    let start = Instant::now();
    while !server
        .logs(id)
        .await
        .iter()
        .any(|l| l["message"] == waiting)
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the review bot never ran"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let store = server.store().await;
    assert!(
        store.events_of(id).await.expect("events").is_empty(),
        "no event is left pending"
    );
    let (_, again) = server.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(again["state"]["code"], 2);
}
