//! Notifications committed on one node reach the event streams open on
//! another (LISTEN/NOTIFY carries their ids). A node reads them only for
//! the users who hold a stream open on it, and not at all when none is
//! open: most nodes, most of the time, have no stream to pass them to.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::cluster::node;
use crate::operations::metrics::{scrape, value};
use crate::support::postgres::database;
use crate::support::{ADMIN_TOKEN, Server};

/// What `server` did with other nodes' notifications: the `notifications`
/// signals it heard and acted on, its reads of them, and how many it
/// passed to its streams.
async fn heard(server: &Server) -> [f64; 3] {
    let s = scrape(server).await;
    [
        value(
            &s,
            "baton_cluster_signals_total",
            &[("signal", "notifications")],
        ),
        value(&s, "baton_cluster_notification_reads_total", &[]),
        value(&s, "baton_cluster_notifications_relayed_total", &[]),
    ]
}

/// A stepper ticket posted on `a` and run there to its end, which
/// notifies its requester (the administrator) that it closed.
async fn close_one(a: &Server) -> i64 {
    let id = a.create("stepper", "flow", serde_json::json!({})).await;
    a.wait_for_ticket(id, "closed", |t| t["status"] == "closed")
        .await;
    id
}

/// Closes tickets on `a` until `b` has acted on `more` notification
/// signals than `before` (b's listener subscribes in the background, and
/// a signal may carry several commits' notifications); returns b's counts.
async fn until_heard(a: &Server, b: &Server, before: [f64; 3]) -> [f64; 3] {
    let start = Instant::now();
    loop {
        close_one(a).await;
        let now = heard(b).await;
        if now[0] > before[0] {
            return now;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "b never heard");
    }
}

async fn open_stream(server: &Server, token: &str) -> reqwest::Response {
    let stream = reqwest::Client::new()
        .get(format!("{}/api/v1/notifications/stream", server.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), StatusCode::OK);
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_nodes_notifications_reach_streams_here_and_are_not_read_without_one() {
    let db = database().await;
    // Only a runs the stepper's bots; b serves the API alone.
    let a = node(&db.url, &["stepper"]).await;
    let b = node(&db.url, &[]).await;

    // No stream open on b: it hears of a's notifications and reads none.
    let none = until_heard(&a, &b, [0.0; 3]).await;
    assert_eq!(none[1], 0.0, "b read notifications with no stream open");

    // A stream of another user on b: b reads, and finds none for them.
    let other = a.person("someone-else").await;
    let _elsewhere = open_stream(&b, &other.token).await;
    let others = until_heard(&a, &b, none).await;
    assert!(others[1] > 0.0, "b did not read for its open stream");
    assert_eq!(
        others[2], 0.0,
        "b read notifications of a user with no stream here"
    );

    // The administrator opens a stream on b: a's next notification for
    // them arrives on it.
    let mut stream = open_stream(&b, ADMIN_TOKEN).await;
    let id = close_one(&a).await;
    let wanted = format!("\"ticket_id\":{id}");
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !seen.contains(&wanted) {
        let chunk = tokio::time::timeout_at(deadline.into(), stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no notification of ticket {id} on b: {seen}"));
        let bytes = chunk.expect("readable").expect("still open");
        seen.push_str(&String::from_utf8_lossy(&bytes));
    }
    assert!(seen.contains("event: notification"), "{seen}");
    assert!(heard(&b).await[2] >= 1.0, "b passed on none");
}
