//! The SQLite store on a real file: commits are all or nothing and
//! guarded by versions; the queue leases one event per ticket, in order.

use baton_host::model::{Actor, Catalog, Status, manifest};
use baton_host::store::{
    Commit, EventKind, NewEvent, NewLog, NewTicket, SqliteStore, Store, StoreError, TicketUpdate,
};
use serde_json::json;
use sqlx::Row;
use tempfile::TempDir;

const MANIFEST: &str = r#"
name = "shop"
error_group = "ops"
[ticket_types.order]
transitions = [[1, 2]]
states = [{ code = 1, name = "new" }, { code = 2, name = "shipped", terminal = true }]
"#;

async fn store() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = SqliteStore::open(&url).await.expect("open");
    let ms = manifest::parse("shop.metaservice.toml", MANIFEST, &|_| {
        Err("no files".into())
    })
    .expect("manifest");
    store
        .sync_catalog(&Catalog::new([ms]), 0)
        .await
        .expect("sync");
    (store, dir)
}

fn new_ticket(id: i64) -> NewTicket {
    NewTicket {
        id,
        metaservice: "shop".into(),
        ticket_type: "order".into(),
        title: format!("order {id}"),
        state_code: 1,
        status: Status::Open,
        metadata: json!({}),
        parent_id: None,
        created_by: Actor::Host,
        stakeholders: Vec::new(),
    }
}

fn event(ticket: i64, at: i64) -> NewEvent {
    NewEvent {
        ticket_id: ticket,
        state_code: 1,
        kind: EventKind::Entered,
        payload: json!({}),
        available_at: at,
    }
}

async fn create(store: &SqliteStore, events: Vec<NewEvent>) -> i64 {
    let id = store.next_ticket_id().await.expect("id");
    let commit = Commit {
        inserts: vec![new_ticket(id)],
        events,
        ..Commit::default()
    };
    store.commit(&commit, 1_000).await.expect("commit");
    id
}

async fn count(store: &SqliteStore, table: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM {table}"
    )))
    .fetch_one(store.pool())
    .await
    .and_then(|r| r.try_get("n"))
    .expect("count")
}

#[tokio::test]
async fn commits_durably_in_wal_mode() {
    let (store, _dir) = store().await;
    let sync: i64 = sqlx::query("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get(0))
        .expect("pragma");
    let journal: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get(0))
        .expect("pragma");
    assert_eq!(
        (sync, journal.as_str()),
        (2, "wal"),
        "synchronous=FULL, WAL"
    );
    // The connection commits go through, too.
    let (sync, journal) = store.writer_settings().await.expect("pragmas");
    assert_eq!((sync, journal.as_str()), (2, "wal"));
}

#[tokio::test]
async fn ticket_numbers_only_go_up() {
    let (store, _dir) = store().await;
    let a = store.next_ticket_id().await.expect("id");
    let b = store.next_ticket_id().await.expect("id");
    assert_eq!((a, b), (1, 2));
}

#[tokio::test]
async fn a_stale_version_rolls_back_the_whole_commit() {
    let (store, _dir) = store().await;
    let id = create(&store, vec![]).await;
    let other = store.next_ticket_id().await.expect("id");
    let update = TicketUpdate {
        id,
        expected_version: 7,
        title: None,
        state: Some((2, Status::Closed)),
        metadata: None,
    };
    let log = NewLog {
        ticket_id: id,
        actor: Actor::Host,
        action: "log",
        from_state: None,
        to_state: None,
        message: "x".into(),
        data: None,
        acting_stakeholder: None,
    };
    let commit = Commit {
        inserts: vec![new_ticket(other)],
        updates: vec![update],
        logs: vec![log],
        ..Commit::default()
    };
    match store.commit(&commit, 2_000).await {
        Err(StoreError::Conflict(t)) => assert_eq!(t, id),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(
        store.ticket(other).await.expect("read").is_none(),
        "the insert was rolled back"
    );
    assert!(store.logs(id).await.expect("logs").is_empty());

    let right = TicketUpdate {
        id,
        expected_version: 1,
        title: None,
        state: Some((2, Status::Closed)),
        metadata: Some(json!({"a": 1})),
    };
    store
        .commit(
            &Commit {
                updates: vec![right],
                ..Commit::default()
            },
            3_000,
        )
        .await
        .expect("commit");
    let t = store.ticket(id).await.expect("read").expect("exists");
    assert_eq!(
        (t.state_code, t.status, t.version, t.closed_at),
        (2, Status::Closed, 2, Some(3_000))
    );
    assert_eq!(t.metadata, json!({"a": 1}));
}

#[tokio::test]
async fn one_event_per_ticket_is_leased_at_a_time_in_order() {
    let (store, _dir) = store().await;
    let a = create(&store, vec![]).await;
    let b = create(&store, vec![]).await;
    let first = Commit {
        events: vec![event(a, 10), event(a, 10), event(b, 20)],
        ..Commit::default()
    };
    store.commit(&first, 10).await.expect("commit");

    let claimed = store
        .claim_events("w1", 100, 1_000, 10)
        .await
        .expect("claim");
    let tickets: Vec<i64> = claimed.iter().map(|e| e.ticket_id).collect();
    assert_eq!(tickets, vec![a, b], "only the oldest event of each ticket");
    assert!(
        store
            .claim_events("w2", 200, 1_000, 10)
            .await
            .expect("claim")
            .is_empty(),
        "leased"
    );

    // The lease runs out: the same events can be claimed again.
    let again = store
        .claim_events("w2", 1_200, 1_000, 10)
        .await
        .expect("claim");
    assert_eq!(again.len(), 2);

    // Consuming a's first event makes its second one claimable.
    let consume = Commit {
        consumes: Some(again[0].id),
        ..Commit::default()
    };
    store.commit(&consume, 1_300).await.expect("consume");
    let next = store
        .claim_events("w3", 1_300, 1_000, 10)
        .await
        .expect("claim");
    assert_eq!(
        next.iter().map(|e| e.ticket_id).collect::<Vec<_>>(),
        vec![a]
    );
    assert_ne!(next[0].id, again[0].id);
}

#[tokio::test]
async fn consuming_an_event_twice_writes_nothing_the_second_time() {
    let (store, _dir) = store().await;
    let id = create(
        &store,
        // The ticket created here is the store's first: number 1.
        vec![event(1, 0)],
    )
    .await;
    let ev = store
        .claim_events("w", 10, 1_000, 1)
        .await
        .expect("claim")
        .remove(0);
    let log = |m: &str| NewLog {
        ticket_id: id,
        actor: Actor::Host,
        action: "log",
        from_state: None,
        to_state: None,
        message: m.into(),
        data: None,
        acting_stakeholder: None,
    };
    store
        .commit(
            &Commit {
                consumes: Some(ev.id),
                logs: vec![log("first")],
                ..Commit::default()
            },
            20,
        )
        .await
        .expect("first");
    let second = store
        .commit(
            &Commit {
                consumes: Some(ev.id),
                logs: vec![log("second")],
                ..Commit::default()
            },
            30,
        )
        .await;
    assert!(
        matches!(second, Err(StoreError::Consumed(e)) if e == ev.id),
        "{second:?}"
    );
    let messages: Vec<String> = store
        .logs(id)
        .await
        .expect("logs")
        .into_iter()
        .map(|l| l.message)
        .collect();
    assert_eq!(messages, vec!["first"]);
}

#[tokio::test]
async fn failures_count_and_parking_files_its_report_atomically() {
    let (store, _dir) = store().await;
    let id = create(&store, vec![event(1, 0)]).await;
    let ev = store
        .claim_events("w", 10, 1_000, 1)
        .await
        .expect("claim")
        .remove(0);
    store
        .release_event(ev.id, 500, Some("boom"))
        .await
        .expect("release");
    assert!(
        store
            .claim_events("w", 400, 1_000, 1)
            .await
            .expect("claim")
            .is_empty(),
        "not due before 500"
    );
    let ev = store
        .claim_events("w", 500, 1_000, 1)
        .await
        .expect("claim")
        .remove(0);
    assert_eq!((ev.attempts, ev.last_error.as_deref()), (1, Some("boom")));

    let report_id = store.next_ticket_id().await.expect("id");
    let mut report = new_ticket(report_id);
    report.parent_id = Some(id);
    store
        .park_event(
            ev.id,
            "boom again",
            &Commit {
                inserts: vec![report],
                ..Commit::default()
            },
            600,
        )
        .await
        .expect("park");
    let events = store.events_of(id).await.expect("events");
    assert_eq!((events[0].parked, events[0].attempts), (true, 2));
    assert!(
        store
            .claim_events("w", 10_000, 1_000, 1)
            .await
            .expect("claim")
            .is_empty(),
        "parked events are not claimed"
    );
    assert_eq!(
        store
            .ticket(report_id)
            .await
            .expect("read")
            .and_then(|t| t.parent_id),
        Some(id)
    );
    assert_eq!(count(&store, "tickets").await, 2);
}

#[tokio::test]
async fn a_comment_does_not_land_on_a_closed_ticket() {
    use baton_host::store::NewComment;
    let (store, _dir) = store().await;
    let user = store
        .create_user(
            &baton_host::store::NewUser {
                login: "u".into(),
                name: "u".into(),
                email: None,
                is_admin: false,
            },
            0,
        )
        .await
        .expect("user");
    let id = create(&store, Vec::new()).await;
    let close = Commit {
        updates: vec![TicketUpdate {
            id,
            expected_version: 1,
            title: None,
            state: Some((2, Status::Closed)),
            metadata: None,
        }],
        ..Commit::default()
    };
    store.commit(&close, 5).await.expect("close");
    let comment = Commit {
        comments: vec![NewComment {
            ticket_id: id,
            body: "too late".into(),
            acting_user_id: user.id,
            acting_stakeholder_id: None,
            event_for_state: None,
        }],
        ..Commit::default()
    };
    let got = store.commit(&comment, 6).await;
    assert!(
        matches!(got, Err(StoreError::Conflict(t)) if t == id),
        "{got:?}"
    );
    assert!(store.comments(id).await.expect("comments").is_empty());
}

#[tokio::test]
async fn ticket_numbers_come_in_blocks_and_never_twice() {
    let (a, dir) = store().await;
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let b = SqliteStore::open(&url).await.expect("a second handle");
    let mut seen = std::collections::BTreeSet::new();
    let mut last_a = 0;
    for _ in 0..100 {
        let x = a.next_ticket_id().await.expect("id");
        let y = b.next_ticket_id().await.expect("id");
        assert!(x > last_a, "each store's numbers grow");
        last_a = x;
        assert!(
            seen.insert(x) && seen.insert(y),
            "{x} or {y} handed out twice"
        );
    }
    // Two blocks each, not one write per number.
    let next: i64 =
        sqlx::query_scalar("SELECT next_value FROM id_sequences WHERE name = 'tickets'")
            .fetch_one(a.pool())
            .await
            .expect("sequence");
    assert_eq!(next, 1 + 4 * 64);
}

#[tokio::test]
async fn a_bots_claim_reads_its_own_index_range() {
    let (store, _dir) = store().await;
    let plan = store.claim_plan().await.expect("plan");
    assert!(
        plan[0].starts_with(
            "SEARCH e USING INDEX events_by_bot (bot=? AND status=? AND available_at<?)"
        ),
        "{plan:#?}"
    );
    assert!(
        !plan
            .iter()
            .any(|p| p.contains("TEMP B-TREE") || p.starts_with("SCAN")),
        "{plan:#?}"
    );
}

/// A move of `id` from state 1, guarded by `version`, with its log line.
fn step(id: i64, version: i64, title: &str) -> Commit {
    Commit {
        updates: vec![TicketUpdate {
            id,
            expected_version: version,
            title: Some(title.into()),
            state: Some((2, Status::Closed)),
            metadata: None,
        }],
        logs: vec![NewLog {
            ticket_id: id,
            actor: Actor::Host,
            action: "state_changed",
            from_state: Some(1),
            to_state: Some(2),
            message: title.into(),
            data: None,
            acting_stakeholder: None,
        }],
        ..Commit::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_in_which_one_commit_conflicts_keeps_the_others() {
    let (store, _dir) = store().await;
    let store = std::sync::Arc::new(store);
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(create(&store, vec![]).await);
    }
    // Hold the writer, hand in 41 commits (two of them race for the same
    // ticket at the same version), and let them go as one batch.
    let paused = store.pause_writer().await.expect("pause");
    let before = store.writer_stats();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, id) in ids.iter().copied().enumerate() {
        let store = store.clone();
        tasks.spawn(async move { (id, n, store.commit(&step(id, 1, "winner"), 5_000).await) });
    }
    let racer = ids[7];
    let s = store.clone();
    tasks.spawn(async move { (racer, 99, s.commit(&step(racer, 1, "racer"), 5_000).await) });
    while store.writer_stats().queued < before.queued + 41 {
        tokio::task::yield_now().await;
    }
    drop(paused);
    let mut lost = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (id, n, result) = done.expect("task");
        match result {
            Ok(_) => {}
            Err(StoreError::Conflict(t)) if t == racer && id == racer => lost.push(n),
            Err(e) => panic!("commit {n} of ticket {id}: {e}"),
        }
    }
    let after = store.writer_stats();
    // The pause job's own batch, then all 41 in one.
    assert_eq!(after.batches - before.batches, 2, "{before:?} → {after:?}");
    assert_eq!(lost.len(), 1, "exactly one of the racers loses: {lost:?}");
    for id in &ids {
        let t = store.ticket(*id).await.expect("read").expect("ticket");
        assert_eq!((t.state_code, t.version), (2, 2), "ticket {id} moved once");
        assert_eq!(store.logs(*id).await.expect("logs").len(), 1);
    }
    // The loser re-runs alone, on the ticket as the winner left it.
    let t = store.ticket(racer).await.expect("read").expect("ticket");
    let rerun = Commit {
        updates: vec![TicketUpdate {
            id: racer,
            expected_version: t.version,
            title: Some(format!("{} (again)", t.title)),
            state: None,
            metadata: None,
        }],
        ..Commit::default()
    };
    store
        .commit(&rerun, 6_000)
        .await
        .expect("the re-run commits");
    let t = store.ticket(racer).await.expect("read").expect("ticket");
    assert_eq!(t.version, 3);
    assert!(t.title.ends_with("(again)"), "{}", t.title);
}
