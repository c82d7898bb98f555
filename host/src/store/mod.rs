//! The database: one [`Store`] trait, the seam that backends plug into.
//! SQLite (`sqlite/`) is the embedded default; PostgreSQL (`postgres/`)
//! serves several nodes; [`connect`] picks one by the URL, and both pass
//! one test suite (`tests/all/store`).
//!
//! Every write of the engine and the API goes through [`Store::commit`]:
//! one transaction that applies a [`Commit`] whole or not at all, guarded by
//! the versions of the tickets it changes.
//!
//! # Layout
//! - `mod.rs`: the trait, its errors, [`connect`].
//! - `types.rs`, `people.rs`: what goes in and comes out.
//! - `cluster.rs`: nodes and the signals between them.
//! - `backlog.rs`: what the supervisor and `/metrics` read.
//! - `batching.rs`: how a batch of commits starts (savepoints or not),
//!   the rule both backends' commit paths share.
//! - `outbox.rs`: notifications on their way out (webhooks, e-mail).
//! - `copy.rs`: `baton migrate --from sqlite --to postgres`.

mod backlog;
mod batching;
mod cluster;
mod copy;
mod outbox;
mod people;
mod postgres;
mod sqlite;
mod types;

use async_trait::async_trait;
use thiserror::Error;

use backlog::{BACKLOG_SQL, BacklogRow, BatchHook, OPEN_TICKETS_SQL, OpenRow};
pub use backlog::{Backlog, Batch, BatchObserver, OpenCount};
pub use cluster::{Node, NodeBot, Signal};
pub use copy::{Copied, redact, sqlite_to_postgres};
pub use outbox::{Attempt, Delivery, DeliveryState, Outbox, WebhookRoute};
pub use people::*;
pub use postgres::PgStore;
pub use sqlite::{Paused, SqliteStore, WriterStats};
pub use types::*;

use crate::model::{BotName, Catalog, Ticket, TicketId, Timestamp};

/// Why a store call failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A ticket changed since it was read; the caller re-reads and retries.
    #[error("ticket {0} was changed by someone else")]
    Conflict(TicketId),
    /// A row that a write refers to does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The event a commit consumes is gone: another worker, whose lease
    /// overlapped, consumed it first, and its commit stands.
    #[error("event {0} was already consumed")]
    Consumed(EventId),
    /// A unique name is taken.
    #[error("{0} already exists")]
    Duplicate(String),
    /// The database holds something this version of Baton cannot read.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// An error of the SQLite commit path (its own connection).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The commit path could not take or finish the work: its batch failed
    /// as a whole, or the writer stopped.
    #[error("commit failed: {0}")]
    Writer(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database cannot be reached (down, restarting, the network
    /// gone): the call may succeed later, unchanged.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Whether the database could not be reached, rather than refusing
    /// the call: the API answers 503 and readiness fails, and the same
    /// call may succeed once it is back.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Database(e) => unreachable_database(e),
            _ => false,
        }
    }
}

/// A driver error that says the server could not be reached or went
/// away, rather than that it refused what was asked.
fn unreachable_database(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), and 57P01..03: the
        // server is shutting down, was terminated, or is starting up.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Opens the store at `url`: PostgreSQL for a `postgres://` or
/// `postgresql://` URL, SQLite for a `sqlite:` URL or a plain path.
pub async fn connect(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(PgStore::open(url).await?))
    } else {
        Ok(std::sync::Arc::new(SqliteStore::open(url).await?))
    }
}

/// The key the queue files a bot's events under:
/// `metaservice/ticket_type/state_code` (the state's name is not needed:
/// a ticket type has one state per code).
pub fn bot_key(bot: &BotName) -> String {
    format!("{}/{}/{}", bot.metaservice, bot.ticket_type, bot.state_code)
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Writes the catalog's metaservices, types, states and transitions, and
    /// creates the groups their `error_group`s name.
    async fn sync_catalog(&self, catalog: &Catalog, now: Timestamp) -> Result<()>;

    /// Hands out a ticket number; see the `id_sequences` table. Numbers
    /// are reserved in blocks, so they grow but may skip.
    async fn next_ticket_id(&self) -> Result<TicketId>;

    /// Applies a commit atomically. [`StoreError::Conflict`] when a guarded
    /// ticket's version moved; nothing is written then.
    async fn commit(&self, commit: &Commit, now: Timestamp) -> Result<Committed>;

    async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>>;

    async fn logs(&self, ticket: TicketId) -> Result<Vec<LogEntry>>;

    async fn stakeholders(&self, ticket: TicketId) -> Result<Vec<Stakeholder>>;

    /// The stakeholders of many tickets at once, by ticket (a listing's
    /// page in one read, not one per ticket).
    async fn stakeholders_of(
        &self,
        tickets: &[TicketId],
    ) -> Result<std::collections::BTreeMap<TicketId, Vec<Stakeholder>>>;

    /// Leases up to `limit` due events, at most one per ticket, to `owner`
    /// until `now + lease_ms`.
    async fn claim_events(
        &self,
        owner: &str,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedEvent>>;

    /// Leases up to `limit` due events of one bot, oldest first, at most
    /// one per ticket; its cost follows `limit`, not the bot's backlog.
    /// Fewer than `limit` means none is left to claim now. (On PostgreSQL
    /// a busy node's claims start past the last event taken, so an older
    /// event passed over may come a little after newer ones: `cursors.rs`.)
    async fn claim_bot_events(
        &self,
        owner: &str,
        bot: &BotName,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedEvent>>;

    /// Leases due events for several bots at once: for each `(bot,
    /// limit)` of `wants`, what [`Store::claim_bot_events`] would, in the
    /// same order. A pass of fair dispatch asks once for all the bots it
    /// gives a turn, so a store whose every claim is a round trip to a
    /// server makes one, not one per bot. By default, bot by bot; on an
    /// error, what was leased before it comes back when its lease ends,
    /// as after a claim whose answer was lost.
    async fn claim_for_bots(
        &self,
        owner: &str,
        wants: &[(BotName, u32)],
        now: Timestamp,
        lease_ms: i64,
    ) -> Result<Vec<Vec<QueuedEvent>>> {
        let mut claimed = Vec::with_capacity(wants.len());
        for (bot, limit) in wants {
            claimed.push(
                self.claim_bot_events(owner, bot, now, lease_ms, *limit)
                    .await?,
            );
        }
        Ok(claimed)
    }

    /// Of `bots`, those that may have due events now: a pass over many
    /// bots, most of them idle, asks once instead of claiming for each.
    /// A bot left out is only asked again at the next pass, so the answer
    /// may include bots without due events but must not miss one that
    /// had some when it was read. By default every bot is kept.
    async fn bots_with_due_events(
        &self,
        bots: Vec<BotName>,
        _now: Timestamp,
    ) -> Result<Vec<BotName>> {
        Ok(bots)
    }

    /// Leases up to `limit` due events of the bots not in `except` (keys
    /// of [`bot_key`]), oldest first, at most one per ticket.
    async fn claim_other_events(
        &self,
        owner: &str,
        except: &[String],
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedEvent>>;

    /// Gives a claimed event back, due again at `available_at`.
    /// `failed` counts an attempt and records the error.
    async fn release_event(
        &self,
        id: EventId,
        available_at: Timestamp,
        failed: Option<&str>,
    ) -> Result<()>;

    /// Parks an event that failed too often, together with the error
    /// ticket (and its logs) filed about it, in one transaction.
    async fn park_event(
        &self,
        id: EventId,
        error: &str,
        report: &Commit,
        now: Timestamp,
    ) -> Result<()>;

    /// Makes a ticket's parked events pending again, as new (the `retry`
    /// action of an error ticket); returns how many.
    async fn unpark_events(&self, ticket: TicketId, now: Timestamp) -> Result<u64>;

    /// Deletes an event that no longer applies (its ticket moved on).
    async fn drop_event(&self, id: EventId) -> Result<()>;

    /// Makes the pending events of one bot's state due now, e.g. when its
    /// bot has just been loaded. Events in backoff after a failure keep
    /// their delay unless `retries` is set (a manual restart).
    async fn wake_events(&self, bot: &BotName, now: Timestamp, retries: bool) -> Result<u64>;

    /// Events in any state, for operators and tests.
    async fn events_of(&self, ticket: TicketId) -> Result<Vec<QueuedEvent>>;

    /// Records a bot's status as this process sees it.
    async fn record_bot(&self, bot: &BotRecord) -> Result<()>;

    /// A bot's last recorded status.
    async fn bot_record(&self, name: &str) -> Result<Option<BotRecord>>;

    // People. `Duplicate` when a login or group name is taken.
    async fn create_user(&self, user: &NewUser, now: Timestamp) -> Result<User>;
    async fn user(&self, id: i64) -> Result<Option<User>>;
    async fn users(&self) -> Result<Vec<User>>;
    async fn count_users(&self) -> Result<i64>;
    async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Token>;
    /// A user's tokens, live and revoked, newest first (never their
    /// secret, which is not kept).
    async fn tokens_of(&self, user_id: i64) -> Result<Vec<Token>>;
    /// Revokes a token; `false` if there is none (or it was revoked).
    async fn revoke_token(&self, id: i64, now: Timestamp) -> Result<bool>;
    /// The user a live token belongs to; records its use.
    async fn authenticate(&self, token_hash: &str, now: Timestamp)
    -> Result<Option<Authenticated>>;
    async fn create_group(&self, name: &str, now: Timestamp) -> Result<Group>;
    async fn group(&self, name: &str) -> Result<Option<Group>>;
    async fn groups(&self) -> Result<Vec<Group>>;
    /// Adds or removes a member; `false` if nothing changed.
    async fn set_member(&self, group_id: i64, user_id: i64, member: bool) -> Result<bool>;
    /// The groups a user belongs to.
    async fn groups_of(&self, user_id: i64) -> Result<Vec<Group>>;
    /// Whether a user is (or was) a stakeholder of some ticket of a
    /// metaservice: the people its bots may address.
    async fn involved_in(&self, user_id: i64, metaservice: &str) -> Result<bool>;

    // Tickets as people see them.
    async fn can_see(&self, viewer: Viewer, ticket: TicketId) -> Result<bool>;
    /// Visible tickets matching `filter`, newest first, at most `filter.limit`.
    async fn list_tickets(&self, viewer: Viewer, filter: &TicketFilter) -> Result<Vec<Ticket>>;
    /// How many of the newest `filter.limit` visible tickets matching
    /// `filter` (its cursor ignored) are in each state: a listing's counts
    /// per state, bounded so that they cost at most one page of that size.
    async fn count_tickets(&self, viewer: Viewer, filter: &TicketFilter)
    -> Result<Vec<StateCount>>;
    /// The children of `parent` the viewer may see, oldest first, at
    /// most `limit`.
    async fn children(&self, viewer: Viewer, parent: TicketId, limit: u32) -> Result<Vec<Ticket>>;
    async fn comments(&self, ticket: TicketId) -> Result<Vec<Comment>>;

    // The inbox: unread first, then newest first; `after` is the cursor
    // (the last notification of the previous page).
    async fn notifications(
        &self,
        user_id: i64,
        after: Option<(bool, i64)>,
        limit: u32,
    ) -> Result<Vec<Notification>>;
    async fn mark_read(&self, user_id: i64, id: i64, now: Timestamp) -> Result<bool>;

    // Sweeps.
    /// Queues a `sweep` event for every open ticket in the bot's state that
    /// is neither in the proceeded list nor already queued; returns how
    /// many. Indexed by state: its cost follows the tickets in that state.
    async fn sweep(&self, bot: &BotName, now: Timestamp) -> Result<u64>;
    /// The open tickets in the bot's state (the seed's current ticket list).
    async fn current_tickets(&self, bot: &BotName, limit: u32) -> Result<Vec<TicketId>>;

    // Retention.
    /// Closed tickets of a type closed before `closed_before`, oldest first.
    async fn expired(
        &self,
        metaservice: &str,
        ticket_type: &str,
        closed_before: Timestamp,
        limit: u32,
    ) -> Result<Vec<TicketId>>;
    /// Archives (when `archive`) and deletes these tickets in one transaction.
    async fn retire(&self, ids: &[TicketId], archive: bool, now: Timestamp) -> Result<u64>;
    /// An archived ticket's document.
    async fn archived(&self, id: TicketId) -> Result<Option<serde_json::Value>>;

    // Timers.
    /// Turns up to `limit` timers due at `now` into events, atomically;
    /// returns how many fired.
    async fn fire_due_timers(&self, now: Timestamp, limit: u32) -> Result<u64>;
    /// When the next timer falls due, as far as this process knows without
    /// asking the database (`None`: not known, or no timer pending). The
    /// engine's firing task sleeps until then instead of a whole poll
    /// interval, so a wait ends on time, not up to `poll_interval_ms` late.
    fn next_timer_due(&self) -> Option<Timestamp>;
    /// Re-times the pending lifetimes of a ticket type's tickets in one
    /// state, `(metaservice, ticket type, state code)`, after a settings
    /// change (`None`: no lifetime any more, they are dropped).
    async fn retime_lifetimes(
        &self,
        state: (&str, &str, u32),
        lifetime_ms: Option<i64>,
    ) -> Result<u64>;
    /// Re-times the pending reminders of a ticket type's tickets in one
    /// state after a settings change: the next falls `every_ms` after the
    /// last one sent (`None`: no more reminders, they are dropped), and
    /// `repeats_delta` is added to the number still to come (a ticket with
    /// none left loses its reminder).
    async fn retime_reminders(
        &self,
        state: (&str, &str, u32),
        every_ms: Option<i64>,
        repeats_delta: i64,
    ) -> Result<u64>;
    /// Gives a timer of `kind` (a lifetime or a reminder) to the open
    /// tickets of a ticket type in one state that have none, due `after_ms`
    /// after they entered the state: for a setting that was off and is now
    /// on. A due time already past fires at once.
    async fn start_timers(
        &self,
        kind: TimerKind,
        state: (&str, &str, u32),
        after_ms: i64,
        repeats_left: u32,
        now: Timestamp,
    ) -> Result<u64>;
    async fn timers_of(&self, ticket: TicketId) -> Result<Vec<Timer>>;

    // Quotas.
    /// A metaservice's open tickets, and those its bots created at or
    /// after `since` (indexed by metaservice).
    async fn quota_usage(&self, metaservice: &str, since: Timestamp) -> Result<QuotaUsage>;
    /// A ticket's pending events and timers.
    async fn pending_of(&self, ticket: TicketId) -> Result<Pending>;
    /// The open error ticket filed for a metaservice's quota `cause`.
    async fn open_error(&self, metaservice: &str, cause: &str) -> Result<Option<TicketId>>;

    // Settings changed through the admin API.
    async fn set_settings(&self, change: &SettingsChange, now: Timestamp) -> Result<()>;
    /// The last `limit` settings changes, newest first.
    async fn settings_history(&self, limit: u32) -> Result<Vec<SettingsRecord>>;
    /// Every override: (metaservice, ticket type, settings).
    async fn settings_overrides(&self) -> Result<Vec<(String, String, serde_json::Value)>>;

    // Several nodes on one database (PostgreSQL). The defaults are those
    // of a store that serves one process (SQLite): one node, alive while
    // the process is, with nobody to signal and every job its own.

    /// This node's id: it names its leases and its bot records.
    fn node_id(&self) -> &str {
        "local"
    }

    /// Whether the database answers (a round trip, not a ticket read).
    async fn ping(&self) -> Result<()>;

    /// The queue and the timers now, for the supervisor and `/metrics`:
    /// each figure from an index, none from a scan of the tickets.
    async fn backlog(&self, now: Timestamp) -> Result<Backlog>;

    /// Open tickets per metaservice, type and state, for `/metrics`.
    async fn open_tickets(&self) -> Result<Vec<OpenCount>>;

    /// Calls `observer` after every commit batch from now on (one
    /// observer: a second call replaces the first).
    fn observe_batches(&self, observer: BatchObserver);

    // The outbox (`outbox.rs`).

    /// Deliveries due at `now` and not leased, leased to this node for
    /// `lease_ms`, oldest first.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<Delivery>>;

    /// Records an attempt at a claimed delivery and frees its lease.
    async fn settle_delivery(&self, id: i64, attempt: &Attempt, now: Timestamp) -> Result<()>;

    /// A failed delivery made due again, its attempts reset; false when
    /// there is no failed delivery `id`.
    async fn resend_delivery(&self, id: i64, now: Timestamp) -> Result<bool>;

    /// The deliveries of these notifications, in id order.
    async fn deliveries_of(&self, notifications: &[i64]) -> Result<Vec<DeliveryState>>;

    /// Whether `user` gets e-mails (on by default, when they have an
    /// address); false when there is no such user.
    async fn set_email_notifications(&self, user: i64, on: bool) -> Result<bool>;

    // Passwords and console sessions.

    /// Sets (or, with `None`, removes) a user's password hash, and ends
    /// their sessions; false when there is no such user.
    async fn set_password(&self, user: i64, hash: Option<&str>) -> Result<bool>;

    /// The user `login` and their password hash, if they have a password.
    async fn password_of(&self, login: &str) -> Result<Option<(User, String)>>;

    /// Records a new session (and forgets expired ones).
    async fn create_session(&self, session: &NewSession, now: Timestamp) -> Result<()>;

    /// The session's user and CSRF token, while it has not expired.
    async fn session(&self, id_hash: &str, now: Timestamp) -> Result<Option<(User, String)>>;

    async fn end_session(&self, id_hash: &str) -> Result<()>;

    /// Gives back this node's leases as it shuts down (after its in-flight
    /// invocations have finished), so that other nodes need not wait them
    /// out.
    async fn leave(&self) -> Result<()> {
        Ok(())
    }

    /// Every node's record of every bot, for `/api/v1/bots` (empty
    /// on SQLite, whose one node is this process: the registry says it all).
    async fn node_bots(&self) -> Result<Vec<NodeBot>> {
        Ok(Vec::new())
    }

    /// Records that this node is alive, and frees the event leases of
    /// nodes silent for `dead_after_ms`; returns how many were freed.
    async fn heartbeat(&self, _dead_after_ms: i64) -> Result<u64> {
        Ok(0)
    }

    /// Whether this node runs the cluster-wide `job` now: at most one node
    /// is told yes per `every_ms`.
    async fn lead(&self, _job: &str, _now: Timestamp, _every_ms: i64) -> Result<bool> {
        Ok(true)
    }

    /// Tells the other nodes, after what it follows is committed. Cheap:
    /// signals are gathered and sent a few at a time.
    fn announce(&self, _signal: Signal) {}

    /// What other nodes announce from now on. The channel closes when the
    /// store has nobody to hear from.
    fn signals(&self) -> tokio::sync::broadcast::Receiver<Signal> {
        tokio::sync::broadcast::channel(1).1
    }

    /// The notifications among `ids` that are for one of `users`, for the
    /// event streams of a node that did not commit them.
    async fn notifications_by_id(&self, _ids: &[i64], _users: &[i64]) -> Result<Vec<Notification>> {
        Ok(Vec::new())
    }
}
