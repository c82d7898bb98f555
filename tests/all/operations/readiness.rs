//! `/readyz` and `baton health` turn red and green again as a bot file is
//! removed and restored and as a manifest is broken and mended.

use std::sync::Arc;

use baton_host::engine::supervisor::{Check, Report};
use baton_host::engine::{Clock, Engine, EngineConfig, ManualClock};
use baton_host::model::{Actor, Status};
use baton_host::runtime::{Limits, Runtime};
use baton_host::store::{
    Commit, EventKind, NewEvent, NewTicket, NewTimer, SqliteStore, Store, TimerKind,
};
use serde_json::json;

use super::{problems, readyz_until, stepper_only};
use crate::support::Server;

fn checks(report: &Report) -> Vec<Check> {
    report.problems.iter().map(|p| p.check).collect()
}

/// The queue, parked events and timers, judged against the thresholds on a
/// clock the test moves (no dispatcher runs: nothing is consumed).
#[tokio::test]
async fn the_supervisor_flags_a_stale_queue_parked_events_and_overdue_timers() {
    let dir = tempfile::tempdir().expect("a directory");
    let bots = dir.path().join("bots");
    std::fs::create_dir(&bots).expect("bots");
    stepper_only(&bots);
    let url = format!("sqlite://{}", dir.path().join("baton.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.expect("store"));
    let clock = Arc::new(ManualClock::new(1_795_510_800_000));
    let runtime = Runtime::new(Limits::default(), 2, None).expect("runtime");
    let engine = Engine::new(
        store.clone(),
        runtime,
        clock.clone(),
        EngineConfig::default(),
        bots,
    );
    engine.scan_bots_dir().await.expect("scan");
    assert!(
        engine.supervise().await.ready(),
        "{:?}",
        engine.supervise().await
    );

    let id = store.next_ticket_id().await.expect("an id");
    let now = clock.now();
    let ticket = NewTicket {
        id,
        metaservice: "stepper".into(),
        ticket_type: "flow".into(),
        title: "waits".into(),
        state_code: 1,
        status: Status::Open,
        metadata: json!({}).into(),
        parent_id: None,
        created_by: Actor::Host,
        stakeholders: Vec::new(),
    };
    let event = |available_at| NewEvent {
        ticket_id: id,
        state_code: 1,
        kind: EventKind::Entered,
        payload: json!({}),
        available_at,
    };
    let created = Commit {
        inserts: vec![ticket],
        events: vec![event(now), event(now)],
        ..Commit::default()
    };
    store.commit(&created, now).await.expect("commit");
    assert!(engine.supervise().await.ready());
    // A minute and a second later nobody took them: the queue is stale.
    clock.advance(61_000);
    assert_eq!(checks(&engine.supervise().await), vec![Check::Queue]);
    // One is parked after its last attempt.
    let parked = store.events_of(id).await.expect("events")[0].id;
    store
        .park_event(parked, "failed five times", &Commit::default(), clock.now())
        .await
        .expect("park");
    let report = engine.supervise().await;
    assert_eq!(checks(&report), vec![Check::Queue, Check::ParkedEvents]);
    assert_eq!(report.backlog.map(|b| b.parked), Some(1));
    // A wait due 61 s ago has not fired.
    let timer = NewTimer {
        ticket_id: id,
        state_code: 1,
        kind: TimerKind::Wait,
        due_at: Some(clock.now() - 61_000),
        base_at: now,
        other_ticket: None,
        repeats_left: 0,
    };
    let timers = Commit {
        timers: vec![timer],
        ..Commit::default()
    };
    store.commit(&timers, clock.now()).await.expect("timer");
    let report = engine.supervise().await;
    assert_eq!(
        checks(&report),
        vec![Check::Queue, Check::ParkedEvents, Check::Timers]
    );
    assert!(report.problems[2].detail.contains("61 s ago"), "{report:?}");
}

#[tokio::test]
async fn readyz_follows_a_bot_file_and_a_manifest_out_and_back() {
    let server = Server::start(stepper_only).await;
    let body = readyz_until(&server, |status, _| status == 200).await;
    assert_eq!(body["status"], "ready");
    let health = server.baton(&["health", "--url", &server.base]);
    let text = String::from_utf8_lossy(&health.stdout);
    assert_eq!(health.status.code(), Some(0), "{text}");
    assert!(
        text.contains("bot: ok") && text.contains("status: ready"),
        "{text}"
    );

    // A bot file goes: the node is not ready, and says which bot.
    let bots = server.bots_dir();
    let file = bots.join("stepper-flow-2-b.wasm");
    let kept = std::fs::read(&file).expect("the bot file");
    std::fs::remove_file(&file).expect("removing it");
    let body = readyz_until(&server, |status, _| status == 503).await;
    let bot = problems(&body, "bot");
    assert_eq!(bot.len(), 1, "{body}");
    assert_eq!(bot[0]["subject"], "stepper-flow-2-b", "{body}");
    let health = server.baton(&["health", "--url", &server.base]);
    let text = String::from_utf8_lossy(&health.stdout);
    assert_eq!(health.status.code(), Some(1), "{text}");
    assert!(text.contains("bot: PROBLEM stepper-flow-2-b"), "{text}");
    let item = server.baton(&["health", "--url", &server.base, "--item", "bot"]);
    assert_eq!(String::from_utf8_lossy(&item.stdout).trim(), "1");

    // It comes back: ready again.
    std::fs::write(bots.join("stepper-flow-2-b.wasm.part"), &kept).expect("writing");
    std::fs::rename(bots.join("stepper-flow-2-b.wasm.part"), &file).expect("renaming");
    readyz_until(&server, |status, _| status == 200).await;

    // The manifest is broken on disk: the next start would refuse it.
    let manifest = bots.join("stepper.metaservice.toml");
    let good = std::fs::read_to_string(&manifest).expect("the manifest");
    std::fs::write(&manifest, "name = \"stepper\"\n[ticket_types.flow\n").expect("breaking it");
    let body = readyz_until(&server, |status, _| status == 503).await;
    let refused = problems(&body, "manifest");
    assert_eq!(refused.len(), 1, "{body}");
    assert_eq!(refused[0]["subject"], "stepper.metaservice.toml", "{body}");
    assert!(
        refused[0]["detail"]
            .as_str()
            .unwrap_or("")
            .starts_with("refused"),
        "{body}"
    );
    std::fs::write(&manifest, good).expect("mending it");
    readyz_until(&server, |status, _| status == 200).await;
}

#[tokio::test]
async fn a_manifest_refused_at_start_is_reported_until_a_restart_loads_it() {
    let mut server = Server::start(|bots| {
        stepper_only(bots);
        // A second metaservice whose manifest is broken from the start.
        std::fs::write(bots.join("broken.metaservice.toml"), "name = 3\n").expect("writing");
    })
    .await;
    let body = readyz_until(&server, |status, _| status == 503).await;
    let refused = problems(&body, "manifest");
    assert_eq!(refused.len(), 1, "{body}");
    assert_eq!(refused[0]["subject"], "broken.metaservice.toml");
    // Mended on disk, it is still not loaded: said so until a restart.
    let stepper = std::fs::read_to_string(server.bots_dir().join("stepper.metaservice.toml"))
        .expect("the stepper manifest");
    let mended = stepper.replace("name = \"stepper\"", "name = \"mended\"");
    std::fs::write(server.bots_dir().join("broken.metaservice.toml"), mended).expect("mending");
    let body = readyz_until(&server, |_, body| {
        problems(body, "manifest")
            .first()
            .is_some_and(|p| p["detail"].as_str().unwrap_or("").contains("restart"))
    })
    .await;
    assert_eq!(body["status"], "not_ready");
    server.restart().await;
    // Its bots are missing now (no files): the manifest is no problem.
    let body = readyz_until(&server, |_, body| !problems(body, "bot").is_empty()).await;
    assert!(problems(&body, "manifest").is_empty(), "{body}");
}

#[tokio::test]
async fn an_unreachable_server_is_reported_to_people_and_to_zabbix() {
    let mut server = Server::start(stepper_only).await;
    readyz_until(&server, |status, _| status == 200).await;
    // No answer: `baton health` says so with exit code 2, and the Zabbix
    // item `status` reads 2.
    let base = server.base.clone();
    server.kill();
    let health = server.baton(&["health", "--url", &base]);
    assert_eq!(health.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&health.stdout).contains("unreachable"));
    let item = server.baton(&["health", "--url", &base, "--item", "status"]);
    assert_eq!(String::from_utf8_lossy(&item.stdout).trim(), "2");
    assert_eq!(item.status.code(), Some(0));
    let bad = server.baton(&["health", "--url", &base, "--item", "nonsense"]);
    assert_ne!(bad.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown item"));
}
