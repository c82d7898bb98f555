//! Commits: all or nothing, guarded by versions, many in one batch; what
//! one commit writes, read back; ticket numbers; waits ended by a close.

use std::collections::BTreeSet;
use std::sync::Arc;

use baton_host::model::{Actor, BotName, Metadata, Status};
use baton_host::store::{
    Commit, EventKind, NewComment, NewNotification, NewStakeholder, NewTimer, Principal,
    StakeholderUpdate, StoreError, TicketUpdate, TimerKind,
};
use serde_json::json;

use super::{Db, create, create_with, event, log, new_ticket, step};

both!(
    ticket_numbers_only_go_up,
    ticket_numbers_come_in_blocks_and_never_twice,
    a_stale_version_rolls_back_the_whole_commit,
    consuming_an_event_twice_writes_nothing_the_second_time,
    a_comment_does_not_land_on_a_closed_ticket,
    a_batch_in_which_one_commit_conflicts_keeps_the_others,
    a_commit_that_fails_mid_way_in_a_batch_leaves_no_trace,
    a_commit_writes_every_part_and_returns_its_ids,
    a_stakeholder_who_does_not_exist_fails_the_whole_commit,
    closing_a_ticket_ends_the_waits_on_it,
    a_step_that_lost_its_race_writes_nothing_and_a_move_drops_the_state_left,
);

async fn ticket_numbers_only_go_up(db: Db) {
    let a = db.next_ticket_id().await.expect("id");
    let b = db.next_ticket_id().await.expect("id");
    assert_eq!((a, b), (1, 2));
}

/// Two stores on one database take numbers at the same time: none is
/// handed out twice, each store's grow, and they came in blocks of 64 (a
/// store opened afterwards starts after four blocks).
async fn ticket_numbers_come_in_blocks_and_never_twice(db: Db) {
    let (a, b) = (db.store.clone(), db.another().await);
    let take = |store: Arc<dyn baton_host::store::Store>| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..100 {
                got.push(store.next_ticket_id().await.expect("id"));
                tokio::task::yield_now().await;
            }
            got
        })
    };
    let (from_a, from_b) = (take(a), take(b));
    let (from_a, from_b) = (from_a.await.expect("a"), from_b.await.expect("b"));
    for got in [&from_a, &from_b] {
        assert!(got.windows(2).all(|w| w[0] < w[1]), "each store's grow");
    }
    let seen: BTreeSet<i64> = from_a.iter().chain(&from_b).copied().collect();
    assert_eq!(seen.len(), 200, "a number was handed out twice");
    let c = db.another().await;
    assert_eq!(c.next_ticket_id().await.expect("id"), 1 + 4 * 64);
}

async fn a_stale_version_rolls_back_the_whole_commit(db: Db) {
    let id = create(&*db, vec![]).await;
    let other = db.next_ticket_id().await.expect("id");
    let update = TicketUpdate {
        id,
        expected_version: 7,
        title: None,
        state: Some((2, Status::Closed)),
        metadata: None,
    };
    let commit = Commit {
        inserts: vec![new_ticket(other)],
        updates: vec![update],
        logs: vec![log(id, "x")],
        ..Commit::default()
    };
    match db.commit(&commit, 2_000).await {
        Err(StoreError::Conflict(t)) => assert_eq!(t, id),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(
        db.ticket(other).await.expect("read").is_none(),
        "the insert was rolled back"
    );
    assert!(db.logs(id).await.expect("logs").is_empty());

    let right = TicketUpdate {
        id,
        expected_version: 1,
        title: None,
        state: Some((2, Status::Closed)),
        metadata: Some(json!({"a": 1}).into()),
    };
    let commit = Commit {
        updates: vec![right],
        ..Commit::default()
    };
    db.commit(&commit, 3_000).await.expect("commit");
    let t = db.ticket(id).await.expect("read").expect("exists");
    assert_eq!(
        (t.state_code, t.status, t.version, t.closed_at),
        (2, Status::Closed, 2, Some(3_000))
    );
    assert_eq!(t.metadata, Metadata::from(json!({"a": 1})));
}

async fn consuming_an_event_twice_writes_nothing_the_second_time(db: Db) {
    // The ticket created here is the store's first: number 1.
    let id = create(&*db, vec![event(1, 0)]).await;
    let ev = db
        .claim_events("w", 10, 1_000, 1)
        .await
        .expect("claim")
        .remove(0);
    let first = Commit {
        consumes: Some(ev.id),
        logs: vec![log(id, "first")],
        ..Commit::default()
    };
    db.commit(&first, 20).await.expect("first");
    let second = Commit {
        consumes: Some(ev.id),
        logs: vec![log(id, "second")],
        ..Commit::default()
    };
    let second = db.commit(&second, 30).await;
    assert!(
        matches!(second, Err(StoreError::Consumed(e)) if e == ev.id),
        "{second:?}"
    );
    let messages: Vec<String> = db
        .logs(id)
        .await
        .expect("logs")
        .into_iter()
        .map(|l| l.message)
        .collect();
    assert_eq!(messages, vec!["first"]);
}

async fn a_comment_does_not_land_on_a_closed_ticket(db: Db) {
    let user = db.person("u", false).await;
    let id = create(&*db, Vec::new()).await;
    db.commit(&step(id, 1, "closed"), 5).await.expect("close");
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
    let got = db.commit(&comment, 6).await;
    assert!(
        matches!(got, Err(StoreError::Conflict(t)) if t == id),
        "{got:?}"
    );
    assert!(db.comments(id).await.expect("comments").is_empty());
}

async fn a_batch_in_which_one_commit_conflicts_keeps_the_others(db: Db) {
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(create(&*db, vec![]).await);
    }
    // Hold the commit path, hand in 41 commits (two of them race for the
    // same ticket at the same version), and let them go as one batch.
    let (paused, held_in) = db.pause().await;
    let before = db.stats();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, id) in ids.iter().copied().enumerate() {
        let store = db.store.clone();
        tasks.spawn(async move { (id, n, store.commit(&step(id, 1, "winner"), 5_000).await) });
    }
    let racer = ids[7];
    let store = db.store.clone();
    tasks.spawn(async move {
        (
            racer,
            99,
            store.commit(&step(racer, 1, "racer"), 5_000).await,
        )
    });
    while db.stats().queued < before.queued + 41 {
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
    let after = db.stats();
    // The hold's own batch (on SQLite), then all 41 in one.
    assert_eq!(
        after.batches - before.batches,
        held_in + 1,
        "{before:?} → {after:?}"
    );
    assert_eq!(lost.len(), 1, "exactly one of the racers loses: {lost:?}");
    for id in &ids {
        let t = db.ticket(*id).await.expect("read").expect("ticket");
        assert_eq!((t.state_code, t.version), (2, 2), "ticket {id} moved once");
        assert_eq!(db.logs(*id).await.expect("logs").len(), 1);
    }
    // The loser re-runs alone, on the ticket as the winner left it.
    let t = db.ticket(racer).await.expect("read").expect("ticket");
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
    db.commit(&rerun, 6_000).await.expect("the re-run commits");
    let t = db.ticket(racer).await.expect("read").expect("ticket");
    assert_eq!(t.version, 3);
    assert!(t.title.ends_with("(again)"), "{}", t.title);
}

/// A commit that fails after its first write (it consumed its event, then
/// lost its version race), between two that stand, in one batch: its own
/// write is undone, the others are written once each. The batch runs
/// first without savepoints and again with them after the failure, so
/// this also shows that the first run leaves nothing behind.
async fn a_commit_that_fails_mid_way_in_a_batch_leaves_no_trace(db: Db) {
    let first = create(&*db, vec![]).await;
    let loser = db.next_ticket_id().await.expect("id");
    create_with(&*db, new_ticket(loser), vec![event(loser, 0)]).await;
    let last = create(&*db, vec![]).await;
    let ev = db
        .claim_events("w", 10, 60_000, 1)
        .await
        .expect("claim")
        .remove(0);
    assert_eq!(ev.ticket_id, loser);
    let moved = |id: i64, version: i64, message: &str| Commit {
        updates: vec![TicketUpdate {
            id,
            expected_version: version,
            title: None,
            state: Some((3, Status::Open)),
            metadata: None,
        }],
        logs: vec![log(id, message)],
        ..Commit::default()
    };
    let stale = Commit {
        consumes: Some(ev.id),
        ..moved(loser, 7, "never")
    };
    let (paused, _) = db.pause().await;
    let before = db.stats();
    let mut tasks = tokio::task::JoinSet::new();
    for commit in [step(first, 1, "first"), stale, moved(last, 1, "moved")] {
        let store = db.store.clone();
        tasks.spawn(async move { store.commit(&commit, 5_000).await.map(drop) });
    }
    while db.stats().queued < before.queued + 3 {
        tokio::task::yield_now().await;
    }
    drop(paused);
    let mut conflicts = 0;
    while let Some(done) = tasks.join_next().await {
        match done.expect("task") {
            Ok(()) => {}
            Err(StoreError::Conflict(t)) if t == loser => conflicts += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(conflicts, 1);
    // The batch ran a second time (with savepoints) for its failed job.
    assert_eq!(db.stats().reruns - before.reruns, 1);
    let messages = |id: i64| {
        let db = &db;
        async move {
            let logs = db.logs(id).await.expect("logs");
            logs.into_iter().map(|l| l.message).collect::<Vec<_>>()
        }
    };
    assert_eq!(messages(first).await, vec!["first"]);
    assert_eq!(messages(loser).await, Vec::<String>::new());
    assert_eq!(messages(last).await, vec!["moved"]);
    let t = db.ticket(last).await.expect("read").expect("ticket");
    assert_eq!((t.state_code, t.status, t.version), (3, Status::Open, 2));
    let t = db.ticket(loser).await.expect("read").expect("ticket");
    assert_eq!((t.state_code, t.version), (1, 1));
    // Its event was not consumed: the right commit still consumes it.
    let again = Commit {
        consumes: Some(ev.id),
        ..moved(loser, 1, "now")
    };
    db.commit(&again, 6_000)
        .await
        .expect("the event is still there");
    assert_eq!(messages(loser).await, vec!["now"]);
}

fn stakeholder(principal: Principal, connection: &'static str) -> NewStakeholder {
    NewStakeholder {
        principal,
        connection,
        role: "actioner",
    }
}

/// One commit with every part: a ticket with stakeholders (a group that
/// does not exist yet is created), a move, logs, events, the proceeded
/// list (twice the same pair), stakeholders added and changed, a comment
/// with its event, notifications. Ids come back in the commit's order.
async fn a_commit_writes_every_part_and_returns_its_ids(db: Db) {
    let ann = db.person("ann", false).await;
    let bob = db.person("bob", false).await;
    let id = create(&*db, vec![]).await;
    let child = db.next_ticket_id().await.expect("id");
    let bot = BotName::parse("shop-order-1-new").expect("bot");
    let mut new = new_ticket(child);
    new.parent_id = Some(id);
    new.created_by = Actor::Bot(bot.clone());
    new.metadata = json!({"sku": "x-1", "n": 2.5}).into();
    new.stakeholders = vec![
        stakeholder(Principal::User(ann.id), "assigned"),
        stakeholder(Principal::Group("packers".into()), "cc"),
    ];
    let commit = Commit {
        inserts: vec![new],
        updates: vec![TicketUpdate {
            id,
            expected_version: 1,
            title: Some("renamed".into()),
            state: None,
            metadata: Some(json!({"k": [1, 2]}).into()),
        }],
        logs: vec![
            log(id, "one"),
            baton_host::store::NewLog {
                actor: Actor::User(ann.id),
                data: Some(json!({"why": "test"})),
                ..log(child, "two")
            },
        ],
        events: vec![event(child, 1_500), event(id, 1_600)],
        stakeholders: vec![
            (id, stakeholder(Principal::User(bob.id), "cc")),
            (id, stakeholder(Principal::Group("packers".into()), "bcc")),
        ],
        proceeded: vec![(id, 1), (id, 1), (child, 1)],
        comments: vec![NewComment {
            ticket_id: id,
            body: "hello \"there\"\n".into(),
            acting_user_id: ann.id,
            acting_stakeholder_id: None,
            event_for_state: Some(1),
        }],
        notifications: vec![
            NewNotification {
                user_id: ann.id,
                ticket_id: Some(id),
                kind: "mention",
                text: "first".into(),
            },
            NewNotification {
                user_id: bob.id,
                ticket_id: None,
                kind: "mention",
                text: "second".into(),
            },
        ],
        ..Commit::default()
    };
    let done = db.commit(&commit, 2_000).await.expect("commit");
    assert_eq!(done.stakeholder_ids.len(), 2);
    assert!(done.stakeholder_ids[0] < done.stakeholder_ids[1]);
    let ids: Vec<i64> = done.notifications.iter().map(|n| n.id).collect();
    assert!(ids[0] < ids[1], "{ids:?}");
    assert_eq!(
        done.notifications
            .iter()
            .map(|n| (n.user_id, n.text.as_str(), n.created_at))
            .collect::<Vec<_>>(),
        vec![(ann.id, "first", 2_000), (bob.id, "second", 2_000)]
    );

    let t = db.ticket(child).await.expect("read").expect("child");
    assert_eq!(
        (t.parent_id, t.created_by.clone(), t.version, t.created_at),
        (Some(id), Actor::Bot(bot), 1, 2_000)
    );
    assert_eq!(t.metadata, Metadata::from(json!({"sku": "x-1", "n": 2.5})));
    let parent = db.ticket(id).await.expect("read").expect("parent");
    assert_eq!(
        (parent.title.as_str(), parent.version, parent.updated_at),
        ("renamed", 2, 2_000)
    );
    assert_eq!(parent.metadata, Metadata::from(json!({"k": [1, 2]})));
    let kids = db.stakeholders(child).await.expect("stakeholders");
    let kids: Vec<_> = kids
        .iter()
        .map(|s| (s.principal_kind.as_str(), s.user_id, s.group.as_deref()))
        .collect();
    assert_eq!(
        kids,
        vec![
            ("user", Some(ann.id), None),
            ("group", None, Some("packers"))
        ]
    );
    let added = db.stakeholders(id).await.expect("stakeholders");
    assert_eq!(
        added.iter().map(|s| s.id).collect::<Vec<_>>(),
        done.stakeholder_ids
    );
    assert!(added.iter().all(|s| s.is_active && s.role == "actioner"));
    let group = db.group("packers").await.expect("group").expect("created");
    assert_eq!(group.members, Vec::<i64>::new());

    let logs = db.logs(child).await.expect("logs");
    assert_eq!(
        (logs[0].actor.clone(), logs[0].data.clone()),
        (Actor::User(ann.id), Some(json!({"why": "test"})))
    );
    let comments = db.comments(id).await.expect("comments");
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].id, done.comment_ids[0]);
    assert_eq!(comments[0].body, "hello \"there\"\n");
    let events = db.events_of(id).await.expect("events");
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind, e.available_at))
            .collect::<Vec<_>>(),
        vec![(EventKind::Entered, 1_600), (EventKind::Comment, 2_000)]
    );
    assert_eq!(
        events[1].payload,
        json!({"comment_id": comments[0].id, "body": "hello \"there\"\n", "user_id": ann.id})
    );
    assert_eq!(db.count("proceeded").await, 2);

    // A stakeholder row changes, and is never deleted.
    let change = Commit {
        stakeholder_updates: vec![StakeholderUpdate {
            id: done.stakeholder_ids[0],
            ticket_id: id,
            connection: Some("assigned"),
            is_active: Some(false),
        }],
        ..Commit::default()
    };
    db.commit(&change, 3_000).await.expect("update");
    let s = &db.stakeholders(id).await.expect("stakeholders")[0];
    assert_eq!((s.connection.as_str(), s.is_active), ("assigned", false));
    // Not on another ticket's stakeholder.
    let wrong = Commit {
        stakeholder_updates: vec![StakeholderUpdate {
            ticket_id: child,
            ..change.stakeholder_updates[0].clone()
        }],
        ..Commit::default()
    };
    let got = db.commit(&wrong, 3_000).await;
    assert!(matches!(got, Err(StoreError::NotFound(_))), "{got:?}");
}

async fn a_stakeholder_who_does_not_exist_fails_the_whole_commit(db: Db) {
    let ann = db.person("ann", false).await;
    let id = db.next_ticket_id().await.expect("id");
    let mut ticket = new_ticket(id);
    ticket.stakeholders = vec![
        stakeholder(Principal::User(ann.id), "assigned"),
        stakeholder(Principal::User(4_242), "cc"),
    ];
    let commit = Commit {
        inserts: vec![ticket],
        logs: vec![log(id, "created")],
        ..Commit::default()
    };
    let got = db.commit(&commit, 1_000).await;
    assert!(
        matches!(&got, Err(StoreError::NotFound(what)) if what == "User(4242)"),
        "{got:?}"
    );
    assert!(db.ticket(id).await.expect("read").is_none());
    assert_eq!(db.count("ticket_stakeholders").await, 0);
    assert_eq!(db.count("ticket_logs").await, 0);
}

fn wait_on(ticket: i64, other: i64) -> NewTimer {
    NewTimer {
        ticket_id: ticket,
        state_code: 1,
        kind: TimerKind::WaitTicket,
        due_at: None,
        base_at: 0,
        other_ticket: Some(other),
        repeats_left: 0,
    }
}

/// A wait on a ticket ends when it closes (`ticket_closed`), at once when
/// it is closed already, and with `ticket_gone` when it does not exist.
/// A closed ticket's own timers go.
async fn closing_a_ticket_ends_the_waits_on_it(db: Db) {
    let waiter = create(&*db, vec![]).await;
    let waited = create(&*db, vec![]).await;
    let wait = Commit {
        timers: vec![wait_on(waiter, waited), wait_on(waited, 999)],
        ..Commit::default()
    };
    db.commit(&wait, 2_000).await.expect("wait");
    assert_eq!(db.timers_of(waiter).await.expect("timers").len(), 1);
    let gone = db.events_of(waited).await.expect("events");
    assert_eq!(
        (gone[0].kind, gone[0].payload.clone()),
        (EventKind::TicketGone, json!({"other": 999}))
    );
    assert!(db.timers_of(waited).await.expect("timers").is_empty());

    db.commit(&step(waited, 1, "done"), 3_000)
        .await
        .expect("close");
    let ended = db.events_of(waiter).await.expect("events");
    assert_eq!(ended.len(), 1);
    assert_eq!(
        (
            ended[0].kind,
            ended[0].payload.clone(),
            ended[0].available_at
        ),
        (EventKind::TicketClosed, json!({"other": waited}), 3_000)
    );
    assert!(db.timers_of(waiter).await.expect("timers").is_empty());

    // Waiting on a ticket closed already ends at once.
    let late = Commit {
        timers: vec![wait_on(waiter, waited)],
        ..Commit::default()
    };
    db.commit(&late, 4_000).await.expect("wait");
    let ended = db.events_of(waiter).await.expect("events");
    assert_eq!(
        (ended.len(), ended[1].kind, ended[1].available_at),
        (2, EventKind::TicketClosed, 4_000)
    );
    assert!(db.timers_of(waiter).await.expect("timers").is_empty());
}

/// A bot's step (consume, move, log, queue, mark proceeded): when its
/// version is stale nothing of it stays, its event included; when it
/// moves, the timers of the state left go and those of the new one stay.
async fn a_step_that_lost_its_race_writes_nothing_and_a_move_drops_the_state_left(db: Db) {
    let id = create(&*db, vec![event(1, 0)]).await;
    let timer = |state_code, kind| NewTimer {
        ticket_id: id,
        state_code,
        kind,
        due_at: Some(9_000),
        base_at: 1_000,
        other_ticket: None,
        repeats_left: 0,
    };
    let timers = Commit {
        timers: vec![timer(1, TimerKind::Lifetime), timer(2, TimerKind::Wait)],
        ..Commit::default()
    };
    db.commit(&timers, 1_000).await.expect("timers");
    let ev = db
        .claim_events("w", 10, 1_000, 1)
        .await
        .expect("claim")
        .remove(0);
    let step = |version| Commit {
        consumes: Some(ev.id),
        updates: vec![TicketUpdate {
            id,
            expected_version: version,
            title: None,
            state: Some((2, Status::Open)),
            metadata: Some(json!({"step": 1}).into()),
        }],
        logs: vec![log(id, "stepped")],
        events: vec![baton_host::store::NewEvent {
            state_code: 2,
            ..event(id, 2_000)
        }],
        proceeded: vec![(id, 1)],
        ..Commit::default()
    };
    let got = db.commit(&step(5), 2_000).await;
    assert!(
        matches!(got, Err(StoreError::Conflict(t)) if t == id),
        "{got:?}"
    );
    let events = db.events_of(id).await.expect("events");
    assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ev.id]);
    assert!(db.logs(id).await.expect("logs").is_empty());
    assert_eq!(db.count("proceeded").await, 0);
    assert_eq!(db.timers_of(id).await.expect("timers").len(), 2);

    db.commit(&step(1), 2_000).await.expect("step");
    let t = db.ticket(id).await.expect("read").expect("ticket");
    assert_eq!(
        (
            t.state_code,
            t.status,
            t.version,
            t.metadata.clone(),
            t.closed_at
        ),
        (2, Status::Open, 2, Metadata::from(json!({"step": 1})), None)
    );
    let events = db.events_of(id).await.expect("events");
    assert_eq!(
        events
            .iter()
            .map(|e| (e.state_code, e.available_at))
            .collect::<Vec<_>>(),
        vec![(2, 2_000)]
    );
    let left: Vec<(u32, String)> = db
        .timers_of(id)
        .await
        .expect("timers")
        .into_iter()
        .map(|t| (t.state_code, t.kind))
        .collect();
    assert_eq!(left, vec![(2, "wait".to_string())]);
    assert_eq!(db.logs(id).await.expect("logs").len(), 1);
    assert_eq!(db.count("proceeded").await, 1);
}
