//! What only the SQLite store has: its durability settings, the plan of
//! a bot's claim (SQLite's own `EXPLAIN QUERY PLAN`), the bots a pass
//! leaves out, and its checkpoints off the writer's path. Its commit
//! path's pause (`pause_writer`) serves the suite's batch test on both
//! backends.

use baton_host::model::BotName;
use baton_host::store::SqliteStore;
use sqlx::Row;

use super::{Backend, Db};

async fn sqlite() -> (Db, std::sync::Arc<SqliteStore>) {
    let db = Db::sqlite().await;
    let Backend::Sqlite(store) = db.backend.clone() else {
        panic!("an SQLite store");
    };
    (db, store)
}

#[tokio::test]
async fn commits_durably_in_wal_mode() {
    let (_db, store) = sqlite().await;
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
async fn a_bots_claim_reads_its_own_index_range() {
    let (_db, store) = sqlite().await;
    let plan = store.claim_plan().await.expect("plan");
    // A covering index or not, the search is on the bot's own range.
    assert!(
        plan[0].starts_with("SEARCH e USING ")
            && plan[0].ends_with("INDEX events_by_bot (bot=? AND status=? AND available_at<?)"),
        "{plan:#?}"
    );
    assert!(
        !plan
            .iter()
            .any(|p| p.contains("TEMP B-TREE") || p.starts_with("SCAN")),
        "{plan:#?}"
    );
}

/// A pass over many idle bots costs one read: the bots without a due
/// event are left out, so they get no claim of their own.
#[tokio::test]
async fn a_pass_leaves_out_the_bots_without_due_events() {
    let (db, _store) = sqlite().await;
    let name = |n: &str| BotName::parse(n).expect("bot name");
    let (orders, idle) = (name("shop-order-1-new"), name("shop-order-2-paid"));
    let id = db.next_ticket_id().await.expect("id");
    super::create_with(&*db, super::new_ticket(id), vec![super::event(id, 100)]).await;
    let all = vec![idle, orders.clone()];
    assert_eq!(
        db.bots_with_due_events(all.clone(), 99)
            .await
            .expect("read"),
        Vec::<BotName>::new(),
        "nothing due before 100"
    );
    assert_eq!(
        db.bots_with_due_events(all, 100).await.expect("read"),
        vec![orders]
    );
}

/// Every index costs an insert and a delete per row on the commit path;
/// one whose columns lead another index of its table answers nothing the
/// longer one cannot (`events_by_ticket` did, until migration 0014).
/// Partial indexes are left out: their condition is what they are for.
#[tokio::test]
async fn no_index_is_the_prefix_of_another() {
    let (_db, store) = sqlite().await;
    let rows = sqlx::query(
        "SELECT m.name, il.name, ii.name FROM sqlite_master m, pragma_index_list(m.name) il, \
         pragma_index_info(il.name) ii WHERE m.type = 'table' AND il.origin = 'c' AND il.partial = 0 \
         ORDER BY m.name, il.name, ii.seqno",
    )
    .fetch_all(store.pool())
    .await
    .expect("index list");
    let mut indexes: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for row in rows {
        let table: String = row.get(0);
        let index: String = row.get(1);
        let column: Option<String> = row.get(2);
        indexes
            .entry((table, index))
            .or_default()
            .push(column.unwrap_or_else(|| "<expr>".into()));
    }
    assert!(indexes.len() > 10, "{indexes:?}");
    for ((table, short), cols) in &indexes {
        for ((other_table, long), other) in &indexes {
            let prefix = other.len() > cols.len() && other.starts_with(cols);
            assert!(
                !(table == other_table && prefix),
                "{table}: {short} {cols:?} leads {long} {other:?}"
            );
        }
    }
}

/// A batch in which a commit fails runs again with savepoints (a re-run);
/// the batches after it start with savepoints, so a failure in each of
/// them costs no second run.
#[tokio::test]
async fn after_a_failed_commit_batches_start_with_savepoints() {
    use baton_host::store::{Store, StoreError};

    let (db, store) = sqlite().await;
    let id = super::create(&*db, vec![]).await;
    let stale = super::step(id, 7, "stale");
    let before = store.writer_stats();
    for n in 1..=3 {
        let got = store.commit(&stale, 2_000).await;
        assert!(
            matches!(got, Err(StoreError::Conflict(t)) if t == id),
            "{got:?}"
        );
        let now = store.writer_stats();
        assert_eq!(
            (now.batches - before.batches, now.reruns - before.reruns),
            (n, 1),
            "batch {n}: only the first ran twice"
        );
    }
    // The ticket is as it was, and a good commit still goes through.
    store
        .commit(&super::step(id, 1, "moved"), 3_000)
        .await
        .expect("commit");
    let t = store.ticket(id).await.expect("read").expect("ticket");
    assert_eq!((t.version, t.title.as_str()), (2, "moved"));
}

/// `mxFrame` (the WAL's last valid frame) and `nBackfill` (frames copied
/// into the database file) from the WAL-index, the `-shm` file: offsets
/// 16 and 96 of SQLite's documented layout (walformat.html), in the
/// machine's byte order. Read without a connection, since any checkpoint
/// a connection ran to find out would do the work under test.
fn wal_frames(db_path: &str) -> (u32, u32) {
    let shm = std::fs::read(format!("{db_path}-shm")).expect("the -shm file");
    let word = |at: usize| u32::from_ne_bytes(shm[at..at + 4].try_into().expect("4 bytes"));
    (word(16), word(96))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_is_copied_back_without_the_writer_checkpointing() {
    let (db, store) = sqlite().await;
    let path = db.url.trim_start_matches("sqlite://").to_string();
    // Writes that fill well over SQLite's default of 1,000 pages between
    // checkpoints: 64 batches of 16 tickets of 4 KiB each.
    for _ in 0..64 {
        let commits = (0..16).map(|_| async {
            let id = db.next_ticket_id().await.expect("id");
            let ticket = baton_host::store::NewTicket {
                title: "x".repeat(4096),
                ..super::new_ticket(id)
            };
            super::create_with(&*db, ticket, vec![]).await
        });
        futures::future::join_all(commits).await;
    }
    // The writer's own automatic checkpoint is far above this load, so
    // only the checkpointer copies the WAL back: every frame, soon after
    // the last batch.
    let start = std::time::Instant::now();
    loop {
        let (last, copied) = wal_frames(&path);
        if last > 0 && copied == last {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "frames copied {copied} of {last}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // And the data is all there.
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM tickets WHERE length(title) = 4096")
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get(0))
        .expect("count");
    assert_eq!(count, 64 * 16);
}
