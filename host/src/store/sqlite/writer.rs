//! The writer: one thread that owns the database's write connection and
//! commits many callers' work in one durable transaction (group commit).
//!
//! Why a thread and not the async pool: with `synchronous = FULL` every
//! transaction costs an fsync, and through sqlx every statement is a round
//! trip to the connection's worker thread. Profiling the old path showed
//! ≈ 1 ms of CPU per ticket step, 70 % of it in the kernel switching
//! threads. Here a batch costs one hand-off in, one fsync, and one
//! hand-off out per caller; statements are prepared once and cached.
//!
//! One job's failure (a version conflict, an event another worker
//! consumed) rolls back that job alone and the others in the batch stand.
//! A batch first runs its jobs one after the other with no savepoint; if
//! one fails, the whole transaction is rolled back and the batch runs
//! again with each job inside its own savepoint (`apply_batch`). Why not
//! savepoints always: each copies every page its job touches into a
//! sub-journal, about a sixth of the writer's time per transition when
//! measured (BENCHMARKS.md), for a failure that is rare; a job writes
//! only to the database (and may lower the next timer's due time, which
//! at worst makes a timer check early), so running it twice is safe. After a batch
//! with a failure, the next few start with savepoints (`store/batching.rs`), so that failures
//! arriving in every batch cost what savepoints cost, not a second run
//! of each batch. A job's result reaches its caller
//! only after the batch's `COMMIT` returned, that is after the fsync: an
//! acknowledged write survives a crash, and a crash between two batches
//! loses only work nobody was told about.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use super::checkpointer;
use crate::store::batching::{Care, Mode, Ran};
use crate::store::{BatchHook, Result, StoreError};

/// Jobs per transaction at most: enough to amortise an fsync over a
/// burst of invocations, few enough that a batch holds the write lock for
/// a few milliseconds, not seconds.
const MAX_BATCH: usize = 512;

/// Queued jobs before callers wait: a bound on memory, far above what
/// the dispatcher's concurrency can have in flight.
const QUEUE: usize = 4096;

/// The SQLite statement cache per connection; the commit path uses a few
/// dozen distinct statements.
const STATEMENT_CACHE: usize = 128;

/// Work for the writer: runs on its connection (and says whether it
/// succeeded), then learns whether the batch committed. `run` may be
/// called twice in one batch (see `apply_batch`): a job writes nothing
/// but the database (and `NextDue`, only ever lowered or re-learnt), so a
/// rolled-back run leaves no trace that matters.
trait Job: Send {
    fn run(&mut self, conn: &Connection) -> bool;
    fn finish(self: Box<Self>, committed: std::result::Result<(), String>);
    /// Whether this job runs between two batches, outside any
    /// transaction (see [`Writer::quiet`]).
    fn between_batches(&self) -> bool {
        false
    }
}

/// The writer, stopped between two batches for a write on another
/// connection: tells the caller it holds, then waits for its release.
struct Gate {
    holding: Option<oneshot::Sender<()>>,
    released: mpsc::Receiver<()>,
}

impl Job for Gate {
    fn run(&mut self, _conn: &Connection) -> bool {
        if let Some(holding) = self.holding.take() {
            // The caller may have given up waiting: then go on at once.
            if holding.send(()).is_ok() {
                // Until the guard's sender is dropped.
                let _ = self.released.recv();
            }
        }
        true
    }

    fn finish(self: Box<Self>, _committed: std::result::Result<(), String>) {}

    fn between_batches(&self) -> bool {
        true
    }
}

/// A closure and the channel its result goes back on.
struct Task<T, F> {
    work: F,
    out: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Task<T, F>
where
    T: Send,
    F: FnMut(&Connection) -> Result<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let out = (self.work)(conn);
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn finish(self: Box<Self>, committed: std::result::Result<(), String>) {
        let out = match (committed, self.out) {
            // A job that failed was rolled back whatever the batch did.
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(Ok(v))) => Ok(v),
            (Err(why), Some(Ok(_))) => Err(StoreError::Writer(why)),
            (_, None) => Err(StoreError::Writer("the job did not run".into())),
        };
        // The caller may have gone away (a request that was cancelled).
        let _ = self.reply.send(out);
    }
}

/// A handle on the writer thread; cheap to share. The thread stops when
/// the last handle is dropped, after finishing what was queued.
#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::SyncSender<Box<dyn Job>>,
    stats: Arc<Stats>,
}

/// What the writer has done: for operators (metrics) and for the tests
/// that check jobs are grouped.
#[derive(Debug, Default)]
struct Stats {
    /// Jobs handed in and not yet taken into a batch.
    queued: AtomicU64,
    /// Transactions committed (or failed as a whole).
    batches: AtomicU64,
    /// Jobs taken into those transactions.
    jobs: AtomicU64,
    /// Batches run a second time, with savepoints, after a job failed.
    reruns: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterStats {
    pub queued: u64,
    pub batches: u64,
    pub jobs: u64,
    /// Batches run a second time, with savepoints, after a job failed.
    pub reruns: u64,
    /// Jobs whose commits were applied together with others of their
    /// batch in one statement. Only PostgreSQL's committer does that (a
    /// statement there is a round trip); SQLite's writer runs each
    /// commit's cached statements in its own process, and reports 0.
    pub grouped: u64,
}

/// Holds the writer until dropped: inside its next batch (see
/// [`Writer::pause`]), or between two batches (see [`Writer::quiet`]).
pub struct Paused {
    _release: mpsc::Sender<()>,
}

impl Writer {
    /// Opens the write connection on `path` (already created and migrated
    /// by the pool) and starts the thread.
    pub(super) fn start(path: &std::path::Path, busy: Duration, hook: BatchHook) -> Result<Writer> {
        let conn = open(path, busy)?;
        let checkpoints = checkpointer::start(path, busy)?;
        let (jobs, queue) = mpsc::sync_channel::<Box<dyn Job>>(QUEUE);
        let stats = Arc::new(Stats::default());
        let counted = stats.clone();
        std::thread::Builder::new()
            .name("baton-sqlite-writer".into())
            .spawn(move || serve(conn, queue, &counted, &hook, &checkpoints))
            .map_err(|e| StoreError::Writer(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { jobs, stats })
    }

    pub(super) fn stats(&self) -> WriterStats {
        WriterStats {
            queued: self.stats.queued.load(Ordering::Relaxed),
            batches: self.stats.batches.load(Ordering::Relaxed),
            jobs: self.stats.jobs.load(Ordering::Relaxed),
            reruns: self.stats.reruns.load(Ordering::Relaxed),
            grouped: 0,
        }
    }

    /// Stops the writer before its next batch until the guard is dropped,
    /// so that what is handed in meanwhile lands in one batch: for tests
    /// and drills of group commit. Resolves once the writer is held.
    pub(super) async fn pause(&self) -> Result<Paused> {
        let (release, held) = mpsc::channel::<()>();
        let (holding, is_held) = oneshot::channel::<()>();
        let writer = self.clone();
        tokio::spawn(async move {
            let mut holding = Some(holding);
            writer
                .run(move |_| {
                    // Held once: a second run of this job (see
                    // `apply_batch`) goes straight through.
                    if let Some(holding) = holding.take() {
                        let _ = holding.send(());
                        // Until the guard's sender is dropped.
                        let _ = held.recv();
                    }
                    Ok(())
                })
                .await
        });
        is_held
            .await
            .map_err(|_| StoreError::Writer("the writer stopped".into()))?;
        Ok(Paused { _release: release })
    }

    /// Stops the writer between two batches, holding no lock, until the
    /// guard is dropped: for the rare writes made on another connection
    /// (people, settings, sweeps, retention, the catalog). Without it such
    /// a write waits for SQLite's write lock against a writer that takes
    /// it again right after each commit, and SQLite's busy handler polls
    /// with sleeps of up to 100 ms: under load it waited seconds.
    pub(super) async fn quiet(&self) -> Result<Paused> {
        let (release, released) = mpsc::channel::<()>();
        let (holding, is_held) = oneshot::channel::<()>();
        let gate = Box::new(Gate {
            holding: Some(holding),
            released,
        });
        self.submit(gate).await?;
        is_held
            .await
            .map_err(|_| StoreError::Writer("the writer stopped".into()))?;
        Ok(Paused { _release: release })
    }

    /// Runs `work` in the next batch; resolves once the batch is durable.
    pub(super) async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let task = Box::new(Task {
            work,
            out: None,
            reply,
        });
        self.submit(task).await?;
        answer
            .await
            .map_err(|_| StoreError::Writer("the writer stopped".into()))?
    }

    async fn submit(&self, job: Box<dyn Job>) -> Result<()> {
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        match self.jobs.try_send(job) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full(job)) => {
                // Rare (4,096 queued): wait off the async threads.
                let jobs = self.jobs.clone();
                tokio::task::spawn_blocking(move || jobs.send(job))
                    .await
                    .map_err(|e| StoreError::Writer(e.to_string()))?
                    .map_err(|_| StoreError::Writer("the writer stopped".into()))
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                Err(StoreError::Writer("the writer stopped".into()))
            }
        }
    }
}

fn open(path: &std::path::Path, busy: Duration) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(busy)?;
    // The same durability as the pool's connections: WAL, and a commit
    // is on the disk before it is acknowledged.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A savepoint (a job's, after a failure, and SQLite's own around each
    // statement that may abort) keeps the pages it changes in a
    // sub-journal; in a file that is a write() per page per job (15 % of
    // a drain's CPU when profiled). In memory it is a copy, and a
    // savepoint's rollback needs nothing more: durability comes from the
    // WAL at COMMIT.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // The pages a batch changes are read first; with SQLite's default
    // cache (2 MB) a database of a few thousand busy tickets no longer
    // fits, and each miss is a `pread` on this thread (11,753 of them in
    // a 10,000-wake storm, profiled). The readers' size: the same hot
    // pages.
    conn.pragma_update(None, "cache_size", -super::readers::CACHE_KIB)?;
    // Checkpoints are the checkpointer's (`checkpointer.rs`); this one is
    // the backstop for when that thread cannot keep up.
    conn.pragma_update(None, "wal_autocheckpoint", checkpointer::BACKSTOP)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// The thread's loop: take what is queued (waiting for the first job),
/// apply it as one transaction, answer everyone, repeat.
fn serve(
    conn: Connection,
    queue: mpsc::Receiver<Box<dyn Job>>,
    stats: &Stats,
    hook: &BatchHook,
    checkpoints: &checkpointer::Nudge,
) {
    let mut next = None;
    let mut care = Care::default();
    loop {
        let first = match next.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        if first.between_batches() {
            stats.queued.fetch_sub(1, Ordering::Relaxed);
            between_batches(&conn, first);
            continue;
        }
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                // It waits for this batch to end.
                Ok(job) if job.between_batches() => {
                    next = Some(job);
                    break;
                }
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let taken = batch.len() as u64;
        stats.queued.fetch_sub(taken, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let mode = care.next();
        let committed = match apply_batch(&conn, &mut batch, mode) {
            Ok(ran) => {
                if care.after(mode, ran) {
                    stats.reruns.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        };
        let took = started.elapsed();
        tracing::trace!(
            jobs = taken,
            elapsed_us = took.as_micros() as u64,
            "commit batch"
        );
        hook.tell(batch.len(), took);
        checkpoints.tell();
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(taken, Ordering::Relaxed);
        if let Err(why) = &committed {
            tracing::error!(jobs = batch.len(), "a commit batch failed: {why}");
        }
        for job in batch {
            job.finish(committed.clone());
        }
    }
}

/// A job that runs outside any transaction.
fn between_batches(conn: &Connection, mut job: Box<dyn Job>) {
    job.run(conn);
    job.finish(Ok(()));
}

/// One transaction. [`Mode::Optimistic`]: every job in turn with no
/// savepoint; if one fails, the transaction is rolled back and runs again
/// as with [`Mode::Savepoints`]: each job in its own savepoint, so that a
/// failed job alone is undone.
fn apply_batch(conn: &Connection, batch: &mut [Box<dyn Job>], mode: Mode) -> Result<Ran> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let mut ran = Ran::AllStood;
    if mode == Mode::Savepoints || !batch.iter_mut().all(|job| job.run(conn)) {
        if mode == Mode::Optimistic {
            conn.prepare_cached("ROLLBACK")?.execute([])?;
            conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
            ran = Ran::SomeFailed;
        }
        for job in batch.iter_mut() {
            match in_savepoint(conn, job.as_mut()) {
                Ok(true) => {}
                Ok(false) => ran = Ran::SomeFailed,
                Err(e) => {
                    // The savepoint could not even be rolled back: the
                    // transaction is in an unknown state; give it all up.
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
    }
    if let Err(e) = conn
        .prepare_cached("COMMIT")
        .and_then(|mut c| c.execute([]))
    {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e.into());
    }
    Ok(ran)
}

/// Runs one job; its failure undoes its own writes only. Says whether
/// the job stood; the error of a job goes to its caller, the error
/// returned here is the savepoint's. The three statements are prepared
/// once, not parsed per job.
fn in_savepoint(conn: &Connection, job: &mut dyn Job) -> Result<bool> {
    conn.prepare_cached("SAVEPOINT job")?.execute([])?;
    let stood = job.run(conn);
    if !stood {
        conn.prepare_cached("ROLLBACK TO job")?.execute([])?;
    }
    conn.prepare_cached("RELEASE job")?.execute([])?;
    Ok(stood)
}
