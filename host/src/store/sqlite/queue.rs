//! The event queue. A worker claims due events with a lease; only the
//! oldest pending event of a ticket can be claimed, so a ticket's events
//! run one at a time and in order, whatever the number of workers.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use super::read::json_column;
use crate::model::{BotName, TicketId, Timestamp};
use crate::store::{EventId, EventKind, QueuedEvent, Result, StoreError};

const EVENT_COLUMNS: &str =
    "id, ticket_id, state_code, kind, payload, status, attempts, available_at, last_error";

/// Due, unleased, and the oldest pending event of its ticket: what any
/// claim may take. `?3` is now.
const CLAIMABLE: &str = "e.status = 'pending' AND e.available_at <= ?3 \
     AND (e.lease_until IS NULL OR e.lease_until <= ?3) \
     AND e.id = (SELECT MIN(f.id) FROM events f \
                 WHERE f.ticket_id = e.ticket_id AND f.status = 'pending')";

/// The rows a bot's claim picks (see [`claim_for_bot`]): `?3` now, `?4`
/// the limit, `?5` the bot's key.
pub(super) fn bot_due() -> String {
    format!(
        "SELECT e.id FROM events e WHERE e.bot = ?5 AND {CLAIMABLE} \
         ORDER BY e.available_at, e.id LIMIT ?4"
    )
}

/// Leases the events `picked` selects (with `?3` now, `?4` the limit, and
/// `fifth` as `?5` if given) to `owner`, oldest first.
async fn lease(
    pool: &SqlitePool,
    picked: &str,
    fifth: Option<String>,
    owner: &str,
    now: Timestamp,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<QueuedEvent>> {
    let sql = format!(
        "UPDATE events SET lease_owner = ?1, lease_until = ?2 WHERE id IN ({picked}) \
         RETURNING {EVENT_COLUMNS}"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit);
    if let Some(value) = fifth {
        query = query.bind(value);
    }
    let rows = query.fetch_all(pool).await?;
    let mut events: Vec<QueuedEvent> = rows.iter().map(decode).collect::<Result<_>>()?;
    events.sort_by_key(|e| (e.available_at, e.id));
    Ok(events)
}

/// Leases up to `limit` due events of any bot, oldest first.
pub(super) async fn claim(
    pool: &SqlitePool,
    owner: &str,
    now: Timestamp,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<QueuedEvent>> {
    let picked = format!(
        "SELECT e.id FROM events e WHERE {CLAIMABLE} ORDER BY e.available_at, e.id LIMIT ?4"
    );
    lease(pool, &picked, None, owner, now, lease_ms, limit).await
}

/// Leases up to `limit` due events of one bot (its key, see
/// [`crate::store::bot_key`]), oldest first, at most one per ticket. The
/// `events_by_bot` index makes this cost the events it takes, however long
/// the bot's queue is.
pub(super) async fn claim_for_bot(
    pool: &SqlitePool,
    owner: &str,
    bot: &str,
    now: Timestamp,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<QueuedEvent>> {
    let key = Some(bot.to_string());
    lease(pool, &bot_due(), key, owner, now, lease_ms, limit).await
}

/// Leases up to `limit` due events of bots not in `except`, oldest first,
/// at most one per ticket: the work no loaded bot takes.
pub(super) async fn claim_others(
    pool: &SqlitePool,
    owner: &str,
    except: &[String],
    now: Timestamp,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<QueuedEvent>> {
    let picked = format!(
        "SELECT e.id FROM events e WHERE {CLAIMABLE} \
           AND (e.bot IS NULL OR e.bot NOT IN (SELECT value FROM json_each(?5))) \
         ORDER BY e.available_at, e.id LIMIT ?4"
    );
    let except = serde_json::to_string(except).unwrap_or_else(|_| "[]".into());
    lease(pool, &picked, Some(except), owner, now, lease_ms, limit).await
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

pub(super) async fn release(
    pool: &SqlitePool,
    id: EventId,
    available_at: Timestamp,
    failed: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE events SET lease_owner = NULL, lease_until = NULL, available_at = ?, \
         attempts = attempts + ?, last_error = COALESCE(?, last_error) WHERE id = ?",
    )
    .bind(available_at)
    .bind(i64::from(failed.is_some()))
    .bind(failed)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn park(
    tx: &mut Transaction<'static, Sqlite>,
    id: EventId,
    error: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE events SET status = 'parked', lease_owner = NULL, lease_until = NULL, \
         attempts = attempts + 1, last_error = ? WHERE id = ?",
    )
    .bind(error)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn drop_event(pool: &SqlitePool, id: EventId) -> Result<()> {
    sqlx::query("DELETE FROM events WHERE id = ?")
        .bind(id)
        .execute(pool)
        .await?;
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
