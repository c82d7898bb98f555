//! The `wca` example end to end: `edit_person` assigned to the review group
//! by its bot, with acceptance, reminders and a timeout (on a manual
//! clock), and `anonymization` with its `anonymize_profile` child (over
//! HTTP).

use std::time::{Duration, Instant};

use baton_host::engine::{CreateTicket, Engine};
use baton_host::model::{Actor, Status};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::engine::{person, setup_with, start, timers, until_logged};
use crate::support::{Person, Server, copy_dir, example_bots};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Polls a user's inbox until it holds `n` notifications of `kind` (or
/// ten seconds pass); returns how many it holds.
async fn count_in_inbox(e: &Engine, user: i64, kind: &str, n: usize) -> usize {
    let start = Instant::now();
    loop {
        let inbox = e.store.notifications(user, None, 100).await.expect("inbox");
        let count = inbox.iter().filter(|x| x.kind == kind).count();
        if count >= n || start.elapsed() > Duration::from_secs(10) {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn edit_person_goes_to_wrt_reminds_and_times_out() {
    let (dir, clock) = setup_with(&example_bots());
    let r = start(dir.path(), clock.clone()).await;
    let e = &r.engine;
    let requester = person(e, "requester").await;
    let reviewer = person(e, "reviewer").await;
    let group = e.store.create_group("wrt", 0).await.expect("group");
    e.store
        .set_member(group.id, reviewer.id, true)
        .await
        .expect("member");
    // No stakeholders given: the in_review bot assigns the group from the
    // manifest's [config].
    let req = CreateTicket {
        metaservice: "wca".into(),
        ticket_type: "edit_person".into(),
        title: "My birthday".into(),
        metadata: json!({"wca_id": "2012SMIT01", "changes": {"dob": {"old": "1990-01-01", "new": "1990-01-02"}}}),
        stakeholders: Vec::new(),
        by_admin: false,
    };
    let id = e
        .create_ticket(req, Actor::User(requester.id))
        .await
        .expect("created")
        .id;
    until_logged(e, id, "assigned to group wrt").await;
    assert_eq!(count_in_inbox(e, reviewer.id, "acceptance", 1).await, 1);

    // wca edit_person: notify_every = 1d, notify_repeats = 3.
    for n in 1..=3usize {
        clock.advance(DAY + 1);
        e.poke();
        assert_eq!(
            count_in_inbox(e, reviewer.id, "acceptance", n + 1).await,
            n + 1,
            "asked again after each day"
        );
        until_logged(
            e,
            id,
            &format!("reminder {n} of 3 sent; nobody has accepted the review"),
        )
        .await;
    }
    until_logged(e, id, "that was the last one").await;
    assert!(timers(e, id).await.iter().all(|k| k != "reminder"));
    clock.advance(5 * DAY);
    e.poke();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        count_in_inbox(e, reviewer.id, "acceptance", 5).await,
        4,
        "at most notify_repeats reminders"
    );

    // 14 days in review: the SDK's default timeout tells the requester and
    // files an error ticket for the WCA Software Team.
    clock.advance(7 * DAY);
    e.poke();
    until_logged(e, id, "is out of service").await;
    assert_eq!(count_in_inbox(e, requester.id, "bot", 1).await, 1);
    let logs = e.store.logs(id).await.expect("logs");
    let error_id = logs
        .iter()
        .find(|l| l.action == "error_filed")
        .and_then(|l| l.data.as_ref())
        .and_then(|d| d["error_ticket_id"].as_i64())
        .expect("an error ticket");
    let rows = e.store.stakeholders(error_id).await.expect("rows");
    assert!(
        rows.iter()
            .any(|s| s.group.as_deref() == Some("wst") && s.connection == "assigned"),
        "{rows:?}"
    );
    let ticket = e.store.ticket(id).await.expect("read").expect("exists");
    assert_eq!(ticket.status, Status::Open, "a person decides what next");
    r.dispatcher.abort();
}

struct Cast {
    server: Server,
    requester: Person,
    reviewer: Person,
    outsider: Person,
}

async fn cast() -> Cast {
    let server = Server::start(|bots| copy_dir(&example_bots(), bots)).await;
    let requester = server.person("requester").await;
    let reviewer = server.person("reviewer").await;
    let outsider = server.person("outsider").await;
    server.group("wrt", &[&reviewer]).await;
    Cast {
        server,
        requester,
        reviewer,
        outsider,
    }
}

/// Polls ticket `id`'s log until a line says `what`.
async fn logged(s: &Server, id: i64, what: &str) {
    s.wait_for_log(id, what).await;
}

async fn inbox(s: &Server, who: &Person) -> Vec<Value> {
    let (status, body) = s.as_(who, "GET", "/api/v1/notifications", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn press(s: &Server, who: &Person, id: i64, action: &str) {
    let (status, body) = s
        .as_(
            who,
            "POST",
            &format!("/api/v1/tickets/{id}/actions/{action}"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{action}: {body}");
}

#[tokio::test]
async fn a_member_of_wrt_accepts_the_review_the_bot_asked_for() {
    let c = cast().await;
    let s = &c.server;
    let body = json!({"metaservice": "wca", "ticket_type": "edit_person", "title": "My birthday",
        "metadata": {"wca_id": "2012SMIT01", "changes": {"dob": {"old": "1990-01-01", "new": "1990-01-02"}}}});
    let (status, ticket) = s
        .as_(&c.requester, "POST", "/api/v1/tickets", Some(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let id = ticket["id"].as_i64().expect("id");
    logged(s, id, "assigned to group wrt").await;
    assert!(
        inbox(s, &c.reviewer)
            .await
            .iter()
            .any(|n| n["kind"] == "acceptance" && n["ticket_id"] == id)
    );
    let accept = format!("/api/v1/tickets/{id}/accept");
    // The requester sees the ticket but is not in the group.
    let (status, _) = s.as_(&c.requester, "POST", &accept, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = s.as_(&c.reviewer, "POST", &accept, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = s.as_(&c.reviewer, "POST", &accept, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    logged(s, id, &format!("user {} took the review", c.reviewer.id)).await;
    press(s, &c.reviewer, id, "approve").await;
    s.wait_for_ticket(id, "approved", |t| t["state"]["name"] == "approved")
        .await;
    // The requester and the reviewer who took it hear that it closed.
    for who in [&c.requester, &c.reviewer] {
        let told = inbox(s, who)
            .await
            .into_iter()
            .find(|n| n["kind"] == "closed");
        let told = told.unwrap_or_else(|| panic!("user {} was not told", who.id));
        assert_eq!(told["ticket_id"], id);
        assert_eq!(
            told["text"],
            format!("ticket {id} (My birthday) is closed: approved")
        );
    }
    assert!(
        inbox(s, &c.outsider).await.is_empty(),
        "an outsider hears nothing"
    );
}

#[tokio::test]
async fn anonymizing_account_and_profile_waits_for_the_profile_ticket() {
    let c = cast().await;
    let s = &c.server;
    let body = json!({"metaservice": "wca", "ticket_type": "anonymization", "title": "Forget me",
        "metadata": {"user_id": 42, "scope": "account_and_profile", "wca_id": "2012SMIT01"}});
    let (status, ticket) = s
        .as_(&c.requester, "POST", "/api/v1/tickets", Some(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let id = ticket["id"].as_i64().expect("id");
    logged(s, id, "Received anonymization request from user with user ID 42. The anonymization request is \"account & profile\".").await;
    assert!(inbox(s, &c.requester).await.iter().any(|n| {
        n["text"]
            .as_str()
            .is_some_and(|t| t.contains("WCA Results Team will work on this request soon"))
    }));

    // Taking the request opens the profile part, for the same reviewer.
    let (status, body) = s
        .as_(
            &c.reviewer,
            "POST",
            &format!("/api/v1/tickets/{id}/accept"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let parent = s
        .wait_for_ticket(id, "given a profile ticket", |t| {
            t["metadata"]["profile_ticket"].is_i64()
        })
        .await;
    let child = parent["metadata"]["profile_ticket"]
        .as_i64()
        .expect("child");
    logged(
        s,
        child,
        "run the anonymization script for profile 2012SMIT01",
    )
    .await;
    let (status, child_view) = s
        .as_(
            &c.requester,
            "GET",
            &format!("/api/v1/tickets/{child}"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the requester follows the profile part"
    );
    let rows = child_view["stakeholders"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let active_assignee = rows
        .iter()
        .filter(|r| r["connection"] == "assigned" && r["is_active"] == true)
        .map(|r| r["principal"].clone())
        .collect::<Vec<_>>();
    assert_eq!(
        active_assignee,
        vec![json!({"kind": "user", "id": c.reviewer.id})],
        "assigned straight to the reviewer of the request: {rows:?}"
    );
    let (status, _) = s
        .as_(
            &c.outsider,
            "GET",
            &format!("/api/v1/tickets/{child}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Not complete while the profile part is open.
    press(s, &c.reviewer, id, "anonymize_account").await;
    logged(s, id, "account of user 42 anonymized").await;
    press(s, &c.reviewer, id, "mark_as_completed").await;
    logged(
        s,
        id,
        &format!("cannot mark as completed yet: the profile (ticket {child})"),
    )
    .await;

    // The script ran: closing the child wakes the request.
    press(s, &c.reviewer, child, "mark_as_completed").await;
    logged(
        s,
        id,
        &format!("profile anonymized (ticket {child}); everything is done"),
    )
    .await;
    press(s, &c.reviewer, id, "mark_as_completed").await;
    s.wait_for_ticket(id, "completed", |t| t["state"]["name"] == "completed")
        .await;
    assert!(inbox(s, &c.requester).await.iter().any(|n| {
        n["text"]
            .as_str()
            .is_some_and(|t| t.ends_with("is completed."))
    }));
}

/// `who`'s notifications of `kind` about ticket `id`, polled until there
/// are `n`.
async fn told(s: &Server, who: &Person, kind: &str, id: i64, n: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let got: Vec<Value> = inbox(s, who)
            .await
            .into_iter()
            .filter(|m| m["kind"] == kind && m["ticket_id"] == id)
            .collect();
        if got.len() >= n {
            return got;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "user {} has {} {kind} notifications, not {n}: {got:?}\n{}",
            who.id,
            got.len(),
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn nobody_accepts_so_wrt_is_reminded_and_the_review_times_out_over_http() {
    let mut c = cast().await;
    let body = json!({"metaservice": "wca", "ticket_type": "edit_person", "title": "My birthday",
        "metadata": {"wca_id": "2012SMIT01", "changes": {"dob": {"old": "1990-01-01", "new": "1990-01-02"}}}});
    let (status, ticket) = c
        .server
        .as_(&c.requester, "POST", "/api/v1/tickets", Some(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let id = ticket["id"].as_i64().expect("id");
    logged(&c.server, id, "assigned to group wrt").await;
    told(&c.server, &c.reviewer, "acceptance", id, 1).await;

    // A day later (the server restarted with its clock a day on): asked
    // again, and the bot hears of it.
    c.server
        .restart_with(&[("BATON_CLOCK_OFFSET", "1d1m")])
        .await;
    told(&c.server, &c.reviewer, "acceptance", id, 2).await;
    logged(&c.server, id, "reminder 1 of 3 sent").await;

    // Fourteen days in review: the lifetime is up. The SDK's default
    // timeout tells the requester and files an error ticket for `wst`.
    c.server
        .restart_with(&[("BATON_CLOCK_OFFSET", "14d1h")])
        .await;
    logged(&c.server, id, "is out of service").await;
    let out = told(&c.server, &c.requester, "bot", id, 1).await;
    assert!(
        out[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("out of service")),
        "{out:?}"
    );
    let logs = c.server.logs(id).await;
    let error_id = logs
        .iter()
        .find(|l| l["action"] == "error_filed")
        .and_then(|l| l["data"]["error_ticket_id"].as_i64())
        .expect("an error ticket");
    let (_, report) = c.server.get(&format!("/api/v1/tickets/{error_id}")).await;
    assert_eq!(report["parent_id"], id);
    assert_eq!(
        report["stakeholders"][0]["principal"],
        json!({"kind": "group", "name": "wst"})
    );
    let (_, ticket) = c.server.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(ticket["status"], "open", "a person decides what next");
}
