//! The checkpointer: a thread of its own that copies the WAL back into
//! the database file, so that the writer (`writer.rs`) never does.
//!
//! SQLite's default is that the connection whose `COMMIT` takes the WAL
//! past 1,000 pages checkpoints right there, inside that `COMMIT`: it
//! copies the pages into the database file and fsyncs it before the
//! commit returns. On the writer that stalls every caller of the batch
//! and every batch queued behind it, once every few dozen batches under
//! load. A `PASSIVE` checkpoint on another connection runs beside the
//! writer's transactions instead (it takes no lock a writer or reader
//! waits for), and the writer starts the WAL over at its next batch once
//! everything has been copied.
//!
//! The writer nudges this thread after each batch; nudges that arrive
//! while a checkpoint runs or during the [`PAUSE`] after it fold into one.
//! The writer keeps an automatic checkpoint at [`BACKSTOP`] pages in case
//! this thread cannot keep up (a reader that holds an old snapshot for a
//! long time stops any checkpoint from finishing).

use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::store::{Result, StoreError};

/// At most one checkpoint per this much time. Under full load the WAL
/// grows by about 2 MB in that time; a checkpoint of that size takes a few
/// milliseconds of the disk's time, ten times a second.
const PAUSE: Duration = Duration::from_millis(100);

/// The writer's own automatic checkpoint, in pages (64 MiB of 4 KiB
/// pages): far above what the checkpointer lets the WAL reach, so it only
/// acts when the checkpointer is stuck, and bounds the WAL file then.
pub(super) const BACKSTOP: u32 = 16_384;

/// Tells the checkpointer that the writer committed; dropping it (with
/// the writer) stops the thread.
pub(super) struct Nudge(mpsc::SyncSender<()>);

impl Nudge {
    /// Never waits: a nudge already pending covers this one.
    pub(super) fn tell(&self) {
        let _ = self.0.try_send(());
    }
}

/// Opens the checkpointer's connection on `path` and starts its thread.
pub(super) fn start(path: &std::path::Path, busy: Duration) -> Result<Nudge> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(busy)?;
    // A checkpoint syncs the database file before it marks the WAL's
    // pages as copied, as with the writer's own setting.
    conn.pragma_update(None, "synchronous", "FULL")?;
    let (nudge, nudges) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("baton-sqlite-checkpointer".into())
        .spawn(move || serve(&conn, &nudges))
        .map_err(|e| StoreError::Writer(format!("cannot start the checkpointer thread: {e}")))?;
    Ok(Nudge(nudge))
}

fn serve(conn: &Connection, nudges: &mpsc::Receiver<()>) {
    // Ends when the writer (the only sender) is gone.
    while nudges.recv().is_ok() {
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        match done {
            Ok((wal, copied)) => tracing::trace!(wal, copied, "checkpoint"),
            // Not fatal: the next nudge tries again, and the writer's
            // backstop bounds the WAL meanwhile.
            Err(e) => tracing::warn!("a WAL checkpoint failed: {e}"),
        }
        std::thread::sleep(PAUSE);
    }
}
