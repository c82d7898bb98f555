//! The host's upkeep: sweeps and the current ticket list, retention
//! (archive documents read back, deletion), what the quotas count.

use baton_host::model::{Actor, BotName, Status};
use baton_host::store::{
    Commit, EventKind, NewComment, NewLog, NewStakeholder, NewTimer, Principal, TicketUpdate,
    TimerKind,
};
use serde_json::json;

use super::{Db, create, create_with, event, log, new_ticket, step};

both!(
    a_sweep_queues_the_unprocessed_tickets_of_its_state_once,
    retired_tickets_are_archived_whole_or_deleted,
    quotas_count_bot_tickets_and_pending_work,
);

async fn a_sweep_queues_the_unprocessed_tickets_of_its_state_once(db: Db) {
    let bot = BotName::parse("shop-order-1-new").expect("bot");
    let fresh = create(&*db, vec![]).await;
    let proceeded = create(&*db, vec![]).await;
    let queued = create(&*db, vec![event(3, 5_000)]).await;
    let closed = create(&*db, vec![]).await;
    let refund_id = db.next_ticket_id().await.expect("id");
    let mut refund = new_ticket(refund_id);
    refund.ticket_type = "refund".into();
    create_with(&*db, refund, vec![]).await;
    let marks = Commit {
        proceeded: vec![(proceeded, 1)],
        ..Commit::default()
    };
    db.commit(&marks, 1_500).await.expect("proceeded");
    db.commit(&step(closed, 1, "done"), 1_500)
        .await
        .expect("close");

    assert_eq!(db.sweep(&bot, 2_000).await.expect("sweep"), 1);
    let events = db.events_of(fresh).await.expect("events");
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind, e.payload.clone(), e.available_at, e.state_code))
            .collect::<Vec<_>>(),
        vec![(EventKind::Sweep, json!({}), 2_000, 1)]
    );
    assert_eq!(
        db.sweep(&bot, 3_000).await.expect("sweep"),
        0,
        "queued once"
    );
    assert_eq!(db.events_of(queued).await.expect("events").len(), 1);

    let current = db.current_tickets(&bot, 10).await.expect("current");
    assert_eq!(current, vec![fresh, proceeded, queued]);
    let current = db.current_tickets(&bot, 2).await.expect("current");
    assert_eq!(current, vec![fresh, proceeded]);
}

/// The ticket the retention test archives: stakeholders (a user and a
/// group), a comment, log lines with and without data, then closed.
pub(super) async fn archived_ticket(db: &Db, ann: i64) -> i64 {
    let id = db.next_ticket_id().await.expect("id");
    let mut ticket = new_ticket(id);
    ticket.created_by = Actor::User(ann);
    ticket.metadata = json!({"sku": "x-1", "notes": "tab\there, \"quoted\", é"}).into();
    ticket.stakeholders = vec![
        NewStakeholder {
            principal: Principal::User(ann),
            connection: "assigned",
            role: "requester",
        },
        NewStakeholder {
            principal: Principal::Group("ops".into()),
            connection: "cc",
            role: "actioner",
        },
    ];
    let created = Commit {
        inserts: vec![ticket],
        logs: vec![NewLog {
            data: Some(json!({"b": [1, 2], "a": null})),
            ..log(id, "created")
        }],
        comments: vec![NewComment {
            ticket_id: id,
            body: "line one\nline two".into(),
            acting_user_id: ann,
            acting_stakeholder_id: None,
            event_for_state: None,
        }],
        ..Commit::default()
    };
    db.commit(&created, 1_000).await.expect("create");
    db.commit(&step(id, 1, "done"), 5_000).await.expect("close");
    id
}

/// What the archive document of [`archived_ticket`] must say.
async fn expected_document(db: &Db, id: i64, ann: i64) -> serde_json::Value {
    let s = db.stakeholders(id).await.expect("stakeholders");
    let c = db.comments(id).await.expect("comments");
    let l = db.logs(id).await.expect("logs");
    json!({
        "ticket": {
            "id": id, "metaservice": "shop", "ticket_type": "order", "title": "done",
            "state_code": 2, "status": "closed",
            "metadata": {"sku": "x-1", "notes": "tab\there, \"quoted\", é"},
            "parent_id": null, "created_by": {"kind": "user", "user_id": ann, "bot": null},
            "created_at": 1_000, "updated_at": 5_000, "closed_at": 5_000, "version": 2
        },
        "stakeholders": [
            {"id": s[0].id, "principal_kind": "user", "user_id": ann, "group": null,
             "connection": "assigned", "role": "requester", "is_active": 1, "created_at": 1_000},
            {"id": s[1].id, "principal_kind": "group", "user_id": null, "group": "ops",
             "connection": "cc", "role": "actioner", "is_active": 1, "created_at": 1_000}
        ],
        "comments": [
            {"id": c[0].id, "body": "line one\nline two", "acting_user_id": ann,
             "acting_stakeholder_id": null, "created_at": 1_000}
        ],
        "logs": [
            {"id": l[0].id, "actor_kind": "host", "actor_user": null, "actor_bot": null,
             "action": "log", "from_state": null, "to_state": null, "message": "created",
             "data": {"b": [1, 2], "a": null}, "acting_stakeholder_id": null, "created_at": 1_000},
            {"id": l[1].id, "actor_kind": "host", "actor_user": null, "actor_bot": null,
             "action": "state_changed", "from_state": 1, "to_state": 2, "message": "done",
             "data": null, "acting_stakeholder_id": null, "created_at": 5_000}
        ]
    })
}

async fn retired_tickets_are_archived_whole_or_deleted(db: Db) {
    let ann = db.person("ann", false).await.id;
    let old = archived_ticket(&db, ann).await;
    let child = db.next_ticket_id().await.expect("id");
    let mut kid = new_ticket(child);
    kid.parent_id = Some(old);
    create_with(&*db, kid, vec![]).await;
    let newer = create(&*db, vec![]).await;
    db.commit(&step(newer, 1, "later"), 9_000)
        .await
        .expect("close");

    let ids = |t| db.expired("shop", "order", t, 10);
    assert!(ids(5_000).await.expect("expired").is_empty());
    assert_eq!(ids(5_001).await.expect("expired"), vec![old]);
    assert_eq!(ids(10_000).await.expect("expired"), vec![old, newer]);
    assert_eq!(
        db.expired("shop", "order", 10_000, 1)
            .await
            .expect("expired"),
        vec![old]
    );
    assert!(
        db.expired("shop", "refund", 10_000, 10)
            .await
            .expect("expired")
            .is_empty()
    );

    let expected = expected_document(&db, old, ann).await;
    assert_eq!(db.retire(&[old], true, 7_000).await.expect("retire"), 1);
    assert_eq!(db.archived(old).await.expect("archived"), Some(expected));
    assert!(db.ticket(old).await.expect("read").is_none());
    assert!(db.logs(old).await.expect("logs").is_empty());
    assert!(db.comments(old).await.expect("comments").is_empty());
    assert!(db.stakeholders(old).await.expect("stakeholders").is_empty());
    let kid = db
        .ticket(child)
        .await
        .expect("read")
        .expect("the child lives on");
    assert_eq!(kid.parent_id, None);

    // Deleting, not archiving; a wait on a retired ticket ends.
    let waiter = create(&*db, vec![]).await;
    let waited = create(&*db, vec![]).await;
    let wait = Commit {
        timers: vec![NewTimer {
            ticket_id: waiter,
            state_code: 1,
            kind: TimerKind::WaitTicket,
            due_at: None,
            base_at: 0,
            other_ticket: Some(waited),
            repeats_left: 0,
        }],
        ..Commit::default()
    };
    db.commit(&wait, 7_500).await.expect("wait");
    let gone = db
        .retire(&[waited, newer], false, 8_000)
        .await
        .expect("retire");
    assert_eq!(gone, 2);
    assert!(db.archived(newer).await.expect("archived").is_none());
    let events = db.events_of(waiter).await.expect("events");
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind, e.payload.clone(), e.available_at))
            .collect::<Vec<_>>(),
        vec![(EventKind::TicketGone, json!({"other": waited}), 8_000)]
    );
    assert!(db.timers_of(waiter).await.expect("timers").is_empty());
    assert_eq!(db.retire(&[], true, 9_000).await.expect("retire"), 0);
    assert_eq!(db.retire(&[old], true, 9_000).await.expect("retire"), 0);
    assert_eq!(db.count("archived_tickets").await, 1);
}

/// A ticket created by the shop's bot, open or closed, at `at`.
async fn by_bot(db: &Db, at: i64, closed: bool) -> i64 {
    let id = db.next_ticket_id().await.expect("id");
    let mut ticket = new_ticket(id);
    ticket.created_by = Actor::Bot(BotName::parse("shop-order-1-new").expect("bot"));
    if closed {
        ticket.state_code = 2;
        ticket.status = Status::Closed;
    }
    let commit = Commit {
        inserts: vec![ticket],
        ..Commit::default()
    };
    db.commit(&commit, at).await.expect("create");
    id
}

async fn quotas_count_bot_tickets_and_pending_work(db: Db) {
    let ann = db.person("ann", false).await.id;
    by_bot(&db, 1_000, false).await;
    by_bot(&db, 2_000, true).await;
    let recent = by_bot(&db, 3_000, false).await;
    let id = db.next_ticket_id().await.expect("id");
    let mut person = new_ticket(id);
    person.created_by = Actor::User(ann);
    create_with(&*db, person, vec![]).await;
    let usage = db.quota_usage("shop", 2_000).await.expect("usage");
    assert_eq!((usage.open_tickets, usage.created_since), (2, 2));
    let usage = db.quota_usage("other", 0).await.expect("usage");
    assert_eq!((usage.open_tickets, usage.created_since), (0, 0));

    let work = Commit {
        events: vec![event(recent, 0), event(recent, 0), event(recent, 0)],
        timers: vec![NewTimer {
            ticket_id: recent,
            state_code: 1,
            kind: TimerKind::Wait,
            due_at: Some(10_000),
            base_at: 3_000,
            other_ticket: None,
            repeats_left: 0,
        }],
        ..Commit::default()
    };
    db.commit(&work, 3_000).await.expect("work");
    let ev = db.claim_events("w", 3_000, 1_000, 1).await.expect("claim");
    db.park_event(ev[0].id, "broken", &Commit::default(), 3_000)
        .await
        .expect("park");
    let pending = db.pending_of(recent).await.expect("pending");
    assert_eq!(
        (pending.events, pending.timers),
        (2, 1),
        "parked is not pending"
    );

    // The open error ticket filed for a cause, by its metadata.
    let filed = db.next_ticket_id().await.expect("id");
    let mut error = new_ticket(filed);
    error.metaservice = "baton".into();
    error.ticket_type = "error".into();
    error.metadata = json!({"metaservice": "shop", "cause": "open_tickets", "message": "x"}).into();
    create_with(&*db, error, vec![]).await;
    assert_eq!(
        db.open_error("shop", "open_tickets").await.expect("read"),
        Some(filed)
    );
    assert_eq!(db.open_error("shop", "created").await.expect("read"), None);
    assert_eq!(
        db.open_error("other", "open_tickets").await.expect("read"),
        None
    );
    let resolve = Commit {
        updates: vec![TicketUpdate {
            id: filed,
            expected_version: 1,
            title: None,
            state: Some((2, Status::Closed)),
            metadata: None,
        }],
        ..Commit::default()
    };
    db.commit(&resolve, 4_000).await.expect("resolve");
    assert_eq!(
        db.open_error("shop", "open_tickets").await.expect("read"),
        None
    );
}
