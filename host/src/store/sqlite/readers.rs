//! Read connections for the hot reads (a ticket, its stakeholders, a
//! claim, a listing page, a token), used in place on the calling thread.
//!
//! Why not the async pool: through sqlx every statement is handed to the
//! connection's own worker thread and back, and on a 2-core machine that
//! round trip (two futex wake-ups, two context switches) cost more CPU
//! than the indexed read itself, which SQLite answers from its page cache
//! in a few microseconds. These reads are point lookups and index ranges
//! bounded by a `LIMIT`, so running them on a runtime thread holds it no
//! longer than the hand-off would. Scans and rare reads stay on the pool.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use crate::store::Result;

/// Idle connections kept: one per runtime thread covers the steady case;
/// a burst opens more and drops them afterwards.
const KEEP: usize = 8;

/// SQLite's page cache per read connection (KiB, as a negative
/// `cache_size`): the hot pages of tickets, events and their indexes.
pub(super) const CACHE_KIB: i64 = 16 * 1024;

/// Database bytes a read connection maps instead of copying with
/// `pread`: none. The database grows with every batch of commits, and a
/// read transaction that finds the file grown unmaps it and maps it again
/// (`unixUnfetch` → `munmap`, a TLB flush on every core, page faults on
/// the next reads): profiled during a drain, that was a read's main cost,
/// and the drain ran 12–28 % faster without the map (BENCHMARKS.md). Hot
/// pages stay in each connection's own cache ([`CACHE_KIB`]).
const MMAP_BYTES: i64 = 0;

pub(super) struct Readers {
    path: PathBuf,
    busy: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(super) fn new(path: PathBuf, busy: Duration) -> Readers {
        Readers {
            path,
            busy,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on an idle connection (opening one if none is idle).
    pub(super) fn read<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = match self.lock().pop() {
            Some(conn) => conn,
            None => self.open()?,
        };
        let out = read(&conn);
        // One left inside a transaction (its end failed) would read an old
        // snapshot for ever: it is closed, not kept.
        let mut idle = self.lock();
        if idle.len() < KEEP && conn.is_autocommit() {
            idle.push(conn);
        }
        out
    }

    /// [`Readers::read`] with every statement of `read` in one read
    /// transaction: one snapshot, and the WAL's read lock taken once
    /// instead of by each statement (profiled in a claim, which runs a
    /// dozen: 6 % of the runtime threads' time was statements beginning
    /// and ending their own).
    pub(super) fn snapshot<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read(|conn| {
            conn.execute_batch("BEGIN")?;
            let out = read(conn);
            // A read transaction has nothing to undo; ending it can fail
            // only if the connection is unusable, and then so is `out`.
            conn.execute_batch("COMMIT")?;
            out
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // A panic while holding this lock cannot leave the list invalid.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn open(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(self.busy)?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
        conn.set_prepared_statement_cache_capacity(64);
        // A listing binds its filters as parameters; without the query
        // planner stability guarantee, a parameter compared with the
        // column of a partial index (`t.status = ?4` against
        // `tickets_closed`) made SQLite re-parse and re-plan the cached
        // statement at every run: 57 % of a `mine` listing's CPU when
        // profiled. With it, a statement is planned once, whatever its
        // values; queries that need a partial index say its condition as
        // a literal (retention: `status = 'closed'`).
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Connection) -> Result<i64> {
        Ok(conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)
    }

    /// A read that leaves its connection inside a transaction (here on
    /// purpose; in `snapshot`, if ending it failed) must not hand that
    /// connection's old snapshot to the next read.
    #[test]
    fn a_connection_left_in_a_transaction_is_not_kept() -> Result<()> {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let path = dir.path().join("readers.db");
        let writer = Connection::open(&path)?;
        writer.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);",
        )?;
        let readers = Readers::new(path, Duration::from_secs(1));
        let seen = readers.read(|conn| {
            conn.execute_batch("BEGIN")?;
            count(conn)
        })?;
        assert_eq!(seen, 1);
        writer.execute("INSERT INTO t VALUES (2)", [])?;
        assert_eq!(readers.read(count)?, 2, "a fresh snapshot");
        assert_eq!(readers.snapshot(count)?, 2);
        Ok(())
    }
}
