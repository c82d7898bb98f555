//! The rules around the sandbox, tried by the hostile fixture bot: what it
//! may learn about people and whom it may reach, the quotas on work queued
//! for later, the size of what it hands the host, a wait left behind by a
//! move, `exit()`, what an invocation could find of an earlier one in its
//! memory. Each time a good bot's ticket still closes promptly.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::Server;
use crate::support::hostile::{closed, hostile, messages};

async fn scalar(server: &Server, sql: &str) -> i64 {
    let store = server.store().await;
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(store.pool())
        .await
        .expect("a count")
}

/// The good bot still closes a wca ticket within a second.
async fn good_bot_goes_on(server: &Server) {
    let id = server
        .create(
            "wca",
            "edit_person",
            json!({"wca_id": "2012SMIT01", "changes": {"name": {"old": "a b", "new": "A B"}}}),
        )
        .await;
    let start = Instant::now();
    closed(server, id).await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

/// The error tickets filed for a quota cause.
async fn quota_errors(server: &Server, cause: &str) -> i64 {
    scalar(
        server,
        &format!(
            "SELECT COUNT(*) FROM tickets WHERE metaservice = 'baton' \
             AND json_extract(metadata, '$.cause') = '{cause}'"
        ),
    )
    .await
}

#[tokio::test]
async fn a_bot_learns_nothing_of_people_outside_its_tickets_and_reaches_none() {
    let server = hostile().await;
    // People of another metaservice: a WRT member with a login to steal.
    let victim = server.person("victim_login").await;
    server.group("wrt", &[&victim]).await;
    let last = victim.id + 3;
    let walker = server
        .create(
            "hostile",
            "job",
            json!({"do": "walk", "n": last, "group": "wrt"}),
        )
        .await;
    closed(&server, walker).await;
    let lines = messages(&server.logs(walker).await);
    // User 1 (the admin) created the ticket: one of its people, whom the
    // bot may address. Every other id must read the same.
    let answers: Vec<String> = (2..=last)
        .map(|user| {
            let line = lines
                .iter()
                .find(|l| l.starts_with(&format!("user {user}: ")))
                .unwrap_or_else(|| panic!("no line for user {user}: {lines:#?}"));
            // The same words for every id, once the id itself is blanked.
            line.replace(&format!("user {user}"), "user N")
        })
        .collect();
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "the answers differ between ids: {answers:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("victim_login")),
        "{lines:#?}"
    );
    assert!(answers[0].contains("not found"), "{}", answers[0]);
    let group_line = lines
        .iter()
        .find(|l| l.starts_with("group wrt:"))
        .expect("the group line");
    assert!(
        group_line.contains("accept: host refused: not found: group \"wrt\"")
            && group_line.contains("notify: host refused: not found"),
        "{group_line}"
    );
    let (_, inbox) = server
        .as_(&victim, "GET", "/api/v1/notifications", None)
        .await;
    assert_eq!(inbox["items"], json!([]), "nobody was reached");

    // Waiting on another metaservice's ticket reads like waiting on a
    // ticket that does not exist: both end at once, `ticket-gone`.
    let wca = server
        .create(
            "wca",
            "edit_person",
            json!({"wca_id": "2012SMIT01", "changes": {"dob": {"old": "1990-01-01", "new": "1990-01-02"}}}),
        )
        .await;
    let mut woke = Vec::new();
    for other in [wca, 999_999] {
        let id = server
            .create("hostile", "job", json!({"do": "wait_for", "other": other}))
            .await;
        closed(&server, id).await;
        let line = messages(&server.logs(id).await)
            .into_iter()
            .find(|l| l.starts_with("woke:"))
            .expect("woke");
        woke.push(line.replace(&other.to_string(), "N"));
    }
    assert_eq!(woke[0], woke[1]);
    assert_eq!(woke[0], "woke: TicketGone(N)");
    good_bot_goes_on(&server).await;
}

#[tokio::test]
async fn quotas_bound_what_bots_queue_for_later_with_one_error_ticket_per_cause() {
    let server = hostile().await;
    // A chain of children stops at max_child_depth = 3.
    let root = server
        .create("hostile", "job", json!({"do": "chain"}))
        .await;
    let start = Instant::now();
    loop {
        let refused = scalar(
            &server,
            "SELECT COUNT(*) FROM ticket_logs WHERE message LIKE 'child: host refused%'",
        )
        .await;
        if refused > 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no refusal");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, page) = server
        .get("/api/v1/tickets?metaservice=hostile&limit=200")
        .await;
    let depth_of = |mut id: i64| {
        let items = page["items"].as_array().cloned().unwrap_or_default();
        let mut depth = 0;
        while let Some(parent) = items
            .iter()
            .find(|t| t["id"] == id)
            .and_then(|t| t["parent_id"].as_i64())
        {
            depth += 1;
            id = parent;
        }
        depth
    };
    let deepest = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_i64())
        .map(depth_of)
        .max()
        .unwrap_or_default();
    assert_eq!(deepest, 3, "root {root}");
    assert_eq!(quota_errors(&server, "max_child_depth").await, 1);

    // Fan-out: 3 tickets ask for 5 children each; 10 a minute are allowed,
    // and the chain above made 3 of them.
    for _ in 0..3 {
        let id = server
            .create("hostile", "job", json!({"do": "fanout", "n": 5}))
            .await;
        closed(&server, id).await;
    }
    let children = scalar(
        &server,
        "SELECT COUNT(*) FROM tickets WHERE metaservice = 'hostile' AND created_by_kind = 'bot'",
    )
    .await;
    assert_eq!(children, 10, "tickets_per_minute = 10");
    assert_eq!(quota_errors(&server, "max_child_depth").await, 1);
    assert_eq!(quota_errors(&server, "tickets_per_minute").await, 1);
    // The API shows the quotas in force and what they count.
    let (_, all) = server.get("/api/v1/metaservices").await;
    let hostile = all["items"]
        .as_array()
        .and_then(|items| items.iter().find(|m| m["name"] == "hostile"))
        .cloned()
        .expect("listed");
    assert_eq!(hostile["limits"]["tickets_per_minute"], 10);
    assert_eq!(hostile["limits"]["max_child_depth"], 3);
    assert_eq!(hostile["usage"]["created_last_minute"], 10);
    assert_eq!(hostile["egress"], json!(["127.0.0.1:*", "localhost:*"]));

    // A ticket notifying itself: at most 20 pending events.
    let echo = server
        .create("hostile", "job", json!({"do": "echo", "n": 5000}))
        .await;
    let start = Instant::now();
    while quota_errors(&server, "max_pending_events").await == 0 {
        assert!(start.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pending = scalar(
        &server,
        &format!("SELECT COUNT(*) FROM events WHERE ticket_id = {echo}"),
    )
    .await;
    assert!(pending <= 21, "{pending} events queued for one ticket");
    assert_eq!(quota_errors(&server, "max_pending_events").await, 1);

    // A thousand wait(0) calls are one wait.
    let waits = server
        .create("hostile", "job", json!({"do": "waits", "n": 1000}))
        .await;
    closed(&server, waits).await;
    let woke = messages(&server.logs(waits).await)
        .iter()
        .filter(|l| l.starts_with("woke:"))
        .count();
    assert_eq!(woke, 1);
    good_bot_goes_on(&server).await;
}

#[tokio::test]
async fn what_a_bot_hands_the_host_is_bounded() {
    let server = hostile().await;
    // A megabyte of metadata is refused before it is parsed.
    let big = server
        .create("hostile", "job", json!({"do": "big_json", "n": 1_000_000}))
        .await;
    closed(&server, big).await;
    let lines = messages(&server.logs(big).await);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("big metadata:") && l.contains("at most 65536")),
        "{lines:#?}"
    );
    // A megabyte of error is kept cut, wherever it is stored.
    let failing = server
        .create("hostile", "job", json!({"do": "big_error", "n": 1_000_000}))
        .await;
    let event = server.parked(failing).await;
    let stored = event.last_error.unwrap_or_default();
    assert!(stored.len() < 3000, "{} bytes kept", stored.len());
    assert!(
        stored.contains("bytes, cut"),
        "{}",
        &stored[stored.len() - 60..]
    );
    let longest = scalar(
        &server,
        "SELECT MAX(LENGTH(metadata)) FROM tickets WHERE metaservice = 'baton'",
    )
    .await;
    assert!(longest < 4000, "an error ticket of {longest} bytes");
    let (_, bots) = server.get("/api/v1/bots").await;
    let text = bots.to_string();
    assert!(text.len() < 64 * 1024, "/bots is {} bytes", text.len());
    good_bot_goes_on(&server).await;
}

#[tokio::test]
async fn a_wait_left_behind_by_a_move_goes_and_exit_is_the_bots_failure() {
    let server = hostile().await;
    let id = server
        .create("hostile", "job", json!({"do": "wait_move"}))
        .await;
    closed(&server, id).await;
    let timers = scalar(
        &server,
        &format!("SELECT COUNT(*) FROM timers WHERE ticket_id = {id}"),
    )
    .await;
    assert_eq!(timers, 0, "no ten-year wait on a closed ticket");
    let far = server
        .create("hostile", "job", json!({"do": "wait_far"}))
        .await;
    closed(&server, far).await;
    let lines = messages(&server.logs(far).await);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("wait: ") && l.contains("more than ten years ahead")),
        "{lines:#?}"
    );

    // Notifications are bounded per invocation, a group's members each
    // counting: the flood fails, and no inbox fills.
    // The error group exists from the manifest; it gets a member.
    let admin = server.person("hostile_admin").await;
    let (status, _) = server
        .call(
            "PUT",
            &format!("/api/v1/groups/hostile_admins/members/{}", admin.id),
            None,
            Some(crate::support::ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::NO_CONTENT);
    let flood = server
        .create("hostile", "job", json!({"do": "flood", "n": 2000}))
        .await;
    let event = server.parked(flood).await;
    let error = event.last_error.unwrap_or_default();
    assert!(error.contains("more than 1000 notifications"), "{error}");
    let (_, inbox) = server
        .as_(&admin, "GET", "/api/v1/notifications?limit=200", None)
        .await;
    let floods = inbox["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["text"].as_str().is_some_and(|t| t.starts_with("flood")))
        .count();
    assert_eq!(floods, 0, "nothing of the failed invocation is committed");

    let exits = server.create("hostile", "job", json!({"do": "exit"})).await;
    let event = server.parked(exits).await;
    let error = event.last_error.unwrap_or_default();
    assert!(
        error.contains("the bot trapped") && error.contains("exit(0)"),
        "{error}"
    );
    assert!(!error.contains("host failure"), "{error}");
    good_bot_goes_on(&server).await;
}

/// Every invocation runs on a fresh instance: what one leaves in its
/// memory (a static counter, an overwritten word of `.data`, a heap block
/// it filled) is not there for the next, also now that the runtime keeps a
/// slot's written pages mapped and copies them back between instances.
/// One ticket at a time, so the instances follow each other in one slot.
#[tokio::test]
async fn an_invocation_finds_nothing_an_earlier_one_left_in_memory() {
    let server = hostile().await;
    for _ in 0..5 {
        let id = server
            .create("hostile", "job", json!({"do": "remember"}))
            .await;
        closed(&server, id).await;
        let lines = messages(&server.logs(id).await);
        assert!(
            lines
                .iter()
                .any(|l| l == "remember: runs 0, word 0x5eed, dirty heap bytes 0"),
            "{lines:#?}"
        );
    }
    good_bot_goes_on(&server).await;
}
