//! A ticket's people at work: edits, stakeholders, comments with their
//! notifications and bot events, actions, and the inbox with its stream.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN_TOKEN, Person, Server, copy_dir, example_bots};

struct Review {
    server: Server,
    reviewer: Person,
    requester: Person,
    ticket: i64,
    /// The `wrt` group's stakeholder row.
    wrt_row: i64,
    /// The requester's own row.
    requester_row: i64,
}

async fn review() -> Review {
    let server = Server::start(|bots| copy_dir(&example_bots(), bots)).await;
    let reviewer = server.person("reviewer").await;
    let requester = server.person("requester").await;
    server.group("wrt", &[&reviewer]).await;
    let ticket = server.ticket_for_wrt(&requester).await;
    let id = ticket["id"].as_i64().expect("id");
    let rows = ticket["stakeholders"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let row = |kind: &str| {
        rows.iter()
            .find(|s| s["principal"]["kind"] == kind)
            .and_then(|s| s["id"].as_i64())
            .expect("a row")
    };
    assert_eq!(rows[0]["role"], "requester", "the creator is the requester");
    Review {
        wrt_row: row("group"),
        requester_row: row("user"),
        server,
        reviewer,
        requester,
        ticket: id,
    }
}

async fn logs_until(
    server: &Server,
    id: i64,
    what: &str,
    found: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let logs = server.logs(id).await;
        if found(&logs) {
            return logs;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never {what}: {logs:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn comments_reach_the_bot_and_notify_the_other_stakeholders() {
    let r = review().await;
    let (s, t) = (&r.server, r.ticket);
    // The requester listens to their notifications as they happen.
    let mut stream = reqwest::Client::new()
        .get(format!("{}/api/v1/notifications/stream", s.base))
        .bearer_auth(&r.requester.token)
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), StatusCode::OK);

    // The reviewer writes for the WRT (their group's row)…
    let body =
        json!({"body": "Please send a scan of your passport.", "acting_stakeholder_id": r.wrt_row});
    let (status, comment) = s
        .as_(
            &r.reviewer,
            "POST",
            &format!("/api/v1/tickets/{t}/comments"),
            Some(&body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    assert_eq!(comment["acting_user_id"], r.reviewer.id);
    assert_eq!(comment["acting_stakeholder_id"], r.wrt_row);
    // …but not for the requester.
    let body = json!({"body": "impostor", "acting_stakeholder_id": r.requester_row});
    let (status, problem) = s
        .as_(
            &r.reviewer,
            "POST",
            &format!("/api/v1/tickets/{t}/comments"),
            Some(&body),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["type"], "urn:baton:problem:invalid-stakeholder");

    // The stream delivers the notification.
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains("event: notification") {
        let chunk = tokio::time::timeout_at(deadline.into(), stream.chunk())
            .await
            .expect("an event in time");
        let bytes = chunk.expect("readable").expect("still open");
        seen.push_str(&String::from_utf8_lossy(&bytes));
    }
    assert!(seen.contains("reviewer commented on ticket"), "{seen}");

    // The inbox has it, unread; the author got nothing.
    let (_, inbox) = s
        .as_(&r.requester, "GET", "/api/v1/notifications", None)
        .await;
    let first = &inbox["items"][0];
    assert_eq!(
        (first["kind"].as_str(), first["read"].as_bool()),
        (Some("comment"), Some(false))
    );
    assert!(
        first["text"]
            .as_str()
            .unwrap_or_default()
            .contains("passport")
    );
    let (_, own) = s
        .as_(&r.reviewer, "GET", "/api/v1/notifications", None)
        .await;
    // The author is not told of their own comment (only asked to accept).
    let own_comments = own["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["kind"] == "comment")
        .count();
    assert_eq!(own_comments, 0, "{own}");
    let nid = first["id"].as_i64().expect("id");
    assert_eq!(
        s.as_(
            &r.requester,
            "POST",
            &format!("/api/v1/notifications/{nid}/read"),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.as_(
            &r.reviewer,
            "POST",
            &format!("/api/v1/notifications/{nid}/read"),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (_, inbox) = s
        .as_(&r.requester, "GET", "/api/v1/notifications", None)
        .await;
    assert_eq!(inbox["items"][0]["read"], true);

    // The bot of the state heard of it.
    let cid = comment["id"].as_i64().expect("id");
    let note = format!(
        "comment {cid} from user {} noted for the review",
        r.reviewer.id
    );
    logs_until(s, t, "noted by the bot", |logs| {
        logs.iter().any(|l| l["message"] == note.as_str())
    })
    .await;
    let (_, comments) = s
        .as_(
            &r.requester,
            "GET",
            &format!("/api/v1/tickets/{t}/comments"),
            None,
        )
        .await;
    assert_eq!(comments["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn an_action_runs_in_the_bot_of_the_state_and_others_are_refused() {
    let r = review().await;
    let (s, t) = (&r.server, r.ticket);
    for (name, payload, status) in [
        ("shrug", json!({}), StatusCode::NOT_FOUND),
        (
            "reject",
            json!({"reason": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (got, problem) = s
            .as_(
                &r.reviewer,
                "POST",
                &format!("/api/v1/tickets/{t}/actions/{name}"),
                Some(&json!({"payload": payload})),
            )
            .await;
        assert_eq!(got, status, "{name}: {problem}");
    }
    let (got, _) = s
        .as_(
            &r.requester,
            "POST",
            &format!("/api/v1/tickets/{t}/actions/approve"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(
        got,
        StatusCode::FORBIDDEN,
        "the requester does not approve their own request"
    );

    let (got, body) = s
        .as_(
            &r.reviewer,
            "POST",
            &format!("/api/v1/tickets/{t}/actions/approve"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(got, StatusCode::ACCEPTED, "{body}");
    let ticket = s
        .wait_for_ticket(t, "approved", |x| x["status"] == "closed")
        .await;
    assert_eq!(ticket["state"]["name"], "approved");
    let logs = s.logs(t).await;
    assert!(
        logs.iter()
            .any(|l| l["action"] == "action_requested" && l["actor"]["id"] == r.reviewer.id)
    );
    assert!(
        logs.iter()
            .any(|l| l["message"] == "approved by the WCA Results Team"
                && l["actor"]["name"] == "wca-edit_person-2-in_review")
    );
    let (got, _) = s
        .as_(
            &r.reviewer,
            "POST",
            &format!("/api/v1/tickets/{t}/actions/approve"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(got, StatusCode::CONFLICT, "a closed ticket takes no action");
}

#[tokio::test]
async fn edits_and_stakeholder_changes_are_validated_and_logged() {
    let r = review().await;
    let (s, t) = (&r.server, r.ticket);
    // Under review, the requester may change the title but not the
    // request; the reviewer (assigned through the group) may amend it.
    let (status, problem) = s
        .as_(
            &r.requester,
            "PATCH",
            &format!("/api/v1/tickets/{t}"),
            Some(&json!({"metadata": {"changes": {"dob": {"new": "1990-01-03"}}}})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, _) = s
        .as_(
            &r.requester,
            "PATCH",
            &format!("/api/v1/tickets/{t}"),
            Some(&json!({"title": "My date of birth"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let patch = json!({"metadata": {"changes": {"dob": {"new": "1990-01-03"}}}});
    let (status, ticket) = s
        .as_(
            &r.reviewer,
            "PATCH",
            &format!("/api/v1/tickets/{t}"),
            Some(&patch),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    assert_eq!(ticket["title"], "My date of birth");
    assert_eq!(
        ticket["metadata"]["changes"]["dob"],
        json!({"old": "1990-01-01", "new": "1990-01-03"})
    );
    let version = ticket["version"].clone();

    // A patch that breaks the schema writes nothing.
    let bad = json!({"title": "never", "metadata": {"changes": {"dob": null, "shoe": {"old": "1", "new": "2"}}}});
    let (status, problem) = s
        .as_(
            &r.reviewer,
            "PATCH",
            &format!("/api/v1/tickets/{t}"),
            Some(&bad),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "urn:baton:problem:invalid-metadata");
    let (_, after) = s.get(&format!("/api/v1/tickets/{t}")).await;
    assert_eq!(
        (after["title"].clone(), after["version"].clone()),
        (json!("My date of birth"), version)
    );

    let logs = s.logs(t).await;
    let changed = logs
        .iter()
        .find(|l| l["action"] == "metadata_changed" && l["actor"]["kind"] == "user")
        .expect("logged");
    assert_eq!(changed["actor"]["id"], r.reviewer.id);
    assert_eq!(changed["data"]["fields"], json!(["changes"]));
    assert_eq!(
        changed["data"]["old"]["changes"]["dob"]["new"],
        "1990-01-02"
    );
    assert_eq!(
        changed["data"]["new"]["changes"]["dob"]["new"],
        "1990-01-03"
    );
    assert!(logs.iter().any(|l| l["action"] == "title_changed"));

    // An admin adds a cc and then deactivates it: the row stays,
    // inactive. (The reviewer may not: only admins name stakeholders.)
    let watcher = s.person("watcher").await;
    let add = json!({"user_id": watcher.id, "connection": "bcc", "role": "actioner"});
    let (status, _) = s
        .as_(
            &r.reviewer,
            "POST",
            &format!("/api/v1/tickets/{t}/stakeholders"),
            Some(&add),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ticket) = s
        .post(&format!("/api/v1/tickets/{t}/stakeholders"), &add)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let sid = ticket["stakeholders"]
        .as_array()
        .and_then(|rows| rows.last())
        .and_then(|row| row["id"].as_i64())
        .expect("row");
    let (status, ticket) = s
        .call(
            "PATCH",
            &format!("/api/v1/tickets/{t}/stakeholders/{sid}"),
            Some(&json!({"is_active": false})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let row = ticket["stakeholders"]
        .as_array()
        .and_then(|rows| rows.iter().find(|x| x["id"] == sid))
        .cloned()
        .expect("kept");
    assert_eq!(row["is_active"], false);
    let logs = s.logs(t).await;
    assert!(logs.iter().any(|l| l["action"] == "stakeholder_added"));
    assert!(logs.iter().any(|l| l["action"] == "stakeholder_changed" && l["data"]["new"]["is_active"] == false));
    for bad in [
        json!({"user_id": 1, "group": "wrt", "connection": "cc", "role": "actioner"}),
        json!({"group": "wrt", "connection": "boss", "role": "actioner"}),
        json!({"group": "nobody", "connection": "cc", "role": "actioner"}),
    ] {
        let (status, problem) = s
            .post(&format!("/api/v1/tickets/{t}/stakeholders"), &bad)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
    }
}

#[tokio::test]
async fn settings_are_validated_logged_and_kept_across_restarts() {
    let mut server = Server::start(|bots| copy_dir(&example_bots(), bots)).await;
    let path = "/api/v1/metaservices/wca/ticket-types/edit_person/settings";
    let (status, settings) = server
        .call(
            "PATCH",
            path,
            Some(&json!({"lifetime": "36h", "notify_repeats": 5})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(
        (
            settings["lifetime"].as_str(),
            settings["notify_repeats"].as_i64()
        ),
        (Some("1d12h"), Some(5))
    );
    for bad in [
        json!({"lifetime": "36"}),
        json!({"colour": "red"}),
        json!({"notify_repeats": -1}),
        json!({"on_retention": "shred"}),
    ] {
        let (status, _) = server
            .call("PATCH", path, Some(&bad), Some(ADMIN_TOKEN))
            .await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {status}"
        );
    }
    let (status, _) = server
        .call(
            "PATCH",
            "/api/v1/metaservices/wca/ticket-types/nothing/settings",
            Some(&json!({})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    server.restart().await;
    let (_, types) = server.get("/api/v1/metaservices/wca/ticket-types").await;
    let edit_person = types["items"]
        .as_array()
        .and_then(|types| types.iter().find(|t| t["name"] == "edit_person"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(edit_person["settings"]["lifetime"], "1d12h");
    // A state with a lifetime of its own keeps it; the others follow.
    let lifetime_in = |code: u64| {
        edit_person["states"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["code"] == code))
            .map(|s| s["settings"]["lifetime"].clone())
    };
    assert_eq!(lifetime_in(1), Some(json!("1h")));
    assert_eq!(lifetime_in(2), Some(json!("1d12h")));
    let store = server.store().await;
    let changes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM settings_changes")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(changes, 1, "one change, logged");
}

#[tokio::test]
async fn a_member_of_the_assigned_group_accepts_once() {
    let r = review().await;
    let (s, t) = (&r.server, r.ticket);
    // The group's members were asked to accept.
    let (_, inbox) = s
        .as_(&r.reviewer, "GET", "/api/v1/notifications", None)
        .await;
    assert!(
        inbox["items"].as_array().is_some_and(|n| n
            .iter()
            .any(|x| x["kind"] == "acceptance" && x["ticket_id"] == t)),
        "{inbox}"
    );
    let path = format!("/api/v1/tickets/{t}/accept");
    let (status, problem) = s.as_(&r.requester, "POST", &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");

    let (status, ticket) = s.as_(&r.reviewer, "POST", &path, None).await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    let rows = ticket["stakeholders"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let group = rows
        .iter()
        .find(|x| x["id"] == r.wrt_row)
        .expect("the group's row is kept");
    assert_eq!(group["is_active"], false);
    let taker = rows
        .iter()
        .find(|x| x["principal"] == json!({"kind": "user", "id": r.reviewer.id}))
        .expect("a row");
    assert_eq!(
        (taker["connection"].as_str(), taker["is_active"].as_bool()),
        (Some("assigned"), Some(true))
    );

    let (status, problem) = s.as_(&r.reviewer, "POST", &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    logs_until(s, t, "the bot heard of it", |logs| {
        logs.iter()
            .any(|l| l["message"] == format!("user {} took the review", r.reviewer.id).as_str())
    })
    .await;
    assert!(s.logs(t).await.iter().any(|l| l["action"] == "accepted"));
    // The reviewer, now assigned directly, still acts on the ticket.
    let (status, _) = s
        .as_(
            &r.reviewer,
            "POST",
            &format!("/api/v1/tickets/{t}/actions/approve"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}
