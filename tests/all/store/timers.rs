//! Timers: due ones fire once, into the event their kind says; lifetimes
//! and reminders started and re-timed after a settings change.

use baton_host::model::{BotName, Status};
use baton_host::store::{Commit, EventKind, NewTimer, TicketUpdate, TimerKind};
use serde_json::json;

use super::{Db, create, log};

both!(
    a_due_timer_fires_once_into_its_event,
    a_timer_committed_after_a_quiet_check_still_fires,
    lifetimes_and_reminders_start_and_are_retimed,
);

fn timer(ticket: i64, kind: TimerKind, due_at: i64, repeats_left: u32) -> NewTimer {
    NewTimer {
        ticket_id: ticket,
        state_code: 1,
        kind,
        due_at: Some(due_at),
        base_at: 1_000,
        other_ticket: None,
        repeats_left,
    }
}

async fn a_due_timer_fires_once_into_its_event(db: Db) {
    let id = create(&*db, vec![]).await;
    let timers = Commit {
        timers: vec![
            timer(id, TimerKind::Wait, 5_000, 0),
            timer(id, TimerKind::Lifetime, 4_000, 0),
            timer(id, TimerKind::Reminder, 3_000, 2),
            timer(id, TimerKind::Wait, 9_000, 0),
        ],
        ..Commit::default()
    };
    db.commit(&timers, 1_000).await.expect("timers");
    let t = db.ticket(id).await.expect("read").expect("ticket");
    assert_eq!(t.deadline_at, Some(4_000), "the lifetime is the deadline");
    assert_eq!(db.fire_due_timers(2_000, 10).await.expect("fire"), 0);
    // Two of the three due, oldest first.
    assert_eq!(db.fire_due_timers(6_000, 2).await.expect("fire"), 2);
    assert_eq!(db.fire_due_timers(6_000, 10).await.expect("fire"), 1);
    assert_eq!(db.fire_due_timers(6_000, 10).await.expect("fire"), 0);
    let events = db.events_of(id).await.expect("events");
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind, e.payload.clone(), e.available_at))
            .collect::<Vec<_>>(),
        vec![
            (
                EventKind::Reminder,
                json!({"due_at": 3_000, "repeats_left": 2}),
                6_000
            ),
            (
                EventKind::Timeout,
                json!({"due_at": 4_000, "repeats_left": 0}),
                6_000
            ),
            (
                EventKind::WaitEnded,
                json!({"due_at": 5_000, "repeats_left": 0}),
                6_000
            ),
        ]
    );
    let left = db.timers_of(id).await.expect("timers");
    assert_eq!(
        left.iter()
            .map(|t| (t.kind.as_str(), t.due_at))
            .collect::<Vec<_>>(),
        vec![("wait", Some(9_000))]
    );
    let t = db.ticket(id).await.expect("read").expect("ticket");
    assert_eq!(t.deadline_at, None);
    // Fired events carry their bot's key: its own turn claims them (an
    // event without it waits for the slow pass of events no bot takes).
    let bot = BotName::parse("shop-order-1-new").expect("bot name");
    let claimed = db
        .claim_bot_events("w", &bot, 6_000, 1_000, 10)
        .await
        .expect("claim");
    assert_eq!(
        claimed.len(),
        1,
        "a ticket's events are claimed one at a time"
    );
    assert_eq!(claimed[0].kind, EventKind::Reminder);
}

/// A check that found nothing due does not hide a timer committed after
/// it, nor one started by a settings change.
async fn a_timer_committed_after_a_quiet_check_still_fires(db: Db) {
    let id = create(&*db, vec![]).await;
    assert_eq!(db.fire_due_timers(2_000, 10).await.expect("fire"), 0);
    let wait = Commit {
        timers: vec![timer(id, TimerKind::Wait, 2_500, 0)],
        ..Commit::default()
    };
    db.commit(&wait, 2_000).await.expect("wait");
    assert_eq!(db.fire_due_timers(3_000, 10).await.expect("fire"), 1);
    assert_eq!(db.fire_due_timers(3_000, 10).await.expect("fire"), 0);
    let started = db
        .start_timers(TimerKind::Lifetime, ("shop", "order", 1), 1_000, 0, 3_000)
        .await
        .expect("start");
    assert_eq!(started, 1);
    // Created at 1,000: due at 2,000, already past.
    assert_eq!(db.fire_due_timers(3_000, 10).await.expect("fire"), 1);
}

/// The due times of a ticket's timers of one kind.
async fn due(db: &Db, id: i64, kind: &str) -> Vec<Option<i64>> {
    db.timers_of(id)
        .await
        .expect("timers")
        .into_iter()
        .filter(|t| t.kind == kind)
        .map(|t| t.due_at)
        .collect()
}

/// Moves `id` to `state` (open), logged as entering it at `at`.
async fn enter(db: &Db, id: i64, version: i64, state: u32, at: i64) {
    let mut line = log(id, "moved");
    line.action = "state_changed";
    line.to_state = Some(state);
    let commit = Commit {
        updates: vec![TicketUpdate {
            id,
            expected_version: version,
            title: None,
            state: Some((state, Status::Open)),
            metadata: None,
        }],
        logs: vec![line],
        ..Commit::default()
    };
    db.commit(&commit, at).await.expect("move");
}

async fn lifetimes_and_reminders_start_and_are_retimed(db: Db) {
    let state = ("shop", "order", 1);
    let old = create(&*db, vec![]).await;
    let moved = create(&*db, vec![]).await;
    let closed = create(&*db, vec![]).await;
    // `moved` left state 1 and came back at 5,000: it entered then.
    enter(&db, moved, 1, 2, 4_000).await;
    enter(&db, moved, 2, 1, 5_000).await;
    db.commit(&super::step(closed, 1, "done"), 5_000)
        .await
        .expect("close");

    let n = db
        .start_timers(TimerKind::Lifetime, state, 10_000, 0, 6_000)
        .await
        .expect("start");
    assert_eq!(n, 2, "the open tickets in the state");
    assert_eq!(due(&db, old, "lifetime").await, vec![Some(11_000)]);
    assert_eq!(due(&db, moved, "lifetime").await, vec![Some(15_000)]);
    let again = db
        .start_timers(TimerKind::Lifetime, state, 10_000, 0, 6_000)
        .await
        .expect("start");
    assert_eq!(again, 0, "those that have one keep it");

    assert_eq!(
        db.retime_lifetimes(state, Some(20_000))
            .await
            .expect("retime"),
        2
    );
    assert_eq!(due(&db, old, "lifetime").await, vec![Some(21_000)]);
    assert_eq!(db.retime_lifetimes(state, None).await.expect("drop"), 2);
    assert!(due(&db, old, "lifetime").await.is_empty());

    // Reminders, one more to come after the next: every 3 s from the
    // state's entry now, and one fewer.
    db.start_timers(TimerKind::Reminder, state, 1_000, 1, 6_000)
        .await
        .expect("start");
    let n = db
        .retime_reminders(state, Some(3_000), -1)
        .await
        .expect("retime");
    assert_eq!(n, 2);
    assert_eq!(due(&db, old, "reminder").await, vec![Some(4_000)]);
    let n = db
        .retime_reminders(state, Some(3_000), -1)
        .await
        .expect("retime");
    assert_eq!(n, 2, "none left to come: dropped");
    assert!(due(&db, old, "reminder").await.is_empty());
    assert!(due(&db, moved, "reminder").await.is_empty());
    db.start_timers(TimerKind::Reminder, state, 1_000, 0, 6_000)
        .await
        .expect("start");
    assert_eq!(db.retime_reminders(state, None, 0).await.expect("off"), 2);
    assert_eq!(db.count("timers").await, 0);
}
