//! Timers: inserted with the commit that asks for them (`apply.rs`), fired
//! into events when due (on the committer, so that firing rides the same
//! batches as commits), dropped when their ticket leaves the state they
//! belong to, and woken when a waited-for ticket closes.
//!
//! Several nodes fire timers at once: each locks the due timers it takes
//! with `FOR UPDATE SKIP LOCKED` and deletes them in the transaction that
//! inserts their events, so a timer fires exactly once.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{Executor, Postgres};

use super::read::{get, small};
use crate::model::{TicketId, Timestamp};
use crate::store::{Result, Timer, TimerKind};

/// How long what this node knows of the next due time is trusted. Other
/// nodes add timers this node does not hear of; a node that adds one fires
/// it itself, and this bound is how late a timer is fired when that node
/// dies first.
const RECHECK: Duration = Duration::from_secs(1);

/// The earliest due time of the pending timers, as this node last saw it:
/// the engine's firing task asks for due timers on every pass of the
/// dispatcher, and most passes must then cost nothing, not even a round
/// trip (see `sqlite/timers.rs`).
///
/// A firing and a change may overlap (jobs of one batch, batches of
/// several committers, settings re-timing timers through the pool), so
/// what a firing learns may be stale by the time it is stored: every
/// change (a commit adding a timer, settings re-timing them) bumps
/// `changes`, and a firing that saw another `changes` when it started
/// stores "unknown" instead of what it read.
/// Commits lower the hint only once they are durable, so a firing that
/// did not see their timer has started before, and sees the bump.
#[derive(Debug)]
pub(super) struct NextDue(Mutex<Hint>);

#[derive(Debug, Clone, Copy)]
struct Hint {
    /// The next due time, [`UNKNOWN`] or [`NONE`].
    at: i64,
    changes: u64,
    learnt: Option<Instant>,
}

/// Not known: ask the database.
const UNKNOWN: i64 = i64::MIN;
/// No timer has a due time.
const NONE: i64 = i64::MAX;

impl Default for NextDue {
    fn default() -> Self {
        NextDue(Mutex::new(Hint {
            at: UNKNOWN,
            changes: 0,
            learnt: None,
        }))
    }
}

impl NextDue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Hint> {
        // A panic while holding this lock cannot leave the hint invalid.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a timer may be due at `now`.
    pub(super) fn may_be_due(&self, now: Timestamp) -> bool {
        let hint = *self.lock();
        hint.at == UNKNOWN || hint.at <= now || hint.learnt.is_none_or(|t| t.elapsed() >= RECHECK)
    }

    /// A timer due at `at` was committed by this node.
    pub(super) fn lower(&self, at: Timestamp) {
        let mut hint = self.lock();
        hint.changes += 1;
        // UNKNOWN is the smallest value: it stays unknown.
        hint.at = hint.at.min(at);
    }

    pub(super) fn forget(&self) {
        let mut hint = self.lock();
        hint.changes += 1;
        hint.at = UNKNOWN;
    }

    /// The next due time, when known (perhaps older than [`RECHECK`]: a
    /// hint of when to look, not a promise that nothing is due before).
    pub(super) fn known(&self) -> Option<Timestamp> {
        Some(self.lock().at).filter(|at| *at != UNKNOWN && *at != NONE)
    }

    /// The change count a firing starts from.
    pub(super) fn changes(&self) -> u64 {
        self.lock().changes
    }

    /// Stores what a firing that started at `changes` read.
    fn learn(&self, at: Option<i64>, changes: u64) {
        let mut hint = self.lock();
        if hint.changes == changes {
            hint.at = at.unwrap_or(NONE);
            hint.learnt = Some(Instant::now());
        } else {
            hint.at = UNKNOWN;
        }
    }
}

/// Turns up to `limit` due timers into events, oldest first; returns how
/// many, and learns when the next one is due. On a committer's connection.
/// The payload is built as SQLite's `json_object('due_at', ..,
/// 'repeats_left', ..)` writes it, byte for byte.
pub(super) async fn fire_due(
    conn: &mut PgConnection,
    now: Timestamp,
    limit: u32,
    next: &NextDue,
    changes: u64,
) -> Result<u64> {
    let fired = sqlx::query(
        "WITH due AS ( \
           SELECT id FROM timers WHERE due_at IS NOT NULL AND due_at <= $1 \
           ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED), \
         gone AS (DELETE FROM timers t USING due WHERE t.id = due.id \
           RETURNING t.id, t.ticket_id, t.state_code, t.kind, t.due_at, t.repeats_left) \
         INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at) \
         SELECT ticket_id, state_code, CASE kind WHEN 'lifetime' THEN 'timeout' \
           WHEN 'reminder' THEN 'reminder' ELSE 'wait_ended' END, \
           '{\"due_at\":' || due_at || ',\"repeats_left\":' || repeats_left || '}', $1, $1 \
         FROM gone ORDER BY due_at, id",
    )
    .bind(now)
    .bind(i64::from(limit))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let at: Option<i64> =
        sqlx::query_scalar("SELECT MIN(due_at) FROM timers WHERE due_at IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?;
    next.learn(at, changes);
    Ok(fired)
}

/// Timers of one state of one ticket type: `$1` is the state code, `$2`
/// the metaservice, `$3` the ticket type; a statement's own values follow.
const IN_STATE: &str = "state_code = $1 AND ticket_id IN \
    (SELECT id FROM tickets WHERE metaservice = $2 AND ticket_type = $3)";

/// (metaservice, ticket type, state code).
type State<'a> = (&'a str, &'a str, u32);

/// Runs `sql` (which uses [`IN_STATE`]) for `state`, with `values` as
/// `$4`, `$5`…; returns the rows it touched.
async fn in_state<'e, E>(ex: E, sql: String, state: State<'_>, values: &[i64]) -> Result<u64>
where
    E: Executor<'e, Database = Postgres>,
{
    let (metaservice, ticket_type, code) = state;
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(i64::from(code))
        .bind(metaservice)
        .bind(ticket_type);
    for v in values {
        query = query.bind(*v);
    }
    Ok(query.execute(ex).await?.rows_affected())
}

/// See [`crate::store::Store::retime_lifetimes`].
pub(super) async fn retime_lifetimes(
    pool: &PgPool,
    state: State<'_>,
    lifetime_ms: Option<i64>,
) -> Result<u64> {
    match lifetime_ms {
        Some(ms) => {
            let sql = format!(
                "UPDATE timers SET due_at = base_at + $4 WHERE kind = 'lifetime' AND {IN_STATE}"
            );
            in_state(pool, sql, state, &[ms]).await
        }
        None => {
            let sql = format!("DELETE FROM timers WHERE kind = 'lifetime' AND {IN_STATE}");
            in_state(pool, sql, state, &[]).await
        }
    }
}

/// See [`crate::store::Store::retime_reminders`]. A reminder timer sends
/// one reminder and then `repeats_left` more, so `repeats_left + 1` are to
/// come.
pub(super) async fn retime_reminders(
    pool: &PgPool,
    state: State<'_>,
    every_ms: Option<i64>,
    repeats_delta: i64,
) -> Result<u64> {
    let Some(every) = every_ms else {
        let sql = format!("DELETE FROM timers WHERE kind = 'reminder' AND {IN_STATE}");
        return in_state(pool, sql, state, &[]).await;
    };
    let mut tx = pool.begin().await?;
    let used_up = format!(
        "DELETE FROM timers WHERE kind = 'reminder' AND repeats_left + 1 + $4 <= 0 AND {IN_STATE}"
    );
    let dropped = in_state(&mut *tx, used_up, state, &[repeats_delta]).await?;
    let retime = format!(
        "UPDATE timers SET due_at = base_at + $4, repeats_left = repeats_left + $5 \
         WHERE kind = 'reminder' AND {IN_STATE}"
    );
    let changed = in_state(&mut *tx, retime, state, &[every, repeats_delta]).await?;
    tx.commit().await?;
    Ok(dropped + changed)
}

/// See [`crate::store::Store::start_timers`]. A ticket entered its state
/// at its last log row that moved it there (or at its creation).
pub(super) async fn start(
    pool: &PgPool,
    kind: TimerKind,
    (metaservice, ticket_type, state_code): State<'_>,
    after_ms: i64,
    repeats_left: u32,
    now: Timestamp,
) -> Result<u64> {
    let done = sqlx::query(
        "INSERT INTO timers (ticket_id, state_code, kind, due_at, base_at, repeats_left, \
         created_at) SELECT id, state_code, $1, entered + $2, entered, $3, $4 FROM ( \
           SELECT t.id, t.state_code, COALESCE((SELECT MAX(l.created_at) FROM ticket_logs l \
             WHERE l.ticket_id = t.id AND l.to_state = t.state_code), t.created_at) AS entered \
           FROM tickets t \
           WHERE t.metaservice = $5 AND t.ticket_type = $6 AND t.state_code = $7 \
             AND t.status = 'open' \
             AND NOT EXISTS (SELECT 1 FROM timers x WHERE x.ticket_id = t.id AND x.kind = $1) \
           ORDER BY t.id) AS open_tickets",
    )
    .bind(kind.as_str())
    .bind(after_ms)
    .bind(i64::from(repeats_left))
    .bind(now)
    .bind(metaservice)
    .bind(ticket_type)
    .bind(i64::from(state_code))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn of(pool: &PgPool, ticket: TicketId) -> Result<Vec<Timer>> {
    let rows = sqlx::query(
        "SELECT id, ticket_id, state_code, kind, due_at, other_ticket FROM timers \
         WHERE ticket_id = $1 ORDER BY id",
    )
    .bind(ticket)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Timer {
                id: get(r, "id")?,
                ticket_id: get(r, "ticket_id")?,
                state_code: small(r, "state_code")?,
                kind: get(r, "kind")?,
                due_at: get(r, "due_at")?,
                other_ticket: get(r, "other_ticket")?,
            })
        })
        .collect()
}
