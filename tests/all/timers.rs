//! Durable waits and lifetimes, on an engine driven in-process with a
//! manual clock, so that hours and days pass in milliseconds. The database
//! is a real SQLite file and the bot a real `.wasm`; "killing" the engine
//! aborts its tasks with no shutdown, and a new engine takes over the file.

use std::path::Path;
use std::time::Duration;

use baton_host::engine::{Clock, CreateTicket, Engine};
use baton_host::model::{Actor, Status, TypeSettings};
use baton_host::store::SqliteStore;
use serde_json::{Value, json};

use crate::support::engine::{person, settle, setup, start, status, timers, until_logged};

const HOUR: i64 = 3_600_000;

/// The settings in force for `waiter/job`.
fn job_settings(e: &Engine) -> TypeSettings {
    e.catalog()
        .ticket_type("waiter", "job")
        .expect("job")
        .settings
        .clone()
}

async fn job(engine: &Engine, creator: i64, metadata: Value) -> i64 {
    let req = CreateTicket {
        metaservice: "waiter".into(),
        ticket_type: "job".into(),
        title: "a job".into(),
        metadata,
        stakeholders: Vec::new(),
        by_admin: false,
    };
    engine
        .create_ticket(req, Actor::User(creator))
        .await
        .expect("created")
        .id
}

#[tokio::test]
async fn waits_survive_a_kill_and_wake_when_due() {
    let (dir, clock) = setup();
    let first = start(dir.path(), clock.clone()).await;
    let user = person(&first.engine, "u").await;
    let sleeper = job(&first.engine, user.id, json!({"mode": "sleep"})).await;
    let parent = job(&first.engine, user.id, json!({"mode": "parent"})).await;
    settle(&first.engine, sleeper, &["wait", "lifetime"]).await;
    settle(&first.engine, parent, &["wait_ticket"]).await;
    let child = first
        .engine
        .store
        .ticket(parent + 1)
        .await
        .expect("read")
        .expect("the child");
    assert_eq!(child.parent_id, Some(parent));
    settle(&first.engine, child.id, &["wait"]).await;

    // kill -9: the tasks stop where they are; only the database remains.
    first.dispatcher.abort();
    drop(first);
    let second = start(dir.path(), clock.clone()).await;
    let e = &second.engine;

    clock.advance(HOUR + 1);
    e.poke();
    until_logged(e, child.id, "woke after the wait").await;
    until_logged(e, parent, &format!("ticket {} closed", child.id)).await;
    assert_eq!(status(e, parent).await, Status::Closed);
    assert_eq!(
        status(e, sleeper).await,
        Status::Open,
        "two hours are not up"
    );

    clock.advance(HOUR);
    e.poke();
    until_logged(e, sleeper, "woke after the wait").await;
    assert_eq!(status(e, sleeper).await, Status::Closed);
    assert!(
        timers(e, sleeper).await.is_empty(),
        "a closed ticket keeps no timers"
    );
    second.dispatcher.abort();
}

#[tokio::test]
async fn a_wait_on_a_closed_or_missing_ticket_ends_at_once() {
    let (dir, clock) = setup();
    let r = start(dir.path(), clock.clone()).await;
    let e = &r.engine;
    let user = person(e, "u").await;
    let first = job(e, user.id, json!({"mode": "chore"})).await;
    settle(e, first, &["wait"]).await;
    clock.advance(HOUR + 1);
    e.poke();
    until_logged(e, first, "woke after the wait").await;
    let after = job(e, user.id, json!({"mode": "after", "other": first})).await;
    until_logged(e, after, &format!("ticket {first} closed")).await;
    assert_eq!(status(e, after).await, Status::Closed);

    // A ticket that does not exist (never did, or was deleted by its
    // retention): the wait ends at once with `ticket-gone`.
    let orphan = job(e, user.id, json!({"mode": "after", "other": 999_999})).await;
    until_logged(e, orphan, "ticket 999999 is gone").await;
    assert_eq!(status(e, orphan).await, Status::Closed);
    assert!(timers(e, orphan).await.is_empty());
    r.dispatcher.abort();
}

#[tokio::test]
async fn an_outlived_lifetime_times_out_and_a_settings_change_retimes_it() {
    let (dir, clock) = setup();
    let r = start(dir.path(), clock.clone()).await;
    let e = &r.engine;
    let user = person(e, "creator").await;
    let stuck = job(e, user.id, json!({"mode": "stuck"})).await;
    until_logged(e, stuck, "nothing to do but wait for people").await;
    clock.advance(23 * HOUR);
    e.poke();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        e.store
            .notifications(user.id, None, 10)
            .await
            .expect("inbox")
            .is_empty(),
        "not a day yet"
    );

    clock.advance(HOUR + 1);
    e.poke();
    until_logged(e, stuck, "is out of service").await;
    // The SDK's default: the creator is told, and an error ticket is filed.
    let inbox = e
        .store
        .notifications(user.id, None, 10)
        .await
        .expect("inbox");
    assert!(
        inbox.iter().any(|n| n.text.contains("out of service")),
        "{inbox:?}"
    );
    let logs = e.store.logs(stuck).await.expect("logs");
    let filed = logs
        .iter()
        .find(|l| l.action == "error_filed")
        .expect("an error ticket");
    let error_id = filed
        .data
        .as_ref()
        .and_then(|d| d["error_ticket_id"].as_i64())
        .expect("its id");
    let report = e
        .store
        .ticket(error_id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (report.metaservice.as_str(), report.parent_id),
        ("baton", Some(stuck))
    );

    // A shorter lifetime set by an admin reaches a ticket already waiting.
    let waiting = job(e, user.id, json!({"mode": "stuck"})).await;
    until_logged(e, waiting, "nothing to do but wait for people").await;
    let mut settings = job_settings(e);
    settings.lifetime = Some(Duration::from_millis(HOUR as u64));
    e.settings_changed("waiter", "job", settings)
        .await
        .expect("settings");
    clock.advance(HOUR + 1);
    e.poke();
    until_logged(e, waiting, "is out of service").await;
    r.dispatcher.abort();
}

/// Writes a ticket straight into the database, with no event: the kind of
/// ticket only a sweep finds.
async fn by_hand(dir: &Path, id: i64) {
    let store = SqliteStore::open(&format!("sqlite://{}", dir.join("baton.db").display()))
        .await
        .expect("store");
    sqlx::query(
        "INSERT INTO tickets (id, metaservice, ticket_type, title, state_code, status, metadata, \
         created_by_kind, created_at, updated_at) VALUES (?, 'waiter', 'job', 'by hand', 1, 'open', \
         '{\"mode\": \"stuck\"}', 'host', 0, 0)",
    )
    .bind(id)
    .execute(store.pool())
    .await
    .expect("insert");
}

#[tokio::test]
async fn sweeps_find_what_slipped_through_on_load_and_on_their_own() {
    let (dir, clock) = setup();
    let first = start(dir.path(), clock.clone()).await;
    let e = &first.engine;
    let bot = baton_host::model::BotName::new("waiter", "job", 1, "waiting");
    // The sweep reads one state's tickets through the state index.
    let url = format!("sqlite://{}", dir.path().join("baton.db").display());
    let plan = SqliteStore::open(&url)
        .await
        .expect("store")
        .sweep_plan(&bot)
        .await
        .expect("plan")
        .join("\n");
    assert!(
        plan.contains("USING INDEX tickets_by_state")
            || plan.contains("USING COVERING INDEX tickets_by_state"),
        "{plan}"
    );
    assert!(!plan.contains("SCAN t"), "no scan of all tickets:\n{plan}");

    by_hand(dir.path(), 1000).await;
    e.sweep(&bot).await;
    until_logged(e, 1000, "nothing to do for Sweep").await;
    // Processed now: the next sweep leaves it alone.
    e.sweep(&bot).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let runs = e
        .store
        .logs(1000)
        .await
        .expect("logs")
        .iter()
        .filter(|l| l.message.contains("for Sweep"))
        .count();
    assert_eq!(runs, 1);

    // A bot may list its state's tickets and claim them as processed:
    // then a sweep passes over them.
    by_hand(dir.path(), 1002).await;
    let user = person(e, "u").await;
    let lister = job(e, user.id, json!({"mode": "list"})).await;
    let mut open = vec![1000, 1002, lister];
    open.sort();
    until_logged(e, lister, &format!("current tickets: {open:?}")).await;
    e.sweep(&bot).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let swept = e.store.logs(1002).await.expect("logs");
    assert!(
        swept.iter().all(|l| !l.message.contains("for Sweep")),
        "{swept:?}"
    );

    // A ticket that appears while Baton is down is swept when the bot loads.
    first.dispatcher.abort();
    drop(first);
    by_hand(dir.path(), 1001).await;
    let second = start(dir.path(), clock).await;
    until_logged(&second.engine, 1001, "nothing to do for Sweep").await;
    second.dispatcher.abort();
}

#[tokio::test]
async fn closed_tickets_are_archived_whole_after_their_retention() {
    let (dir, clock) = setup();
    let r = start(dir.path(), clock.clone()).await;
    let e = &r.engine;
    let user = person(e, "u").await;
    let done = job(e, user.id, json!({"mode": "chore"})).await;
    let open = job(e, user.id, json!({"mode": "stuck"})).await;
    settle(e, done, &["wait"]).await;
    clock.advance(HOUR + 1);
    e.poke();
    until_logged(e, done, "woke after the wait").await;
    assert_eq!(status(e, done).await, Status::Closed);

    // The dispatcher runs its own retention passes as the clock jumps, so
    // the test looks at the tickets, not at which pass retired them.
    clock.advance(29 * 24 * HOUR);
    e.retain().await;
    assert!(
        e.store.ticket(done).await.expect("read").is_some(),
        "not thirty days yet"
    );
    clock.advance(2 * 24 * HOUR);
    e.retain().await;
    assert!(e.store.ticket(done).await.expect("read").is_none());
    assert!(
        e.store.ticket(open).await.expect("read").is_some(),
        "open tickets are never retired"
    );
    let doc = e
        .store
        .archived(done)
        .await
        .expect("read")
        .expect("archived");
    assert_eq!(doc["ticket"]["id"], done);
    assert_eq!(doc["ticket"]["status"], "closed");
    assert_eq!(doc["ticket"]["metadata"], json!({"mode": "chore"}));
    let messages: Vec<&str> = doc["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert!(messages.contains(&"woke after the wait"), "{messages:?}");
    assert_eq!(doc["stakeholders"][0]["role"], "requester");
    r.dispatcher.abort();
}

#[tokio::test]
async fn a_bot_notification_reaches_the_bot_of_the_state() {
    let (dir, clock) = setup();
    let r = start(dir.path(), clock).await;
    let e = &r.engine;
    let user = person(e, "u").await;
    let id = job(e, user.id, json!({"mode": "tell"})).await;
    until_logged(e, id, "waiter-job-1-waiting said: are you there?").await;
    assert_eq!(status(e, id).await, Status::Closed);
    r.dispatcher.abort();
}

/// Ticket `id`'s timer of `kind`: (due at, reminders left after it).
async fn timer(db: &SqliteStore, id: i64, kind: &str) -> Option<(i64, i64)> {
    sqlx::query_as::<_, (i64, i64)>(
        "SELECT due_at, repeats_left FROM timers WHERE ticket_id = ? AND kind = ?",
    )
    .bind(id)
    .bind(kind)
    .fetch_optional(db.pool())
    .await
    .expect("reading a timer")
}

async fn reminder(db: &SqliteStore, id: i64) -> Option<(i64, i64)> {
    timer(db, id, "reminder").await
}

#[tokio::test]
async fn a_settings_change_retimes_the_reminders_of_waiting_tickets() {
    let (dir, clock) = setup();
    let r = start(dir.path(), clock.clone()).await;
    let (e, db) = (&r.engine, &*r.sqlite);
    let user = person(e, "creator").await;
    let change = |every: Option<i64>, repeats: u32| {
        let mut s = job_settings(e);
        s.notify_every = every.map(|ms| Duration::from_millis(ms as u64));
        s.notify_repeats = repeats;
        e.settings_changed("waiter", "job", s)
    };
    // waiter/job has no reminders: the ticket enters its state without one.
    let entered_at = clock.now();
    let id = job(e, user.id, json!({"mode": "stuck"})).await;
    until_logged(e, id, "nothing to do but wait for people").await;
    assert_eq!(reminder(db, id).await, None);
    clock.advance(HOUR);
    // Reminders switched on: the waiting ticket gets them, from its entry.
    change(Some(24 * HOUR), 3).await.expect("settings");
    assert_eq!(
        reminder(db, id).await,
        Some((entered_at + 24 * HOUR, 2)),
        "a day, then two more"
    );

    // Every two hours, and only twice in all: counted from when it entered.
    change(Some(2 * HOUR), 2).await.expect("settings");
    assert_eq!(reminder(db, id).await, Some((entered_at + 2 * HOUR, 1)));
    clock.advance(HOUR + 1);
    e.poke();
    until_logged(e, id, "nothing to do for Reminder(1)").await;
    let (due, left) = reminder(db, id).await.expect("the last one");
    assert_eq!((due - clock.now(), left), (2 * HOUR, 0));

    // Fewer repeats than were already sent: no more reminders.
    change(Some(2 * HOUR), 1).await.expect("settings");
    assert_eq!(reminder(db, id).await, None);

    // No interval at all: another waiting ticket loses its reminders.
    change(Some(HOUR), 3).await.expect("settings");
    let other = job(e, user.id, json!({"mode": "stuck"})).await;
    until_logged(e, other, "nothing to do but wait for people").await;
    assert!(reminder(db, other).await.is_some());
    change(None, 3).await.expect("settings");
    assert_eq!(reminder(db, other).await, None);

    // A lifetime where there was none: from when the ticket entered.
    let mut s = job_settings(e);
    s.lifetime = None;
    e.settings_changed("waiter", "job", s.clone())
        .await
        .expect("settings");
    let entered_at = clock.now();
    let third = job(e, user.id, json!({"mode": "stuck"})).await;
    until_logged(e, third, "nothing to do but wait for people").await;
    assert_eq!(timer(db, third, "lifetime").await, None);
    clock.advance(HOUR);
    s.lifetime = Some(Duration::from_millis(3 * HOUR as u64));
    e.settings_changed("waiter", "job", s)
        .await
        .expect("settings");
    assert_eq!(
        timer(db, third, "lifetime").await,
        Some((entered_at + 3 * HOUR, 0))
    );
    r.dispatcher.abort();
}

/// What Baton does when a bot leaves a timeout or an event to the
/// platform, whatever the bot's language: the waiter fixture leaves some
/// and takes others.
#[tokio::test]
async fn baton_applies_the_defaults_a_bot_leaves_to_it_and_no_others() {
    let (dir, clock) = setup();
    let r = start(dir.path(), clock.clone()).await;
    let e = &r.engine;
    let user = person(e, "u").await;
    let stubborn = job(e, user.id, json!({"mode": "stubborn"})).await;
    let noted = job(e, user.id, json!({"mode": "noted"})).await;
    for t in [stubborn, noted] {
        until_logged(e, t, "nothing to do but wait for people").await;
    }
    // Past the day-long lifetime of `waiting`.
    clock.advance(24 * HOUR + 1);
    e.poke();
    // Left to Baton after a line of its own: both are there, the default
    // in the same commit as the bot's line.
    until_logged(e, noted, "is out of service").await;
    let logs = e.store.logs(noted).await.expect("logs");
    let messages: Vec<&str> = logs.iter().map(|l| l.message.as_str()).collect();
    let saw = messages
        .iter()
        .position(|m| *m == "the waiter saw the timeout coming")
        .expect("the bot's line");
    assert!(
        messages[saw..]
            .iter()
            .any(|m| m.contains("is out of service"))
    );
    assert!(
        logs.iter().any(|l| l.action == "error_filed"),
        "{messages:?}"
    );
    // Handled by the bot: nothing of Baton's default.
    until_logged(e, stubborn, "the waiter handled its own timeout").await;
    let logs = e.store.logs(stubborn).await.expect("logs");
    assert!(
        !logs
            .iter()
            .any(|l| l.action == "error_filed" || l.message.contains("out of service")),
        "{logs:?}"
    );
    let inbox = e
        .store
        .notifications(user.id, None, 10)
        .await
        .expect("inbox");
    let told: Vec<_> = inbox.iter().filter_map(|n| n.ticket_id).collect();
    assert!(
        told.contains(&noted),
        "the creator hears of the default: {inbox:?}"
    );
    assert!(
        !told.contains(&stubborn),
        "but not of what the bot handled: {inbox:?}"
    );

    // An event the bot leaves to Baton is logged as not handled.
    let open = job(e, user.id, json!({"mode": "stuck"})).await;
    until_logged(e, open, "nothing to do but wait for people").await;
    let ticket = e.store.ticket(open).await.expect("read").expect("there");
    let involvement = e.involvement(&user, open).await.expect("involvement");
    let (comment, _) = e
        .comment(&ticket, &user, &involvement, "any news?".into(), None)
        .await
        .expect("a comment");
    until_logged(
        e,
        open,
        &format!("event comment {comment} is not handled in this state"),
    )
    .await;
    r.dispatcher.abort();
}
