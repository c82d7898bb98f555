//! Waits survive a `kill -9` of a real `baton serve` process: the wake-ups
//! are rows in its database, not tasks in its memory. Time is moved by
//! restarting the process with `BATON_CLOCK_OFFSET`, so two hours pass at
//! once.

use baton_host::store::SqliteStore;
use serde_json::json;
use sqlx::Row;

use crate::support::{Server, copy_dir, fixture_bots};

async fn child_of(store: &SqliteStore, server: &Server, parent: i64) -> i64 {
    let start = std::time::Instant::now();
    loop {
        let row = sqlx::query("SELECT id FROM tickets WHERE parent_id = ?")
            .bind(parent)
            .fetch_optional(store.pool())
            .await
            .expect("reading the child");
        if let Some(row) = row {
            return row.try_get("id").expect("an id");
        }
        assert!(
            start.elapsed().as_secs() < 30,
            "ticket {parent} never created its child\n{}",
            server.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

async fn status(server: &Server, id: i64) -> String {
    let (_, ticket) = server.get(&format!("/api/v1/tickets/{id}")).await;
    ticket["status"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn waits_survive_kill_9_of_the_process_and_wake_when_due() {
    let mut server = Server::start(|bots| copy_dir(&fixture_bots(), bots)).await;
    let sleeper = server
        .create("waiter", "job", json!({"mode": "sleep"}))
        .await;
    let parent = server
        .create("waiter", "job", json!({"mode": "parent"}))
        .await;
    let store = server.store().await;
    let child = child_of(&store, &server, parent).await;
    let has = |kind: &'static str| move |k: &[String]| k.iter().any(|h| h == kind);
    server.timers_until(sleeper, has("wait")).await;
    server.timers_until(parent, has("wait_ticket")).await;
    server.timers_until(child, has("wait")).await;

    // SIGKILL, no shutdown; the new process has the same clock.
    server.restart().await;
    for id in [sleeper, parent, child] {
        assert_eq!(status(&server, id).await, "open", "ticket {id}");
    }
    server.timers_until(sleeper, has("wait")).await;
    server.timers_until(parent, has("wait_ticket")).await;
    server.timers_until(child, has("wait")).await;

    // Killed again; the next process lives an hour and a minute later: the
    // child's hour is up, so it finishes, and its parent wakes.
    server.restart_with(&[("BATON_CLOCK_OFFSET", "1h1m")]).await;
    server
        .wait_for_ticket(child, "closed", |t| t["status"] == "closed")
        .await;
    let done = server
        .wait_for_ticket(parent, "closed", |t| t["status"] == "closed")
        .await;
    assert_eq!(done["state"]["name"], "done");
    let logs = server.logs(parent).await;
    let woke = format!("ticket {child} closed");
    assert!(
        logs.iter().any(|l| l["message"] == woke.as_str()),
        "{logs:?}"
    );
    // The sleeper's two hours are not up: it still waits, timer and all.
    assert_eq!(status(&server, sleeper).await, "open");
    server.timers_until(sleeper, has("wait")).await;

    // Two hours and a minute on, it wakes too, and keeps no timers.
    server.restart_with(&[("BATON_CLOCK_OFFSET", "2h1m")]).await;
    server
        .wait_for_ticket(sleeper, "closed", |t| t["status"] == "closed")
        .await;
    let logs = server.logs(sleeper).await;
    assert!(
        logs.iter().any(|l| l["message"] == "woke after the wait"),
        "{logs:?}"
    );
    server.timers_until(sleeper, |k| k.is_empty()).await;
}
