//! The console's live pages: an open ticket page and inbox change by
//! themselves when someone else acts (in a real browser, without a
//! reload, keeping what the reader was typing), and the stream behind them
//! answers only to those who may see what it follows.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::COOKIE;
use serde_json::json;

use crate::console::{PASSWORD, World, get, session, world};
use crate::support::Server;
use crate::support::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_pages_follow_changes_without_a_reload() {
    let World {
        server,
        colleague,
        ticket,
        ..
    } = world().await;
    let page = format!("{}/console/tickets/{ticket}", server.base);
    let member = Browser::start().await;
    member.sign_in(&server.base, "member", PASSWORD).await;
    member.goto(&page).await;
    member.mark().await;
    let requester = Browser::start().await;
    requester.sign_in(&server.base, "requester", PASSWORD).await;
    requester
        .goto(&format!("{}/console/inbox", server.base))
        .await;
    requester.mark().await;
    let unread = "return document.querySelectorAll('#inbox tr.unread').length;";
    let before = requester.eval(unread).await.as_i64().unwrap_or(0);

    // A colleague comments through the API: it shows on the open page.
    let comments = format!("/api/v1/tickets/{ticket}/comments");
    let body = json!({"body": "Looking at the certificate now."});
    let (status, out) = server.as_(&colleague, "POST", &comments, Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{out}");
    member
        .until_live_text("Looking at the certificate now.")
        .await;

    // The member starts writing; the colleague takes the ticket and
    // approves it. The page shows the move, keeps the half-written
    // comment, and says why its form was left alone.
    member
        .fill("#comment textarea[name=body]", "Half a thought")
        .await;
    let accept = format!("/api/v1/tickets/{ticket}/accept");
    let (status, out) = server.as_(&colleague, "POST", &accept, None).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let approve = format!("/api/v1/tickets/{ticket}/actions/approve");
    let (status, out) = server
        .as_(&colleague, "POST", &approve, Some(&json!({})))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{out}");
    member.until_live_text("in_review → approved").await;
    member.until_live_text("· closed ·").await;
    let typed = member
        .eval("return document.querySelector('#comment textarea[name=body]').value;")
        .await;
    assert_eq!(typed, json!("Half a thought"));
    assert!(member.has("#live-note").await, "the held form is explained");
    assert!(member.marked().await, "the page changed without a reload");
    member.screenshot("ticket-live").await;

    // The requester's open inbox shows that their ticket closed.
    requester.until_live_text("is closed: approved").await;
    let after = requester.eval(unread).await.as_i64().unwrap_or(0);
    assert!(after > before, "{before} → {after} unread");
    assert!(
        requester.marked().await,
        "the inbox changed without a reload"
    );
    requester.screenshot("inbox-live").await;
}

/// Reads the stream at `path` until it says `changed`, while `act` runs.
async fn hears_changed(server: &Server, cookie: &str, path: &str, act: impl Future<Output = ()>) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", server.base))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("the stream");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "{path}"
    );
    let mut response = response;
    act.await;
    let mut seen = String::new();
    let heard = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(chunk) = response.chunk().await.expect("a chunk") {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: changed") {
                return;
            }
        }
    })
    .await;
    assert!(heard.is_ok(), "{path} never said changed: {seen:?}");
}

#[tokio::test]
async fn live_streams_answer_only_to_those_who_may_see() {
    let w = world().await;
    let server = &w.server;
    let ticket = w.ticket;
    // No session: to the sign-in page. A stranger: no such ticket.
    let follow = format!("/console/live?ticket={ticket}");
    let (status, _) = get(server, None, &follow).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stranger = session(server, "stranger").await;
    let (status, _) = get(server, Some(&stranger), &follow).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(server, Some(&stranger), "/console/live?ticket=999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Following nothing, or two things, is a bad request.
    for bad in [
        "/console/live",
        "/console/live?page=tickets&ticket=1",
        "/console/live?page=x",
    ] {
        let (status, _) = get(server, Some(&stranger), bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // The requester's ticket page and list hear a comment on their ticket.
    let requester = session(server, "requester").await;
    let comments = format!("/api/v1/tickets/{ticket}/comments");
    for path in [follow.as_str(), "/console/live?page=tickets"] {
        hears_changed(server, &requester, path, async {
            let body = json!({"body": format!("a note for {path}")});
            let (status, out) = server
                .as_(&w.colleague, "POST", &comments, Some(&body))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{out}");
        })
        .await;
    }

    // Pages carry a policy that forbids inline scripts and framing.
    let response = reqwest::get(format!("{}/console/sign-in", server.base))
        .await
        .expect("the sign-in page");
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .expect("text");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}
