//! Invocations of one bot run side by side up to `per_bot_concurrency`, and
//! no further; another bot's tickets go through meanwhile, not behind them,
//! however deep the first bot's backlog (fair dispatch).

use serde_json::{Value, json};

use crate::support::{Server, ServerSetup, copy_dir, example_bots, fixture_bots, millis};

/// The (from, to) Unix milliseconds the `spin` order logged.
fn ran(logs: &[Value]) -> (i64, i64) {
    let line = logs
        .iter()
        .find_map(|l| {
            l["message"]
                .as_str()
                .and_then(|m| m.strip_prefix("ran from "))
        })
        .unwrap_or_else(|| panic!("no \"ran from\" line in {logs:?}"));
    let (from, to) = line.split_once(" to ").expect("from … to …");
    (from.parse().expect("a time"), to.parse().expect("a time"))
}

/// The most intervals that hold one instant in common.
fn most_at_once(intervals: &[(i64, i64)]) -> usize {
    let mut edges: Vec<(i64, i32)> = intervals
        .iter()
        .flat_map(|&(from, to)| [(from, 1), (to, -1)])
        .collect();
    // At a tie an end comes before a start: touching is not overlapping.
    edges.sort();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    usize::try_from(most).unwrap_or_default()
}

#[tokio::test]
async fn one_bot_runs_up_to_its_bound_and_others_go_on_meanwhile() {
    let mut setup = ServerSetup::default();
    setup
        .engine
        .push_str("concurrency = 8\nper_bot_concurrency = 2\n");
    let server = Server::start_with(setup, |bots| {
        copy_dir(&fixture_bots(), bots);
        copy_dir(&example_bots(), bots);
    })
    .await;

    // Six invocations of one bot, 400 ms of CPU each: three rounds of two.
    let spins: Vec<i64> = futures::future::join_all(
        (0..6).map(|_| server.create("hostile", "job", json!({"do": "spin", "ms": 400}))),
    )
    .await;
    // Meanwhile a ticket of another metaservice, with two bots to pass.
    let wca = server
        .create(
            "wca",
            "edit_person",
            json!({"wca_id": "2012SMIT01", "changes": {"name": {"old": "a b", "new": "A B"}}}),
        )
        .await;

    let mut intervals = Vec::new();
    for id in &spins {
        server
            .wait_for_ticket(*id, "closed", |t| t["status"] == "closed")
            .await;
        intervals.push(ran(&server.logs(*id).await));
    }
    let at_once = most_at_once(&intervals);
    assert_eq!(
        at_once, 2,
        "per_bot_concurrency = 2, yet {at_once} ran at once: {intervals:?}"
    );

    // The wca ticket did not queue behind the spinning bot's backlog.
    let done = server
        .wait_for_ticket(wca, "closed", |t| t["status"] == "closed")
        .await;
    let last_spin = intervals.iter().map(|i| i.1).max().unwrap_or_default();
    assert!(
        millis(&done["closed_at"]) < last_spin,
        "the wca ticket closed at {} ms, after the last spin ended at {last_spin} ms",
        millis(&done["closed_at"])
    );
}

#[tokio::test]
async fn a_deep_backlog_of_one_bot_does_not_hold_back_another() {
    let mut setup = ServerSetup::default();
    setup
        .engine
        .push_str("concurrency = 4\nper_bot_concurrency = 2\n");
    let server = Server::start_with(setup, |bots| {
        copy_dir(&fixture_bots(), bots);
        copy_dir(&example_bots(), bots);
    })
    .await;
    // Forty tickets of one bot, 300 ms each, two at a time: six seconds of
    // backlog, queued before anything else.
    let spins: Vec<i64> = futures::future::join_all(
        (0..40).map(|_| server.create("hostile", "job", json!({"do": "spin", "ms": 300}))),
    )
    .await;
    // Then a ticket of another bot: it goes through at once, not behind
    // the backlog (oldest-first dispatch kept it waiting for all of it).
    let wca = server
        .create(
            "wca",
            "edit_person",
            json!({"wca_id": "2012SMIT01", "changes": {"name": {"old": "a b", "new": "A B"}}}),
        )
        .await;
    let done = server
        .wait_for_ticket(wca, "closed", |t| t["status"] == "closed")
        .await;
    let took = millis(&done["closed_at"]) - millis(&done["created_at"]);
    let mut open_spins = 0;
    for id in &spins {
        let (_, t) = server.get(&format!("/api/v1/tickets/{id}")).await;
        if t["status"] == "open" {
            open_spins += 1;
        }
    }
    assert!(
        open_spins >= 20,
        "the backlog was still there when the wca ticket closed ({open_spins} open)"
    );
    assert!(
        took < 1500,
        "the wca ticket took {took} ms behind the backlog"
    );
    // The busy bot's events were not claimed only to be given back.
    let store = server.store().await;
    let leased: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE bot = 'hostile/job/1' AND lease_owner IS NOT NULL",
    )
    .fetch_one(store.pool())
    .await
    .expect("count");
    assert!(leased <= 2, "{leased} of the busy bot's events are leased");
}

#[test]
fn overlap_is_counted_at_the_busiest_instant() {
    assert_eq!(most_at_once(&[(0, 10), (10, 20), (20, 30)]), 1);
    assert_eq!(most_at_once(&[(0, 10), (5, 15), (6, 7), (20, 30)]), 3);
    assert_eq!(most_at_once(&[]), 0);
}
