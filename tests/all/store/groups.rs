//! Many commits in one batch, steps and closings of different tickets
//! side by side: each writes and returns what it would alone. On
//! PostgreSQL they share one statement (`store/postgres/group.rs`), so
//! this is where that statement's rows are told apart again.

use baton_host::model::Status;
use baton_host::model::{Actor, BotName};
use baton_host::store::{Commit, Committed, NewEvent, NewNotification, NewTimer, TicketUpdate};
use baton_host::store::{EventKind, StoreError, TimerKind};
use baton_host::store::{NewStakeholder, Principal};
use serde_json::json;

use super::{Backend, Db, create, create_with, event, log, new_ticket};

both!(
    steps_and_closings_in_one_batch_each_write_and_return_their_own,
    a_refused_commit_in_a_batch_fails_alone,
    a_batch_mixing_grouped_and_lone_commits_answers_each_its_own,
    a_close_ends_the_waits_on_it_before_its_own_events,
    tickets_created_in_one_batch_each_stand_whole,
);

/// Ticket `n` of the batch: a step to the open state 3 when `n` is even,
/// a close (with a notification to `user`) when it is odd; committed at
/// `5_000 + n`.
fn commit(n: usize, ticket: i64, consumed: i64, user: i64) -> Commit {
    let closing = n % 2 == 1;
    let state = if closing {
        (2, Status::Closed)
    } else {
        (3, Status::Open)
    };
    Commit {
        consumes: Some(consumed),
        updates: vec![TicketUpdate {
            id: ticket,
            expected_version: 1,
            title: Some(format!("title {n}")),
            state: Some(state),
            metadata: None,
        }],
        logs: vec![log(ticket, &format!("commit {n}"))],
        events: match closing {
            true => vec![],
            false => vec![NewEvent {
                state_code: 3,
                ..event(ticket, 5_000 + n as i64)
            }],
        },
        proceeded: vec![(ticket, 1)],
        notifications: match closing {
            true => vec![NewNotification {
                user_id: user,
                ticket_id: Some(ticket),
                kind: "closed",
                text: format!("closed {n}"),
            }],
            false => vec![],
        },
        ..Commit::default()
    }
}

async fn steps_and_closings_in_one_batch_each_write_and_return_their_own(db: Db) {
    const N: usize = 12;
    // An administrator: her inbox shows notifications on any ticket.
    let ann = db.person("ann", true).await;
    let mut tickets = Vec::new();
    for _ in 0..N {
        let id = db.next_ticket_id().await.expect("id");
        tickets.push(create_with(&*db, new_ticket(id), vec![event(id, 0)]).await);
    }
    // A wait on ticket 1, which closes in the batch.
    let waiter = create(&*db, vec![]).await;
    let wait = NewTimer {
        ticket_id: waiter,
        state_code: 1,
        kind: TimerKind::WaitTicket,
        due_at: None,
        base_at: 0,
        other_ticket: Some(tickets[1]),
        repeats_left: 0,
    };
    let timers = Commit {
        timers: vec![wait],
        ..Commit::default()
    };
    db.commit(&timers, 2_000).await.expect("the wait");
    let mut claimed = db
        .claim_events("w", 10, 60_000, N as u32)
        .await
        .expect("claim");
    claimed.sort_by_key(|e| e.ticket_id);
    assert_eq!(claimed.len(), N);

    let (paused, _) = db.pause().await;
    let before = db.stats();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, ev) in claimed.iter().enumerate() {
        let (store, commit) = (db.store.clone(), commit(n, ev.ticket_id, ev.id, ann.id));
        tasks.spawn(async move { (n, store.commit(&commit, 5_000 + n as i64).await) });
    }
    while db.stats().queued < before.queued + N as u64 {
        tokio::task::yield_now().await;
    }
    drop(paused);
    let mut done: Vec<(usize, Committed)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (n, result) = joined.expect("task");
        done.push((n, result.unwrap_or_else(|e| panic!("commit {n}: {e}"))));
    }
    done.sort_by_key(|(n, _)| *n);
    let after = db.stats();
    assert_eq!(after.reruns, before.reruns, "no job failed");
    let grouped = after.grouped - before.grouped;
    match db.backend {
        Backend::Postgres(_) => assert_eq!(grouped, N as u64, "all {N} in one statement"),
        Backend::Sqlite(_) => assert_eq!(grouped, 0),
    }

    let inbox = db.notifications(ann.id, None, 50).await.expect("inbox");
    assert_eq!(inbox.len(), N / 2);
    for (n, committed) in &done {
        let (ticket, at) = (tickets[*n], 5_000 + *n as i64);
        let t = db.ticket(ticket).await.expect("read").expect("ticket");
        let logs = db.logs(ticket).await.expect("logs");
        let last = logs.last().expect("a log line");
        assert_eq!(
            (
                t.title.as_str(),
                t.version,
                t.updated_at,
                last.message.as_str(),
                last.created_at
            ),
            (
                format!("title {n}").as_str(),
                2,
                at,
                format!("commit {n}").as_str(),
                at
            ),
            "ticket {n}"
        );
        let events = db.events_of(ticket).await.expect("events");
        if n % 2 == 1 {
            assert_eq!((t.status, t.closed_at), (Status::Closed, Some(at)));
            assert!(events.is_empty(), "its event consumed: {events:?}");
            let [note] = committed.notifications.as_slice() else {
                panic!("commit {n} returned {:?}", committed.notifications);
            };
            let stored = inbox.iter().find(|s| s.id == note.id).expect("stored");
            assert_eq!(
                (stored.text.as_str(), stored.ticket_id, stored.created_at),
                (format!("closed {n}").as_str(), Some(ticket), at)
            );
            assert_eq!(note, stored);
        } else {
            assert_eq!(
                (t.status, t.state_code, t.closed_at),
                (Status::Open, 3, None)
            );
            assert!(committed.notifications.is_empty());
            let next: Vec<_> = events
                .iter()
                .map(|e| (e.state_code, e.available_at))
                .collect();
            assert_eq!(
                next,
                vec![(3, at)],
                "its event consumed, the next one queued"
            );
        }
    }
    // The wait on ticket 1 ended with its close.
    let ended = db.events_of(waiter).await.expect("events");
    let ended: Vec<_> = ended
        .iter()
        .map(|e| (e.kind, e.payload.clone(), e.available_at))
        .collect();
    assert_eq!(
        ended,
        vec![(EventKind::TicketClosed, json!({"other": tickets[1]}), 5_001)]
    );
    assert!(db.timers_of(waiter).await.expect("timers").is_empty());
}

/// A commit the database refuses (a log line on a ticket that does not
/// exist), between two that stand, in one batch: it fails alone, with
/// the database's error (a foreign key), and the others are written once each. On
/// PostgreSQL the three share a statement first, which fails as a whole;
/// the batch then runs again, each commit alone.
async fn a_refused_commit_in_a_batch_fails_alone(db: Db) {
    let (a, b) = (create(&*db, vec![]).await, create(&*db, vec![]).await);
    let moved = |id: i64, message: &str| Commit {
        updates: vec![TicketUpdate {
            id,
            expected_version: 1,
            title: None,
            state: Some((3, Status::Open)),
            metadata: None,
        }],
        logs: vec![log(id, message)],
        ..Commit::default()
    };
    let refused = Commit {
        logs: vec![log(999_999, "on no ticket")],
        ..Commit::default()
    };
    let (paused, _) = db.pause().await;
    let before = db.stats();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, commit) in [moved(a, "a"), refused, moved(b, "b")]
        .into_iter()
        .enumerate()
    {
        let store = db.store.clone();
        tasks.spawn(async move { (n, store.commit(&commit, 5_000).await.map(drop)) });
    }
    while db.stats().queued < before.queued + 3 {
        tokio::task::yield_now().await;
    }
    drop(paused);
    let mut results: Vec<_> = tasks.join_all().await;
    results.sort_by_key(|(n, _)| *n);
    assert!(results[0].1.is_ok() && results[2].1.is_ok(), "{results:?}");
    assert!(
        matches!(
            results[1].1,
            Err(StoreError::Database(_) | StoreError::Sqlite(_))
        ),
        "{results:?}"
    );
    assert_eq!(db.stats().reruns - before.reruns, 1, "one run again");
    // The failed group is not counted: its commits were written alone.
    assert_eq!(db.stats().grouped, before.grouped);
    for (id, message) in [(a, "a"), (b, "b")] {
        let logs = db.logs(id).await.expect("logs");
        let messages: Vec<_> = logs.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(messages, vec![message]);
        let t = db.ticket(id).await.expect("read").expect("ticket");
        assert_eq!((t.state_code, t.version), (3, 2));
    }

    // The next batches start with savepoints (after a failure); their
    // commits are still grouped, the group in a savepoint of its own.
    let again = |id: i64| Commit {
        updates: vec![TicketUpdate {
            id,
            expected_version: 2,
            title: Some("again".into()),
            state: None,
            metadata: None,
        }],
        ..Commit::default()
    };
    let (paused, _) = db.pause().await;
    let before = db.stats();
    let mut tasks = tokio::task::JoinSet::new();
    for id in [a, b] {
        let (store, commit) = (db.store.clone(), again(id));
        tasks.spawn(async move { store.commit(&commit, 6_000).await.map(drop) });
    }
    while db.stats().queued < before.queued + 2 {
        tokio::task::yield_now().await;
    }
    drop(paused);
    for done in tasks.join_all().await {
        done.expect("commit");
    }
    if let Backend::Postgres(_) = db.backend {
        assert_eq!(
            db.stats().grouped - before.grouped,
            2,
            "grouped with savepoints"
        );
    }
}

/// A batch that mixes commits of a group's shape with one that is not
/// (it starts a timer) and comes first: each caller gets its own result,
/// the notifications of its own commit.
async fn a_batch_mixing_grouped_and_lone_commits_answers_each_its_own(db: Db) {
    let ann = db.person("ann", true).await;
    let lone = create(&*db, vec![]).await;
    let (x, y) = (create(&*db, vec![]).await, create(&*db, vec![]).await);
    let timer = Commit {
        timers: vec![NewTimer {
            ticket_id: lone,
            state_code: 1,
            kind: TimerKind::Lifetime,
            due_at: Some(90_000),
            base_at: 0,
            other_ticket: None,
            repeats_left: 0,
        }],
        logs: vec![log(lone, "a lifetime")],
        ..Commit::default()
    };
    let close = |id: i64, text: &str| Commit {
        updates: vec![TicketUpdate {
            id,
            expected_version: 1,
            title: None,
            state: Some((2, Status::Closed)),
            metadata: None,
        }],
        notifications: vec![NewNotification {
            user_id: ann.id,
            ticket_id: Some(id),
            kind: "closed",
            text: text.into(),
        }],
        ..Commit::default()
    };
    let (paused, _) = db.pause().await;
    let before = db.stats();
    let mut tasks = tokio::task::JoinSet::new();
    // Handed in one at a time, so that the batch keeps this order.
    for (n, commit) in [timer, close(x, "x"), close(y, "y")]
        .into_iter()
        .enumerate()
    {
        let store = db.store.clone();
        tasks.spawn(async move { (n, store.commit(&commit, 5_000).await) });
        while db.stats().queued < before.queued + n as u64 + 1 {
            tokio::task::yield_now().await;
        }
    }
    drop(paused);
    let mut results = tasks.join_all().await;
    results.sort_by_key(|(n, _)| *n);
    let texts: Vec<Vec<String>> = results
        .into_iter()
        .map(|(n, r)| {
            let committed = r.unwrap_or_else(|e| panic!("commit {n}: {e}"));
            committed
                .notifications
                .into_iter()
                .map(|n| n.text)
                .collect()
        })
        .collect();
    assert_eq!(
        texts,
        vec![vec![], vec!["x".to_string()], vec!["y".to_string()]]
    );
    if let Backend::Postgres(_) = db.backend {
        assert_eq!(db.stats().grouped - before.grouped, 2, "x and y grouped");
    }
    assert_eq!(db.timers_of(lone).await.expect("timers").len(), 1);
}

/// A closing that also queues an event for the ticket waiting on it: the
/// wait's `ticket_closed` comes first, then the commit's own event, as
/// one commit writes them on either backend.
async fn a_close_ends_the_waits_on_it_before_its_own_events(db: Db) {
    let parent = create(&*db, vec![]).await;
    let child = create(&*db, vec![]).await;
    let wait = Commit {
        timers: vec![NewTimer {
            ticket_id: parent,
            state_code: 1,
            kind: TimerKind::WaitTicket,
            due_at: None,
            base_at: 0,
            other_ticket: Some(child),
            repeats_left: 0,
        }],
        ..Commit::default()
    };
    db.commit(&wait, 2_000).await.expect("the wait");
    let close = Commit {
        updates: vec![TicketUpdate {
            id: child,
            expected_version: 1,
            title: None,
            state: Some((2, Status::Closed)),
            metadata: None,
        }],
        events: vec![NewEvent {
            kind: EventKind::Notification,
            ..event(parent, 3_000)
        }],
        ..Commit::default()
    };
    db.commit(&close, 3_000).await.expect("the close");
    let kinds: Vec<EventKind> = db
        .events_of(parent)
        .await
        .expect("events")
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![EventKind::TicketClosed, EventKind::Notification]
    );
}

/// Tickets created side by side in one batch (on PostgreSQL, in one
/// statement): each has its row, its requester, its log line and its
/// event, which its state's bot claims. A creation naming a user that
/// does not exist fails alone, and one with a group stakeholder runs
/// beside the others.
async fn tickets_created_in_one_batch_each_stand_whole(db: Db) {
    let ann = db.person("ann", false).await;
    let parent = create(&*db, vec![]).await;
    let creation = |id: i64, stakeholder: Principal, parent_id: Option<i64>| {
        let mut ticket = new_ticket(id);
        ticket.created_by = Actor::User(ann.id);
        ticket.parent_id = parent_id;
        ticket.stakeholders = vec![NewStakeholder {
            principal: stakeholder,
            connection: "cc",
            role: "requester",
        }];
        Commit {
            inserts: vec![ticket],
            logs: vec![log(id, &format!("created {id}"))],
            events: vec![event(id, 0)],
            ..Commit::default()
        }
    };
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(db.next_ticket_id().await.expect("id"));
    }
    let before = db.stats();
    let first = in_one_batch(
        &db,
        vec![
            creation(ids[0], Principal::User(ann.id), None),
            creation(ids[1], Principal::User(ann.id), Some(parent)),
            creation(ids[3], Principal::Group("ops".into()), None),
            creation(ids[4], Principal::User(ann.id), None),
            creation(ids[5], Principal::User(ann.id), Some(ids[4])),
        ],
    )
    .await;
    for (n, result) in first.iter().enumerate() {
        assert!(result.is_ok(), "creation {n}: {result:?}");
    }
    if let Backend::Postgres(_) = db.backend {
        let grouped = db.stats().grouped - before.grouped;
        assert_eq!(grouped, 4, "all but the one with a group stakeholder");
    }
    let second = in_one_batch(
        &db,
        vec![
            creation(ids[2], Principal::User(987_654), None),
            creation(ids[6], Principal::User(ann.id), None),
        ],
    )
    .await;
    assert!(
        matches!(&second[0], Err(StoreError::NotFound(_))),
        "a stakeholder who does not exist: {:?}",
        second[0]
    );
    assert!(second[1].is_ok(), "{:?}", second[1]);
    assert_eq!(db.ticket(ids[2]).await.expect("read"), None);

    let made = [ids[0], ids[1], ids[3], ids[4], ids[5], ids[6]];
    for id in made {
        let ticket = db.ticket(id).await.expect("read").expect("created");
        assert_eq!(
            (ticket.created_by, ticket.created_at),
            (Actor::User(ann.id), 7_000)
        );
        let people = db.stakeholders(id).await.expect("stakeholders");
        assert_eq!(people.len(), 1, "ticket {id}");
        assert_eq!(people[0].role, "requester");
        let logs = db.logs(id).await.expect("logs");
        assert!(logs.iter().any(|l| l.message == format!("created {id}")));
    }
    assert_eq!(
        db.ticket(ids[1])
            .await
            .expect("read")
            .and_then(|t| t.parent_id),
        Some(parent)
    );
    assert_eq!(
        db.ticket(ids[5])
            .await
            .expect("read")
            .and_then(|t| t.parent_id),
        Some(ids[4])
    );
    let bot = BotName::parse("shop-order-1-new").expect("bot");
    let mut claimed: Vec<i64> = db
        .claim_bot_events("w", &bot, 8_000, 60_000, 20)
        .await
        .expect("claim")
        .into_iter()
        .map(|e| e.ticket_id)
        .filter(|t| made.contains(t))
        .collect();
    claimed.sort();
    assert_eq!(
        claimed,
        made.to_vec(),
        "each new ticket's event is its bot's"
    );
}

/// Hands `commits` to the store while its committer is held, so that they
/// land in one batch, in the order given (a child after its parent:
/// SQLite checks a foreign key at each insert; outside tests causality
/// orders them); their results in the same order. One task drives each
/// commit until its job is queued before starting the next, so no thread
/// can overtake another between counting a job and queueing it.
async fn in_one_batch(db: &Db, commits: Vec<Commit>) -> Vec<Result<Committed, StoreError>> {
    let (paused, _) = db.pause().await;
    let before = db.stats();
    let mut pending: Vec<_> = commits
        .iter()
        .map(|commit| Box::pin(db.store.commit(commit, 7_000)))
        .collect();
    let mut early: Vec<Option<Result<Committed, StoreError>>> =
        commits.iter().map(|_| None).collect();
    let mut queued = before.queued;
    for (i, commit) in pending.iter_mut().enumerate() {
        queued += 1;
        while db.stats().queued < queued {
            // A commit that ends before it is queued failed on its own.
            if let std::task::Poll::Ready(result) = futures::poll!(commit.as_mut()) {
                early[i] = Some(result);
                queued -= 1;
                break;
            }
            tokio::task::yield_now().await;
        }
    }
    drop(paused);
    let mut results = Vec::new();
    for (commit, early) in pending.into_iter().zip(early) {
        results.push(match early {
            Some(result) => result,
            None => commit.await,
        });
    }
    results
}
