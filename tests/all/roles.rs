//! The rules of who may do what to a ticket (engine/policy.rs), tried as
//! requesters, reviewers, group members and strangers over HTTP: naming
//! stakeholders, closed tickets, editable fields and versions, a group
//! after one member accepted, hand-over and release, acting stakeholders,
//! and event streams that end with their token.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN_TOKEN, Person, Server, copy_dir, example_bots};

async fn wca() -> Server {
    Server::start(|bots| copy_dir(&example_bots(), bots)).await
}

fn edit_person(metadata: Value) -> Value {
    json!({"metaservice": "wca", "ticket_type": "edit_person", "title": "A request", "metadata": metadata})
}

fn birthday() -> Value {
    json!({"wca_id": "2012SMIT01", "changes": {"dob": {"old": "1990-01-01", "new": "1990-01-02"}}})
}

async fn count_tickets(server: &Server) -> i64 {
    let store = server.store().await;
    sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(store.pool())
        .await
        .expect("count")
}

fn row_id(ticket: &Value, pick: impl Fn(&Value) -> bool) -> i64 {
    ticket["stakeholders"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| pick(r)))
        .and_then(|r| r["id"].as_i64())
        .unwrap_or_else(|| panic!("no such stakeholder row in {ticket}"))
}

#[tokio::test]
async fn a_requester_names_nobody_and_cannot_approve_her_own_request() {
    let server = wca().await;
    let requester = server.person("requester").await;
    let reviewer = server.person("reviewer").await;
    let stranger = server.person("stranger").await;
    server.group("wrt", &[&reviewer]).await;

    // Naming herself an actioner at creation is refused, and writes nothing.
    let before = count_tickets(&server).await;
    let mut body = edit_person(birthday());
    body["stakeholders"] =
        json!([{"user_id": requester.id, "connection": "cc", "role": "actioner"}]);
    let (status, problem) = server
        .as_(&requester, "POST", "/api/v1/tickets", Some(&body))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "urn:baton:problem:forbidden");
    assert_eq!(count_tickets(&server).await, before);

    // An admin names stakeholders, but never the same twice, nor too many.
    let twice = json!({"group": "wrt", "connection": "cc", "role": "actioner"});
    body["stakeholders"] = json!([twice, twice]);
    let (status, problem) = server.post("/api/v1/tickets", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"group": format!("g{i}"), "connection": "cc", "role": "requester"}))
        .collect();
    body["stakeholders"] = json!(many);
    let (status, problem) = server.post("/api/v1/tickets", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(count_tickets(&server).await, before);

    // Her own request, in review: she cannot approve it, nor make herself
    // an actioner, nor can the reviewer make her one.
    let ticket = server.ticket_for_wrt(&requester).await;
    let t = ticket["id"].as_i64().expect("id");
    let (status, _) = server
        .as_(
            &requester,
            "POST",
            &format!("/api/v1/tickets/{t}/actions/approve"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let me_actioner = json!({"user_id": requester.id, "connection": "cc", "role": "actioner"});
    let path = format!("/api/v1/tickets/{t}/stakeholders");
    let (status, _) = server
        .as_(&requester, "POST", &path, Some(&me_actioner))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = server
        .as_(&reviewer, "POST", &path, Some(&me_actioner))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    // Only an admin names stakeholders, and never the same one twice: a
    // reviewer could otherwise hand the right to approve to anyone, or
    // make a colleague a "requester" to shut them out.
    let watcher = json!({"user_id": stranger.id, "connection": "bcc", "role": "requester"});
    let (status, problem) = server.as_(&reviewer, "POST", &path, Some(&watcher)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, problem) = server.post(&path, &watcher).await;
    assert_eq!(status, StatusCode::CREATED, "{problem}");
    let (status, problem) = server.post(&path, &watcher).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let reassign = json!({"user_id": stranger.id, "connection": "assigned", "role": "actioner"});
    let (status, _) = server.as_(&reviewer, "POST", &path, Some(&reassign)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nor may the reviewer silence the requester.
    let theirs = row_id(&ticket, |r| r["role"] == "requester");
    let (status, problem) = server
        .as_(
            &reviewer,
            "PATCH",
            &format!("{path}/{theirs}"),
            Some(&json!({"is_active": false})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
}

#[tokio::test]
async fn a_closed_ticket_is_read_only_to_everyone() {
    let server = wca().await;
    let reviewer = server.person("reviewer").await;
    server.group("wrt", &[&reviewer]).await;
    // Only the letter case changes: the bots approve and close it.
    let id = server
        .create(
            "wca",
            "edit_person",
            json!({"wca_id": "2012SMIT01", "changes": {"name": {"old": "john smith", "new": "John Smith"}}}),
        )
        .await;
    let ticket = server
        .wait_for_ticket(id, "closed", |t| t["status"] == "closed")
        .await;
    let sid = ticket["stakeholders"][0]["id"].as_i64().expect("a row");
    let version = ticket["version"].clone();
    let writes: Vec<(&str, String, Option<Value>)> = vec![
        (
            "PATCH",
            format!("/api/v1/tickets/{id}"),
            Some(json!({"title": "rewritten"})),
        ),
        (
            "POST",
            format!("/api/v1/tickets/{id}/comments"),
            Some(json!({"body": "late"})),
        ),
        (
            "POST",
            format!("/api/v1/tickets/{id}/stakeholders"),
            Some(json!({"group": "wrt", "connection": "cc", "role": "requester"})),
        ),
        (
            "PATCH",
            format!("/api/v1/tickets/{id}/stakeholders/{sid}"),
            Some(json!({"is_active": false})),
        ),
        (
            "POST",
            format!("/api/v1/tickets/{id}/actions/approve"),
            Some(json!({})),
        ),
        ("POST", format!("/api/v1/tickets/{id}/accept"), None),
        ("POST", format!("/api/v1/tickets/{id}/release"), None),
        (
            "POST",
            format!("/api/v1/tickets/{id}/handover"),
            Some(json!({"user_id": reviewer.id})),
        ),
    ];
    for (method, path, body) in writes {
        let (status, problem) = server
            .call(method, &path, body.as_ref(), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{method} {path}: {problem}");
        assert_eq!(problem["type"], "urn:baton:problem:conflict", "{problem}");
    }
    let (_, after) = server.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(after["version"], version, "nothing was written");
    assert_eq!(after["title"], ticket["title"]);
}

#[tokio::test]
async fn metadata_fields_follow_the_manifest_and_versions_guard_edits() {
    let server = wca().await;
    let requester = server.person("requester").await;
    let reviewer = server.person("reviewer").await;
    server.group("wrt", &[&reviewer]).await;
    let ticket = server.ticket_for_wrt(&requester).await;
    let t = ticket["id"].as_i64().expect("id");
    let path = format!("/api/v1/tickets/{t}");
    let change = json!({"metadata": {"changes": {"dob": {"new": "1990-01-03"}}}});

    // Under review the request is the reviewers': the requester may not
    // rewrite it; nobody, not even an admin, rewrites the bots' findings.
    let (status, problem) = server.as_(&requester, "PATCH", &path, Some(&change)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let findings = json!({"metadata": {"review": {"problems": []}}});
    for who in [&requester, &reviewer] {
        let (status, _) = server.as_(who, "PATCH", &path, Some(&findings)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = server
        .call("PATCH", &path, Some(&findings), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // She may still fix the title.
    let (status, _) = server
        .as_(
            &requester,
            "PATCH",
            &path,
            Some(&json!({"title": "My dob"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The reviewer amends the change, naming the version read (ETag).
    let response = reqwest::Client::new()
        .get(format!("{}{path}", server.base))
        .bearer_auth(&reviewer.token)
        .send()
        .await
        .expect("GET");
    let etag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_string();
    let read: Value = response.json().await.expect("json");
    assert_eq!(etag, format!("\"{}\"", read["version"]));
    let patch = |if_match: &str, body: &Value| {
        reqwest::Client::new()
            .patch(format!("{}{path}", server.base))
            .bearer_auth(&reviewer.token)
            .header("if-match", if_match)
            .json(body)
            .send()
    };
    let response = patch(&etag, &change).await.expect("PATCH");
    assert_eq!(response.status(), StatusCode::OK);
    let new_etag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_string();
    assert_ne!(new_etag, etag);
    // The same version again has moved on: 412, and nothing is written.
    let again = json!({"metadata": {"changes": {"dob": {"new": "1990-01-04"}}}});
    let response = patch(&etag, &again).await.expect("PATCH");
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    let problem: Value = response.json().await.expect("json");
    assert_eq!(problem["type"], "urn:baton:problem:precondition-failed");
    let mut stale = again.clone();
    stale["version"] = read["version"].clone();
    let (status, _) = server.as_(&reviewer, "PATCH", &path, Some(&stale)).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (_, now) = server.get(&path).await;
    assert_eq!(now["metadata"]["changes"]["dob"]["new"], "1990-01-03");

    // A patch that breaks the schema is invalid metadata, as at creation.
    let broken = json!({"metadata": {"changes": {"shoe": {"old": "1", "new": "2"}}}});
    let (status, problem) = server.as_(&reviewer, "PATCH", &path, Some(&broken)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "urn:baton:problem:invalid-metadata");
}

#[tokio::test]
async fn a_group_keeps_seeing_what_one_member_took_and_it_changes_hands() {
    let server = wca().await;
    let requester = server.person("requester").await;
    let (m1, m2, m3) = (
        server.person("m1").await,
        server.person("m2").await,
        server.person("m3").await,
    );
    let outsider = server.person("outsider").await;
    server.group("wrt", &[&m1, &m2, &m3]).await;
    let ticket = server.ticket_for_wrt(&requester).await;
    let t = ticket["id"].as_i64().expect("id");
    let at = |what: &str| format!("/api/v1/tickets/{t}/{what}");
    let (status, _) = server.as_(&m1, "POST", &at("accept"), None).await;
    assert_eq!(status, StatusCode::OK);

    // The others still see it; a second accept is the documented 409;
    // acting on it is for the member who took it.
    let (status, _) = server
        .as_(&m2, "GET", &format!("/api/v1/tickets/{t}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = server.as_(&m2, "POST", &at("accept"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, _) = server
        .as_(&m2, "POST", &at("actions/approve"), Some(&json!({})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Hand-over: only the holder, only to a member of the group.
    let to = |p: &Person| json!({"user_id": p.id});
    let (status, _) = server
        .as_(&m2, "POST", &at("handover"), Some(&to(&m3)))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server
        .as_(&m1, "POST", &at("handover"), Some(&to(&outsider)))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, after) = server
        .as_(&m1, "POST", &at("handover"), Some(&to(&m2)))
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let holders: Vec<i64> = after["stakeholders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["connection"] == "assigned" && r["is_active"] == true)
        .filter_map(|r| r["principal"]["id"].as_i64())
        .collect();
    assert_eq!(holders, [m2.id]);
    let (status, _) = server
        .as_(&m1, "POST", &at("actions/approve"), Some(&json!({})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "m1 gave it away");
    let (status, _) = server
        .as_(&m1, "GET", &format!("/api/v1/tickets/{t}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "m1 still sees it");

    // Given back to the group: its members are asked again, and another
    // member takes it.
    let (status, _) = server.as_(&m1, "POST", &at("release"), None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only the holder gives it back"
    );
    let (status, after) = server.as_(&m2, "POST", &at("release"), None).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let group_active = after["stakeholders"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["principal"]["name"] == "wrt" && r["is_active"] == true);
    assert!(group_active, "{after}");
    let (_, inbox) = server.as_(&m3, "GET", "/api/v1/notifications", None).await;
    let asked = inbox["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["kind"] == "acceptance" && n["ticket_id"] == t)
        .count();
    assert_eq!(
        asked, 2,
        "asked when assigned and again when released: {inbox}"
    );
    let (status, _) = server.as_(&m3, "POST", &at("accept"), None).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<String> = server
        .logs(t)
        .await
        .iter()
        .filter_map(|l| l["action"].as_str().map(str::to_string))
        .filter(|a| ["accepted", "handed_over", "released"].contains(&a.as_str()))
        .collect();
    assert_eq!(actions, ["accepted", "handed_over", "released", "accepted"]);
}

#[tokio::test]
async fn acting_stakeholders_are_checked_and_logged_with_the_user() {
    let server = wca().await;
    let requester = server.person("requester").await;
    let reviewer = server.person("reviewer").await;
    server.group("wrt", &[&reviewer]).await;
    let ticket = server.ticket_for_wrt(&requester).await;
    let t = ticket["id"].as_i64().expect("id");
    let wrt = row_id(&ticket, |r| r["principal"]["name"] == "wrt");
    let theirs = row_id(&ticket, |r| r["role"] == "requester");

    // Not one of the caller's rows: 400, for actions, comments and edits.
    let path = |what: &str| format!("/api/v1/tickets/{t}{what}");
    let tries = [
        (
            "POST",
            path("/actions/reject"),
            json!({"payload": {"reason": "no"}, "acting_stakeholder_id": theirs}),
        ),
        (
            "POST",
            path("/comments"),
            json!({"body": "x", "acting_stakeholder_id": theirs}),
        ),
        (
            "PATCH",
            path(""),
            json!({"title": "y", "acting_stakeholder_id": theirs}),
        ),
    ];
    for (method, p, body) in &tries {
        let (status, problem) = server.as_(&reviewer, method, p, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {p}: {problem}");
        assert_eq!(problem["type"], "urn:baton:problem:invalid-stakeholder");
    }

    // For the WRT: the log says who (the user) and for whom (the group).
    let (status, _) = server
        .as_(
            &reviewer,
            "POST",
            &path("/actions/reject"),
            Some(&json!({"payload": {"reason": "no proof"}, "acting_stakeholder_id": wrt})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let logs = server.logs(t).await;
    let pressed = logs
        .iter()
        .find(|l| l["action"] == "action_requested")
        .expect("the action is logged");
    assert_eq!(pressed["actor"], json!({"kind": "user", "id": reviewer.id}));
    assert_eq!(pressed["acting_stakeholder_id"], wrt);
    server
        .wait_for_ticket(t, "rejected", |x| x["status"] == "closed")
        .await;
}

/// Reads a server-sent event stream until it ends; `false` if it is still
/// open after `within`.
async fn ends_within(response: reqwest::Response, within: Duration) -> bool {
    let mut response = response;
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, response.chunk()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(_) => return true,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn streams_end_with_their_token_and_are_bounded_per_user() {
    let server = wca().await;
    let user = server.person("watcher").await;
    let (status, token) = server
        .post(
            &format!("/api/v1/users/{}/tokens", user.id),
            &json!({"name": "stream"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (token_id, secret) = (
        token["id"].as_i64().expect("id"),
        token["token"].as_str().expect("token").to_string(),
    );
    let client = reqwest::Client::new();
    let open = |bearer: &str| {
        client
            .get(format!("{}/api/v1/notifications/stream", server.base))
            .bearer_auth(bearer)
            .send()
    };
    let revoked = open(&secret).await.expect("stream");
    assert_eq!(revoked.status(), StatusCode::OK);
    let mut others = Vec::new();
    for _ in 0..4 {
        let r = open(&user.token).await.expect("stream");
        assert_eq!(r.status(), StatusCode::OK);
        others.push(r);
    }
    let refused = open(&user.token).await.expect("stream");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let problem: Value = refused.json().await.expect("problem");
    assert_eq!(problem["type"], "urn:baton:problem:too-many-streams");

    // Revoking the token ends its stream at once, and frees its place.
    let (status, _) = server
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{token_id}"),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(ends_within(revoked, Duration::from_secs(10)).await);
    let start = Instant::now();
    loop {
        let again = open(&user.token).await.expect("stream");
        if again.status() == StatusCode::OK {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the revoked stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(again_slot(&open, &user.token).await);
    // Clients that go away free their places at once, not at the next
    // notification: drop all, and five can be opened again.
    drop(others);
    let mut back = Vec::new();
    for _ in 0..5 {
        back.push(again_slot(&open, &user.token).await);
    }
}

/// Opens a stream for `token`, waiting (up to 10 s) for a free place.
async fn again_slot<F, Fut>(open: &F, token: &str) -> reqwest::Response
where
    F: Fn(&str) -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let start = Instant::now();
    loop {
        let r = open(token).await.expect("stream");
        if r.status() == StatusCode::OK {
            return r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no place came free for a new stream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn leaving_a_group_hides_its_tickets_and_their_notifications() {
    let server = wca().await;
    let requester = server.person("requester").await;
    let member = server.person("member").await;
    server.group("wrt", &[&member]).await;
    let ticket = server.ticket_for_wrt(&requester).await;
    let t = ticket["id"].as_i64().expect("id");
    let inbox_about_t = |inbox: &Value| {
        inbox["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| n["ticket_id"] == t)
            .count()
    };
    let (_, inbox) = server
        .as_(&member, "GET", "/api/v1/notifications", None)
        .await;
    assert!(inbox_about_t(&inbox) > 0, "{inbox}");
    let (status, _) = server
        .call(
            "DELETE",
            &format!("/api/v1/groups/wrt/members/{}", member.id),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server
        .as_(&member, "GET", &format!("/api/v1/tickets/{t}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, inbox) = server
        .as_(&member, "GET", "/api/v1/notifications", None)
        .await;
    assert_eq!(inbox_about_t(&inbox), 0, "{inbox}");
}

#[tokio::test]
async fn a_requester_in_the_reviewing_group_still_cannot_review_her_own_request() {
    let server = wca().await;
    let requester = server.person("requester").await;
    let colleague = server.person("colleague").await;
    server.group("wrt", &[&requester, &colleague]).await;
    let ticket = server.ticket_for_wrt(&requester).await;
    let t = ticket["id"].as_i64().expect("id");
    let at = |what: &str| format!("/api/v1/tickets/{t}/{what}");
    // Through the group's row she holds `assigned`, but it is her request.
    let (status, problem) = server
        .as_(&requester, "POST", &at("actions/approve"), Some(&json!({})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, problem) = server.as_(&requester, "POST", &at("accept"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    // Nor does she rewrite what is under review, though the assigned may.
    let change = json!({"metadata": {"changes": {"dob": {"new": "1990-01-09"}}}});
    let (status, problem) = server
        .as_(
            &requester,
            "PATCH",
            &format!("/api/v1/tickets/{t}"),
            Some(&change),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    // Nor does she name an accomplice to approve it.
    let accomplice = json!({"user_id": colleague.id, "connection": "bcc", "role": "actioner"});
    let (status, _) = server
        .as_(&requester, "POST", &at("stakeholders"), Some(&accomplice))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server.as_(&colleague, "POST", &at("accept"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = server
        .as_(
            &colleague,
            "POST",
            &at("handover"),
            Some(&json!({"user_id": requester.id})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, _) = server
        .as_(&colleague, "POST", &at("actions/approve"), Some(&json!({})))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "the colleague reviews it");
}

#[tokio::test]
async fn an_admin_walks_the_readme_flow_on_her_own_request() {
    // The quick start: the admin, the only member of wrt, files a request,
    // accepts it and approves it.
    let server = wca().await;
    let (status, _) = server.post("/api/v1/groups", &json!({"name": "wrt"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = server
        .call(
            "PUT",
            "/api/v1/groups/wrt/members/1",
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let id = server.create("wca", "edit_person", birthday()).await;
    server
        .wait_for_ticket(id, "in review, assigned to wrt", |t| {
            t["stakeholders"]
                .as_array()
                .is_some_and(|rows| rows.iter().any(|r| r["principal"]["name"] == "wrt"))
        })
        .await;
    let (status, problem) = server
        .call(
            "POST",
            &format!("/api/v1/tickets/{id}/accept"),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{problem}");
    let (status, _) = server
        .post(&format!("/api/v1/tickets/{id}/actions/approve"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let done = server
        .wait_for_ticket(id, "approved", |t| t["status"] == "closed")
        .await;
    assert_eq!(done["state"]["name"], "approved");
}
