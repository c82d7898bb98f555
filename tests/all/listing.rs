//! `GET /tickets`: filters, and cursor pagination that never skips or
//! repeats a row while tickets are being created; and random bodies that
//! never get a 5xx.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN_TOKEN, Server, copy_dir, fixture_bots};

fn relay() -> Value {
    json!({"metaservice": "relay", "ticket_type": "baton", "title": "t", "metadata": {}})
}

/// Every id of the listing at `query`, page by page.
async fn walk(server: &Server, query: &str, during: impl AsyncFnMut()) -> Vec<i64> {
    let mut during = during;
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/tickets?{query}&limit=7");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = server.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        ids.extend(
            page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["id"].as_i64()),
        );
        during().await;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn pages_never_skip_or_repeat_while_tickets_are_created() {
    let server = Server::start(|bots| copy_dir(&fixture_bots(), bots)).await;
    let mut before = BTreeSet::new();
    for _ in 0..60 {
        let (_, t) = server.post("/api/v1/tickets", &relay()).await;
        before.insert(t["id"].as_i64().expect("id"));
    }
    // A second client keeps creating tickets while the pages are read…
    let base = server.base.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let background = tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut created = 0;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            let r = client
                .post(format!("{base}/api/v1/tickets"))
                .bearer_auth(ADMIN_TOKEN)
                .json(&relay())
                .send()
                .await;
            if r.is_ok_and(|r| r.status() == StatusCode::CREATED) {
                created += 1;
            }
        }
        created
    });
    // …and between every two pages, three more arrive from this one.
    let creator = &server;
    let ids = walk(&server, "metaservice=relay", async || {
        for _ in 0..3 {
            let (status, _) = creator.post("/api/v1/tickets", &relay()).await;
            assert_eq!(status, StatusCode::CREATED);
        }
    })
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let concurrent = background.await.expect("the creating task");
    assert!(concurrent > 0, "tickets were created concurrently");
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no ticket appears twice: {ids:?}");
    assert!(
        before.is_subset(&unique),
        "every ticket that existed is listed: missing {:?}",
        before.difference(&unique).collect::<Vec<_>>()
    );
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest first, stably");

    // Filters narrow the listing.
    let (_, page) = server
        .get("/api/v1/tickets?metaservice=relay&status=closed&limit=200")
        .await;
    assert!(
        page["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|t| t["status"] == "closed"))
    );
    let (_, page) = server.get("/api/v1/tickets?metaservice=nothing").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(0));
    for bad in [
        "cursor=zz",
        "limit=0",
        "limit=1000",
        "status=done",
        "created_after=yesterday",
        "colour=red",
        "state=-1",
    ] {
        let (status, problem) = server.get(&format!("/api/v1/tickets?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {problem}");
    }
}

/// A small deterministic generator, so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    fn value(&mut self, depth: u32) -> Value {
        let keys = [
            "metaservice",
            "ticket_type",
            "title",
            "metadata",
            "body",
            "name",
            "login",
            "payload",
            "user_id",
            "group",
            "connection",
            "role",
            "is_active",
            "stakeholders",
            "lifetime",
            "wca_id",
            "changes",
            "x",
        ];
        match self.next() % if depth > 2 { 5 } else { 7 } {
            0 => Value::Null,
            1 => json!(self.next().is_multiple_of(2)),
            2 => json!((self.next() as i64) >> (self.next() % 64)),
            3 => json!(*self.pick(&[
                "",
                "wca",
                "edit_person",
                "relay",
                "baton",
                "assigned",
                "cc",
                "36h",
                "é\u{0}",
                "-1"
            ])),
            4 => json!(f64::from((self.next() % 1000) as u32) / 7.0),
            5 => Value::Array(
                (0..self.next() % 4)
                    .map(|_| self.value(depth + 1))
                    .collect(),
            ),
            _ => {
                let mut map = serde_json::Map::new();
                for _ in 0..self.next() % 6 {
                    map.insert(self.pick(&keys).to_string(), self.value(depth + 1));
                }
                Value::Object(map)
            }
        }
    }
}

#[tokio::test]
async fn random_bodies_never_get_a_server_error() {
    let server = Server::start(|bots| copy_dir(&fixture_bots(), bots)).await;
    let (_, t) = server.post("/api/v1/tickets", &relay()).await;
    let id = t["id"].as_i64().expect("id");
    let routes = [
        ("POST", "/api/v1/tickets".to_string()),
        ("PATCH", format!("/api/v1/tickets/{id}")),
        ("POST", format!("/api/v1/tickets/{id}/comments")),
        ("POST", format!("/api/v1/tickets/{id}/stakeholders")),
        ("PATCH", format!("/api/v1/tickets/{id}/stakeholders/1")),
        ("POST", format!("/api/v1/tickets/{id}/actions/approve")),
        ("POST", "/api/v1/users".to_string()),
        ("POST", "/api/v1/users/1/tokens".to_string()),
        ("POST", "/api/v1/groups".to_string()),
        (
            "PATCH",
            "/api/v1/metaservices/relay/ticket-types/baton/settings".to_string(),
        ),
    ];
    let mut rng = Rng(0x5eed_ba70);
    for i in 0..400 {
        let (method, path) = rng.pick(&routes).clone();
        let body = rng.value(0);
        let (status, answer) = server
            .call(method, &path, Some(&body), Some(ADMIN_TOKEN))
            .await;
        assert!(
            !status.is_server_error(),
            "#{i} {method} {path} {body} -> {status} {answer}"
        );
    }
    // Raw bytes that are not JSON at all.
    for i in 0..50u64 {
        let len = (rng.next() % 64) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let (status, _, answer) = server
            .post_raw("/api/v1/tickets", Some("application/json"), bytes)
            .await;
        assert!(!status.is_server_error(), "raw #{i} -> {status} {answer}");
    }
    assert!(
        !server.log().contains("ERROR"),
        "no internal error was logged:\n{}",
        server.log()
    );
}
