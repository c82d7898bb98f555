//! The database: one [`Store`] trait, the seam that backends plug into.
//! SQLite (`sqlite/`) is the embedded default; PostgreSQL is to follow
//! behind the same trait and the same test suite.
//!
//! Every write of the engine and the API goes through [`Store::commit`]:
//! one transaction that applies a [`Commit`] whole or not at all, guarded by
//! the versions of the tickets it changes.

mod people;
mod sqlite;
mod types;

use async_trait::async_trait;
use thiserror::Error;

pub use people::*;
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
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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
    async fn claim_bot_events(
        &self,
        owner: &str,
        bot: &BotName,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedEvent>>;

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
    /// Every override: (metaservice, ticket type, settings).
    async fn settings_overrides(&self) -> Result<Vec<(String, String, serde_json::Value)>>;
}
