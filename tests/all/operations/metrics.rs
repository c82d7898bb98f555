//! `/metrics` read as Prometheus reads it (a text-format parser, not a
//! substring search), with counts that move as tickets flow.

use std::io::BufRead;

use prometheus_parse::{Scrape, Value};

use super::stepper_only;
use crate::support::Server;

pub(crate) async fn scrape(server: &Server) -> Scrape {
    let response = server.raw("GET", "/metrics", None).await;
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .to_string();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    let text = response.text().await.expect("the text");
    assert!(text.ends_with("# EOF\n"), "{text}");
    Scrape::parse(text.as_bytes().lines()).expect("a Prometheus text")
}

/// The value of the sample `metric` whose labels include `labels`.
pub(crate) fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(_) | Value::Summary(_) => 0.0,
        })
        .sum()
}

#[tokio::test]
async fn metrics_parse_and_move_as_tickets_flow() {
    let server = Server::start(stepper_only).await;
    let before = scrape(&server).await;
    let ids: Vec<i64> = futures::future::join_all(
        (0..20).map(|_| server.create("stepper", "flow", serde_json::json!({}))),
    )
    .await;
    for id in &ids {
        server
            .wait_for_ticket(*id, "closed", |t| t["status"] == "closed")
            .await;
    }
    let after = scrape(&server).await;

    // Each ticket ran each of the three bots once, successfully.
    for bot in ["stepper-flow-1-a", "stepper-flow-2-b", "stepper-flow-3-c"] {
        let ok = [("bot", bot), ("outcome", "ok")];
        let ran = value(&after, "baton_invocations_total", &ok)
            - value(&before, "baton_invocations_total", &ok);
        assert_eq!(ran, 20.0, "{bot}");
        let timed = value(
            &after,
            "baton_invocation_duration_seconds_count",
            &[("bot", bot)],
        );
        assert!(timed >= 20.0, "{bot}: {timed}");
    }
    // The twenty creations, by route template and status.
    let created = [
        ("method", "POST"),
        ("route", "/api/v1/tickets"),
        ("status", "201"),
    ];
    assert_eq!(
        value(&after, "baton_http_requests_total", &created)
            - value(&before, "baton_http_requests_total", &created),
        20.0
    );
    // Commits went through batches; nothing waits, nothing is parked.
    assert!(value(&after, "baton_commit_batch_commits_count", &[]) > 0.0);
    assert!(value(&after, "baton_commit_batch_duration_seconds_count", &[]) > 0.0);
    assert_eq!(value(&after, "baton_events_parked", &[]), 0.0);
    assert_eq!(value(&after, "baton_events_due", &[]), 0.0);
    // Closed tickets leave the open-ticket gauge.
    let open = [("metaservice", "stepper"), ("ticket_type", "flow")];
    assert_eq!(value(&after, "baton_open_tickets", &open), 0.0);
    // A bot removed: the supervisor's problem shows by check, and a new
    // ticket waits in its state, shown by the state's name.
    std::fs::remove_file(server.bots_dir().join("stepper-flow-1-a.wasm")).expect("removing");
    server
        .wait_for_bot("stepper-flow-1-a", "missing", |b| b["status"] == "missing")
        .await;
    server
        .create("stepper", "flow", serde_json::json!({}))
        .await;
    let waiting = [("metaservice", "stepper"), ("state", "a")];
    let start = std::time::Instant::now();
    loop {
        let now = scrape(&server).await;
        let problem = value(&now, "baton_supervisor_problems", &[("check", "bot")]);
        if problem == 1.0 && value(&now, "baton_open_tickets", &waiting) == 1.0 {
            break;
        }
        assert!(start.elapsed().as_secs() < 30, "no bot problem in /metrics");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
