//! Several `baton serve` processes on one PostgreSQL database: a node
//! killed with SIGKILL mid-stream loses nothing and runs nothing twice;
//! PostgreSQL stopped under load makes the nodes say so (503s, not ready)
//! and they finish everything once it is back; each node shows the bots
//! it runs, and work goes only to nodes that run its bot.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::postgres::{TestDatabase, database, own_cluster, with_database};
use crate::support::{Server, ServerSetup, fixture_bots, now_ms};

/// The fixture files of these metaservices (manifests and `.wasm`).
pub(crate) fn copy_metaservices(to: &Path, names: &[&str]) {
    for entry in std::fs::read_dir(fixture_bots())
        .expect("reading the fixtures")
        .flatten()
    {
        let file = entry.file_name().to_string_lossy().to_string();
        if names.iter().any(|n| file.starts_with(n)) {
            std::fs::copy(entry.path(), to.join(&file)).expect("copying a fixture");
        }
    }
}

fn on(url: &str) -> ServerSetup {
    ServerSetup {
        database_url: Some(url.to_string()),
        ..ServerSetup::default()
    }
}

pub(crate) async fn node(url: &str, metaservices: &[&str]) -> Server {
    Server::start_with(on(url), |bots| copy_metaservices(bots, metaservices)).await
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The node id a server reports.
async fn node_id(server: &Server) -> String {
    let (_, ready) = server.get("/readyz").await;
    ready["node"].as_str().expect("a node id").to_string()
}

/// Creates `n` stepper tickets, fifty at a time, spread over `nodes`.
async fn stream(nodes: &[&Server], n: usize) {
    for batch in 0..n / 50 {
        let creates = (0..50).map(|i| {
            let server = nodes[(batch * 50 + i) % nodes.len()];
            server.create("stepper", "flow", json!({}))
        });
        futures::future::join_all(creates).await;
    }
}

/// Waits until `sql` counts `want`, failing after `limit`.
async fn until_count(
    pool: &PgPool,
    sql: &str,
    want: i64,
    limit: Duration,
    log: impl Fn() -> String,
) {
    let start = Instant::now();
    loop {
        let n = count(pool, sql).await;
        if n == want {
            return;
        }
        assert!(start.elapsed() < limit, "{n} of {want}: {sql}\n{}", log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const STEPPERS_CLOSED: &str =
    "SELECT COUNT(*) FROM tickets WHERE metaservice = 'stepper' AND status = 'closed'";

/// Every stepper ticket took each of its three steps once, and nothing is
/// left in the queue.
async fn each_step_once(pool: &PgPool, tickets: i64) {
    let moves = count(
        pool,
        "SELECT COUNT(*) FROM ticket_logs l JOIN tickets t ON t.id = l.ticket_id \
         WHERE t.metaservice = 'stepper' AND l.action = 'state_changed'",
    )
    .await;
    assert_eq!(moves, 3 * tickets, "each move logged once");
    let steps = count(
        pool,
        "SELECT COUNT(*) FROM ticket_logs WHERE action = 'log' AND message LIKE 'step %'",
    )
    .await;
    assert_eq!(steps, 3 * tickets, "each bot step committed once");
    let twice = count(
        pool,
        "SELECT COUNT(*) FROM (SELECT ticket_id FROM ticket_logs \
         WHERE action IN ('state_changed', 'log') \
         GROUP BY ticket_id, action, from_state, to_state, message HAVING COUNT(*) > 1) d",
    )
    .await;
    assert_eq!(twice, 0, "a step ran twice");
    assert_eq!(
        count(pool, "SELECT COUNT(*) FROM events").await,
        0,
        "no event left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_lose_nothing_when_one_is_killed_and_restarted() {
    let db: TestDatabase = database().await;
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(node(&db.url, &["stepper", "waiter"]).await);
    }
    let pool = PgPool::connect(&db.url).await.expect("connecting");
    let victim = node_id(&nodes[1]).await;
    let log = |nodes: &[Server]| {
        nodes
            .iter()
            .map(Server::log)
            .collect::<Vec<_>>()
            .join("\n---\n")
    };

    // Waits that fall due while a node is dead and after it is back.
    let at = now_ms() + 6_000;
    let waits = 60;
    for i in 0..waits {
        let job = json!({"mode": "until", "at": at + i * 100});
        nodes[i as usize % 3].create("waiter", "job", job).await;
    }
    // Half the stream, more until the victim holds leases (invocations in
    // flight), then SIGKILL it.
    stream(&[&nodes[0], &nodes[1], &nodes[2]], 2_500).await;
    let held = format!("SELECT COUNT(*) FROM events WHERE lease_owner = '{victim}'");
    let mut sent = 2_500;
    while count(&pool, &held).await == 0 {
        assert!(sent < 5_000, "the node never held a lease\n{}", log(&nodes));
        stream(&[&nodes[1]], 50).await;
        sent += 50;
    }
    nodes[1].kill();
    let killed = Instant::now();
    stream(&[&nodes[0], &nodes[2]], 5_000 - sent).await;
    // Its leases are freed when it stops beating, long before they expire.
    until_count(&pool, &held, 0, Duration::from_secs(30), || log(&nodes)).await;
    let freed = killed.elapsed();
    nodes[1].revive(&[]).await;

    until_count(
        &pool,
        STEPPERS_CLOSED,
        5_000,
        Duration::from_secs(600),
        || log(&nodes),
    )
    .await;
    let woke = "SELECT COUNT(*) FROM tickets WHERE metaservice = 'waiter' AND status = 'closed'";
    until_count(&pool, woke, waits, Duration::from_secs(60), || log(&nodes)).await;
    each_step_once(&pool, 5_000).await;
    let woke_twice = count(
        &pool,
        "SELECT COUNT(*) FROM (SELECT ticket_id FROM ticket_logs \
         WHERE message = 'woke after the wait' GROUP BY ticket_id HAVING COUNT(*) > 1) d",
    )
    .await;
    assert_eq!(woke_twice, 0, "a wait fired twice");
    let woke_once = count(
        &pool,
        "SELECT COUNT(*) FROM ticket_logs WHERE message = 'woke after the wait'",
    )
    .await;
    assert_eq!(woke_once, waits);
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM timers").await, 0);
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM tickets WHERE metaservice = 'baton'"
        )
        .await,
        0,
        "no error ticket"
    );
    eprintln!("the killed node's leases were freed after {freed:?}");
}

/// Rewrites a `.wasm` file with a custom section appended: the same bot,
/// another sha256 (a new build of it, for a rolling update).
fn rebuild(file: &Path) {
    let mut bytes = std::fs::read(file).expect("reading the bot");
    let name = b"baton-test-build";
    bytes.push(0); // custom section
    bytes.push((1 + name.len() + 1) as u8);
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.push(2);
    std::fs::write(file, bytes).expect("writing the bot");
}

fn bot<'a>(bots: &'a Value, name: &str) -> &'a Value {
    bots["items"]
        .as_array()
        .and_then(|items| items.iter().find(|b| b["name"] == name))
        .unwrap_or_else(|| panic!("no bot {name} in {bots}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_node_shows_its_bots_and_gets_only_work_it_can_run() {
    let db = database().await;
    let a = node(&db.url, &["stepper"]).await;
    // Node b: a newer build of step 1, and no step 2 at all; its events
    // for step 2 wait for no bot here for a minute, so any that b took
    // would hold its ticket back far past this test's limit.
    let mut setup = on(&db.url);
    setup.engine = setup
        .engine
        .replace("missing_bot_retry_ms = 100", "missing_bot_retry_ms = 60000");
    assert!(setup.engine.contains("60000"));
    let b = Server::start_with(setup, |bots| {
        copy_metaservices(bots, &["stepper"]);
        rebuild(&bots.join("stepper-flow-1-a.wasm"));
        std::fs::remove_file(bots.join("stepper-flow-2-b.wasm")).expect("removing step 2");
    })
    .await;
    let (a_id, b_id) = (node_id(&a).await, node_id(&b).await);
    b.wait_for_bot("stepper-flow-1-a", "running", |bot| {
        bot["status"] == "running"
    })
    .await;

    let (_, bots) = b.get("/api/v1/bots").await;
    let step1 = bot(&bots, "stepper-flow-1-a");
    let copies = step1["nodes"].as_array().expect("one entry per node");
    assert_eq!(copies.len(), 2, "{step1}");
    let version = |node: &str| {
        copies
            .iter()
            .find(|c| c["node"] == node)
            .map(|c| c["version"].clone())
            .unwrap_or_else(|| panic!("no copy on {node}: {step1}"))
    };
    assert_ne!(version(&a_id), version(&b_id), "two builds side by side");
    assert!(
        copies
            .iter()
            .all(|c| c["alive"] == true && c["status"] == "running")
    );
    let step2 = bot(&bots, "stepper-flow-2-b");
    let on_b = step2["nodes"].as_array().expect("nodes");
    assert!(
        on_b.iter()
            .any(|c| c["node"] == a_id.as_str() && c["status"] == "running"),
        "{step2}"
    );
    assert!(
        on_b.iter()
            .all(|c| c["node"] != b_id.as_str() || c["status"] != "running"),
        "{step2}"
    );

    // The supervisor: b lacks step 2 (a problem of b's); a is ready and
    // warns that b lacks it, without turning unready for b's sake.
    let (status, b_ready) = b.get("/readyz").await;
    assert_eq!(status, 503, "{b_ready}");
    let missing = &b_ready["problems"][0];
    assert_eq!(
        (missing["check"].as_str(), missing["subject"].as_str()),
        (Some("bot"), Some("stepper-flow-2-b")),
        "{b_ready}"
    );
    let (status, a_ready) = a.get("/readyz").await;
    assert_eq!(status, 200, "{a_ready}");
    let warned = a_ready["warnings"].as_array().expect("warnings");
    assert!(
        warned.iter().any(|w| w["check"] == "node"
            && w["subject"] == b_id.as_str()
            && w["detail"]
                .as_str()
                .unwrap_or("")
                .contains("stepper-flow-2-b")),
        "{a_ready}"
    );

    // Tickets created through b: step 2 runs on a, at once.
    stream(&[&b], 200).await;
    let pool = PgPool::connect(&db.url).await.expect("connecting");
    until_count(&pool, STEPPERS_CLOSED, 200, Duration::from_secs(40), || {
        format!("{}\n---\n{}", a.log(), b.log())
    })
    .await;
    each_step_once(&pool, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_gives_503s_then_everything_finishes_once() {
    let cluster = tokio::task::spawn_blocking(own_cluster)
        .await
        .expect("starting a cluster");
    let url = with_database(&cluster.url, "postgres");
    let a = node(&url, &["stepper"]).await;
    let b = node(&url, &["stepper"]).await;
    let pool = PgPool::connect(&url).await.expect("connecting");
    stream(&[&a, &b], 500).await;
    let (_, some) = a.get("/api/v1/tickets?limit=1").await;
    let first = some["items"][0]["id"].as_i64().expect("a ticket");

    tokio::task::block_in_place(|| cluster.stop()).expect("stopping PostgreSQL");
    let down = Instant::now();
    // Not ready, and every kind of request answers 503 problem+json in
    // bounded time, on both nodes.
    for server in [&a, &b] {
        let asked = Instant::now();
        let (status, ready) = server.get("/readyz").await;
        assert_eq!(status, 503, "{ready}");
        assert_eq!(ready["problems"][0]["check"], "database", "{ready}");
        assert!(asked.elapsed() < Duration::from_secs(5));
        for (method, path, body) in [
            ("GET", format!("/api/v1/tickets/{first}"), None),
            ("GET", "/api/v1/tickets".to_string(), None),
            (
                "POST",
                "/api/v1/tickets".to_string(),
                Some(json!({
                    "metaservice": "stepper", "ticket_type": "flow", "title": "t", "metadata": {}
                })),
            ),
        ] {
            let asked = Instant::now();
            let response = server.raw(method, &path, body.as_ref()).await;
            assert_eq!(response.status(), 503, "{method} {path}");
            let kind = response.headers()["content-type"]
                .to_str()
                .unwrap_or_default()
                .to_string();
            assert_eq!(kind, "application/problem+json", "{method} {path}");
            let problem: Value = response.json().await.expect("a problem");
            assert_eq!(
                problem["type"], "urn:baton:problem:unavailable",
                "{problem}"
            );
            assert!(
                asked.elapsed() < Duration::from_secs(15),
                "{method} {path} hung"
            );
        }
    }
    // Ten seconds down in all.
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(down.elapsed())).await;
    tokio::task::block_in_place(|| cluster.start_again()).expect("starting PostgreSQL again");

    for server in [&a, &b] {
        let start = Instant::now();
        while server.get("/readyz").await.0 != 200 {
            assert!(start.elapsed() < Duration::from_secs(30), "not ready again");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stream(&[&a, &b], 500).await;
    let pool = match pool.acquire().await {
        Ok(_) => pool,
        Err(_) => PgPool::connect(&url).await.expect("connecting again"),
    };
    until_count(
        &pool,
        STEPPERS_CLOSED,
        1_000,
        Duration::from_secs(120),
        || format!("{}\n---\n{}", a.log(), b.log()),
    )
    .await;
    each_step_once(&pool, 1_000).await;
}

/// A ticket as the API shows it: itself, its logs, comments and
/// stakeholders.
async fn read(server: &Server, id: i64) -> Vec<Value> {
    let mut all = Vec::new();
    for part in ["", "/logs", "/comments", "/stakeholders"] {
        all.push(server.get(&format!("/api/v1/tickets/{id}{part}")).await.1);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_installation_moves_to_postgres_whole() {
    let mut old = Server::start(|bots| copy_metaservices(bots, &["stepper", "waiter"])).await;
    let alice = old.person("alice").await;
    let mut done = Vec::new();
    for _ in 0..20 {
        done.push(old.create("stepper", "flow", json!({})).await);
    }
    let soon = old
        .create(
            "waiter",
            "job",
            json!({"mode": "until", "at": now_ms() + 15_000}),
        )
        .await;
    let sleeper = old.create("waiter", "job", json!({"mode": "sleep"})).await;
    let (status, _) = old
        .post(
            &format!("/api/v1/tickets/{sleeper}/comments"),
            &json!({"body": "kept"}),
        )
        .await;
    assert_eq!(status, 201);
    for id in &done {
        old.wait_for_ticket(*id, "closed", |t| t["status"] == "closed")
            .await;
    }
    let has_wait = |k: &[String]| k.iter().any(|h| h == "wait");
    old.timers_until(soon, has_wait).await;
    old.timers_until(sleeper, has_wait).await;
    let before = [read(&old, done[0]).await, read(&old, sleeper).await];
    let timers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM timers")
        .fetch_one(old.store().await.pool())
        .await
        .expect("counting timers");
    assert!(timers >= 2, "both waits pending");
    old.kill();

    let db = database().await;
    let from = format!("sqlite://{}", old.dir.path().join("baton.db").display());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["migrate", "--from", &from, "--to", &db.url])
        .output()
        .expect("running baton migrate");
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains("tickets: 22 rows copied, counts match"),
        "{printed}"
    );
    let copied = format!("timers: {timers} rows copied, counts match");
    assert!(printed.contains(&copied), "{printed}");

    let new = node(&db.url, &["stepper", "waiter"]).await;
    let after = [read(&new, done[0]).await, read(&new, sleeper).await];
    assert_eq!(
        after, before,
        "the same tickets, logs, comments, stakeholders"
    );
    let (status, me) = new.as_(&alice, "GET", "/api/v1/me", None).await;
    assert_eq!(
        (status.as_u16(), me["login"].as_str()),
        (200, Some("alice"))
    );
    // The waits go on where they were: one falls due and fires once.
    new.wait_for_ticket(soon, "closed", |t| t["status"] == "closed")
        .await;
    assert_eq!(
        new.logs(soon)
            .await
            .iter()
            .filter(|l| l["message"] == "woke after the wait")
            .count(),
        1
    );
    let (_, sleeping) = new.get(&format!("/api/v1/tickets/{sleeper}")).await;
    assert_eq!(sleeping["status"], "open");
    // New tickets are numbered after the old ones.
    let next = new.create("stepper", "flow", json!({})).await;
    assert!(next > sleeper, "{next} after {sleeper}");

    // Into a database that is not empty: refused, naming why.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["migrate", "--from", &from, "--to", &db.url])
        .output()
        .expect("running baton migrate");
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr).to_string();
    assert!(
        said.contains("migrate into a new, empty database"),
        "{said}"
    );
}
