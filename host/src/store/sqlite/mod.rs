//! The SQLite backend: an embedded file in WAL mode with
//! `synchronous = FULL`, so a commit that a client or a bot saw survives a
//! power cut.
//!
//! # Layout
//! - `mod.rs`: opening, migrations, and the [`Store`] impl that delegates.
//! - `writer.rs`: the thread that owns the write connection and commits
//!   many callers' work in one durable transaction (group commit).
//! - `apply.rs`: one [`Commit`] applied on that connection.
//! - `checkpointer.rs`: the thread that copies the WAL into the database
//!   file, off the writer's path.
//! - `leases.rs`: event leases, held in the process.
//! - `write.rs`: the catalog sync, ticket-number blocks, bot records.
//! - `readers.rs`: read connections for the hot reads, used in place.
//! - `read.rs`: tickets, logs, stakeholders, and row decoding.
//! - `queue.rs`: the event queue: claims, leases, releases, parking.
//! - `list.rs`: visibility, listings and comments.
//! - `people.rs`: users, groups, tokens, notifications, settings overrides.
//! - `records.rs`: a user's tokens and the settings history, read back.
//! - `timers.rs`: waits and lifetimes.
//! - `sweep.rs`, `retention.rs`: sweeps; archiving and deleting closed tickets.
//! - `quotas.rs`: what the per-metaservice quotas count.
//! - `sessions.rs`: passwords and console sessions.
//! - `outbox.rs`: notifications on their way out.

mod apply;
mod checkpointer;
mod leases;
mod list;
mod outbox;
mod people;
mod queue;
mod quotas;
mod read;
mod readers;
mod records;
mod retention;
mod sessions;
mod sweep;
mod timers;
mod write;
mod writer;

pub use writer::{Paused, WriterStats};

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{
    Attempt, Authenticated, BACKLOG_SQL, Backlog, BacklogRow, BatchHook, BatchObserver, BotRecord,
    Comment, Commit, Committed, Delivery, DeliveryState, EventId, Group, LogEntry, NewSession,
    NewUser, Notification, OPEN_TICKETS_SQL, OpenCount, OpenRow, Pending, QueuedEvent, QuotaUsage,
    Result, SettingsChange, Stakeholder, Store, StoreError, TicketFilter, Timer, TimerKind, Token,
    User, Viewer,
};
use crate::model::{BotName, Catalog, Ticket, TicketId, Timestamp};

/// SQLite serialises writers; a writer waits this long for the lock
/// before the call fails. Commits are short, so this is generous.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Readers run in parallel in WAL mode; this many connections cover the
/// API's reads and the dispatcher's writes without queueing.
const POOL_SIZE: u32 = 8;

/// Reads go through `pool` (WAL readers run in parallel) or, the hot ones,
/// `readers`; ticket changes, event settlement and timer firing go through
/// `writer`, batched. The few other writes go through `pool` while the
/// writer is held between two batches ([`writer::Writer::quiet`]), so
/// they never wait for the write lock against it.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: writer::Writer,
    leases: leases::Leases,
    readers: readers::Readers,
    /// When the next timer falls due, as the writer last saw it.
    next_due: std::sync::Arc<timers::NextDue>,
    /// The ticket numbers reserved and not yet handed out: `(next, end)`.
    ids: tokio::sync::Mutex<(TicketId, TicketId)>,
    /// Told of every batch the writer commits.
    batches: BatchHook,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`, which is either a
    /// `sqlite://` URL or a plain path, and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let options = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)?
        } else {
            SqliteConnectOptions::new().filename(Path::new(url))
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        let batches = BatchHook::default();
        let writer = writer::Writer::start(options.get_filename(), BUSY_TIMEOUT, batches.clone())?;
        Ok(SqliteStore {
            pool,
            writer,
            leases: leases::Leases::default(),
            readers: readers::Readers::new(options.get_filename().to_path_buf(), BUSY_TIMEOUT),
            next_due: Default::default(),
            ids: tokio::sync::Mutex::new((0, 0)),
            batches,
        })
    }

    /// SQLite's plan for a sweep of `bot`'s state, one line per step: for
    /// operators who wonder what a sweep costs, and for the test that keeps
    /// it on the state index.
    pub async fn sweep_plan(&self, bot: &BotName) -> Result<Vec<String>> {
        let sql = format!(
            "EXPLAIN QUERY PLAN {}",
            sweep::UNPROCESSED
                .replace("?2", "?1")
                .replace("?3", "?2")
                .replace("?4", "?3")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&bot.metaservice)
            .bind(&bot.ticket_type)
            .bind(bot.state_code)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(sqlx::Row::try_get::<String, _>(r, "detail")?))
            .collect()
    }

    /// SQLite's plan for a bot's claim (fair dispatch): it must read the
    /// bot's own index range, so that its cost follows the events taken.
    pub async fn claim_plan(&self) -> Result<Vec<String>> {
        let sql = format!("EXPLAIN QUERY PLAN {}", queue::BOT_DUE);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(0i64)
            .bind("a/b/1")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(sqlx::Row::try_get::<String, _>(r, "detail")?))
            .collect()
    }

    /// What the commit path has done so far (batches, jobs, queued).
    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// Holds the commit path before its next batch until the guard is
    /// dropped: what is committed meanwhile lands in one transaction. For
    /// tests and drills of group commit.
    pub async fn pause_writer(&self) -> Result<Paused> {
        self.writer.pause().await
    }

    /// The commit path's `synchronous` and `journal_mode` settings, read
    /// on its own connection: what durability a commit has.
    pub async fn writer_settings(&self) -> Result<(i64, String)> {
        self.writer
            .run(|conn| {
                let sync = conn.pragma_query_value(None, "synchronous", |r| r.get(0))?;
                let journal = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
                Ok((sync, journal))
            })
            .await
    }

    /// The pool, for tests that inspect the database directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Applies a commit on the writer's connection, and tells the timer hint
/// of the timers it adds (in the writer's order, see [`timers::NextDue`]).
fn apply_timed(
    conn: &rusqlite::Connection,
    commit: &Commit,
    now: Timestamp,
    next: &timers::NextDue,
) -> Result<Committed> {
    let committed = apply::apply(conn, commit, now)?;
    for due in commit.timers.iter().filter_map(|t| t.due_at) {
        next.lower(due);
    }
    Ok(committed)
}

#[async_trait]
impl Store for SqliteStore {
    async fn sync_catalog(&self, catalog: &Catalog, now: Timestamp) -> Result<()> {
        let _quiet = self.writer.quiet().await?;
        write::sync_catalog(&self.pool, catalog, now).await
    }

    async fn next_ticket_id(&self) -> Result<TicketId> {
        let mut ids = self.ids.lock().await;
        if ids.0 >= ids.1 {
            let first = {
                let _quiet = self.writer.quiet().await?;
                write::reserve_ticket_ids(&self.pool).await?
            };
            *ids = (first, first + write::ID_BLOCK);
        }
        let id = ids.0;
        ids.0 += 1;
        Ok(id)
    }

    async fn commit(&self, commit: &Commit, now: Timestamp) -> Result<Committed> {
        let job = commit.clone();
        let next = self.next_due.clone();
        let done = self
            .writer
            .run(move |conn| apply_timed(conn, &job, now, &next))
            .await;
        // Settled: the event's lease goes (also when another worker had
        // consumed it), after the write is durable.
        if let (Some(event), Ok(_) | Err(StoreError::Consumed(_))) = (commit.consumes, &done) {
            self.leases.drop_lease(event).await;
        }
        done
    }

    async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        self.readers.read(|c| read::ticket(c, id))
    }

    async fn logs(&self, ticket: TicketId) -> Result<Vec<LogEntry>> {
        self.readers.read(|c| read::logs(c, ticket))
    }

    async fn stakeholders(&self, ticket: TicketId) -> Result<Vec<Stakeholder>> {
        self.readers.read(|c| read::stakeholders(c, ticket))
    }

    async fn stakeholders_of(
        &self,
        tickets: &[TicketId],
    ) -> Result<std::collections::BTreeMap<TicketId, Vec<Stakeholder>>> {
        self.readers.read(|c| read::stakeholders_of(c, tickets))
    }

    async fn claim_events(
        &self,
        _owner: &str,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedEvent>> {
        queue::claim(&self.readers, &self.leases, now, lease_ms, limit).await
    }

    async fn claim_bot_events(
        &self,
        _owner: &str,
        bot: &BotName,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedEvent>> {
        let key = super::bot_key(bot);
        queue::claim_for_bot(&self.readers, &self.leases, &key, now, lease_ms, limit).await
    }

    async fn bots_with_due_events(
        &self,
        bots: Vec<BotName>,
        now: Timestamp,
    ) -> Result<Vec<BotName>> {
        queue::bots_with_due(&self.readers, bots, now)
    }

    async fn claim_other_events(
        &self,
        _owner: &str,
        except: &[String],
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedEvent>> {
        queue::claim_others(&self.readers, &self.leases, except, now, lease_ms, limit).await
    }

    async fn release_event(
        &self,
        id: EventId,
        available_at: Timestamp,
        failed: Option<&str>,
    ) -> Result<()> {
        let failed = failed.map(str::to_owned);
        self.writer
            .run(move |conn| queue::release(conn, id, available_at, failed.as_deref()))
            .await?;
        self.leases.drop_lease(id).await;
        Ok(())
    }

    async fn park_event(
        &self,
        id: EventId,
        error: &str,
        report: &Commit,
        now: Timestamp,
    ) -> Result<()> {
        let (error, report) = (error.to_owned(), report.clone());
        let next = self.next_due.clone();
        self.writer
            .run(move |conn| {
                queue::park(conn, id, &error)?;
                apply_timed(conn, &report, now, &next)
            })
            .await?;
        self.leases.drop_lease(id).await;
        Ok(())
    }

    async fn unpark_events(&self, ticket: TicketId, now: Timestamp) -> Result<u64> {
        let _quiet = self.writer.quiet().await?;
        queue::unpark(&self.pool, ticket, now).await
    }

    async fn drop_event(&self, id: EventId) -> Result<()> {
        self.writer
            .run(move |conn| queue::drop_event(conn, id))
            .await?;
        self.leases.drop_lease(id).await;
        Ok(())
    }

    async fn wake_events(&self, bot: &BotName, now: Timestamp, retries: bool) -> Result<u64> {
        let _quiet = self.writer.quiet().await?;
        queue::wake(&self.pool, bot, now, retries).await
    }

    async fn events_of(&self, ticket: TicketId) -> Result<Vec<QueuedEvent>> {
        self.readers.read(|c| queue::events_of(c, ticket))
    }

    async fn record_bot(&self, bot: &BotRecord) -> Result<()> {
        let _quiet = self.writer.quiet().await?;
        write::record_bot(&self.pool, bot).await
    }

    async fn bot_record(&self, name: &str) -> Result<Option<BotRecord>> {
        read::bot_record(&self.pool, name).await
    }

    async fn create_user(&self, user: &NewUser, now: Timestamp) -> Result<User> {
        let _quiet = self.writer.quiet().await?;
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
        let _quiet = self.writer.quiet().await?;
        people::create_token(&self.pool, user_id, name, token_hash, now).await
    }

    async fn revoke_token(&self, id: i64, now: Timestamp) -> Result<bool> {
        let _quiet = self.writer.quiet().await?;
        people::revoke_token(&self.pool, id, now).await
    }

    async fn authenticate(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Authenticated>> {
        let found = self.readers.read(|c| people::authenticate(c, token_hash))?;
        let Some((who, last)) = found else {
            return Ok(None);
        };
        if people::record_use(last, now) {
            let token = who.token_id;
            self.writer
                .run(move |c| people::used(c, token, now))
                .await?;
        }
        Ok(Some(who))
    }

    async fn create_group(&self, name: &str, now: Timestamp) -> Result<Group> {
        let _quiet = self.writer.quiet().await?;
        people::create_group(&self.pool, name, now).await
    }

    async fn group(&self, name: &str) -> Result<Option<Group>> {
        people::group(&self.pool, name).await
    }

    async fn groups(&self) -> Result<Vec<Group>> {
        people::groups(&self.pool).await
    }

    async fn set_member(&self, group_id: i64, user_id: i64, member: bool) -> Result<bool> {
        let _quiet = self.writer.quiet().await?;
        people::set_member(&self.pool, group_id, user_id, member).await
    }

    async fn groups_of(&self, user_id: i64) -> Result<Vec<Group>> {
        people::groups_of(&self.pool, user_id).await
    }

    async fn involved_in(&self, user_id: i64, metaservice: &str) -> Result<bool> {
        people::involved_in(&self.pool, user_id, metaservice).await
    }

    async fn can_see(&self, viewer: Viewer, ticket: TicketId) -> Result<bool> {
        self.readers.read(|c| list::can_see(c, viewer, ticket))
    }

    async fn list_tickets(&self, viewer: Viewer, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        self.readers.read(|c| list::list_tickets(c, viewer, filter))
    }

    async fn count_tickets(
        &self,
        viewer: Viewer,
        filter: &TicketFilter,
    ) -> Result<Vec<crate::store::StateCount>> {
        self.readers
            .read(|c| list::count_tickets(c, viewer, filter))
    }

    async fn children(&self, viewer: Viewer, parent: TicketId, limit: u32) -> Result<Vec<Ticket>> {
        self.readers
            .read(|c| list::children(c, viewer, parent, limit))
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
        let _quiet = self.writer.quiet().await?;
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
        let _quiet = self.writer.quiet().await?;
        retention::retire(&self.pool, ids, archive, now).await
    }

    async fn archived(&self, id: TicketId) -> Result<Option<serde_json::Value>> {
        retention::archived(&self.pool, id).await
    }

    async fn sweep(&self, bot: &BotName, now: Timestamp) -> Result<u64> {
        let _quiet = self.writer.quiet().await?;
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
        let fired = self
            .writer
            .run(move |conn| timers::fire_due(conn, now, limit, &next))
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
        let quiet = self.writer.quiet().await?;
        let started = timers::start(&self.pool, kind, state, after_ms, repeats_left, now).await;
        drop(quiet);
        self.next_due.forget();
        started
    }

    async fn retime_reminders(
        &self,
        state: (&str, &str, u32),
        every_ms: Option<i64>,
        repeats_delta: i64,
    ) -> Result<u64> {
        let quiet = self.writer.quiet().await?;
        let retimed = timers::retime_reminders(&self.pool, state, every_ms, repeats_delta).await;
        drop(quiet);
        self.next_due.forget();
        retimed
    }

    async fn retime_lifetimes(
        &self,
        state: (&str, &str, u32),
        lifetime_ms: Option<i64>,
    ) -> Result<u64> {
        let quiet = self.writer.quiet().await?;
        let retimed = timers::retime_lifetimes(&self.pool, state, lifetime_ms).await;
        drop(quiet);
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
        quotas::pending(&self.readers, ticket)
    }

    async fn open_error(&self, metaservice: &str, cause: &str) -> Result<Option<TicketId>> {
        quotas::open_error(&self.pool, metaservice, cause).await
    }

    async fn set_settings(&self, change: &SettingsChange, now: Timestamp) -> Result<()> {
        let _quiet = self.writer.quiet().await?;
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
        // A read first: most polls find nothing, and cost no transaction.
        if !self.readers.read(|c| outbox::any_due(c, now))? {
            return Ok(Vec::new());
        }
        self.writer
            .run(move |conn| outbox::claim(conn, now, now + lease_ms, limit))
            .await
    }

    async fn settle_delivery(&self, id: i64, attempt: &Attempt, now: Timestamp) -> Result<()> {
        let attempt = attempt.clone();
        self.writer
            .run(move |conn| outbox::settle(conn, id, &attempt, now))
            .await
    }

    async fn resend_delivery(&self, id: i64, now: Timestamp) -> Result<bool> {
        self.writer
            .run(move |conn| outbox::resend(conn, id, now))
            .await
    }

    async fn deliveries_of(&self, notifications: &[i64]) -> Result<Vec<DeliveryState>> {
        self.readers.read(|c| outbox::states(c, notifications))
    }

    async fn set_email_notifications(&self, user: i64, on: bool) -> Result<bool> {
        self.writer
            .run(move |conn| outbox::set_email_notifications(conn, user, on))
            .await
    }

    async fn set_password(&self, user: i64, hash: Option<&str>) -> Result<bool> {
        let _quiet = self.writer.quiet().await?;
        sessions::set_password(&self.pool, user, hash).await
    }

    async fn password_of(&self, login: &str) -> Result<Option<(User, String)>> {
        sessions::password_of(&self.pool, login).await
    }

    async fn create_session(&self, session: &NewSession, now: Timestamp) -> Result<()> {
        let _quiet = self.writer.quiet().await?;
        sessions::create_session(&self.pool, session, now).await
    }

    async fn session(&self, id_hash: &str, now: Timestamp) -> Result<Option<(User, String)>> {
        sessions::session(&self.pool, id_hash, now).await
    }

    async fn end_session(&self, id_hash: &str) -> Result<()> {
        let _quiet = self.writer.quiet().await?;
        sessions::end_session(&self.pool, id_hash).await
    }
}
