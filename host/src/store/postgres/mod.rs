//! The PostgreSQL backend: several `baton serve` nodes share one database.
//! Commits are durable (`synchronous_commit` as the server has it, `on` by
//! default) and grouped many to a transaction; event leases live in the
//! rows, so nodes share the queue; ticket numbers come from a sequence.
//! The semantics are SQLite's (`sqlite/`), checked by the same test suite.
//!
//! # Layout
//! - `mod.rs`: opening (pool, migrations, this node's row, the committer)
//!   and the [`Store`] impl that delegates.
//! - `committer.rs`: group commit: many callers' jobs in one
//!   transaction, savepoints only when one of them failed.
//! - `apply.rs`: one [`Commit`] applied on a committer's connection;
//!   `group.rs`: the steps and closings of a batch in one statement;
//!   `rows.rs`: multi-row inserts; `parties.rs`: stakeholders, comments,
//!   notifications.
//! - `cluster.rs`: heartbeats, jobs run once per cluster, and the
//!   signals nodes send each other (`LISTEN/NOTIFY`).
//! - `write.rs`: this node's row, the catalog sync, ticket-number blocks,
//!   bot records.
//! - `read.rs`: tickets, logs, stakeholders, and row decoding.
//! - `queue.rs`: the event queue: claims with leases in the database
//!   (`FOR UPDATE SKIP LOCKED`), releases, parking; `cursors.rs`: where
//!   a busy node's next claim of a bot starts.
//! - `list.rs`: visibility, listings and comments.
//! - `people.rs`: users, groups, tokens, notifications, settings overrides.
//! - `records.rs`: a user's tokens and the settings history, read back.
//! - `timers.rs`: waits, lifetimes and reminders; firing them exactly once
//!   across nodes.
//! - `sweep.rs`, `retention.rs`: sweeps; archiving and deleting closed
//!   tickets.
//! - `quotas.rs`: what the per-metaservice quotas count.
//! - `sessions.rs`: passwords and console sessions.
//! - `outbox.rs`: notifications on their way out, one node sending each.

mod apply;
mod cluster;
mod committer;
mod cursors;
mod group;
mod list;
mod outbox;
mod parties;
mod people;
mod queue;
mod quotas;
mod read;
mod records;
mod retention;
mod rows;
mod sessions;
mod sweep;
mod timers;
mod write;

use std::collections::VecDeque;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{
    Attempt, Authenticated, BACKLOG_SQL, Backlog, BacklogRow, BatchHook, BatchObserver, BotRecord,
    Comment, Commit, Committed, Delivery, DeliveryState, EventId, Group, LogEntry, NewSession,
    NewUser, Notification, OPEN_TICKETS_SQL, OpenCount, OpenRow, Pending, QueuedEvent, QuotaUsage,
    Result, SettingsChange, Stakeholder, Store, StoreError, TicketFilter, Timer, TimerKind, Token,
    User, Viewer, WriterStats,
};
use crate::model::{BotName, Catalog, Ticket, TicketId, Timestamp};

/// Connections for reads and the writes that do not go through the
/// committer (people, settings, sweeps, retention). Each is a server
/// process on the database's machine: enough for the API's concurrent
/// reads, few enough that several nodes fit in a default
/// `max_connections` (100).
const POOL_SIZE: u32 = 10;

/// Connections for the bots' claims (`queue.rs`): the dispatcher makes
/// one claim at a time; a second one spares it a wait when a claim's
/// answer is still being read as the next begins.
const CLAIM_POOL_SIZE: u32 = 2;

/// How long a call waits for a connection (or to open one) before it
/// fails: a database that is down or unreachable makes calls fail fast
/// instead of hanging.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A silent node counts as dead after this long until the engine's first
/// heartbeat says otherwise (`engine/cluster.rs`).
const DEFAULT_DEAD_AFTER_MS: i64 = 3_000;

/// Reads and most writes go through `pool`; claims through `claims`;
/// ticket changes, event settlement and timer firing through `committer`,
/// batched.
pub struct PgStore {
    pool: PgPool,
    claims: PgPool,
    committer: committer::Committer,
    /// When the next timer falls due, as this node last saw it.
    next_due: Arc<timers::NextDue>,
    /// Ticket numbers fetched from the sequence and not yet handed out.
    ids: tokio::sync::Mutex<VecDeque<TicketId>>,
    node_id: String,
    signals: cluster::Signals,
    beats: cluster::Beats,
    /// How long a node may be silent before it counts as dead, as the
    /// engine last said (its heartbeat passes it).
    dead_after_ms: AtomicI64,
    /// Told of every batch the committers write.
    batches: BatchHook,
    /// Where this node's next claim of each bot starts.
    cursors: cursors::Cursors,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://…`), applies pending
    /// migrations, registers this node and starts the committer.
    pub async fn open(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("baton");
        // Neither pool tests a connection before lending it (sqlx's default
        // does): that test is a round trip on the path of every pooled
        // statement (a claim, a ticket read, a token check), and sqlx
        // already tests each connection as it comes back to the pool,
        // dropping it if broken. What the test before would still catch is
        // a connection that broke while idle (the server restarted): its
        // next call fails once, as a call during the outage does (a 503, a
        // claim tried again at the next pass), and it is dropped on return.
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        // A claim's lease may be lost in a crash: see `queue.rs`. Generic
        // plans: making a custom plan at every claim cost a third of a
        // drain's throughput. But a generic plan is made from the tables as
        // they are when a connection first claims, and the event queue is
        // empty at times and long at others: left to the costs, a plan made
        // on an empty queue reads every event with a sequential scan and
        // sorts them, and on a database in use that made each claim cost
        // milliseconds, growing with the queue (BENCHMARKS.md, "Claims on
        // plans kept from an empty queue"). The bots' claims are written for
        // the index ranges (`events_by_bot`, one bot's events in order), so
        // on these connections the planner is told to avoid sequential scans
        // and sorts: it takes the ranges however short the queue looks, and
        // a plan is good for the connection's life. Before, each claim
        // connection lived one second and its successor planned afresh; the
        // claim that opened it waited for a new server process and its
        // plan, and those waits were the slowest steps at half load
        // (BENCHMARKS.md, "Claim connections that are not replaced every
        // second").
        let claims = PgPoolOptions::new()
            .max_connections(CLAIM_POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .connect_lazy_with(options.clone().options([
                ("synchronous_commit", "off"),
                ("plan_cache_mode", "force_generic_plan"),
                ("enable_seqscan", "off"),
                ("enable_sort", "off"),
            ]));
        let node_id = write::new_node_id();
        write::register_node(&pool, &node_id, write::wall_clock()).await?;
        let batches = BatchHook::default();
        let committer = committer::Committer::start(&options, batches.clone()).await?;
        let signals = cluster::Signals::start(&pool, &node_id);
        Ok(PgStore {
            pool,
            claims,
            committer,
            next_due: Default::default(),
            ids: tokio::sync::Mutex::new(VecDeque::new()),
            node_id,
            signals,
            beats: Default::default(),
            dead_after_ms: AtomicI64::new(DEFAULT_DEAD_AFTER_MS),
            batches,
            cursors: Default::default(),
        })
    }

    /// A claim of each bot's events (see `queue::claim_for_bots`) that
    /// starts where this node's cursor for the bot says (`cursors.rs`),
    /// and moves the cursors by what it took.
    async fn claim_past_cursors(
        &self,
        owner: &str,
        wants: &[(String, u32)],
        now: Timestamp,
        lease_ms: i64,
    ) -> Result<Vec<Vec<QueuedEvent>>> {
        let keys: Vec<&str> = wants.iter().map(|(key, _)| key.as_str()).collect();
        let starts = self.cursors.starts(&keys, std::time::Instant::now());
        let after: Vec<cursors::Position> = starts.iter().map(|s| s.after).collect();
        let got = queue::claim_for_bots(&self.claims, owner, wants, &after, now, lease_ms).await?;
        for (((key, limit), start), taken) in wants.iter().zip(starts).zip(&got) {
            self.cursors.record(key, start, *limit, taken);
        }
        Ok(got)
    }

    /// This node's id, its key in `nodes` and in its bot records.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The pool, for tests that inspect the database directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// What the commit path has done so far (batches, jobs, queued).
    pub fn committer_stats(&self) -> WriterStats {
        self.committer.stats()
    }

    /// Holds the commit path before its next batch until the guard is
    /// dropped: what is committed meanwhile lands in one transaction (up
    /// to its batch size). For tests and drills of group commit.
    pub async fn pause_committer(&self) -> committer::Paused {
        self.committer.pause().await
    }

    /// Runs `work` on a committer's connection, in its next batch; it runs
    /// a second time if another job of its batch fails (`committer.rs`).
    async fn on_committer<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnMut(&'c mut sqlx::PgConnection) -> futures::future::BoxFuture<'c, Result<T>>
            + Send
            + 'static,
    {
        self.committer.run(work).await
    }

    /// Applies a commit (also a parked event's report) on the committer;
    /// once it is durable, the timer hint learns of its timers.
    async fn apply(
        &self,
        parked: Option<(EventId, String)>,
        commit: &Commit,
        now: Timestamp,
    ) -> Result<Committed> {
        let done = match parked {
            None => self.committer.commit(Arc::new(commit.clone()), now).await?,
            parked => self.park_and_apply(parked, commit, now).await?,
        };
        for due in commit.timers.iter().filter_map(|t| t.due_at) {
            self.next_due.lower(due);
        }
        Ok(done)
    }

    /// A parked event's report: the park and the commit in one job.
    async fn park_and_apply(
        &self,
        parked: Option<(EventId, String)>,
        commit: &Commit,
        now: Timestamp,
    ) -> Result<Committed> {
        // Shared, not copied, by the runs of the job (it may run twice).
        let job = Arc::new((parked, commit.clone()));
        self.on_committer(move |conn| {
            let job = job.clone();
            Box::pin(async move {
                let (parked, commit) = &*job;
                if let Some((id, error)) = parked {
                    queue::park(conn, *id, error).await?;
                }
                apply::apply(conn, commit, now).await
            })
        })
        .await
    }
}

#[async_trait]
impl Store for PgStore {
    async fn sync_catalog(&self, catalog: &Catalog, now: Timestamp) -> Result<()> {
        write::sync_catalog(&self.pool, catalog, now).await
    }

    async fn next_ticket_id(&self) -> Result<TicketId> {
        let mut ids = self.ids.lock().await;
        if ids.is_empty() {
            ids.extend(write::reserve_ticket_ids(&self.pool).await?);
        }
        ids.pop_front()
            .ok_or_else(|| StoreError::Writer("the ticket number sequence gave nothing".into()))
    }

    async fn commit(&self, commit: &Commit, now: Timestamp) -> Result<Committed> {
        self.apply(None, commit, now).await
    }

    async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        read::ticket(&self.pool, id).await
    }

    async fn logs(&self, ticket: TicketId) -> Result<Vec<LogEntry>> {
        read::logs(&self.pool, ticket).await
    }

    async fn stakeholders(&self, ticket: TicketId) -> Result<Vec<Stakeholder>> {
        read::stakeholders(&self.pool, ticket).await
    }

    async fn stakeholders_of(
        &self,
        tickets: &[TicketId],
    ) -> Result<std::collections::BTreeMap<TicketId, Vec<Stakeholder>>> {
        read::stakeholders_of(&self.pool, tickets).await
    }

    async fn claim_events(
        &self,
        owner: &str,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedEvent>> {
        queue::claim_others(&self.pool, owner, &[], now, lease_ms, limit).await
    }

    async fn claim_bot_events(
        &self,
        owner: &str,
        bot: &BotName,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedEvent>> {
        let wants = [(super::bot_key(bot), limit)];
        let mut got = self
            .claim_past_cursors(owner, &wants, now, lease_ms)
            .await?;
        Ok(got.pop().unwrap_or_default())
    }

    async fn claim_for_bots(
        &self,
        owner: &str,
        wants: &[(BotName, u32)],
        now: Timestamp,
        lease_ms: i64,
    ) -> Result<Vec<Vec<QueuedEvent>>> {
        let wants: Vec<(String, u32)> = wants
            .iter()
            .map(|(bot, limit)| (super::bot_key(bot), *limit))
            .collect();
        self.claim_past_cursors(owner, &wants, now, lease_ms).await
    }

    async fn claim_other_events(
        &self,
        owner: &str,
        except: &[String],
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedEvent>> {
        // Bots that another live node runs are that node's: this node
        // has not loaded them, but their events are not "of no bot".
        let dead_after = self.dead_after_ms.load(Ordering::Relaxed);
        let mut except = except.to_vec();
        except.extend(cluster::running_elsewhere(&self.pool, &self.node_id, dead_after).await?);
        queue::claim_others(&self.pool, owner, &except, now, lease_ms, limit).await
    }

    async fn release_event(
        &self,
        id: EventId,
        available_at: Timestamp,
        failed: Option<&str>,
    ) -> Result<()> {
        let failed = failed.map(str::to_owned);
        self.on_committer(move |conn| {
            let failed = failed.clone();
            Box::pin(async move { queue::release(conn, id, available_at, failed.as_deref()).await })
        })
        .await
    }

    async fn park_event(
        &self,
        id: EventId,
        error: &str,
        report: &Commit,
        now: Timestamp,
    ) -> Result<()> {
        self.apply(Some((id, error.to_owned())), report, now)
            .await
            .map(|_| ())
    }

    async fn unpark_events(&self, ticket: TicketId, now: Timestamp) -> Result<u64> {
        queue::unpark(&self.pool, ticket, now).await
    }

    async fn drop_event(&self, id: EventId) -> Result<()> {
        self.on_committer(move |conn| Box::pin(async move { queue::drop_event(conn, id).await }))
            .await
    }

    async fn wake_events(&self, bot: &BotName, now: Timestamp, retries: bool) -> Result<u64> {
        queue::wake(&self.pool, bot, now, retries).await
    }

    async fn events_of(&self, ticket: TicketId) -> Result<Vec<QueuedEvent>> {
        queue::events_of(&self.pool, ticket).await
    }

    async fn record_bot(&self, bot: &BotRecord) -> Result<()> {
        write::record_bot(&self.pool, &self.node_id, bot).await
    }

    async fn bot_record(&self, name: &str) -> Result<Option<BotRecord>> {
        read::bot_record(&self.pool, &self.node_id, name).await
    }

    async fn create_user(&self, user: &NewUser, now: Timestamp) -> Result<User> {
        people::create_user(&self.pool, user, now).await
    }

    async fn user(&self, id: i64) -> Result<Option<User>> {
        people::user_by_id(&self.pool, id).await
    }

    async fn users(&self) -> Result<Vec<User>> {
        people::users(&self.pool).await
    }

    async fn count_users(&self) -> Result<i64> {
        people::count_users(&self.pool).await
    }

    async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Token> {
        people::create_token(&self.pool, user_id, name, token_hash, now).await
    }

    async fn revoke_token(&self, id: i64, now: Timestamp) -> Result<bool> {
        people::revoke_token(&self.pool, id, now).await
    }

    async fn authenticate(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Authenticated>> {
        let Some((who, last)) = people::authenticate(&self.pool, token_hash).await? else {
            return Ok(None);
        };
        if people::record_use(last, now) {
            let token = who.token_id;
            self.on_committer(move |c| Box::pin(async move { people::used(c, token, now).await }))
                .await?;
        }
        Ok(Some(who))
    }

    async fn create_group(&self, name: &str, now: Timestamp) -> Result<Group> {
        people::create_group(&self.pool, name, now).await
    }

    async fn group(&self, name: &str) -> Result<Option<Group>> {
        people::group(&self.pool, name).await
    }

    async fn groups(&self) -> Result<Vec<Group>> {
        people::groups(&self.pool).await
    }

    async fn set_member(&self, group_id: i64, user_id: i64, member: bool) -> Result<bool> {
        people::set_member(&self.pool, group_id, user_id, member).await
    }

    async fn groups_of(&self, user_id: i64) -> Result<Vec<Group>> {
        people::groups_of(&self.pool, user_id).await
    }

    async fn involved_in(&self, user_id: i64, metaservice: &str) -> Result<bool> {
        people::involved_in(&self.pool, user_id, metaservice).await
    }

    async fn can_see(&self, viewer: Viewer, ticket: TicketId) -> Result<bool> {
        list::can_see(&self.pool, viewer, ticket).await
    }

    async fn list_tickets(&self, viewer: Viewer, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        list::list_tickets(&self.pool, viewer, filter).await
    }

    async fn count_tickets(
        &self,
        viewer: Viewer,
        filter: &TicketFilter,
    ) -> Result<Vec<crate::store::StateCount>> {
        list::count_tickets(&self.pool, viewer, filter).await
    }

    async fn children(&self, viewer: Viewer, parent: TicketId, limit: u32) -> Result<Vec<Ticket>> {
        list::children(&self.pool, viewer, parent, limit).await
    }

    async fn comments(&self, ticket: TicketId) -> Result<Vec<Comment>> {
        list::comments(&self.pool, ticket).await
    }

    async fn notifications(
        &self,
        user_id: i64,
        after: Option<(bool, i64)>,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        people::notifications(&self.pool, user_id, after, limit).await
    }

    async fn mark_read(&self, user_id: i64, id: i64, now: Timestamp) -> Result<bool> {
        people::mark_read(&self.pool, user_id, id, now).await
    }

    async fn expired(
        &self,
        metaservice: &str,
        ticket_type: &str,
        closed_before: Timestamp,
        limit: u32,
    ) -> Result<Vec<TicketId>> {
        retention::expired(&self.pool, metaservice, ticket_type, closed_before, limit).await
    }

    async fn retire(&self, ids: &[TicketId], archive: bool, now: Timestamp) -> Result<u64> {
        retention::retire(&self.pool, ids, archive, now).await
    }

    async fn archived(&self, id: TicketId) -> Result<Option<serde_json::Value>> {
        retention::archived(&self.pool, id).await
    }

    async fn sweep(&self, bot: &BotName, now: Timestamp) -> Result<u64> {
        sweep::sweep(&self.pool, bot, now).await
    }

    async fn current_tickets(&self, bot: &BotName, limit: u32) -> Result<Vec<TicketId>> {
        sweep::current(&self.pool, bot, limit).await
    }

    async fn fire_due_timers(&self, now: Timestamp, limit: u32) -> Result<u64> {
        if !self.next_due.may_be_due(now) {
            return Ok(0);
        }
        let next = self.next_due.clone();
        // Taken before the firing reads: see `timers::NextDue`.
        let changes = next.changes();
        let fired = self
            .on_committer(move |conn| {
                let next = next.clone();
                Box::pin(async move { timers::fire_due(conn, now, limit, &next, changes).await })
            })
            .await;
        if fired.is_err() {
            // The batch may not have stood: what was learnt is not known.
            self.next_due.forget();
        }
        fired
    }

    fn next_timer_due(&self) -> Option<Timestamp> {
        self.next_due.known()
    }

    async fn start_timers(
        &self,
        kind: TimerKind,
        state: (&str, &str, u32),
        after_ms: i64,
        repeats_left: u32,
        now: Timestamp,
    ) -> Result<u64> {
        let started = timers::start(&self.pool, kind, state, after_ms, repeats_left, now).await;
        self.next_due.forget();
        started
    }

    async fn retime_reminders(
        &self,
        state: (&str, &str, u32),
        every_ms: Option<i64>,
        repeats_delta: i64,
    ) -> Result<u64> {
        let retimed = timers::retime_reminders(&self.pool, state, every_ms, repeats_delta).await;
        self.next_due.forget();
        retimed
    }

    async fn retime_lifetimes(
        &self,
        state: (&str, &str, u32),
        lifetime_ms: Option<i64>,
    ) -> Result<u64> {
        let retimed = timers::retime_lifetimes(&self.pool, state, lifetime_ms).await;
        self.next_due.forget();
        retimed
    }

    async fn timers_of(&self, ticket: TicketId) -> Result<Vec<Timer>> {
        timers::of(&self.pool, ticket).await
    }

    async fn quota_usage(&self, metaservice: &str, since: Timestamp) -> Result<QuotaUsage> {
        quotas::usage(&self.pool, metaservice, since).await
    }

    async fn pending_of(&self, ticket: TicketId) -> Result<Pending> {
        quotas::pending(&self.pool, ticket).await
    }

    async fn open_error(&self, metaservice: &str, cause: &str) -> Result<Option<TicketId>> {
        quotas::open_error(&self.pool, metaservice, cause).await
    }

    async fn set_settings(&self, change: &SettingsChange, now: Timestamp) -> Result<()> {
        people::set_settings(&self.pool, change, now).await
    }

    async fn settings_history(&self, limit: u32) -> Result<Vec<crate::store::SettingsRecord>> {
        records::settings_history(&self.pool, limit).await
    }

    async fn tokens_of(&self, user_id: i64) -> Result<Vec<crate::store::Token>> {
        records::tokens_of(&self.pool, user_id).await
    }

    async fn settings_overrides(&self) -> Result<Vec<(String, String, serde_json::Value)>> {
        people::settings_overrides(&self.pool).await
    }

    fn node_id(&self) -> &str {
        &self.node_id
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn backlog(&self, now: Timestamp) -> Result<Backlog> {
        let row: BacklogRow = sqlx::query_as(BACKLOG_SQL)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
        Ok(Backlog::from_row(row))
    }

    async fn open_tickets(&self) -> Result<Vec<OpenCount>> {
        let rows: Vec<OpenRow> = sqlx::query_as(OPEN_TICKETS_SQL)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(OpenCount::from).collect())
    }

    fn observe_batches(&self, observer: BatchObserver) {
        self.batches.set(observer);
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        outbox::claim(&self.pool, &self.node_id, now, now + lease_ms, limit).await
    }

    async fn settle_delivery(&self, id: i64, attempt: &Attempt, now: Timestamp) -> Result<()> {
        outbox::settle(&self.pool, id, attempt, now).await
    }

    async fn resend_delivery(&self, id: i64, now: Timestamp) -> Result<bool> {
        outbox::resend(&self.pool, id, now).await
    }

    async fn deliveries_of(&self, notifications: &[i64]) -> Result<Vec<DeliveryState>> {
        outbox::states(&self.pool, notifications).await
    }

    async fn set_email_notifications(&self, user: i64, on: bool) -> Result<bool> {
        outbox::set_email_notifications(&self.pool, user, on).await
    }

    async fn set_password(&self, user: i64, hash: Option<&str>) -> Result<bool> {
        sessions::set_password(&self.pool, user, hash).await
    }

    async fn password_of(&self, login: &str) -> Result<Option<(User, String)>> {
        sessions::password_of(&self.pool, login).await
    }

    async fn create_session(&self, session: &NewSession, now: Timestamp) -> Result<()> {
        sessions::create_session(&self.pool, session, now).await
    }

    async fn session(&self, id_hash: &str, now: Timestamp) -> Result<Option<(User, String)>> {
        sessions::session(&self.pool, id_hash, now).await
    }

    async fn end_session(&self, id_hash: &str) -> Result<()> {
        sessions::end_session(&self.pool, id_hash).await
    }

    async fn heartbeat(&self, dead_after_ms: i64) -> Result<u64> {
        self.dead_after_ms.store(dead_after_ms, Ordering::Relaxed);
        self.beats
            .beat(&self.pool, &self.node_id, dead_after_ms)
            .await
    }

    async fn leave(&self) -> Result<()> {
        cluster::leave(&self.pool, &self.node_id).await
    }

    async fn lead(&self, job: &str, now: Timestamp, every_ms: i64) -> Result<bool> {
        cluster::lead(&self.pool, &self.node_id, job, now, every_ms).await
    }

    fn announce(&self, signal: super::Signal) {
        self.signals.announce(signal);
    }

    fn signals(&self) -> tokio::sync::broadcast::Receiver<super::Signal> {
        self.signals.subscribe()
    }

    async fn notifications_by_id(&self, ids: &[i64], users: &[i64]) -> Result<Vec<Notification>> {
        people::notifications_by_id(&self.pool, ids, users).await
    }

    async fn node_bots(&self) -> Result<Vec<super::NodeBot>> {
        let dead_after = self.dead_after_ms.load(Ordering::Relaxed);
        cluster::node_bots(&self.pool, dead_after).await
    }
}
