//! Logs as a collector reads them (`log_format = "json"`): a bot's own
//! output carries its name and the ticket, from the span every invocation
//! runs in (with its bot, ticket, event and duration).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::hostile::hostile;

#[tokio::test]
async fn json_logs_carry_the_bot_and_the_ticket_of_a_bots_output() {
    let mut server = hostile().await;
    server.kill();
    server.revive(&[("BATON_LOG_FORMAT", "json")]).await;
    let id = server
        .create("hostile", "job", json!({"do": "panic"}))
        .await;
    let start = Instant::now();
    let line = loop {
        let log = server.log();
        let found = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| {
                l["fields"]["stream"] == "stderr"
                    && l["fields"]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("this bot panics on request"))
                    && l["span"]["ticket"] == id
            });
        if let Some(line) = found {
            break line;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no such line:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(line["fields"]["bot"], "hostile-job-1-run", "{line}");
    let invocation = &line["span"];
    assert_eq!(invocation["name"], "invocation", "{line}");
    assert_eq!(invocation["bot"], "hostile-job-1-run", "{line}");
    assert!(invocation["event"].as_i64().is_some(), "{line}");
    assert!(
        line["timestamp"].is_string() && line["level"].is_string(),
        "{line}"
    );
}
