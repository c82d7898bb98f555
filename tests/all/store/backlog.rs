//! What the supervisor and `/metrics` read: the backlog of events and
//! timers, open tickets per state, and the commit batches as written.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use baton_host::store::{Backlog, Commit, NewTimer, OpenCount, TimerKind};

use super::{Db, create, event, step};

both!(
    the_backlog_counts_due_and_parked_events_and_pending_timers,
    open_tickets_are_counted_per_state,
    every_commit_batch_is_observed,
);

async fn the_backlog_counts_due_and_parked_events_and_pending_timers(db: Db) {
    assert_eq!(
        db.backlog(5_000).await.expect("backlog"),
        Backlog::default()
    );
    let due = create(&*db, vec![]).await;
    let later = create(&*db, vec![]).await;
    let queued = Commit {
        events: vec![event(due, 2_000), event(due, 3_000), event(later, 9_000)],
        ..Commit::default()
    };
    db.commit(&queued, 1_500).await.expect("events");
    let events = db.events_of(due).await.expect("events");
    let parked = &events[0];
    db.park_event(parked.id, "it kept failing", &Commit::default(), 4_000)
        .await
        .expect("park");
    let timer = NewTimer {
        ticket_id: due,
        state_code: 1,
        kind: TimerKind::Wait,
        due_at: Some(4_500),
        base_at: 1_000,
        other_ticket: None,
        repeats_left: 0,
    };
    let waiting_on_other = NewTimer {
        kind: TimerKind::WaitTicket,
        due_at: None,
        other_ticket: Some(due),
        ..timer.clone()
    };
    let timers = Commit {
        timers: vec![timer, waiting_on_other],
        ..Commit::default()
    };
    db.commit(&timers, 4_000).await.expect("timers");
    let backlog = db.backlog(5_000).await.expect("backlog");
    assert_eq!(
        backlog,
        Backlog {
            events_due: 1,
            // Queued at 1,500, due or not (the one due at 9,000 too).
            oldest_queued_at: Some(1_500),
            parked: 1,
            timers_pending: 1,
            next_timer_at: Some(4_500),
        }
    );
    // Before anything is due, nothing counts as due.
    let early = db.backlog(1_600).await.expect("backlog");
    assert_eq!(early.events_due, 0);
}

async fn open_tickets_are_counted_per_state(db: Db) {
    for _ in 0..3 {
        create(&*db, vec![]).await;
    }
    let closed = create(&*db, vec![]).await;
    db.commit(&step(closed, 1, "done"), 2_000)
        .await
        .expect("close");
    assert_eq!(
        db.open_tickets().await.expect("counts"),
        vec![OpenCount {
            metaservice: "shop".into(),
            ticket_type: "order".into(),
            state_code: 1,
            count: 3,
        }]
    );
}

async fn every_commit_batch_is_observed(db: Db) {
    let batches = Arc::new(AtomicUsize::new(0));
    let commits = Arc::new(AtomicUsize::new(0));
    let (b, c) = (batches.clone(), commits.clone());
    db.observe_batches(Arc::new(move |batch| {
        b.fetch_add(1, Ordering::SeqCst);
        c.fetch_add(batch.commits, Ordering::SeqCst);
    }));
    for _ in 0..5 {
        create(&*db, vec![]).await;
    }
    // Each commit rode in an observed batch before it was acknowledged.
    let (batches, commits) = (
        batches.load(Ordering::SeqCst),
        commits.load(Ordering::SeqCst),
    );
    assert!(commits >= 5, "{commits} commits observed");
    assert!((1..=commits).contains(&batches), "{batches} batches");
}
