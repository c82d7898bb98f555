//! What the tests of hostile bots share: a server with the fixtures and
//! the example bots side by side, and reading what tickets logged.

use serde_json::Value;

use super::{Server, copy_dir, example_bots, fixture_bots};

/// A server with the misbehaving fixtures beside the well-behaved `wca`.
pub async fn hostile() -> Server {
    Server::start(|bots| {
        copy_dir(&fixture_bots(), bots);
        copy_dir(&example_bots(), bots);
    })
    .await
}

/// Waits until ticket `id` is closed; returns it.
pub async fn closed(server: &Server, id: i64) -> Value {
    server
        .wait_for_ticket(id, "closed", |t| t["status"] == "closed")
        .await
}

/// The messages of log rows, in order.
pub fn messages(logs: &[Value]) -> Vec<String> {
    logs.iter()
        .filter_map(|l| l["message"].as_str().map(String::from))
        .collect()
}
