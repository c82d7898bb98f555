//! What the supervisor and `/metrics` read about the work waiting in the
//! store: the event queue, the timers, the open tickets per state, and the
//! size and duration of the commit batches as they are written.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::model::Timestamp;

/// The queue and the timers at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Events due now and not parked: waiting for a bot, or running.
    pub events_due: u64,
    /// When the oldest unfinished (pending, not parked) event was queued,
    /// due or not: an event retried again and again, or waiting for a bot
    /// that never comes, keeps its age.
    pub oldest_queued_at: Option<Timestamp>,
    /// Events parked after their last attempt (each has an error ticket).
    pub parked: u64,
    /// Timers with a due time (a wait on another ticket has none).
    pub timers_pending: u64,
    /// The earliest due time among them: in the past by more than a poll
    /// or two, the timers are not being fired.
    pub next_timer_at: Option<Timestamp>,
}

/// Open tickets in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCount {
    pub metaservice: String,
    pub ticket_type: String,
    pub state_code: u32,
    pub count: u64,
}

/// One commit batch, as written: how many commits rode in it and how long
/// its transaction took, fsync included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    pub commits: usize,
    pub took: Duration,
}

/// Told of every batch by the committer's thread or task: it must be
/// cheap (a few atomic adds) and never block.
pub type BatchObserver = Arc<dyn Fn(Batch) + Send + Sync>;

/// The backlog in one statement for both backends (`$1` is now; SQLite
/// reads it as its first parameter too). Each sub-select walks one index:
/// `events_due` (status, available_at), the partial `timers_due`, and the
/// primary key for the oldest unfinished event (ids grow with time).
pub(super) const BACKLOG_SQL: &str = "\
    SELECT (SELECT COUNT(*) FROM events WHERE status = 'pending' AND available_at <= $1), \
           (SELECT created_at FROM events WHERE status = 'pending' ORDER BY id LIMIT 1), \
           (SELECT COUNT(*) FROM events WHERE status = 'parked'), \
           (SELECT COUNT(*) FROM timers WHERE due_at IS NOT NULL), \
           (SELECT MIN(due_at) FROM timers WHERE due_at IS NOT NULL)";

/// [`BACKLOG_SQL`]'s row.
pub(super) type BacklogRow = (i64, Option<i64>, i64, i64, Option<i64>);

impl Backlog {
    pub(super) fn from_row(row: BacklogRow) -> Self {
        let (due, oldest, parked, timers, next_timer) = row;
        let count = |n: i64| n.max(0) as u64;
        Backlog {
            events_due: count(due),
            oldest_queued_at: oldest,
            parked: count(parked),
            timers_pending: count(timers),
            next_timer_at: next_timer,
        }
    }
}

/// Open tickets per state, for both backends.
pub(super) const OPEN_TICKETS_SQL: &str = "\
    SELECT metaservice, ticket_type, state_code, COUNT(*) FROM tickets WHERE status = 'open' \
     GROUP BY metaservice, ticket_type, state_code ORDER BY metaservice, ticket_type, state_code";

/// [`OPEN_TICKETS_SQL`]'s row.
pub(super) type OpenRow = (String, String, i64, i64);

impl From<OpenRow> for OpenCount {
    fn from((metaservice, ticket_type, state_code, count): OpenRow) -> Self {
        OpenCount {
            metaservice,
            ticket_type,
            state_code: state_code.clamp(0, i64::from(u32::MAX)) as u32,
            count: count.max(0) as u64,
        }
    }
}

/// Where a backend's committer finds the [`BatchObserver`], shared between
/// the store and its committer.
#[derive(Clone, Default)]
pub(super) struct BatchHook(Arc<RwLock<Option<BatchObserver>>>);

impl BatchHook {
    pub(super) fn set(&self, observer: BatchObserver) {
        if let Ok(mut slot) = self.0.write() {
            *slot = Some(observer);
        }
    }

    /// Tells the observer, if any, of a batch just written.
    pub(super) fn tell(&self, commits: usize, took: Duration) {
        if let Ok(slot) = self.0.read()
            && let Some(observer) = slot.as_ref()
        {
            observer(Batch { commits, took });
        }
    }
}
