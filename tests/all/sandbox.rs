//! Hostile bots: each is stopped by its limit, commits nothing, is
//! retried and parked with an error ticket, and holds up no other bot.

use serde_json::json;
use sqlx::Row;

use crate::support::hostile::{closed, hostile, messages};
use crate::support::millis;

#[tokio::test]
async fn an_endless_loop_is_stopped_at_the_deadline_and_other_bots_go_on() {
    let server = hostile().await;
    let loops: Vec<i64> = futures::future::join_all(
        (0..3).map(|_| server.create("hostile", "job", json!({"do": "loop"}))),
    )
    .await;
    // While the loops burn their deadlines, a wca ticket goes through.
    let wca = server
        .create(
            "wca",
            "edit_person",
            json!({"wca_id": "2012SMIT01", "changes": {"name": {"old": "a b", "new": "A B"}}}),
        )
        .await;
    let done = closed(&server, wca).await;
    let took = millis(&done["closed_at"]) - millis(&done["created_at"]);
    assert!(
        took < 1000,
        "the wca ticket took {took} ms while loops ran (deadline 1000 ms)"
    );

    for id in loops {
        let event = server.parked(id).await;
        let error = event.last_error.unwrap_or_default();
        assert!(
            error.contains("ran past its deadline of 1000 ms"),
            "{error}"
        );
        let (_, ticket) = server.get(&format!("/api/v1/tickets/{id}")).await;
        assert_eq!(
            (ticket["state"]["code"].as_i64(), ticket["version"].as_i64()),
            (Some(1), Some(1))
        );
    }
    let bot = server.bot("hostile-job-1-run").await;
    assert_eq!(bot["status"], "crashing");
    // The host itself is unharmed: it still answers.
    assert_eq!(server.get("/healthz").await.0, reqwest::StatusCode::OK);
}

#[tokio::test]
async fn a_memory_bomb_and_a_panic_trap_cleanly() {
    let server = hostile().await;
    let bomb = server.create("hostile", "job", json!({"do": "bomb"})).await;
    let panic = server
        .create("hostile", "job", json!({"do": "panic"}))
        .await;
    let bomb_error = server.parked(bomb).await.last_error.unwrap_or_default();
    assert!(bomb_error.contains("the bot trapped"), "{bomb_error}");
    let panic_error = server.parked(panic).await.last_error.unwrap_or_default();
    assert!(panic_error.contains("the bot trapped"), "{panic_error}");
    assert!(panic_error.contains("unreachable"), "{panic_error}");
    // Each parked event filed an error ticket naming the bot.
    let logs = server.logs(bomb).await;
    let filed = logs
        .iter()
        .find(|l| l["action"] == "error_filed")
        .expect("error_filed");
    let error_id = filed["data"]["error_ticket_id"].as_i64().expect("id");
    let (_, report) = server.get(&format!("/api/v1/tickets/{error_id}")).await;
    assert_eq!(report["metadata"]["bot"], "hostile-job-1-run");
    assert_eq!(
        report["stakeholders"][0]["principal"]["name"],
        "hostile_admins"
    );
}

#[tokio::test]
async fn too_many_tickets_fail_the_invocation_even_if_the_bot_ignores_it() {
    let server = hostile().await;
    let id = server.create("hostile", "job", json!({"do": "spam"})).await;
    let error = server.parked(id).await.last_error.unwrap_or_default();
    assert!(
        error.contains("limit exceeded: more than 5 tickets created in one invocation"),
        "{error}"
    );
    let store = server.store().await;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tickets WHERE metaservice = 'hostile'")
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get("n"))
        .expect("count");
    assert_eq!(n, 1, "none of the spam was committed");
}

#[tokio::test]
async fn the_sandbox_has_no_files_no_environment_and_no_sockets() {
    let server = hostile().await;
    let id = server
        .create("hostile", "job", json!({"do": "sandbox"}))
        .await;
    closed(&server, id).await;
    let logged = messages(&server.logs(id).await);
    let line = |prefix: &str| {
        logged
            .iter()
            .find(|m| m.starts_with(prefix))
            .cloned()
            .unwrap_or_default()
    };
    assert!(line("file: Err(").contains("Err("), "{logged:?}");
    assert_eq!(line("env: "), "env: Err(NotPresent)");
    assert!(line("socket: Err(").contains("Err("), "{logged:?}");
}

#[tokio::test]
async fn outgoing_http_reaches_only_the_egress_list() {
    // The loopback server standing in for the metaservice's web API.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = axum::Router::new().route(
        "/hello",
        axum::routing::get(|| async { "hello from the web API" }),
    );
    let api = tokio::spawn(async move { axum::serve(listener, app).await });

    let server = hostile().await;
    let allowed = server
        .create(
            "hostile",
            "job",
            json!({"do": "http", "url": format!("http://127.0.0.1:{port}/hello")}),
        )
        .await;
    // `localhost` is listed, but a listed name may lead only to public
    // addresses: through it a bot would reach Baton itself and every port
    // on the machine.
    let through_a_name = server
        .create(
            "hostile",
            "job",
            json!({"do": "http", "url": format!("http://localhost:{port}/hello")}),
        )
        .await;
    // 127.0.0.2 is loopback too, and not listed at all.
    let unlisted = server
        .create(
            "hostile",
            "job",
            json!({"do": "http", "url": format!("http://127.0.0.2:{port}/hello")}),
        )
        .await;
    for id in [allowed, through_a_name, unlisted] {
        closed(&server, id).await;
    }
    assert!(
        messages(&server.logs(allowed).await)
            .contains(&"http 200 hello from the web API".to_string())
    );
    let prohibited = messages(&server.logs(through_a_name).await);
    assert!(
        prohibited
            .iter()
            .any(|m| m.starts_with("http error:") && m.contains("DestinationIpProhibited")),
        "{prohibited:?}"
    );
    let denied = messages(&server.logs(unlisted).await);
    assert!(
        denied.iter().any(|m| m.starts_with("http error:")
            && m.contains("not allowed")
            && m.contains("egress")),
        "{denied:?}"
    );
    let log = server.log();
    assert!(
        log.contains("outgoing HTTP refused: localhost leads to 127.0.0.1, a loopback address"),
        "the refusal says why:\n{log}"
    );
    assert!(log.contains("127.0.0.2:"), "the unlisted host is named");
    api.abort();
}
