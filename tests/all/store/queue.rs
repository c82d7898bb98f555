//! The event queue: one leased event per ticket, in order; a bot's claim
//! and the claim of the others; releasing, parking, unparking, dropping
//! and waking events.

use baton_host::model::BotName;
use baton_host::store::{Commit, EventKind, NewEvent, NewTimer, QueuedEvent, TimerKind, bot_key};
use serde_json::json;

use super::{Db, create, create_with, event, new_ticket};

both!(
    one_event_per_ticket_is_leased_at_a_time_in_order,
    failures_count_and_parking_files_its_report_atomically,
    a_bot_claims_its_own_events_oldest_first_and_others_the_rest,
    a_claimed_event_carries_its_ticket_as_stored,
    one_claim_for_several_bots_gives_each_its_own,
    a_released_event_keeps_its_ticket_waiting,
    unparked_events_start_over_and_dropped_ones_let_the_next_run,
    waking_a_bot_makes_its_fresh_events_due,
    no_bot_with_a_due_event_is_left_out_of_a_pass,
    an_event_passed_over_by_claims_is_taken_by_a_later_one,
);

async fn one_event_per_ticket_is_leased_at_a_time_in_order(db: Db) {
    let a = create(&*db, vec![]).await;
    let b = create(&*db, vec![]).await;
    let first = Commit {
        events: vec![event(a, 10), event(a, 10), event(b, 20)],
        ..Commit::default()
    };
    db.commit(&first, 10).await.expect("commit");

    let claimed = db.claim_events("w1", 100, 1_000, 10).await.expect("claim");
    let tickets: Vec<i64> = claimed.iter().map(|e| e.ticket_id).collect();
    assert_eq!(tickets, vec![a, b], "only the oldest event of each ticket");
    assert!(
        db.claim_events("w2", 200, 1_000, 10)
            .await
            .expect("claim")
            .is_empty(),
        "leased"
    );

    // The lease runs out: the same events can be claimed again.
    let again = db
        .claim_events("w2", 1_200, 1_000, 10)
        .await
        .expect("claim");
    assert_eq!(again.len(), 2);

    // Consuming a's first event makes its second one claimable.
    let consume = Commit {
        consumes: Some(again[0].id),
        ..Commit::default()
    };
    db.commit(&consume, 1_300).await.expect("consume");
    let next = db
        .claim_events("w3", 1_300, 1_000, 10)
        .await
        .expect("claim");
    assert_eq!(
        next.iter().map(|e| e.ticket_id).collect::<Vec<_>>(),
        vec![a]
    );
    assert_ne!(next[0].id, again[0].id);
}

async fn failures_count_and_parking_files_its_report_atomically(db: Db) {
    let id = create(&*db, vec![event(1, 0)]).await;
    let ev = db
        .claim_events("w", 10, 1_000, 1)
        .await
        .expect("claim")
        .remove(0);
    db.release_event(ev.id, 500, Some("boom"))
        .await
        .expect("release");
    assert!(
        db.claim_events("w", 400, 1_000, 1)
            .await
            .expect("claim")
            .is_empty(),
        "not due before 500"
    );
    let ev = db
        .claim_events("w", 500, 1_000, 1)
        .await
        .expect("claim")
        .remove(0);
    assert_eq!((ev.attempts, ev.last_error.as_deref()), (1, Some("boom")));

    let report_id = db.next_ticket_id().await.expect("id");
    let mut report = new_ticket(report_id);
    report.parent_id = Some(id);
    let report = Commit {
        inserts: vec![report],
        ..Commit::default()
    };
    db.park_event(ev.id, "boom again", &report, 600)
        .await
        .expect("park");
    let events = db.events_of(id).await.expect("events");
    assert_eq!(
        (
            events[0].parked,
            events[0].attempts,
            events[0].last_error.as_deref()
        ),
        (true, 2, Some("boom again"))
    );
    assert!(
        db.claim_events("w", 10_000, 1_000, 1)
            .await
            .expect("claim")
            .is_empty(),
        "parked events are not claimed"
    );
    assert_eq!(
        db.ticket(report_id)
            .await
            .expect("read")
            .and_then(|t| t.parent_id),
        Some(id)
    );
    assert_eq!(db.count("tickets").await, 2);
}

fn bot(ticket_type: &str, state_code: u32, state: &str) -> BotName {
    BotName::parse(&format!("shop-{ticket_type}-{state_code}-{state}")).expect("bot name")
}

/// A refund ticket (the other bot's) with one event due at `at`.
async fn refund(db: &Db, at: i64) -> i64 {
    let id = db.next_ticket_id().await.expect("id");
    let mut ticket = new_ticket(id);
    ticket.ticket_type = "refund".into();
    create_with(&**db, ticket, vec![event(id, at)]).await
}

/// Orders due at 30, 10, 20 (created in that order) and refunds due at
/// 5, 15, each with one event: their ticket ids.
async fn orders_and_refunds(db: &Db) -> (Vec<i64>, [i64; 2]) {
    let mut order_ids = Vec::new();
    for at in [30, 10, 20] {
        let id = db.next_ticket_id().await.expect("id");
        order_ids.push(create_with(&**db, new_ticket(id), vec![event(id, at)]).await);
    }
    (order_ids, [refund(db, 5).await, refund(db, 15).await])
}

async fn a_bot_claims_its_own_events_oldest_first_and_others_the_rest(db: Db) {
    let orders = bot("order", 1, "new");
    let refunds = bot("refund", 1, "asked");
    let (order_ids, refund_ids) = orders_and_refunds(&db).await;

    let got = db
        .claim_bot_events("w", &orders, 100, 1_000, 2)
        .await
        .expect("claim");
    assert_eq!(
        got.iter().map(|e| e.ticket_id).collect::<Vec<_>>(),
        vec![order_ids[1], order_ids[2]],
        "the bot's own, oldest first, at most the limit"
    );
    let rest = db
        .claim_other_events("w", &[bot_key(&orders)], 100, 1_000, 10)
        .await
        .expect("claim");
    assert_eq!(
        rest.iter().map(|e| e.ticket_id).collect::<Vec<_>>(),
        refund_ids.to_vec(),
        "the other bots' events, not the loaded bot's"
    );
    let got = db
        .claim_bot_events("w", &refunds, 100, 1_000, 10)
        .await
        .expect("claim");
    assert!(got.is_empty(), "leased by the claim of the others");
    let last = db
        .claim_bot_events("w", &orders, 100, 1_000, 10)
        .await
        .expect("claim");
    assert_eq!(
        last.iter().map(|e| e.ticket_id).collect::<Vec<_>>(),
        vec![order_ids[0]]
    );
    assert!(
        db.claim_events("w", 500, 1_000, 10)
            .await
            .expect("claim")
            .is_empty(),
        "every event is leased"
    );
}

/// A pass of fair dispatch claims for all its bots at once: each bot gets
/// its own events, oldest first, up to its own limit, in the order asked;
/// a ticket's younger event of another bot waits for its older one.
async fn one_claim_for_several_bots_gives_each_its_own(db: Db) {
    let orders = bot("order", 1, "new");
    let shipping = bot("order", 2, "shipping");
    let idle = bot("order", 3, "idle");
    let refunds = bot("refund", 1, "asked");
    let (order_ids, refund_ids) = orders_and_refunds(&db).await;
    // The first order also has a shipping event, due before its older one.
    let early = NewEvent {
        state_code: 2,
        ..event(order_ids[0], 1)
    };
    db.commit(
        &Commit {
            events: vec![early],
            ..Commit::default()
        },
        1,
    )
    .await
    .expect("shipping event");

    let wants = [
        (orders.clone(), 2),
        (idle.clone(), 3),
        (shipping.clone(), 4),
        (refunds.clone(), 1),
    ];
    let got = db
        .claim_for_bots("w", &wants, 100, 1_000)
        .await
        .expect("claim");
    let tickets = |events: &[QueuedEvent]| events.iter().map(|e| e.ticket_id).collect::<Vec<_>>();
    assert_eq!(got.len(), 4, "an answer per bot asked");
    assert_eq!(tickets(&got[0]), vec![order_ids[1], order_ids[2]]);
    assert!(got[1].is_empty(), "a bot without events gets none");
    assert!(
        got[2].is_empty(),
        "the younger event waits for its ticket's older one"
    );
    assert_eq!(tickets(&got[3]), vec![refund_ids[0]]);
    for event in got.iter().flatten() {
        assert_eq!(
            event.ticket,
            db.ticket(event.ticket_id).await.expect("read")
        );
    }

    let wants = [(refunds.clone(), 5), (orders.clone(), 5), (shipping, 5)];
    let got = db
        .claim_for_bots("w", &wants, 100, 1_000)
        .await
        .expect("claim");
    assert_eq!(tickets(&got[0]), vec![refund_ids[1]]);
    assert_eq!(tickets(&got[1]), vec![order_ids[0]]);
    assert!(got[2].is_empty(), "its ticket's older event is leased");
    let again = db
        .claim_for_bots("w", &wants, 100, 1_000)
        .await
        .expect("claim");
    assert!(again.iter().all(Vec::is_empty), "every due event is leased");
}

/// Each claim reads the claimed events' tickets in the same read, so a
/// worker starts from them without reading the ticket again: the version
/// it holds is the stored one, which its commit is checked against.
async fn a_claimed_event_carries_its_ticket_as_stored(db: Db) {
    let orders = bot("order", 1, "new");
    let mut ids = Vec::new();
    for at in [10, 20] {
        let id = db.next_ticket_id().await.expect("id");
        ids.push(create_with(&*db, new_ticket(id), vec![event(id, at)]).await);
    }
    let other = refund(&db, 5).await;
    // A lifetime gives the first ticket a deadline, read with it.
    let lifetime = Commit {
        timers: vec![NewTimer {
            ticket_id: ids[0],
            state_code: 1,
            kind: TimerKind::Lifetime,
            due_at: Some(9_000),
            base_at: 0,
            other_ticket: None,
            repeats_left: 0,
        }],
        ..Commit::default()
    };
    db.commit(&lifetime, 50).await.expect("lifetime");
    let stored = |id: i64| {
        let db = &db;
        async move { db.ticket(id).await.expect("read").expect("ticket") }
    };
    let mine = db
        .claim_bot_events("w", &orders, 100, 1_000, 10)
        .await
        .expect("claim");
    assert_eq!(mine.len(), 2);
    assert_eq!(stored(ids[0]).await.deadline_at, Some(9_000));
    for event in &mine {
        assert_eq!(event.ticket, Some(stored(event.ticket_id).await));
    }
    let rest = db
        .claim_other_events("w", &[bot_key(&orders)], 100, 1_000, 10)
        .await
        .expect("claim");
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].ticket, Some(stored(other).await));
    // Read elsewhere, an event carries none.
    let listed = db.events_of(ids[0]).await.expect("events");
    assert!(listed.iter().all(|e| e.ticket.is_none()));
}

/// A released event is due again when it says, and until then its
/// ticket's later events wait behind it; its lease is gone at once.
async fn a_released_event_keeps_its_ticket_waiting(db: Db) {
    let id = create(&*db, vec![event(1, 0), event(1, 0)]).await;
    let first = db.claim_events("w1", 10, 1_000, 5).await.expect("claim");
    assert_eq!(first.len(), 1);
    db.release_event(first[0].id, 100, None)
        .await
        .expect("release");
    assert!(
        db.claim_events("w2", 50, 1_000, 5)
            .await
            .expect("claim")
            .is_empty(),
        "the second event waits behind the first"
    );
    let again = db.claim_events("w2", 100, 1_000, 5).await.expect("claim");
    assert_eq!(
        again.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![first[0].id]
    );
    assert_eq!((again[0].attempts, again[0].ticket_id), (0, id));
}

async fn unparked_events_start_over_and_dropped_ones_let_the_next_run(db: Db) {
    let id = create(&*db, vec![event(1, 0), event(1, 0)]).await;
    let ev = db
        .claim_events("w", 10, 1_000, 1)
        .await
        .expect("claim")
        .remove(0);
    db.park_event(ev.id, "broken", &Commit::default(), 20)
        .await
        .expect("park");
    // The second event runs while the first is parked.
    let second = db.claim_events("w", 30, 1_000, 5).await.expect("claim");
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].id, ev.id);
    db.drop_event(second[0].id).await.expect("drop");
    assert_eq!(db.events_of(id).await.expect("events").len(), 1);

    assert_eq!(db.unpark_events(id, 40).await.expect("unpark"), 1);
    assert_eq!(db.unpark_events(id, 40).await.expect("unpark"), 0);
    let back = db.claim_events("w", 40, 1_000, 5).await.expect("claim");
    assert_eq!(
        back.iter()
            .map(|e| (e.id, e.parked, e.attempts, e.available_at))
            .collect::<Vec<_>>(),
        vec![(ev.id, false, 0, 40)]
    );
}

fn later(ticket: i64, at: i64, kind: EventKind) -> NewEvent {
    NewEvent {
        kind,
        payload: json!({"n": at}),
        ..event(ticket, at)
    }
}

/// Waking a bot makes its events due now, except those in backoff after
/// a failure, unless asked to; other bots' events keep their time.
async fn waking_a_bot_makes_its_fresh_events_due(db: Db) {
    let fresh = create(&*db, vec![later(1, 5_000, EventKind::Sweep)]).await;
    let failed = create(&*db, vec![event(2, 0)]).await;
    let ev = db
        .claim_events("w", 10, 1_000, 1)
        .await
        .expect("claim")
        .remove(0);
    assert_eq!(ev.ticket_id, failed);
    db.release_event(ev.id, 6_000, Some("boom"))
        .await
        .expect("release");
    let other = refund(&db, 7_000).await;

    let orders = bot("order", 1, "new");
    assert_eq!(db.wake_events(&orders, 100, false).await.expect("wake"), 1);
    let due = db.claim_events("w", 100, 1_000, 10).await.expect("claim");
    assert_eq!(
        due.iter()
            .map(|e| (e.ticket_id, e.kind))
            .collect::<Vec<_>>(),
        vec![(fresh, EventKind::Sweep)]
    );
    assert_eq!(db.wake_events(&orders, 200, true).await.expect("wake"), 1);
    let due = db.claim_events("w", 200, 1_000, 10).await.expect("claim");
    assert_eq!(
        due.iter().map(|e| e.ticket_id).collect::<Vec<_>>(),
        vec![failed]
    );
    let kept = db.events_of(other).await.expect("events");
    assert_eq!(kept[0].available_at, 7_000);
}

/// A dispatcher pass asks once which bots have due events and gives turns
/// to those alone: a bot with one must never be left out (the store may
/// keep idle ones; SQLite's leaving them out is `store::sqlite`'s test).
async fn no_bot_with_a_due_event_is_left_out_of_a_pass(db: Db) {
    let orders = bot("order", 1, "new");
    let refunds = bot("refund", 1, "asked");
    let idle = bot("order", 2, "paid");
    let id = db.next_ticket_id().await.expect("id");
    create_with(&*db, new_ticket(id), vec![event(id, 100)]).await;
    refund(&db, 500).await;
    let all = vec![idle.clone(), refunds.clone(), orders.clone()];

    let due = db
        .bots_with_due_events(all.clone(), 100)
        .await
        .expect("read");
    assert!(due.contains(&orders), "due at 100, asked at 100: {due:?}");
    assert!(due.iter().all(|b| all.contains(b)), "{due:?}");
    let due = db
        .bots_with_due_events(all.clone(), 500)
        .await
        .expect("read");
    assert!(
        due.contains(&orders) && due.contains(&refunds),
        "both due at 500: {due:?}"
    );
}

/// A bot's claims under load start past the last event they took (on
/// PostgreSQL, `cursors.rs`), so an event that could not run when a claim
/// passed it (its ticket's older event was in flight) sits behind where
/// the next claims start. A claim still comes back short only when there
/// is nothing left to claim: the one that runs out of newer events takes
/// it (the engine ends a bot's turns at a short claim and waits for a
/// wake-up, so an event left behind then would wait for the next poll).
async fn an_event_passed_over_by_claims_is_taken_by_a_later_one(db: Db) {
    let orders = bot("order", 1, "new");
    let a = db.next_ticket_id().await.expect("id");
    create_with(&*db, new_ticket(a), vec![event(a, 10), event(a, 11)]).await;
    let mut later = Vec::new();
    for at in [20, 30, 40] {
        let id = db.next_ticket_id().await.expect("id");
        later.push(create_with(&*db, new_ticket(id), vec![event(id, at)]).await);
    }
    let claim = || db.claim_bot_events("w", &orders, 100, 60_000, 1);
    let first = claim().await.expect("claim");
    assert_eq!(first.iter().map(|e| e.ticket_id).collect::<Vec<_>>(), [a]);
    let second = claim().await.expect("claim");
    assert_eq!(
        second.iter().map(|e| e.ticket_id).collect::<Vec<_>>(),
        [later[0]],
        "a's younger event waits for its older one, in flight"
    );
    let consume = Commit {
        consumes: Some(first[0].id),
        ..Commit::default()
    };
    db.commit(&consume, 100).await.expect("consume");

    // Three events may run now: three claims of one take one each.
    let mut taken = Vec::new();
    for _ in 0..3 {
        let got = claim().await.expect("claim");
        assert_eq!(
            got.len(),
            1,
            "a claim short while events are due: {taken:?}"
        );
        taken.extend(got.iter().map(|e| (e.ticket_id, e.id)));
    }
    taken.sort_unstable();
    let tickets: Vec<i64> = taken.iter().map(|t| t.0).collect();
    assert_eq!(tickets, [a, later[1], later[2]], "each event once");
    assert!(claim().await.expect("claim").is_empty(), "nothing left");
}
