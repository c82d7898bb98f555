//! SIGTERM under load: open event streams end, in-flight invocations
//! finish, the process exits 0, and after a restart every ticket is
//! finished with each step run once.

use std::time::Duration;

use super::stepper_only;
use crate::support::Server;

async fn count(server: &Server, sql: &str) -> i64 {
    let store = server.store().await;
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(store.pool())
        .await
        .expect("a count")
}

#[tokio::test]
async fn sigterm_under_load_ends_streams_and_loses_or_doubles_nothing() {
    let mut server = Server::start(stepper_only).await;
    // An open event stream must not hold the server up.
    let mut stream = reqwest::Client::new()
        .get(format!("{}/api/v1/notifications/stream", server.base))
        .bearer_auth(crate::support::ADMIN_TOKEN)
        .send()
        .await
        .expect("the stream opens");
    assert_eq!(stream.status(), 200);
    for _ in 0..10 {
        futures::future::join_all(
            (0..50).map(|_| server.create("stepper", "flow", serde_json::json!({}))),
        )
        .await;
    }
    // Mid-flow: some tickets finished, many still moving.
    let status = server.terminate();
    assert!(status.success(), "exit status {status}\n{}", server.log());
    let log = server.log();
    assert!(log.contains("dispatcher stopped"), "{log}");
    // The stream ended with the server (no hang until its keep-alive).
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        // Keep-alives until the end (None) or a cut connection (Err).
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the event stream outlived the server");

    server.revive(&[]).await;
    let start = std::time::Instant::now();
    loop {
        let done = count(
            &server,
            "SELECT COUNT(*) FROM tickets WHERE metaservice = 'stepper' AND status = 'closed'",
        )
        .await;
        if done == 500 {
            break;
        }
        assert!(start.elapsed().as_secs() < 120, "{done} of 500 closed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let steps = count(
        &server,
        "SELECT COUNT(*) FROM ticket_logs WHERE action = 'log' AND message LIKE 'step %'",
    )
    .await;
    assert_eq!(
        steps, 1500,
        "each of the three steps committed once per ticket"
    );
    let moves = count(
        &server,
        "SELECT COUNT(*) FROM ticket_logs l JOIN tickets t ON t.id = l.ticket_id \
         WHERE t.metaservice = 'stepper' AND l.action = 'state_changed'",
    )
    .await;
    assert_eq!(moves, 1500);
    assert_eq!(count(&server, "SELECT COUNT(*) FROM events").await, 0);
}
