//! Bad requests get `application/problem+json` 4xx answers with a stable
//! type and a clear detail, and write nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;

use crate::support::{Server, copy_dir, example_bots};

/// A body, its content type, and the status, problem type and detail expected.
type Case<'a> = (Vec<u8>, Option<&'a str>, StatusCode, &'a str, &'a str);

fn valid() -> Value {
    json!({"metaservice": "wca", "ticket_type": "edit_person", "title": "t",
           "metadata": {"wca_id": "2012SMIT01", "changes": {"gender": {"old": "m", "new": "f"}}}})
}

fn with(key: &str, value: Value) -> Value {
    let mut body = valid();
    body[key] = value;
    body
}

async fn expect_problem(
    server: &Server,
    body: Vec<u8>,
    content_type: Option<&str>,
    status: StatusCode,
    kind: &str,
    detail: &str,
) {
    let (got, ct, problem) = server.post_raw("/api/v1/tickets", content_type, body).await;
    assert_eq!(got, status, "{problem}");
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    assert_eq!(
        problem["type"],
        format!("urn:baton:problem:{kind}"),
        "{problem}"
    );
    assert_eq!(problem["status"], status.as_u16());
    let text = problem["detail"].as_str().unwrap_or_default();
    assert!(text.contains(detail), "expected {detail:?} in {text:?}");
}

#[tokio::test]
async fn bad_ticket_requests_are_problems_and_write_nothing() {
    let server = Server::start(|bots| copy_dir(&example_bots(), bots)).await;
    let json_ct = Some("application/json");
    let cases: Vec<Case> = vec![
        (
            b"{\"metaservice\": ".to_vec(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "EOF",
        ),
        (
            valid().to_string().into_bytes(),
            Some("text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Content-Type",
        ),
        (
            with("colour", json!("red")).to_string().into_bytes(),
            json_ct,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-request",
            "unknown field `colour`",
        ),
        (
            with("title", json!(7)).to_string().into_bytes(),
            json_ct,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-request",
            "invalid type",
        ),
        (
            with("metaservice", json!("nope")).to_string().into_bytes(),
            json_ct,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-metaservice",
            "\"nope\"",
        ),
        (
            with("metaservice", json!("baton")).to_string().into_bytes(),
            json_ct,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-metaservice",
            "filed by Baton itself",
        ),
        (
            with("ticket_type", json!("nope")).to_string().into_bytes(),
            json_ct,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-ticket-type",
            "no ticket type \"nope\"",
        ),
        (
            with("metadata", json!({"wca_id": "x"}))
                .to_string()
                .into_bytes(),
            json_ct,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-metadata",
            "changes",
        ),
        (
            with(
                "metadata",
                json!({"wca_id": "x", "changes": {"shoe_size": {"old": "1", "new": "2"}}}),
            )
            .to_string()
            .into_bytes(),
            json_ct,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-metadata",
            "/changes",
        ),
        (
            with("title", json!("   ")).to_string().into_bytes(),
            json_ct,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-request",
            "title",
        ),
        (
            vec![b' '; 2 * 1024 * 1024],
            json_ct,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "",
        ),
    ];
    for (body, ct, status, kind, detail) in cases {
        expect_problem(&server, body, ct, status, kind, detail).await;
    }

    for (path, status, kind) in [
        (
            "/api/v1/tickets/abc",
            StatusCode::BAD_REQUEST,
            "invalid-path",
        ),
        ("/api/v1/tickets/999", StatusCode::NOT_FOUND, "not-found"),
        (
            "/api/v1/tickets/999/logs",
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        ("/api/v1/nothing-here", StatusCode::NOT_FOUND, "not-found"),
    ] {
        let (got, problem) = server.get(path).await;
        assert_eq!(got, status, "{path}: {problem}");
        assert_eq!(
            problem["type"],
            format!("urn:baton:problem:{kind}"),
            "{path}"
        );
    }

    let store = server.store().await;
    for table in ["tickets", "ticket_logs", "events"] {
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {table}"
        )))
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get("n"))
        .expect("count");
        assert_eq!(n, 0, "{table} must be empty after refused requests");
    }

    // And a good request still works afterwards, with the first number.
    let (status, ticket) = server.post("/api/v1/tickets", &valid()).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    assert_eq!(ticket["id"], 1);
}

#[tokio::test]
async fn healthz_answers() {
    let server = Server::start(|_| {}).await;
    let (status, body) = server.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}
