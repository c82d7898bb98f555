//! Waits end when they fall due, not at the dispatcher's next poll: a real
//! `baton serve` whose poll interval is a minute still wakes a wait of a
//! second or two on time, and never before it; on SQLite and on
//! PostgreSQL.

use serde_json::json;

use crate::support::postgres::database;
use crate::support::{Server, ServerSetup, copy_dir, fixture_bots, millis, now_ms};

/// Sets two waits on `database_url` (SQLite when `None`), one after the
/// other, and checks when each woke.
async fn waits_wake_on_time(database_url: Option<String>) {
    let mut setup = ServerSetup {
        database_url,
        ..ServerSetup::default()
    };
    // Once a wait is set nothing pokes the dispatcher: it wakes on its own,
    // when the timer falls due, or (before it knew when) a minute later.
    setup.engine = setup
        .engine
        .replace("poll_interval_ms = 20", "poll_interval_ms = 60000");
    assert!(setup.engine.contains("poll_interval_ms = 60000"));
    let server = Server::start_with(setup, |bots| copy_dir(&fixture_bots(), bots)).await;
    for delay in [1_500, 800] {
        let at = now_ms() + delay;
        let id = server
            .create("waiter", "job", json!({"mode": "until", "at": at}))
            .await;
        let woke = millis(&server.wait_for_log(id, "woke after the wait").await["created_at"]);
        assert!(woke >= at, "woke {} ms before its time", at - woke);
        // Generous for a loaded machine; a missed due time costs a minute.
        assert!(woke - at < 5_000, "woke {} ms late", woke - at);
    }
}

#[tokio::test]
async fn a_wait_wakes_on_time_however_long_the_poll_interval() {
    waits_wake_on_time(None).await;
}

#[tokio::test]
async fn a_wait_wakes_on_time_on_postgres_too() {
    let db = database().await;
    waits_wake_on_time(Some(db.url.clone())).await;
}
