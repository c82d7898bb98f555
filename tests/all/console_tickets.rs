//! The console's ticket list filters and related tickets, over HTTP:
//! "waiting for me", "my groups'" and title search find the WRT's ticket
//! for a member and not for others; a parent's page lists its child and
//! the child's page its parent.

use reqwest::StatusCode;
use serde_json::json;

use crate::console::{get, session, world};

#[tokio::test]
async fn the_list_finds_what_waits_for_a_member_and_what_titles_say() {
    let w = world().await;
    let server = &w.server;
    let member = session(server, "member").await;
    let requester = session(server, "requester").await;
    let row = format!("/console/tickets/{}\"", w.ticket);
    for (who, cookie, path, shown) in [
        ("member", &member, "/console/?waiting=on", true),
        ("member", &member, "/console/?groups=on", true),
        ("requester", &requester, "/console/?waiting=on", false),
        ("requester", &requester, "/console/?groups=on", false),
        ("requester", &requester, "/console/?mine=on", true),
        ("member", &member, "/console/?q=BIRTH", true),
        ("member", &member, "/console/?q=nothing+like+it", false),
        ("requester", &requester, "/console/?q=my+b", true),
    ] {
        let (status, page) = get(server, Some(cookie), path).await;
        assert_eq!(status, StatusCode::OK, "{who} {path}");
        assert_eq!(page.contains(&row), shown, "{who} {path}:\n{page}");
    }
    // The counts per state cover every matching ticket, not the page.
    let (_, page) = get(server, Some(&member), "/console/?waiting=on").await;
    assert!(page.contains("in_review: 1"), "{page}");
    // Once the member takes it, it waits for them and no longer for the
    // colleague, who is in the same group.
    let accept = format!("/api/v1/tickets/{}/accept", w.ticket);
    let colleague_takes = server.as_(&w.colleague, "POST", &accept, None).await;
    assert_eq!(colleague_takes.0, StatusCode::OK, "{}", colleague_takes.1);
    let (_, page) = get(server, Some(&member), "/console/?waiting=on").await;
    assert!(!page.contains(&row), "taken by the colleague:\n{page}");
}

#[tokio::test]
async fn a_parent_and_its_child_link_to_each_other() {
    let w = world().await;
    let server = &w.server;
    let body = json!({"metaservice": "wca", "ticket_type": "anonymization", "title": "Forget me",
        "metadata": {"user_id": 42, "scope": "account_and_profile", "wca_id": "2012SMIT01"}});
    let (status, ticket) = server
        .as_(&w.requester, "POST", "/api/v1/tickets", Some(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let id = ticket["id"].as_i64().expect("an id");
    let accept = format!("/api/v1/tickets/{id}/accept");
    // The bot assigns the request to the WRT; the colleague takes it.
    let started = std::time::Instant::now();
    loop {
        let (status, body) = server.as_(&w.colleague, "POST", &accept, None).await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "never assigned to the WRT: {status} {body}"
        );
        if status == StatusCode::OK {
            break;
        }
        assert!(
            // Not theirs to see, or to take, until the bot assigns it.
            [
                StatusCode::NOT_FOUND,
                StatusCode::FORBIDDEN,
                StatusCode::CONFLICT
            ]
            .contains(&status),
            "{status} {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let parent = server
        .wait_for_ticket(id, "given a profile ticket", |t| {
            t["metadata"]["profile_ticket"].is_i64()
        })
        .await;
    let child = parent["metadata"]["profile_ticket"]
        .as_i64()
        .expect("the child");
    let requester = session(server, "requester").await;
    let (status, page) = get(server, Some(&requester), &format!("/console/tickets/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("Child: <a href=\"/console/tickets/{child}\">")),
        "{page}"
    );
    let (status, page) = get(
        server,
        Some(&requester),
        &format!("/console/tickets/{child}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("Parent: <a href=\"/console/tickets/{id}\">")),
        "{page}"
    );
    // A stranger sees neither.
    let stranger = session(server, "stranger").await;
    for t in [id, child] {
        let (status, _) = get(server, Some(&stranger), &format!("/console/tickets/{t}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn the_bots_page_names_refused_files_and_manifests_with_their_reasons() {
    let w = world().await;
    let server = &w.server;
    let member = session(server, "member").await;
    // A file the manifests call for, but not a component; a manifest
    // broken on disk.
    let bots = server.bots_dir();
    std::fs::write(bots.join("wca-anonymization-1-open.wasm"), b"not wasm").expect("writing");
    std::fs::write(bots.join("broken.metaservice.toml"), "name = 3\n").expect("writing");
    let started = std::time::Instant::now();
    let page = loop {
        let (status, page) = get(server, Some(&member), "/console/bots").await;
        assert_eq!(status, StatusCode::OK);
        if page.contains("broken.metaservice.toml") && page.contains(">refused<") {
            break page;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "never shown:\n{page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        page.contains("refused, line"),
        "the manifest's reason: {page}"
    );
    assert!(
        page.contains("baton-sdk 0.1.0 (rust)"),
        "what built the others: {page}"
    );
}
