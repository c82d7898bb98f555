//! Operating Baton: the supervisor behind `/readyz` and `baton health`,
//! `/metrics`, the Zabbix agent, the CLI, the configuration, and a
//! graceful shutdown under load.

mod cli;
mod delivery;
mod logs;
pub(crate) mod metrics;
mod readiness;
mod shutdown;
mod zabbix;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Server, fixture_bots};

/// The stepper fixture alone: its manifest and its three bots.
pub fn stepper_only(bots: &Path) {
    for entry in std::fs::read_dir(fixture_bots()).expect("the fixture bots") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with("stepper") && path.is_file() {
            std::fs::copy(&path, bots.join(&name)).expect("copying a fixture");
        }
    }
}

/// Polls `/readyz` until `done` holds for (status, body); the last answer.
pub async fn readyz_until(server: &Server, done: impl Fn(u16, &Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let response = server.raw("GET", "/readyz", None).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("a JSON report");
        if done(status, &body) {
            return body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "/readyz stayed {status} {body}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The problems of a report that are about `check`.
pub fn problems<'a>(body: &'a Value, check: &str) -> Vec<&'a Value> {
    body["problems"]
        .as_array()
        .map(|all| all.iter().filter(|p| p["check"] == check).collect())
        .unwrap_or_default()
}
