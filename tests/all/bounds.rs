//! Input that must be refused, and what is accepted can be read back:
//! bounded durations (no wrap into the past), bounded JSON documents on
//! every path, JSON objects only where objects are documented, bounded
//! field lengths, one problem type per cause, and the lifetime's deadline
//! on every ticket.

use baton_host::model::document::MAX_DEPTH;
use baton_host::model::{Actor, Catalog, Status, manifest};
use baton_host::store::{Commit, NewTicket, SqliteStore, Store, TicketUpdate};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN_TOKEN, Server, copy_dir, example_bots, fixture_bots};

fn nested(levels: usize) -> Value {
    let mut v = json!("bottom");
    for _ in 0..levels {
        v = json!({ "down": v });
    }
    v
}

async fn count(server: &Server, sql: &str) -> i64 {
    let store = server.store().await;
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(store.pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn durations_are_bounded_so_nothing_wraps_into_the_past() {
    let server = Server::start(|bots| copy_dir(&example_bots(), bots)).await;
    let requester = server.person("requester").await;
    let reviewer = server.person("reviewer").await;
    server.group("wrt", &[&reviewer]).await;
    let ticket = server.ticket_for_wrt(&requester).await;
    let t = ticket["id"].as_i64().expect("id");
    let deadline = ticket["deadline_at"].clone();
    assert!(deadline.is_string(), "a ticket in review has a deadline");
    let path = "/api/v1/metaservices/wca/ticket-types/edit_person/settings";
    for body in [
        json!({"lifetime": "18446744073709551615s"}),
        json!({"lifetime": "5300w"}),
        json!({"lifetime": "0s"}),
        json!({"notify_every": "18446744073709551615s"}),
        json!({"notify_every": "10s"}),
        json!({"notify_repeats": 1000000}),
        json!({"retention": "99999999d"}),
    ] {
        let (status, problem) = server
            .call("PATCH", path, Some(&body), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["type"], "urn:baton:problem:invalid-request");
    }
    // Nothing moved: the waiting ticket keeps its deadline, and no
    // timeout or error ticket came of it.
    let (_, after) = server.get(&format!("/api/v1/tickets/{t}")).await;
    assert_eq!(after["deadline_at"], deadline);
    assert_eq!(after["status"], "open");
    let errors = count(
        &server,
        "SELECT COUNT(*) FROM tickets WHERE metaservice = 'baton'",
    )
    .await;
    assert_eq!(errors, 0);
    // A sane change still applies, and moves the deadline with it.
    let (status, _) = server
        .call(
            "PATCH",
            path,
            Some(&json!({"lifetime": "2d"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, moved) = server.get(&format!("/api/v1/tickets/{t}")).await;
    let (a, b) = (chrono_ms(&deadline), chrono_ms(&moved["deadline_at"]));
    assert_eq!(
        a - b,
        12 * 86_400_000,
        "14d → 2d: {deadline} → {}",
        moved["deadline_at"]
    );
}

fn chrono_ms(v: &Value) -> i64 {
    let text = v.as_str().expect("a time");
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .timestamp_millis()
}

#[tokio::test]
async fn documents_are_bounded_the_same_on_every_path() {
    let server = Server::start(|bots| {
        copy_dir(&example_bots(), bots);
        copy_dir(&fixture_bots(), bots);
    })
    .await;
    let create = |metadata: Value| json!({"metaservice": "waiter", "ticket_type": "job", "title": "deep", "metadata": metadata});
    // One level for the metadata object itself, one for "deep".
    let ok = create(json!({"mode": "stuck", "deep": nested(MAX_DEPTH - 2)}));
    let (status, ticket) = server.post("/api/v1/tickets", &ok).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let t = ticket["id"].as_i64().expect("id");
    let too_deep = create(json!({"mode": "stuck", "deep": nested(MAX_DEPTH)}));
    let (status, problem) = server.post("/api/v1/tickets", &too_deep).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "urn:baton:problem:invalid-metadata");
    let big = create(json!({"mode": "stuck", "blob": "x".repeat(70 * 1024)}));
    let (status, problem) = server.post("/api/v1/tickets", &big).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "urn:baton:problem:invalid-metadata");

    // PATCH: the same bound on the merged document.
    let (status, problem) = server
        .call(
            "PATCH",
            &format!("/api/v1/tickets/{t}"),
            Some(&json!({"metadata": {"notes": nested(MAX_DEPTH)}})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "urn:baton:problem:invalid-metadata");
    let (_, read) = server.get(&format!("/api/v1/tickets/{t}")).await;
    assert_eq!(read["metadata"]["deep"], nested(MAX_DEPTH - 2));
    assert!(read["metadata"].get("notes").is_none());

    // An action's payload: the same bound.
    let reviewer = server.person("reviewer").await;
    server.group("wrt", &[&reviewer]).await;
    let review = server.ticket_for_wrt(&reviewer).await;
    let r = review["id"].as_i64().expect("id");
    let (status, problem) = server
        .post(
            &format!("/api/v1/tickets/{r}/actions/reject"),
            &json!({"payload": {"reason": "deep", "why": nested(MAX_DEPTH)}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "urn:baton:problem:invalid-request");
}

#[tokio::test]
async fn a_document_at_the_limit_is_archived_and_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("deep.db").display());
    let store = SqliteStore::open(&url).await.expect("open");
    let text = r#"
        name = "shop"
        error_group = "ops"
        [ticket_types.order]
        transitions = [[1, 2]]
        states = [{ code = 1, name = "new" }, { code = 2, name = "shipped", terminal = true }]
    "#;
    let ms =
        manifest::parse("shop.metaservice.toml", text, &|_| Err("none".into())).expect("manifest");
    store
        .sync_catalog(&Catalog::new([ms]), 0)
        .await
        .expect("sync");
    let metadata = json!({ "deep": nested(MAX_DEPTH - 1) });
    baton_host::model::document::check(&metadata).expect("at the limit, accepted");
    let ticket = NewTicket {
        id: 1,
        metaservice: "shop".into(),
        ticket_type: "order".into(),
        title: "deep".into(),
        state_code: 1,
        status: Status::Open,
        metadata: metadata.into(),
        parent_id: None,
        created_by: Actor::Host,
        stakeholders: Vec::new(),
    };
    let open = Commit {
        inserts: vec![ticket],
        ..Commit::default()
    };
    store.commit(&open, 1).await.expect("insert");
    let close = Commit {
        updates: vec![TicketUpdate {
            id: 1,
            expected_version: 1,
            title: None,
            state: Some((2, Status::Closed)),
            metadata: None,
        }],
        ..Commit::default()
    };
    store.commit(&close, 2).await.expect("close");
    assert_eq!(store.retire(&[1], true, 3).await.expect("archive"), 1);
    let doc = store.archived(1).await.expect("the archive reads back");
    let doc = doc.expect("archived");
    assert_eq!(doc["ticket"]["metadata"]["deep"], nested(MAX_DEPTH - 1));
}

#[tokio::test]
async fn only_documented_objects_are_bodies() {
    let server = Server::start(|bots| copy_dir(&example_bots(), bots)).await;
    let users_before = count(&server, "SELECT COUNT(*) FROM users").await;
    for (method, path, body) in [
        ("POST", "/api/v1/users", json!(["x", "X", null, true])),
        ("POST", "/api/v1/groups", json!(["g"])),
        ("POST", "/api/v1/tickets", json!(42)),
        ("POST", "/api/v1/tickets", json!("a string")),
    ] {
        let (status, problem) = server
            .call(method, path, Some(&body), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["type"], "urn:baton:problem:invalid-request");
    }
    assert_eq!(
        count(&server, "SELECT COUNT(*) FROM users").await,
        users_before
    );
    let id = server
        .create(
            "wca",
            "edit_person",
            json!({"wca_id": "2012SMIT01", "changes": {"gender": {"old": "m", "new": "f"}}}),
        )
        .await;
    let (status, problem) = server
        .call(
            "PATCH",
            &format!("/api/v1/tickets/{id}"),
            Some(&json!(["title", null])),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    // Outside the documented operations, answers are problems too.
    for (method, path, status) in [
        ("PUT", "/api/v1/tickets", StatusCode::METHOD_NOT_ALLOWED),
        ("GET", "/api/v1/", StatusCode::NOT_FOUND),
        ("GET", "/nowhere", StatusCode::NOT_FOUND),
    ] {
        let (got, problem) = server
            .call(method, path, Some(&json!({})), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(got, status, "{method} {path}: {problem}");
        assert!(
            problem["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:baton:problem:")),
            "{method} {path}: {problem}"
        );
    }
}

#[tokio::test]
async fn long_fields_are_refused_before_any_bot_sees_them() {
    let server = Server::start(|bots| copy_dir(&example_bots(), bots)).await;
    let person = server.person("someone").await;
    let long_id = "1".repeat(200 * 1024);
    let body = json!({"metaservice": "wca", "ticket_type": "edit_person", "title": "x",
        "metadata": {"wca_id": long_id, "changes": {"gender": {"old": "m", "new": "f"}}}});
    let (status, problem) = server
        .as_(&person, "POST", "/api/v1/tickets", Some(&body))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "urn:baton:problem:invalid-metadata");
    let long_change = json!({"metaservice": "wca", "ticket_type": "edit_person", "title": "x",
        "metadata": {"wca_id": "2012SMIT01", "changes": {"name": {"old": "a", "new": "b".repeat(201)}}}});
    let (status, _) = server
        .as_(&person, "POST", "/api/v1/tickets", Some(&long_change))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let long_title = json!({"metaservice": "wca", "ticket_type": "edit_person", "title": "t".repeat(501),
        "metadata": {"wca_id": "2012SMIT01", "changes": {"gender": {"old": "m", "new": "f"}}}});
    let (status, _) = server
        .as_(&person, "POST", "/api/v1/tickets", Some(&long_title))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Nothing reached a bot, so nobody could file error tickets with it.
    assert_eq!(count(&server, "SELECT COUNT(*) FROM tickets").await, 0);
    // A comment has a limit too.
    let id = server
        .create(
            "wca",
            "edit_person",
            json!({"wca_id": "2012SMIT01", "changes": {"dob": {"old": "1990-01-01", "new": "1990-01-02"}}}),
        )
        .await;
    let (status, _) = server
        .post(
            &format!("/api/v1/tickets/{id}/comments"),
            &json!({"body": "c".repeat(20_001)}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
