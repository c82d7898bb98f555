//! The API contract: the OpenAPI 3.1 document is served, matches the
//! committed `docs/openapi.json`, and every operation in it is a real,
//! protected route.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Server, copy_dir, example_bots};

#[tokio::test]
async fn the_served_document_is_the_committed_one_and_covers_every_route() {
    let server = Server::start(|bots| copy_dir(&example_bots(), bots)).await;
    let (status, served) = server.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK, "the document needs no token");
    assert_eq!(served["openapi"], "3.1.0");

    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    if std::env::var("BATON_UPDATE_OPENAPI").is_ok() {
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
    let paths = served["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path
            .split('/')
            .map(|part| if part.starts_with('{') { "1" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        for method in item
            .as_object()
            .into_iter()
            .flatten()
            .map(|(m, _)| m.to_uppercase())
        {
            let (status, body) = server
                .call(&method, &format!("/api/v1{concrete}"), None, None)
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
            operations += 1;
        }
    }
    assert!(operations >= 28, "{operations} operations documented");
}
