//! The committer: group commit on PostgreSQL (design.md §4), the same
//! design as SQLite's writer (`sqlite/writer.rs`), on [`COMMITTERS`]
//! connections of its own.
//!
//! Callers hand in jobs (an async closure over a connection); a dispatcher
//! task gathers what is queued into a batch as soon as a committer
//! connection is free, and that committer applies the batch as ONE
//! transaction. One job's failure (a version conflict, an event already
//! consumed) rolls back that job alone and the others stand: as on
//! SQLite, a batch first runs its jobs with no savepoint, and if one
//! fails the transaction is rolled back and the batch runs again with
//! each job inside its own savepoint. Why not savepoints always: each is
//! a round trip more per job and a subtransaction, with its own
//! transaction id, `pg_subtrans` entry and commit-log update, for a
//! failure that is rare; a job writes only to the database (a firing of
//! timers also learns the next due time, which a second run learns
//! again), so running it twice is safe. After a batch with a failure the
//! next few start with savepoints (`store/batching.rs`), so that a failure in every batch costs
//! what savepoints cost, not a second run of each. A job's result reaches its caller only after the
//! batch's `COMMIT` returned, that is after PostgreSQL flushed it
//! (`synchronous_commit` is left as the server has it, `on` by default;
//! nothing here turns it off).
//!
//! The commits of bot steps and closings are not run one job at a time:
//! those of a batch that touch disjoint tickets are applied together in
//! one statement (`group.rs`), and only the other jobs run one by one. A
//! group that fails is treated as a failed job: the batch runs again with
//! savepoints, the group in one of its own, and if it fails again its
//! jobs run alone, each in its own savepoint.
//!
//! A batch is formed only when a committer is free, so under load the
//! queue grows while it is busy and the next batch takes all of it (up
//! to [`MAX_BATCH`]): fewer committers make larger batches, and a
//! batch's one group statement costs about the same whatever its size.
//! With more than one, batches run side by side.
//!
//! Failure: a batch whose transaction fails as a whole (the connection
//! broke, `COMMIT` failed) answers every job with an error, and its
//! connection is replaced before the next batch; a committer that cannot
//! connect answers its batch with an error at once. No caller waits for
//! ever.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc, oneshot};

use super::group::Group;
use crate::model::Timestamp;
use crate::store::batching::{Care, Mode, Ran};
use crate::store::{BatchHook, Commit, Committed, Result, StoreError, WriterStats};

/// Committer connections, each running one batch at a time. One: a
/// batch's steps, closings and creations share one statement
/// (`group.rs`), whose cost hardly grows with the batch, so the fewer the
/// committers the larger each batch and the less PostgreSQL spends per
/// transition. Two used to be the choice, with a second connection
/// executing while the first waited for its WAL flush, when a ticket
/// created through the API was a job of its own and queued behind the
/// batches with one committer; creations are now in the group statement
/// too (1617b99). `cargo xtask bench postgres --quick`, the two alternated
/// on one machine (BENCHMARKS.md): one committer gave more transitions a
/// second with one, two and three nodes, less CPU of PostgreSQL per
/// transition, and a lower half-load p99.
///
/// What one gives up: a batch that waits for a row lock holds up every
/// commit of this node until the lock is released, where a second
/// committer went on with the next batch. Locks a batch can meet are
/// short: another node's batch on the same tickets (groups lock tickets
/// in id order, so two groups do not deadlock; a general job and a group
/// can, and PostgreSQL breaks it after `deadlock_timeout`, 1 s by
/// default), and a retention run archiving the same closed tickets (one
/// transaction per run).
pub(super) const COMMITTERS: usize = 1;

/// Jobs per transaction at most. Each job runs in a savepoint, that is a
/// subtransaction with an XID of its own once it writes; PostgreSQL caches
/// 64 subtransaction XIDs per backend (`PGPROC_MAX_CACHED_SUBXIDS`), and a
/// transaction with more "overflows": every other session's snapshot check
/// then has to read `pg_subtrans`, which slows the whole server. 64 jobs
/// also amortise a flush well (about 20,000 jobs/s at a 3 ms flush).
pub(super) const MAX_BATCH: usize = 64;

/// Queued jobs before callers wait: a bound on memory, far above what
/// the dispatcher's concurrency can have in flight.
const QUEUE: usize = 4096;

/// How long a committer tries to (re)connect before it fails its batch:
/// a database that is down makes commits fail fast, not hang.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Each job's savepoint, when a batch runs with them. Savepoints are not
/// nested: the next job's line releases the previous one first, in the
/// same round trip.
const FIRST: &str = "SAVEPOINT job";
const NEXT: &str = "RELEASE SAVEPOINT job; SAVEPOINT job";
const UNDO: &str = "ROLLBACK TO SAVEPOINT job";

/// Work for a committer: runs (and says whether it succeeded), perhaps a
/// second time if the batch runs again, then learns whether the batch
/// committed.
trait Job: Send {
    fn run<'c>(&'c mut self, conn: &'c mut PgConnection) -> BoxFuture<'c, bool>;
    fn finish(self: Box<Self>, committed: std::result::Result<(), BatchFailure>);
    /// The commit this job applies, if it may be applied in a group with
    /// others instead of by [`Job::run`].
    fn commit(&self) -> Option<(&Commit, Timestamp)> {
        None
    }
    /// Its commit was applied in a group, with this result.
    fn applied(&mut self, _committed: Committed) {}
}

/// Why a whole batch failed, for each of its callers: whether the
/// database was out of reach (their calls may succeed later), and what
/// was said.
#[derive(Debug, Clone)]
struct BatchFailure {
    unavailable: bool,
    why: String,
}

impl BatchFailure {
    fn stopped() -> Self {
        BatchFailure {
            unavailable: false,
            why: "the committer stopped".into(),
        }
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
    F: for<'c> FnMut(&'c mut PgConnection) -> BoxFuture<'c, Result<T>> + Send,
{
    fn run<'c>(&'c mut self, conn: &'c mut PgConnection) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            let out = (self.work)(conn).await;
            let ok = out.is_ok();
            self.out = Some(out);
            ok
        })
    }

    fn finish(self: Box<Self>, committed: std::result::Result<(), BatchFailure>) {
        answer(committed, self.out, self.reply);
    }
}

/// A commit handed in by [`Committer::commit`]: run alone by
/// `apply.rs`, or in a group.
struct CommitTask {
    commit: Arc<Commit>,
    now: Timestamp,
    out: Option<Result<Committed>>,
    reply: oneshot::Sender<Result<Committed>>,
}

impl Job for CommitTask {
    fn run<'c>(&'c mut self, conn: &'c mut PgConnection) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            let out = super::apply::apply(conn, &self.commit, self.now).await;
            let ok = out.is_ok();
            self.out = Some(out);
            ok
        })
    }

    fn finish(self: Box<Self>, committed: std::result::Result<(), BatchFailure>) {
        answer(committed, self.out, self.reply);
    }

    fn commit(&self) -> Option<(&Commit, Timestamp)> {
        Some((&self.commit, self.now))
    }

    fn applied(&mut self, committed: Committed) {
        self.out = Some(Ok(committed));
    }
}

/// Tells a job's caller how it went: its own result if the batch
/// committed (or its own error, whatever the batch did), else the batch's
/// failure.
fn answer<T>(
    committed: std::result::Result<(), BatchFailure>,
    out: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
) {
    let out = match (committed, out) {
        // A job that failed was rolled back whatever the batch did.
        (_, Some(Err(e))) => Err(e),
        (Ok(()), Some(Ok(v))) => Ok(v),
        (
            Err(BatchFailure {
                unavailable: true,
                why,
            }),
            _,
        ) => Err(StoreError::Unavailable(why)),
        (Err(BatchFailure { why, .. }), _) => Err(StoreError::Writer(why)),
        (Ok(()), None) => Err(StoreError::Writer("the job did not run".into())),
    };
    // The caller may have gone away (a request that was cancelled).
    let _ = reply.send(out);
}

type Batch = Vec<Box<dyn Job>>;

/// What the committer has done, for operators and for the tests that
/// check jobs are grouped: the same figures as SQLite's writer.
#[derive(Debug, Default)]
struct Stats {
    queued: AtomicU64,
    batches: AtomicU64,
    jobs: AtomicU64,
    /// Batches run a second time, with savepoints, after a job failed.
    reruns: AtomicU64,
    /// Jobs applied in a group.
    grouped: AtomicU64,
}

/// Holds the committer before its next batch until dropped (see
/// [`Committer::pause`]).
pub struct Paused {
    _gate: OwnedMutexGuard<()>,
}

/// A handle on the committer; cheap to share. The dispatcher and the
/// committers stop when the last handle is dropped, after finishing what
/// was queued.
#[derive(Clone)]
pub(super) struct Committer {
    jobs: mpsc::Sender<Box<dyn Job>>,
    /// Taken by the dispatcher while it forms a batch, and by a pause.
    gate: Arc<Mutex<()>>,
    stats: Arc<Stats>,
}

impl Committer {
    /// Opens [`COMMITTERS`] connections and starts the tasks.
    pub(super) async fn start(options: &PgConnectOptions, hook: BatchHook) -> Result<Committer> {
        // Generic plans: a job's statements take arrays whose lengths a
        // custom plan would be re-made for at every call, and planning a
        // commit's statement cost as much as running it.
        let options = options
            .clone()
            .options([("plan_cache_mode", "force_generic_plan")]);
        let options = &options;
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>(QUEUE);
        let (idle, free) = mpsc::channel::<oneshot::Sender<Batch>>(COMMITTERS);
        let gate = Arc::new(Mutex::new(()));
        let stats = Arc::new(Stats::default());
        for _ in 0..COMMITTERS {
            // Connected up front: a database that refuses us fails `open`.
            let conn = connect(options).await?;
            tokio::spawn(serve(
                Some(conn),
                options.clone(),
                idle.clone(),
                stats.clone(),
                hook.clone(),
            ));
        }
        tokio::spawn(dispatch(queue, free, gate.clone(), stats.clone()));
        Ok(Committer { jobs, gate, stats })
    }

    pub(super) fn stats(&self) -> WriterStats {
        WriterStats {
            queued: self.stats.queued.load(Ordering::Relaxed),
            batches: self.stats.batches.load(Ordering::Relaxed),
            jobs: self.stats.jobs.load(Ordering::Relaxed),
            reruns: self.stats.reruns.load(Ordering::Relaxed),
            grouped: self.stats.grouped.load(Ordering::Relaxed),
        }
    }

    /// Stops batches from being formed until the guard is dropped, so
    /// that what is handed in meanwhile lands in one batch (up to
    /// [`MAX_BATCH`]): for tests and drills of group commit. Batches
    /// already running finish.
    pub(super) async fn pause(&self) -> Paused {
        Paused {
            _gate: self.gate.clone().lock_owned().await,
        }
    }

    /// Runs `work` in a batch; resolves once the batch is durable. `work`
    /// may run twice (see the module's docs): the result of its last run
    /// is the one returned.
    pub(super) async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnMut(&'c mut PgConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let task = Box::new(Task {
            work,
            out: None,
            reply,
        });
        self.enqueue(task, answer).await
    }

    /// Applies `commit` as of `now` in a batch, in a group with others
    /// when it has a group's shape; resolves once the batch is durable.
    pub(super) async fn commit(&self, commit: Arc<Commit>, now: Timestamp) -> Result<Committed> {
        let (reply, answer) = oneshot::channel();
        let task = Box::new(CommitTask {
            commit,
            now,
            out: None,
            reply,
        });
        self.enqueue(task, answer).await
    }

    async fn enqueue<T>(
        &self,
        task: Box<dyn Job>,
        answer: oneshot::Receiver<Result<T>>,
    ) -> Result<T> {
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        if self.jobs.send(task).await.is_err() {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::Writer("the committer stopped".into()));
        }
        answer
            .await
            .map_err(|_| StoreError::Writer("the committer stopped".into()))?
    }
}

async fn connect(options: &PgConnectOptions) -> Result<PgConnection> {
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(options)).await {
        Ok(conn) => Ok(conn?),
        Err(_) => Err(StoreError::Unavailable(format!(
            "no connection to the database within {CONNECT_TIMEOUT:?}"
        ))),
    }
}

/// Waits for a free committer, then for a job, then takes everything
/// queued (up to [`MAX_BATCH`]) and hands it over.
async fn dispatch(
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    mut free: mpsc::Receiver<oneshot::Sender<Batch>>,
    gate: Arc<Mutex<()>>,
    stats: Arc<Stats>,
) {
    while let Some(committer) = free.recv().await {
        let Some(first) = queue.recv().await else {
            return;
        };
        let mut batch: Batch = vec![first];
        {
            let _open = gate.lock().await;
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        stats
            .queued
            .fetch_sub(batch.len() as u64, Ordering::Relaxed);
        if let Err(batch) = committer.send(batch) {
            for job in batch {
                job.finish(Err(BatchFailure::stopped()));
            }
        }
    }
    // Every committer is gone: answer what is still queued.
    queue.close();
    while let Some(job) = queue.recv().await {
        stats.queued.fetch_sub(1, Ordering::Relaxed);
        job.finish(Err(BatchFailure::stopped()));
    }
}

/// One committer's loop: say it is free, take a batch, apply it as one
/// transaction, answer everyone, repeat. A failed batch drops the
/// connection; the next batch connects again, and so does one that finds
/// its connection closed before it began (see [`begin`]).
async fn serve(
    mut conn: Option<PgConnection>,
    options: PgConnectOptions,
    idle: mpsc::Sender<oneshot::Sender<Batch>>,
    stats: Arc<Stats>,
    hook: BatchHook,
) {
    let mut care = Care::default();
    loop {
        let (hand, batch) = oneshot::channel();
        if idle.send(hand).await.is_err() {
            return;
        }
        let Ok(mut batch) = batch.await else {
            return;
        };
        let taken = batch.len() as u64;
        let started = std::time::Instant::now();
        let mode = care.next();
        let ran = match begin(&mut conn, &options).await {
            Ok(c) => apply_batch(c, &mut batch, mode, &stats).await,
            Err(e) => Err(e),
        };
        if let Ok(ran) = ran
            && care.after(mode, ran)
        {
            stats.reruns.fetch_add(1, Ordering::Relaxed);
        }
        let committed = ran.map(drop).map_err(|e| BatchFailure {
            unavailable: e.is_unavailable(),
            why: e.to_string(),
        });
        let took = started.elapsed();
        tracing::trace!(
            jobs = taken,
            elapsed_us = took.as_micros() as u64,
            "commit batch"
        );
        hook.tell(batch.len(), took);
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(taken, Ordering::Relaxed);
        if let Err(why) = &committed {
            tracing::error!(jobs = taken, "a commit batch failed: {}", why.why);
            // Its state is unknown (broken, or inside a failed
            // transaction): a fresh connection serves the next batch.
            conn = None;
        }
        for job in batch {
            job.finish(committed.clone());
        }
    }
}

/// Opens the batch's transaction, on a fresh connection if there is none
/// or the one held has gone: a database restarted since this committer's
/// last batch (an outage no batch of its own ran into) leaves it holding a
/// closed connection, and without this its next batch would fail although
/// the database is back. A `BEGIN` that failed ran nothing, so opening
/// again on a new connection is safe.
async fn begin<'c>(
    conn: &'c mut Option<PgConnection>,
    options: &PgConnectOptions,
) -> Result<&'c mut PgConnection> {
    let open = match conn.as_mut() {
        Some(c) => c.execute(sqlx::raw_sql("BEGIN")).await.is_ok(),
        None => false,
    };
    if !open {
        if conn.take().is_some() {
            tracing::info!("a committer's connection was lost; connecting again");
        }
        let fresh = conn.insert(connect(options).await?);
        fresh.execute(sqlx::raw_sql("BEGIN")).await?;
    }
    conn.as_mut()
        .ok_or_else(|| StoreError::Writer("the committer has no connection".into()))
}

/// One transaction, opened by [`begin`]. [`Mode::Optimistic`]: the jobs in turn with no
/// savepoint, stopping at the first that fails (PostgreSQL refuses every
/// statement of a transaction after an error); the transaction is then
/// rolled back and runs again as with [`Mode::Savepoints`], each job in
/// its own savepoint, so that a failed job alone is undone. Any error
/// here is the batch's (a job's own error goes to its caller): the
/// transaction is then in an unknown state, and the connection is given
/// up.
async fn apply_batch(
    conn: &mut PgConnection,
    batch: &mut [Box<dyn Job>],
    mode: Mode,
    stats: &Stats,
) -> Result<Ran> {
    if mode == Mode::Optimistic {
        if let Some(grouped) = run_optimistic(conn, batch).await {
            conn.execute(sqlx::raw_sql("COMMIT")).await?;
            stats.grouped.fetch_add(grouped, Ordering::Relaxed);
            return Ok(Ran::AllStood);
        }
        conn.execute(sqlx::raw_sql("ROLLBACK; BEGIN")).await?;
    }
    let mut ran = match mode {
        Mode::Optimistic => Ran::SomeFailed,
        Mode::Savepoints => Ran::AllStood,
    };
    // The group too, in a savepoint of its own: if it fails, its jobs
    // run alone below. Without it, a batch with savepoints would never
    // group, and whoever makes one commit fail now and then would keep a
    // committer from grouping at all.
    conn.execute(sqlx::raw_sql(FIRST)).await?;
    let done = match group(conn, batch).await {
        Some(done) => done,
        None => {
            conn.execute(sqlx::raw_sql(UNDO)).await?;
            vec![false; batch.len()]
        }
    };
    for (job, done) in batch.iter_mut().zip(&done) {
        if *done {
            continue;
        }
        conn.execute(sqlx::raw_sql(NEXT)).await?;
        if !job.run(conn).await {
            conn.execute(sqlx::raw_sql(UNDO)).await?;
            ran = Ran::SomeFailed;
        }
    }
    conn.execute(sqlx::raw_sql("COMMIT")).await?;
    let grouped = done.iter().filter(|d| **d).count() as u64;
    stats.grouped.fetch_add(grouped, Ordering::Relaxed);
    Ok(ran)
}

/// A batch's first run, with no savepoint: its group (see [`group`]),
/// then its other jobs one by one. How many jobs the group applied if
/// every job stood, `None` at the first failure: it stops there, since
/// PostgreSQL refuses every later statement of the transaction.
async fn run_optimistic(conn: &mut PgConnection, batch: &mut [Box<dyn Job>]) -> Option<u64> {
    let done = group(conn, batch).await?;
    for (job, done) in batch.iter_mut().zip(&done) {
        if !done && !job.run(conn).await {
            return None;
        }
    }
    Some(done.iter().filter(|d| **d).count() as u64)
}

/// Applies the commits of `batch` that a [`Group`] admits, if there are
/// two or more, in one statement: which jobs it applied, or `None` if
/// the group failed (some job in it would fail alone too, or the
/// database refused the statement).
async fn group(conn: &mut PgConnection, batch: &mut [Box<dyn Job>]) -> Option<Vec<bool>> {
    let mut group = Group::default();
    let members: Vec<bool> = batch
        .iter()
        .map(|job| job.commit().is_some_and(|(c, now)| group.admits(c, now)))
        .collect();
    if group.len() < 2 {
        // One commit runs as its job does: the same statement.
        return Some(vec![false; batch.len()]);
    }
    let applied = match group.apply(conn).await {
        Ok(applied) => applied,
        Err(e) => {
            tracing::debug!(
                jobs = group.len(),
                "a group failed ({e}); its jobs run alone"
            );
            return None;
        }
    };
    if applied.len() != group.len() {
        tracing::error!("a group of {} gave {} results", group.len(), applied.len());
        return None;
    }
    let mut applied = applied.into_iter();
    for (job, member) in batch.iter_mut().zip(&members) {
        // Only a member takes the next result: they come in the members' order.
        if *member && let Some(committed) = applied.next() {
            job.applied(committed);
        }
    }
    Some(members)
}
