//! What only PostgreSQL has: several nodes on one database claiming and
//! firing timers at once, an outage of the database, the plan of a bot's
//! claim; and documents byte for byte those SQLite writes.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_host::model::BotName;
use baton_host::store::{
    BotRecord, Commit, NewTimer, PgStore, QueuedEvent, Signal, Store, StoreError, TimerKind,
};
use serde_json::json;

use super::{Backend, Db, create, event, log, new_ticket, step};
use crate::support::postgres::{own_cluster, with_database};

/// What the claimers saw: each event's claims, and the events whose
/// consuming commit has started, by ticket.
#[derive(Default)]
struct Seen {
    claims: HashMap<i64, u32>,
    consuming: HashMap<i64, BTreeSet<i64>>,
    all: Vec<QueuedEvent>,
}

/// Claims and consumes until nothing is left; records into `seen` and
/// fails if an event is claimed while an older one of its ticket is not
/// yet being consumed.
async fn claimer(store: Arc<dyn Store>, owner: String, by_bot: bool, seen: Arc<Mutex<Seen>>) {
    let orders = BotName::parse("shop-order-1-new").expect("bot");
    let mut idle = 0;
    while idle < 20 {
        let got = match by_bot {
            true => {
                store
                    .claim_bot_events(&owner, &orders, 10_000, 600_000, 4)
                    .await
            }
            false => store.claim_events(&owner, 10_000, 600_000, 4).await,
        }
        .expect("claim");
        if got.is_empty() {
            idle += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        idle = 0;
        for ev in got {
            {
                let mut guard = seen.lock().expect("seen");
                let seen = &mut *guard;
                *seen.claims.entry(ev.id).or_default() += 1;
                let before = seen.all.iter().filter(|e| e.ticket_id == ev.ticket_id);
                let consuming = seen.consuming.entry(ev.ticket_id).or_default();
                for older in before.filter(|e| e.id < ev.id) {
                    assert!(
                        consuming.contains(&older.id),
                        "event {} claimed while {} of its ticket is leased",
                        ev.id,
                        older.id
                    );
                }
                consuming.insert(ev.id);
            }
            let consume = Commit {
                consumes: Some(ev.id),
                logs: vec![log(ev.ticket_id, &format!("ran {}", ev.id))],
                ..Commit::default()
            };
            store.commit(&consume, 10_000).await.expect("consume");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_claiming_concurrently_never_lease_the_same_event() {
    let db = Db::postgres().await;
    let mut tickets = Vec::new();
    for _ in 0..150 {
        tickets.push(create(&*db, vec![]).await);
    }
    let events = Commit {
        events: tickets
            .iter()
            .flat_map(|t| [event(*t, 0), event(*t, 0)])
            .collect(),
        ..Commit::default()
    };
    db.commit(&events, 1_000).await.expect("events");
    let all: Vec<QueuedEvent> = {
        let mut all = Vec::new();
        for t in &tickets {
            all.extend(db.events_of(*t).await.expect("events"));
        }
        all
    };
    let seen = Arc::new(Mutex::new(Seen {
        all: all.clone(),
        ..Seen::default()
    }));
    let other = db.another().await;
    let mut tasks = tokio::task::JoinSet::new();
    for (n, store) in [db.store.clone(), other.clone(), db.store.clone(), other]
        .into_iter()
        .enumerate()
    {
        tasks.spawn(claimer(
            store,
            format!("node-{n}"),
            n % 2 == 1,
            seen.clone(),
        ));
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a claimer failed");
    }
    let claims = std::mem::take(&mut seen.lock().expect("seen").claims);
    assert_eq!(claims.len(), all.len(), "every event was claimed");
    let twice: Vec<_> = claims.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "claimed twice: {twice:?}");
    assert_eq!(db.count("events").await, 0);
    assert_eq!(db.count("ticket_logs").await, all.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_fired_by_two_stores_at_once_makes_one_event() {
    let db = Db::postgres().await;
    let mut timers = Vec::new();
    for n in 0..120 {
        let id = create(&*db, vec![]).await;
        timers.push(NewTimer {
            ticket_id: id,
            state_code: 1,
            kind: TimerKind::Wait,
            due_at: Some(2_000 + n),
            base_at: 1_000,
            other_ticket: None,
            repeats_left: 0,
        });
    }
    let commit = Commit {
        timers,
        ..Commit::default()
    };
    db.commit(&commit, 1_000).await.expect("timers");
    let stores = [db.store.clone(), db.another().await];
    let start = Arc::new(tokio::sync::Barrier::new(stores.len()));
    let mut tasks = tokio::task::JoinSet::new();
    for store in stores {
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            let mut fired = 0;
            loop {
                match store.fire_due_timers(5_000, 7).await.expect("fire") {
                    0 => return fired,
                    n => fired += n,
                }
            }
        });
    }
    let mut fired = Vec::new();
    while let Some(done) = tasks.join_next().await {
        fired.push(done.expect("a firer failed"));
    }
    assert_eq!(fired.iter().sum::<u64>(), 120, "{fired:?}");
    assert_eq!(db.count("events").await, 120);
    assert_eq!(db.count("timers").await, 0);
    let tickets = db
        .scalar("SELECT COUNT(DISTINCT ticket_id) FROM events")
        .await;
    assert_eq!(tickets, Some(120), "one event per timer");
}

/// `n` tickets, each with an event due, in one commit.
async fn queue_events(db: &Db, n: usize) {
    let mut commit = Commit::default();
    for _ in 0..n {
        let id = db.next_ticket_id().await.expect("id");
        commit.inserts.push(new_ticket(id));
        commit.events.push(event(id, 0));
    }
    db.commit(&commit, 1_000).await.expect("events");
}

#[tokio::test]
async fn a_bots_claim_reads_its_own_index_range() {
    let db = Db::postgres().await;
    let Backend::Postgres(store) = &db.backend else {
        panic!("a PostgreSQL store");
    };
    // Enough queued events (of another bot) that reading past them would
    // show in the plan: one commit of 2,000 tickets, each with its event.
    queue_events(&db, 2_000).await;
    sqlx::query("ANALYZE events")
        .execute(store.pool())
        .await
        .expect("analyze");
    let plan = store.claim_plan().await.expect("plan").join("\n");
    assert!(plan.contains("using events_by_bot on events e"), "{plan}");
    assert!(!plan.contains("Sort"), "{plan}");
    assert!(!plan.contains("Seq Scan on events"), "{plan}");
    // A busy node's claim starts past the last event it took (`cursors.rs`):
    // where it starts bounds the index scan, so the events in flight
    // before it are not read at all (as a filter, each would be).
    let bounded = plan.lines().any(|line| {
        line.contains("Index Cond:")
            && line.contains("ROW(available_at, id) > ROW(w.after_at, w.after_id)")
    });
    assert!(bounded, "{plan}");
}

/// A node starts on a quiet database: its claim connections plan a claim
/// while the queue is empty (and `ANALYZE` found it empty), and keep that
/// generic plan while the queue fills. Left to the costs, such a plan
/// reads every event with a sequential scan and sorts them; on claim
/// connections it reads the bots' index ranges, as it must once the
/// queue is long.
#[tokio::test]
async fn a_claim_planned_on_an_empty_queue_reads_the_bots_index_ranges() {
    let db = Db::postgres().await;
    let Backend::Postgres(store) = &db.backend else {
        panic!("a PostgreSQL store");
    };
    sqlx::query("ANALYZE events")
        .execute(store.pool())
        .await
        .expect("analyze");
    let orders = BotName::parse("shop-order-1-new").expect("bot");
    let none = db
        .claim_for_bots("w", &[(orders, 4)], 0, 1_000)
        .await
        .expect("a claim on the empty queue");
    assert!(none.iter().all(Vec::is_empty));
    // The queue fills; the statistics still say it is empty.
    queue_events(&db, 2_000).await;
    let plan = store.claim_plan().await.expect("plan").join("\n");
    assert!(plan.contains("using events_by_bot on events e"), "{plan}");
    assert!(!plan.contains("Seq Scan on events"), "{plan}");
    assert!(!plan.contains("Sort"), "{plan}");
}

/// Runs the same story on a store: a ticket archived, timers fired, a
/// wait ended by a close and one by a retirement, a comment heard by its
/// bot; returns every event payload and the archive document, as stored.
async fn story(db: &Db) -> (Vec<String>, String) {
    let ann = db.person("ann", false).await.id;
    let old = super::upkeep::archived_ticket(db, ann).await;
    let a = create(&**db, vec![]).await;
    let b = create(&**db, vec![]).await;
    let c = create(&**db, vec![]).await;
    let timer = |ticket, kind, due: Option<i64>, other, repeats| NewTimer {
        ticket_id: ticket,
        state_code: 1,
        kind,
        due_at: due,
        base_at: 1_000,
        other_ticket: other,
        repeats_left: repeats,
    };
    let commit = Commit {
        timers: vec![
            timer(a, TimerKind::Reminder, Some(6_000), None, 3),
            timer(a, TimerKind::Lifetime, Some(6_500), None, 0),
            timer(a, TimerKind::Wait, Some(7_000), None, 0),
            timer(a, TimerKind::WaitTicket, None, Some(b), 0),
            timer(a, TimerKind::WaitTicket, None, Some(c), 0),
        ],
        comments: vec![baton_host::store::NewComment {
            ticket_id: a,
            body: "ünïcode \"quotes\" \\ and\ttabs".into(),
            acting_user_id: ann,
            acting_stakeholder_id: None,
            event_for_state: Some(1),
        }],
        ..Commit::default()
    };
    db.commit(&commit, 5_500).await.expect("timers");
    db.fire_due_timers(8_000, 10).await.expect("fire");
    db.commit(&step(b, 1, "done"), 8_100).await.expect("close");
    db.retire(&[c], false, 8_200).await.expect("retire");
    db.retire(&[old], true, 8_300).await.expect("archive");
    let mut payloads = Vec::new();
    for e in db.events_of(a).await.expect("events") {
        let sql = format!("SELECT payload FROM events WHERE id = {}", e.id);
        payloads.push(db.text(&sql).await);
    }
    let document = format!("SELECT document FROM archived_tickets WHERE id = {old}");
    (payloads, db.text(&document).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_and_archive_documents_are_byte_for_byte_sqlites() {
    let (sqlite, postgres) = (Db::sqlite().await, Db::postgres().await);
    let (sqlite, postgres) = (story(&sqlite).await, story(&postgres).await);
    assert_eq!(sqlite.0.len(), 6, "{:#?}", sqlite.0);
    assert_eq!(postgres.0, sqlite.0);
    assert_eq!(postgres.1, sqlite.1);
    // The document is SQLite's json_object: keys in its order, no spaces.
    assert!(
        sqlite
            .1
            .starts_with("{\"ticket\":{\"id\":1,\"metaservice\":\"shop\""),
        "{}",
        sqlite.1
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&sqlite.0[0]).expect("json"),
        json!({"comment_id": 2, "body": "ünïcode \"quotes\" \\ and\ttabs", "user_id": 1})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_node_has_its_own_row_and_bot_records() {
    let db = Db::postgres().await;
    let Backend::Postgres(first) = &db.backend else {
        panic!("a PostgreSQL store");
    };
    let url = db.url.clone();
    let second = PgStore::open(&url).await.expect("open");
    assert_ne!(first.node_id(), second.node_id());
    assert_eq!(db.count("nodes").await, 2);
    let record = BotRecord {
        name: "shop-order-1-new".into(),
        sha256: None,
        status: "running".into(),
        restarts: 1,
        loaded_at: None,
        last_error: None,
        refused_sha256: None,
        updated_at: 5,
    };
    first.record_bot(&record).await.expect("record");
    assert!(
        second
            .bot_record(&record.name)
            .await
            .expect("read")
            .is_none()
    );
    let mine = first.bot_record(&record.name).await.expect("read");
    assert_eq!(mine.map(|r| r.restarts), Some(1));
}

/// Within `limit`, or the call hung.
async fn soon<T>(limit: Duration, call: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, call)
        .await
        .expect("the call hung instead of failing")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_fails_calls_fast_and_commits_resume_after_it() {
    let dead = format!(
        "postgres://postgres@127.0.0.1:{}/baton",
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
    );
    let got = soon(Duration::from_secs(20), PgStore::open(&dead)).await;
    assert!(got.is_err(), "nothing listens there");

    let cluster = Arc::new(
        tokio::task::spawn_blocking(own_cluster)
            .await
            .expect("cluster"),
    );
    let store = PgStore::open(&with_database(&cluster.url, "baton"))
        .await
        .expect("open");
    store
        .sync_catalog(&super::catalog(), 0)
        .await
        .expect("sync");
    let id = store.next_ticket_id().await.expect("id");
    let create = Commit {
        inserts: vec![new_ticket(id)],
        ..Commit::default()
    };
    store.commit(&create, 1_000).await.expect("commit");

    let down = cluster.clone();
    tokio::task::spawn_blocking(move || down.stop())
        .await
        .expect("stop")
        .expect("stop");
    let limit = Duration::from_secs(20);
    let got = soon(limit, store.commit(&step(id, 1, "down"), 2_000)).await;
    // Each says the database is out of reach (the API's 503), not that
    // it refused the call.
    assert!(
        got.as_ref().is_err_and(StoreError::is_unavailable),
        "{got:?}"
    );
    let read = soon(limit, store.ticket(id)).await;
    assert!(
        read.as_ref().is_err_and(StoreError::is_unavailable),
        "{read:?}"
    );
    let claim = soon(limit, store.claim_events("w", 0, 1, 1)).await;
    assert!(
        claim.as_ref().is_err_and(StoreError::is_unavailable),
        "{claim:?}"
    );
    assert!(soon(limit, store.ping()).await.is_err());

    let up = cluster.clone();
    tokio::task::spawn_blocking(move || up.start_again())
        .await
        .expect("start")
        .expect("start");
    // Once the database answers again, so does every commit: a committer
    // whose connection closed (while it was idle, or under the commit
    // above) opens a new one, and no caller sees the old one fail.
    let start = Instant::now();
    while soon(limit, store.ping()).await.is_err() {
        assert!(start.elapsed() < limit, "the database never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for version in 1..=8 {
        let title = format!("up {version}");
        soon(limit, store.commit(&step(id, version, &title), 3_000))
            .await
            .unwrap_or_else(|e| panic!("commit {version} after the outage: {e}"));
    }
    let t = store.ticket(id).await.expect("read").expect("ticket");
    assert_eq!((t.title.as_str(), t.version), ("up 8", 9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_picks_the_backend_by_the_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plain.db");
    let store = baton_host::store::connect(&path.display().to_string())
        .await
        .expect("a plain path is SQLite");
    assert_eq!(store.count_users().await.expect("count"), 0);
    assert!(path.exists());
    let url = format!("sqlite://{}", dir.path().join("url.db").display());
    baton_host::store::connect(&url)
        .await
        .expect("a sqlite: URL is SQLite");
    assert!(dir.path().join("url.db").exists());

    let db = crate::support::postgres::database().await;
    for url in [
        db.url.clone(),
        db.url.replacen("postgres://", "postgresql://", 1),
    ] {
        let store = baton_host::store::connect(&url).await.expect("PostgreSQL");
        assert_eq!(store.count_users().await.expect("count"), 0);
    }
    let pool = sqlx::PgPool::connect(&db.url).await.expect("pool");
    let nodes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM nodes")
        .fetch_one(&pool)
        .await
        .expect("nodes");
    assert_eq!(nodes, 2, "each PostgreSQL store registered its node");
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_job_goes_to_one_node_per_period() {
    let db = Db::postgres().await;
    let other = db.another().await;
    let (a, b) = (db.store.clone(), other);
    // Both ask at once, many times: one yes per period.
    let asks = (0..10)
        .flat_map(|_| [a.clone(), b.clone()])
        .map(|s| async move { s.lead("sweep", 1_000, 60_000).await.expect("lead") });
    let yes = futures::future::join_all(asks)
        .await
        .into_iter()
        .filter(|y| *y)
        .count();
    assert_eq!(yes, 1);
    // Another job is its own; the next period is anybody's again.
    assert!(b.lead("retention", 1_000, 60_000).await.expect("lead"));
    assert!(!a.lead("sweep", 40_000, 60_000).await.expect("lead"));
    assert!(b.lead("sweep", 61_000, 60_000).await.expect("lead"));
    assert!(!a.lead("sweep", 61_500, 60_000).await.expect("lead"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_nodes_leases_are_freed_by_a_beating_one() {
    let db = Db::postgres().await;
    let other = db.another().await;
    create(&*db, vec![event(1, 0)]).await;
    // The other node claims with a long lease, then falls silent.
    let held = other
        .claim_events(other.node_id(), 1_000, 600_000, 10)
        .await
        .expect("claim");
    assert_eq!(held.len(), 1);
    assert_eq!(other.heartbeat(300).await.expect("beat"), 0);
    drop(other);
    // This node beats steadily; once the other is silent for 300 ms its
    // lease goes, and the event is claimable here long before it expires.
    assert_eq!(db.heartbeat(300).await.expect("beat"), 0);
    let start = std::time::Instant::now();
    let mut freed = 0;
    while freed == 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "never freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
        freed = db.heartbeat(300).await.expect("beat");
    }
    assert_eq!(freed, 1);
    let again = db
        .claim_events(db.node_id(), 2_000, 600_000, 10)
        .await
        .expect("claim");
    assert_eq!(again.len(), 1, "the event runs here now");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_reach_the_other_nodes_and_not_the_sender() {
    let db = Db::postgres().await;
    let other = db.another().await;
    let mut heard_there = other.signals();
    let mut heard_here = db.signals();
    // The listener subscribes in the background: say it until it is heard.
    let start = std::time::Instant::now();
    let got = loop {
        db.announce(Signal::Work);
        db.announce(Signal::Notifications(vec![7, 8]));
        match tokio::time::timeout(Duration::from_millis(200), heard_there.recv()).await {
            Ok(got) => break got.expect("a signal"),
            Err(_) => assert!(start.elapsed() < Duration::from_secs(10), "never heard"),
        }
    };
    assert!(
        matches!(got, Signal::Work | Signal::Notifications(_)),
        "{got:?}"
    );
    other.announce(Signal::Settings);
    let start = std::time::Instant::now();
    loop {
        match tokio::time::timeout(Duration::from_millis(200), heard_here.recv()).await {
            Ok(Ok(Signal::Settings)) => break,
            Ok(Ok(mine)) => panic!("a node heard its own signal: {mine:?}"),
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => assert!(start.elapsed() < Duration::from_secs(10), "never heard"),
        }
    }
}
