//! The event queue. A worker claims due events with a lease (held in the
//! process, `leases.rs`); only the oldest pending event of a ticket can be
//! claimed, so a ticket's events run one at a time and in order, whatever
//! the number of workers. Claims read through the pool; settling an event
//! writes on the writer's connection (`writer.rs`), in its next batch.

use rusqlite::{Connection, params};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use super::leases::Leases;
use super::read::json_column;
use crate::model::{BotName, TicketId, Timestamp};
use crate::store::{EventId, EventKind, QueuedEvent, Result, StoreError};

const EVENT_COLUMNS: &str =
    "id, ticket_id, state_code, kind, payload, status, attempts, available_at, last_error";

/// Due, and the oldest pending event of its ticket: what a claim may
/// take unless it is leased (`leases.rs`). `?1` is now.
const CLAIMABLE: &str = "e.status = 'pending' AND e.available_at <= ?1 \
     AND e.id = (SELECT MIN(f.id) FROM events f \
                 WHERE f.ticket_id = e.ticket_id AND f.status = 'pending')";

/// The rows a bot's claim reads (see [`claim_for_bot`]): `?1` now, `?2`
/// the limit, `?3` the bot's key.
pub(super) fn bot_due() -> String {
    format!(
        "SELECT {EVENT_COLUMNS} FROM events e WHERE e.bot = ?3 AND {CLAIMABLE} \
         ORDER BY e.available_at, e.id LIMIT ?2"
    )
}

/// A claim: reads the due events `picked` selects (with `?1` now, `?2`
/// the limit, and `third` as `?3` if given), oldest first, and leases up
/// to `limit` of them that no live lease covers.
async fn lease(
    pool: &SqlitePool,
    leases: &Leases,
    picked: &str,
    third: Option<String>,
    now: Timestamp,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<QueuedEvent>> {
    let mut claiming = leases.claiming(now).await;
    // Leased events may be among the oldest: read past them.
    let read = i64::from(limit) + claiming.live() as i64;
    let mut query = sqlx::query(sqlx::AssertSqlSafe(picked))
        .bind(now)
        .bind(read);
    if let Some(value) = third {
        query = query.bind(value);
    }
    let rows = query.fetch_all(pool).await?;
    let mut events = Vec::new();
    for row in &rows {
        if events.len() as u32 == limit {
            break;
        }
        let event = decode(row)?;
        if claiming.take(event.id, event.ticket_id, lease_ms) {
            events.push(event);
        }
    }
    Ok(events)
}

/// Leases up to `limit` due events of any bot, oldest first.
pub(super) async fn claim(
    pool: &SqlitePool,
    leases: &Leases,
    now: Timestamp,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<QueuedEvent>> {
    let picked = format!(
        "SELECT {EVENT_COLUMNS} FROM events e WHERE {CLAIMABLE} \
         ORDER BY e.available_at, e.id LIMIT ?2"
    );
    lease(pool, leases, &picked, None, now, lease_ms, limit).await
}

/// Leases up to `limit` due events of one bot (its key, see
/// [`crate::store::bot_key`]), oldest first, at most one per ticket. The
/// `events_by_bot` index makes this cost the events it takes (and those
/// in flight), however long the bot's queue is.
pub(super) async fn claim_for_bot(
    pool: &SqlitePool,
    leases: &Leases,
    bot: &str,
    now: Timestamp,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<QueuedEvent>> {
    let key = Some(bot.to_string());
    lease(pool, leases, &bot_due(), key, now, lease_ms, limit).await
}

/// Leases up to `limit` due events of bots not in `except`, oldest first,
/// at most one per ticket: the work no loaded bot takes.
pub(super) async fn claim_others(
    pool: &SqlitePool,
    leases: &Leases,
    except: &[String],
    now: Timestamp,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<QueuedEvent>> {
    let picked = format!(
        "SELECT {EVENT_COLUMNS} FROM events e WHERE {CLAIMABLE} \
           AND (e.bot IS NULL OR e.bot NOT IN (SELECT value FROM json_each(?3))) \
         ORDER BY e.available_at, e.id LIMIT ?2"
    );
    let except = serde_json::to_string(except).unwrap_or_else(|_| "[]".into());
    lease(pool, leases, &picked, Some(except), now, lease_ms, limit).await
}

fn decode(row: &SqliteRow) -> Result<QueuedEvent> {
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    Ok(QueuedEvent {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        state_code: row.try_get("state_code")?,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("event kind {kind:?}")))?,
        payload: json_column(row, "payload")?,
        parked: status == "parked",
        attempts: row.try_get("attempts")?,
        available_at: row.try_get("available_at")?,
        last_error: row.try_get("last_error")?,
    })
}

/// Gives a claimed event back, due at `available_at`; `failed` counts an
/// attempt. On the writer's connection.
pub(super) fn release(
    conn: &Connection,
    id: EventId,
    available_at: Timestamp,
    failed: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE events SET lease_owner = NULL, lease_until = NULL, available_at = ?1, \
         attempts = attempts + ?2, last_error = COALESCE(?3, last_error) WHERE id = ?4",
    )?
    .execute(params![
        available_at,
        i64::from(failed.is_some()),
        failed,
        id
    ])?;
    Ok(())
}

/// Parks an event that failed for good. On the writer's connection.
pub(super) fn park(conn: &Connection, id: EventId, error: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE events SET status = 'parked', lease_owner = NULL, lease_until = NULL, \
         attempts = attempts + 1, last_error = ?1 WHERE id = ?2",
    )?
    .execute(params![error, id])?;
    Ok(())
}

/// Deletes an event that no longer applies. On the writer's connection.
pub(super) fn drop_event(conn: &Connection, id: EventId) -> Result<()> {
    conn.prepare_cached("DELETE FROM events WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Without `retries`, only events that never ran (attempts = 0) are woken:
/// those in backoff after a failure keep their delay.
pub(super) async fn wake(
    pool: &SqlitePool,
    bot: &BotName,
    now: Timestamp,
    retries: bool,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE events SET available_at = ?1 WHERE status = 'pending' AND (attempts = 0 OR ?5) \
         AND available_at > ?1 AND state_code = ?2 AND ticket_id IN ( \
           SELECT id FROM tickets WHERE metaservice = ?3 AND ticket_type = ?4 AND state_code = ?2)",
    )
    .bind(now)
    .bind(bot.state_code)
    .bind(&bot.metaservice)
    .bind(&bot.ticket_type)
    .bind(retries)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn events_of(pool: &SqlitePool, ticket: TicketId) -> Result<Vec<QueuedEvent>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE ticket_id = ? ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ticket)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode).collect()
}

pub(super) async fn unpark(pool: &SqlitePool, ticket: TicketId, now: Timestamp) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE events SET status = 'pending', attempts = 0, available_at = ?, lease_owner = NULL, \
         lease_until = NULL WHERE ticket_id = ? AND status = 'parked'",
    )
    .bind(now)
    .bind(ticket)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
