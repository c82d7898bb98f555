//! What only the SQLite store has: its durability settings, and the plan
//! of a bot's claim (SQLite's own `EXPLAIN QUERY PLAN`). Its commit path's
//! pause (`pause_writer`) serves the suite's batch test on both backends.

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
