//! Hot reload: files replaced under load, removed and restored, refused;
//! the compiled-code cache across restarts.

use std::path::Path;
use std::time::{Duration, Instant};

use baton_host::store::Store;
use serde_json::{Value, json};

use crate::support::{Server, copy_dir, fixture_bots};

const RELAY: &str = "relay-baton-1-start";

/// Writes `bytes` next to the target and renames it into place, as a
/// deployment should.
fn deploy(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).expect("write");
    std::fs::rename(&tmp, dir.join(name)).expect("rename");
}

fn v2() -> Vec<u8> {
    std::fs::read(fixture_bots().join("v2").join(format!("{RELAY}.wasm"))).expect("the v2 relay")
}

async fn relay_log(server: &Server, id: i64) -> Vec<(String, String)> {
    server
        .logs(id)
        .await
        .iter()
        .filter(|l| l["actor"]["kind"] == "bot")
        .map(|l| {
            (
                l["action"].as_str().unwrap_or_default().into(),
                l["message"].as_str().unwrap_or_default().into(),
            )
        })
        .collect()
}

#[tokio::test]
async fn replacing_a_bot_under_load_loses_nothing_and_refuses_garbage() {
    let server = Server::start(|bots| copy_dir(&fixture_bots(), bots)).await;
    let dir = server.bots_dir();
    let v1_version = server.bot(RELAY).await["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let mut ids = Vec::new();
    for i in 0..60 {
        if i == 20 {
            deploy(&dir, &format!("{RELAY}.wasm"), &v2());
            server
                .wait_for_bot(RELAY, "v2", |b| b["version"] != v1_version.as_str())
                .await;
        }
        if i == 40 {
            deploy(&dir, &format!("{RELAY}.wasm"), b"this is not a component");
            server
                .wait_for_bot(RELAY, "told of the garbage", |b| {
                    b["last_error"].is_string()
                })
                .await;
        }
        ids.push(server.create("relay", "baton", json!({})).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let mut seen = std::collections::BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        server
            .wait_for_ticket(*id, "closed", |t| t["status"] == "closed")
            .await;
        let rows = relay_log(&server, *id).await;
        // Exactly one step: one log line and one move, by one version.
        assert_eq!(rows.len(), 2, "ticket {id}: {rows:?}");
        assert_eq!(rows[1].0, "state_changed");
        let version = rows[0].1.clone();
        if i >= 20 {
            assert_eq!(version, "relay v2", "ticket {id}, created after the switch");
        }
        *seen.entry(version).or_insert(0) += 1;
    }
    assert!(seen.get("relay v1").is_some_and(|n| *n >= 1), "{seen:?}");
    assert!(seen.get("relay v2").is_some_and(|n| *n >= 40), "{seen:?}");

    // The garbage was refused, v2 kept running, and an error ticket says so.
    let bot = server.bot(RELAY).await;
    assert_eq!(bot["status"], "running");
    assert_ne!(bot["version"], v1_version.as_str());
    assert_eq!(bot["restarts"], 1);
    assert_eq!(bot["last_error"], "not a WebAssembly file");
    let log = server.log();
    assert!(
        log.contains("bot file refused") && log.contains("not a WebAssembly file"),
        "{log}"
    );
    let store = server.store().await;
    let reports = error_tickets(&store).await;
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("keeps running")
    );
}

/// The metadata of every error ticket.
async fn error_tickets(store: &baton_host::store::SqliteStore) -> Vec<Value> {
    use sqlx::Row;
    sqlx::query("SELECT metadata FROM tickets WHERE metaservice = 'baton' ORDER BY id")
        .fetch_all(store.pool())
        .await
        .expect("query")
        .iter()
        .map(|r| {
            serde_json::from_str(&r.try_get::<String, _>("metadata").unwrap_or_default())
                .unwrap_or(Value::Null)
        })
        .collect()
}

#[tokio::test]
async fn a_removed_bot_stops_and_its_events_wait_for_its_return() {
    let server = Server::start(|bots| copy_dir(&fixture_bots(), bots)).await;
    let file = server.bots_dir().join(format!("{RELAY}.wasm"));
    let bytes = std::fs::read(&file).expect("read");
    std::fs::remove_file(&file).expect("remove");
    server
        .wait_for_bot(RELAY, "missing", |b| b["status"] == "missing")
        .await;

    let id = server.create("relay", "baton", json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, ticket) = server.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(ticket["state"]["code"], 1, "no bot, no step");
    let events = server.store().await.events_of(id).await.expect("events");
    assert_eq!((events.len(), events[0].attempts), (1, 0));

    deploy(&server.bots_dir(), &format!("{RELAY}.wasm"), &bytes);
    server
        .wait_for_ticket(id, "closed", |t| t["status"] == "closed")
        .await;
    assert_eq!(server.bot(RELAY).await["status"], "running");
}

#[tokio::test]
async fn compiled_bots_are_cached_and_a_corrupt_entry_is_rebuilt() {
    let mut server = Server::start(|bots| copy_dir(&fixture_bots(), bots)).await;
    let first = server.log();
    assert!(first.contains("compiled=Compiled"), "{first}");
    // On a first start, a file comes from the cache only when the same file
    // (one component deployed under several names) was compiled before it.
    let loads = |how: &str| -> Vec<String> {
        first
            .lines()
            .filter(|l| l.contains(how))
            .filter_map(|l| l.split("sha256=").nth(1))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_string)
            .collect()
    };
    let compiled = loads("compiled=Compiled");
    for sha in loads("compiled=Cache") {
        assert!(
            compiled.contains(&sha),
            "{sha} came from a cache nobody filled:\n{first}"
        );
    }

    server.restart().await;
    let second = server.log()[first.len()..].to_string();
    assert!(second.contains("compiled=Cache"), "{second}");
    assert!(
        !second.contains("compiled=Compiled"),
        "nothing recompiled: {second}"
    );

    // Damage one entry: it is refused by its checksum and rebuilt.
    let cache = server.dir.path().join("cache");
    let entry = walk(&cache)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("a cache entry");
    let mut bytes = std::fs::read(&entry).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entry, bytes).expect("write");
    let before = server.log().len();
    server.restart().await;
    let third = server.log()[before..].to_string();
    assert!(third.contains("does not match its checksum"), "{third}");
    assert!(third.contains("compiled=Compiled"), "{third}");
    let id = server.create("relay", "baton", json!({})).await;
    server
        .wait_for_ticket(id, "closed", |t| t["status"] == "closed")
        .await;
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let started = Instant::now();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                found.push(p);
            }
        }
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    found
}

#[tokio::test]
async fn a_half_written_file_is_refused_then_loaded_once_complete() {
    let server = Server::start(|bots| copy_dir(&fixture_bots(), bots)).await;
    let v1 = server.bot(RELAY).await["version"].clone();
    let file = server.bots_dir().join(format!("{RELAY}.wasm"));
    let whole = v2();
    // Written in place, not renamed: the watcher sees the first half alone.
    std::fs::write(&file, &whole[..whole.len() / 2]).expect("write half");
    let refused = server
        .wait_for_bot(RELAY, "refusing the half", |b| b["last_error"].is_string())
        .await;
    assert!(
        refused["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("not a valid component"),
        "{refused}"
    );
    assert_eq!(refused["version"], v1);

    std::fs::write(&file, &whole).expect("write whole");
    let loaded = server
        .wait_for_bot(RELAY, "on v2", |b| {
            b["version"] != v1 && b["last_error"].is_null()
        })
        .await;
    assert_eq!(loaded["status"], "running");
    let id = server.create("relay", "baton", json!({})).await;
    server
        .wait_for_ticket(id, "closed", |t| t["status"] == "closed")
        .await;
    assert!(
        relay_log(&server, id)
            .await
            .iter()
            .any(|(_, m)| m == "relay v2")
    );
}
