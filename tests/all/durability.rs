//! Waits survive a `kill -9` of a real `baton serve` process: the wake-ups
//! are rows in its database, not tasks in its memory. Time is moved by
//! restarting the process with `BATON_CLOCK_OFFSET`, so two hours pass at
//! once. A stream of tickets through a four-state workflow survives a
//! `kill -9` mid-way with every step taken exactly once.

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

async fn count(store: &SqliteStore, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(store.pool())
        .await
        .expect("a count")
}

/// Creates `n` stepper tickets, fifty at a time.
async fn stream(server: &Server, n: usize) {
    for _ in 0..n / 50 {
        futures::future::join_all((0..50).map(|_| server.create("stepper", "flow", json!({}))))
            .await;
    }
}

#[tokio::test]
async fn a_stream_of_tickets_survives_kill_9_with_every_step_once() {
    let mut server = Server::start(|bots| copy_dir(&fixture_bots(), bots)).await;
    // Half the stream, then SIGKILL while its tickets are mid-workflow (some
    // invocations running, their events leased), then the other half.
    stream(&server, 1000).await;
    server.restart().await;
    stream(&server, 1000).await;
    let store = server.store().await;
    let start = std::time::Instant::now();
    loop {
        let done = count(
            &store,
            "SELECT COUNT(*) FROM tickets WHERE metaservice = 'stepper' AND status = 'closed'",
        )
        .await;
        if done == 2000 {
            break;
        }
        assert!(
            start.elapsed().as_secs() < 180,
            "{done} of 2000 tickets closed\n{}",
            server.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Each ticket moved 1 → 2 → 3 → 4, each move logged once.
    let moves = count(
        &store,
        "SELECT COUNT(*) FROM ticket_logs l JOIN tickets t ON t.id = l.ticket_id \
         WHERE t.metaservice = 'stepper' AND l.action = 'state_changed'",
    )
    .await;
    assert_eq!(moves, 6000);
    let twice = count(
        &store,
        "SELECT COUNT(*) FROM (SELECT l.ticket_id, l.from_state, l.to_state FROM ticket_logs l \
         WHERE l.action IN ('state_changed', 'log') GROUP BY l.ticket_id, l.from_state, l.to_state, \
         l.message HAVING COUNT(*) > 1)",
    )
    .await;
    assert_eq!(twice, 0, "a step ran twice");
    let steps = count(
        &store,
        "SELECT COUNT(*) FROM ticket_logs WHERE action = 'log' AND message LIKE 'step %'",
    )
    .await;
    assert_eq!(steps, 6000, "each bot step committed once");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM events").await,
        0,
        "no event left, leased or not"
    );
}
