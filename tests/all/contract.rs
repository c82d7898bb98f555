//! The API contract: the OpenAPI 3.1 document is served, passes
//! `openapi-spec-validator`, matches the committed `docs/openapi.json`,
//! every operation in it is a real, protected route, and it says what
//! clients need: ids, summaries, examples that fit their schemas, errors as
//! problems, vocabularies as enums.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::openapi::{Document, Operation, validate_document};
use crate::support::{Server, copy_dir, example_bots};

#[tokio::test]
async fn the_served_document_is_valid_the_committed_one_and_covers_every_route() {
    let server = Server::start(|bots| copy_dir(&example_bots(), bots)).await;
    let served = Document::fetch(&server).await.json;
    assert_eq!(served["openapi"], "3.1.0");
    if let Err(report) = validate_document(&served, server.dir.path()) {
        panic!("openapi-spec-validator refuses the served document:\n{report}");
    }

    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    if std::env::var("BATON_TEST_UPDATE_OPENAPI").is_ok() {
        let text = serde_json::to_string_pretty(&served).expect("json");
        std::fs::write(&committed_path, text + "\n").expect("writing docs/openapi.json");
    }
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(&committed_path).expect("docs/openapi.json"))
            .expect("docs/openapi.json is JSON");
    assert!(
        served == committed,
        "the API changed: review it and update docs/openapi.json with \
         `cargo run -p baton-host --bin baton -- openapi > docs/openapi.json`"
    );

    // Every documented operation answers 401 without a token: it is routed
    // (not 404 or 405) and protected.
    let doc = Document { json: served };
    let operations = doc.operations();
    for op in &operations {
        let concrete = op
            .path
            .split('/')
            .map(|part| if part.starts_with('{') { "1" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        let method = op.method.to_uppercase();
        let (status, body) = server
            .call(&method, &format!("/api/v1{concrete}"), None, None)
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {}: {body}",
            op.path
        );
    }
    assert!(operations.len() >= 30, "{} operations", operations.len());
}

/// The document the binary serves, without starting it.
fn document() -> Document {
    let json = serde_json::to_value(baton_host::api::openapi()).expect("the document as JSON");
    Document { json }
}

#[test]
fn every_operation_has_an_id_a_summary_and_examples_that_fit() {
    let doc = document();
    for op in doc.operations() {
        let name = format!("{} {}", op.method, op.path);
        let id = op.id();
        assert!(
            id.starts_with(|c: char| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{name}: operationId {id:?} is not camelCase"
        );
        assert!(
            op.doc["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{name}: no summary"
        );
        let mut examples = 0;
        for p in op.parameters("path") {
            check_example(&doc, &name, &p["schema"], &p["example"]);
            examples += 1;
        }
        if let Some(schema) = op.body_schema() {
            let example = &op.doc["requestBody"]["content"]["application/json"]["example"];
            check_example(&doc, &name, schema, example);
            examples += 1;
        }
        for (status, response) in op.doc["responses"].as_object().into_iter().flatten() {
            for (media, content) in response["content"].as_object().into_iter().flatten() {
                let what = format!("{name} {status} {media}");
                match media.as_str() {
                    "application/json" => {
                        check_example(&doc, &what, &content["schema"], &content["example"]);
                        examples += 1;
                    }
                    "text/event-stream" => {
                        assert!(content["example"].is_string(), "{what}: no example");
                        examples += 1;
                    }
                    _ => assert!(status.starts_with('4'), "{what}: only errors are problems"),
                }
            }
        }
        assert!(examples > 0, "{name} has no example");
    }
}

fn check_example(doc: &Document, what: &str, schema: &Value, example: &Value) {
    assert!(!example.is_null(), "{what}: no example for {schema}");
    if let Some(why) = doc.mismatch(schema, example) {
        panic!("{what}: the example does not fit its schema: {why}\n{example}");
    }
}

/// The problems an operation must document, from its shape.
fn implied_statuses(op: &Operation) -> Vec<&'static str> {
    let mut statuses = vec!["401"];
    if op.body_schema().is_some() {
        statuses.extend(["400", "413", "415", "422"]);
    }
    if op
        .parameters("path")
        .iter()
        .any(|p| p["schema"]["type"] == "integer")
    {
        statuses.extend(["400", "404"]);
    }
    statuses
}

#[test]
fn errors_are_documented_as_problems_with_descriptions() {
    let doc = document();
    for op in doc.operations() {
        let name = format!("{} {}", op.method, op.path);
        assert!(op.doc["security"].as_array().is_some_and(|s| !s.is_empty()));
        for status in implied_statuses(&op) {
            assert!(
                op.doc["responses"].get(status).is_some(),
                "{name}: {status} is not documented"
            );
        }
        for (status, response) in op.doc["responses"].as_object().into_iter().flatten() {
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{name} {status}: no description"
            );
            if status.starts_with('4') {
                let content = response["content"].as_object().expect("content");
                assert_eq!(
                    content.keys().collect::<Vec<_>>(),
                    ["application/problem+json"],
                    "{name} {status}"
                );
            }
        }
    }
    let stream = doc
        .operations()
        .into_iter()
        .find(|o| o.id() == "streamNotifications")
        .expect("the stream");
    assert!(
        stream
            .response(200)
            .and_then(|r| r.pointer("/content/text~1event-stream"))
            .is_some(),
        "the stream is text/event-stream"
    );
}

#[test]
fn vocabularies_are_enums_and_times_are_date_times() {
    let doc = document();
    let schemas = &doc.json["components"]["schemas"];
    let values = |schema: &Value| doc.resolve(schema)["enum"].clone();
    let connection = serde_json::json!(["assigned", "cc", "bcc"]);
    let role = serde_json::json!(["requester", "actioner"]);
    let view = &schemas["StakeholderView"]["properties"];
    assert_eq!(values(&view["connection"]), connection);
    assert_eq!(values(&view["role"]), role);
    let body = &schemas["StakeholderBody"]["properties"];
    assert_eq!(values(&body["connection"]), connection);
    assert_eq!(values(&body["role"]), role);
    assert_eq!(
        values(&schemas["TicketView"]["properties"]["status"]),
        serde_json::json!(["open", "closed"])
    );
    assert_eq!(
        values(&schemas["Settings"]["properties"]["on_retention"]),
        serde_json::json!(["archive", "delete"])
    );
    assert_eq!(
        schemas["Principal"]["oneOf"].as_array().map(Vec::len),
        Some(2),
        "typed principal"
    );
    assert_eq!(
        schemas["Actor"]["oneOf"].as_array().map(Vec::len),
        Some(3),
        "typed actor"
    );
    assert_eq!(
        schemas["ActionBody"]["properties"]["payload"]["type"],
        "object"
    );
    for (name, schema) in schemas.as_object().into_iter().flatten() {
        for (property, s) in schema["properties"].as_object().into_iter().flatten() {
            if property.ends_with("_at") {
                assert_eq!(s["format"], "date-time", "{name}.{property}");
            }
        }
    }
}
