//! Timers: inserted with the commit that asks for them (`apply.rs`), fired into events
//! by the engine's firing task when due, dropped when their ticket leaves the state
//! they belong to, and woken when a waited-for ticket closes.

use std::sync::atomic::{AtomicI64, Ordering};

use rusqlite::{Connection, params};
use sqlx::{Row, Sqlite, SqlitePool};

use crate::model::{TicketId, Timestamp};
use crate::store::{Result, Timer, TimerKind};

/// The earliest due time of the pending timers, as the writer last saw
/// it: the engine's firing task asks for due timers on every pass of the
/// dispatcher, and most passes must then cost nothing, not even a read.
///
/// Only the writer thread sets it exactly (after firing, in the order of
/// its transactions); a commit that adds a timer lowers it there too. Any
/// other change (settings re-timing timers through the pool, a failed
/// batch) makes it unknown, which sends the next check to the writer.
#[derive(Debug)]
pub(super) struct NextDue(AtomicI64);

/// Not known: ask the database.
const UNKNOWN: i64 = i64::MIN;
/// No timer has a due time.
const NONE: i64 = i64::MAX;

impl Default for NextDue {
    fn default() -> Self {
        NextDue(AtomicI64::new(UNKNOWN))
    }
}

impl NextDue {
    /// Whether a timer may be due at `now`.
    pub(super) fn may_be_due(&self, now: Timestamp) -> bool {
        let at = self.0.load(Ordering::Acquire);
        at == UNKNOWN || at <= now
    }

    /// A timer due at `at` was added (on the writer thread).
    pub(super) fn lower(&self, at: Timestamp) {
        // UNKNOWN is the smallest value: it stays unknown.
        self.0.fetch_min(at, Ordering::AcqRel);
    }

    pub(super) fn forget(&self) {
        self.0.store(UNKNOWN, Ordering::Release);
    }

    /// The next due time, when known.
    pub(super) fn known(&self) -> Option<Timestamp> {
        Some(self.0.load(Ordering::Acquire)).filter(|at| *at != UNKNOWN && *at != NONE)
    }

    /// Reads the earliest due time on the writer's connection.
    fn learn(&self, conn: &Connection) -> Result<()> {
        let at: Option<i64> = conn
            .prepare_cached("SELECT MIN(due_at) FROM timers WHERE due_at IS NOT NULL")?
            .query_row([], |r| r.get(0))?;
        self.0.store(at.unwrap_or(NONE), Ordering::Release);
        Ok(())
    }
}

/// Turns up to `limit` due timers into events, oldest first; returns how
/// many, and learns when the next one is due. On the writer's connection.
pub(super) fn fire_due(
    conn: &Connection,
    now: Timestamp,
    limit: u32,
    next: &NextDue,
) -> Result<u64> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM timers WHERE due_at IS NOT NULL AND due_at <= ?1 \
             ORDER BY due_at, id LIMIT ?2",
        )?
        .query_map(params![now, limit], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if ids.is_empty() {
        next.learn(conn)?;
        return Ok(0);
    }
    // With the event's bot key, as `apply.rs` inserts events: the
    // `events_bot` trigger then does not rewrite each new row.
    let mut insert = conn.prepare_cached(
        "INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at, bot) \
         SELECT x.ticket_id, x.state_code, CASE x.kind WHEN 'lifetime' THEN 'timeout' \
         WHEN 'reminder' THEN 'reminder' ELSE 'wait_ended' END, \
         json_object('due_at', x.due_at, 'repeats_left', x.repeats_left), ?1, ?1, \
         t.metaservice || '/' || t.ticket_type || '/' || x.state_code \
         FROM timers x JOIN tickets t ON t.id = x.ticket_id WHERE x.id = ?2",
    )?;
    let mut delete = conn.prepare_cached("DELETE FROM timers WHERE id = ?1")?;
    for id in &ids {
        insert.execute(params![now, id])?;
        delete.execute([id])?;
    }
    next.learn(conn)?;
    Ok(ids.len() as u64)
}

/// Timers of one state of one ticket type: `?1` is the state code, `?2`
/// the metaservice, `?3` the ticket type; a statement's own values follow.
const IN_STATE: &str = "state_code = ?1 AND ticket_id IN \
    (SELECT id FROM tickets WHERE metaservice = ?2 AND ticket_type = ?3)";

/// Runs `sql` (which uses [`IN_STATE`]) for `state`, with `values` as
/// `?4`, `?5`…; returns the rows it touched.
async fn in_state<'e, E>(ex: E, sql: String, state: State<'_>, values: &[i64]) -> Result<u64>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let (metaservice, ticket_type, code) = state;
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(code)
        .bind(metaservice)
        .bind(ticket_type);
    for v in values {
        query = query.bind(*v);
    }
    Ok(query.execute(ex).await?.rows_affected())
}

/// (metaservice, ticket type, state code).
type State<'a> = (&'a str, &'a str, u32);

/// See [`crate::store::Store::retime_lifetimes`].
pub(super) async fn retime_lifetimes(
    pool: &SqlitePool,
    state: State<'_>,
    lifetime_ms: Option<i64>,
) -> Result<u64> {
    match lifetime_ms {
        Some(ms) => {
            let sql = format!(
                "UPDATE timers SET due_at = base_at + ?4 WHERE kind = 'lifetime' AND {IN_STATE}"
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
    pool: &SqlitePool,
    state: State<'_>,
    every_ms: Option<i64>,
    repeats_delta: i64,
) -> Result<u64> {
    let Some(every) = every_ms else {
        let sql = format!("DELETE FROM timers WHERE kind = 'reminder' AND {IN_STATE}");
        return in_state(pool, sql, state, &[]).await;
    };
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let used_up = format!(
        "DELETE FROM timers WHERE kind = 'reminder' AND repeats_left + 1 + ?4 <= 0 AND {IN_STATE}"
    );
    let dropped = in_state(&mut *tx, used_up, state, &[repeats_delta]).await?;
    let retime = format!(
        "UPDATE timers SET due_at = base_at + ?4, repeats_left = repeats_left + ?5 \
         WHERE kind = 'reminder' AND {IN_STATE}"
    );
    let changed = in_state(&mut *tx, retime, state, &[every, repeats_delta]).await?;
    tx.commit().await?;
    Ok(dropped + changed)
}

/// See [`crate::store::Store::start_timers`]. A ticket entered its state
/// at its last log row that moved it there (or at its creation).
pub(super) async fn start(
    pool: &SqlitePool,
    kind: TimerKind,
    (metaservice, ticket_type, state_code): State<'_>,
    after_ms: i64,
    repeats_left: u32,
    now: Timestamp,
) -> Result<u64> {
    let done = sqlx::query(
        "INSERT INTO timers (ticket_id, state_code, kind, due_at, base_at, repeats_left, created_at) \
         SELECT id, state_code, ?1, entered + ?2, entered, ?3, ?4 FROM ( \
           SELECT t.id, t.state_code, COALESCE((SELECT MAX(l.created_at) FROM ticket_logs l \
             WHERE l.ticket_id = t.id AND l.to_state = t.state_code), t.created_at) AS entered \
           FROM tickets t \
           WHERE t.metaservice = ?5 AND t.ticket_type = ?6 AND t.state_code = ?7 AND t.status = 'open' \
             AND NOT EXISTS (SELECT 1 FROM timers x WHERE x.ticket_id = t.id AND x.kind = ?1))",
    )
    .bind(kind.as_str())
    .bind(after_ms)
    .bind(repeats_left)
    .bind(now)
    .bind(metaservice)
    .bind(ticket_type)
    .bind(state_code)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn of(pool: &SqlitePool, ticket: TicketId) -> Result<Vec<Timer>> {
    let rows = sqlx::query(
        "SELECT id, ticket_id, state_code, kind, due_at, other_ticket FROM timers WHERE ticket_id = ? ORDER BY id",
    )
    .bind(ticket)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Timer {
                id: r.try_get("id")?,
                ticket_id: r.try_get("ticket_id")?,
                state_code: r.try_get("state_code")?,
                kind: r.try_get("kind")?,
                due_at: r.try_get("due_at")?,
                other_ticket: r.try_get("other_ticket")?,
            })
        })
        .collect()
}
