//! The event queue. A worker claims due events with a lease (held in the
//! process, `leases.rs`); only the oldest pending event of a ticket can be
//! claimed, so a ticket's events run one at a time and in order, whatever
//! the number of workers. Claims read through the pool; settling an event
//! writes on the writer's connection (`writer.rs`), in its next batch.

use rusqlite::{Connection, OptionalExtension, params};
use sqlx::SqlitePool;

use super::leases::Leases;
use super::read::json_text;
use super::readers::Readers;
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

/// The due events of one bot key, or of none (`None`: events whose
/// ticket's bot could not be named), oldest first, at most `read`.
fn due_of(
    conn: &Connection,
    key: Option<&str>,
    now: Timestamp,
    read: i64,
) -> Result<Vec<QueuedEvent>> {
    let mut stmt = match key {
        Some(_) => conn.prepare_cached(&bot_due())?,
        None => conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events e WHERE e.bot IS NULL AND {CLAIMABLE} \
             ORDER BY e.available_at, e.id LIMIT ?2"
        ))?,
    };
    let mut rows = match key {
        Some(key) => stmt.query(params![now, read, key])?,
        None => stmt.query(params![now, read])?,
    };
    let mut due = Vec::new();
    while let Some(row) = rows.next()? {
        due.push(decode(row)?);
    }
    Ok(due)
}

/// Every bot key that has events, by seeks on `events_by_bot`: its cost
/// follows the number of bots, not the number of events.
fn keys(conn: &Connection) -> Result<Vec<String>> {
    let mut next =
        conn.prepare_cached("SELECT bot FROM events WHERE bot > ?1 ORDER BY bot LIMIT 1")?;
    let mut keys: Vec<String> = Vec::new();
    loop {
        let after = keys.last().map_or("", String::as_str);
        match next.query_row([after], |r| r.get(0)).optional()? {
            Some(key) => keys.push(key),
            None => return Ok(keys),
        }
    }
}

/// Leases up to `limit` of `due` (oldest first) that no live lease
/// covers.
fn take(
    claiming: &mut super::leases::Claiming<'_>,
    due: Vec<QueuedEvent>,
    lease_ms: i64,
    limit: u32,
) -> Vec<QueuedEvent> {
    let mut events = Vec::new();
    for event in due {
        if events.len() as u32 == limit {
            break;
        }
        if claiming.take(event.id, event.ticket_id, lease_ms) {
            events.push(event);
        }
    }
    events
}

/// Leases up to `limit` due events of one bot (its key, see
/// [`crate::store::bot_key`]), oldest first, at most one per ticket. The
/// `events_by_bot` index makes this cost the events it takes (and those
/// in flight), however long the bot's queue is.
pub(super) async fn claim_for_bot(
    readers: &Readers,
    leases: &Leases,
    bot: &str,
    now: Timestamp,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<QueuedEvent>> {
    let mut claiming = leases.claiming(now).await;
    // Leased events may be among the oldest: read past them.
    let read = i64::from(limit) + claiming.live() as i64;
    let due = readers.read(|conn| due_of(conn, Some(bot), now, read))?;
    Ok(take(&mut claiming, due, lease_ms, limit))
}

/// Leases up to `limit` due events of bots not in `except` (and of no
/// bot), oldest first, at most one per ticket: the work no loaded bot
/// takes. Bot by bot, so that a long queue of loaded bots' events is never
/// walked to find the few others.
pub(super) async fn claim_others(
    readers: &Readers,
    leases: &Leases,
    except: &[String],
    now: Timestamp,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<QueuedEvent>> {
    let mut claiming = leases.claiming(now).await;
    let read = i64::from(limit) + claiming.live() as i64;
    let mut due = readers.read(|conn| {
        let mut due = due_of(conn, None, now, read)?;
        for key in keys(conn)? {
            if !except.contains(&key) {
                due.extend(due_of(conn, Some(&key), now, read)?);
            }
        }
        Ok(due)
    })?;
    due.sort_by_key(|e| (e.available_at, e.id));
    Ok(take(&mut claiming, due, lease_ms, limit))
}

/// Leases up to `limit` due events of any bot, oldest first: bot by bot,
/// as [`claim_others`] with no bot left out.
pub(super) async fn claim(
    readers: &Readers,
    leases: &Leases,
    now: Timestamp,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<QueuedEvent>> {
    claim_others(readers, leases, &[], now, lease_ms, limit).await
}

fn decode(row: &rusqlite::Row) -> Result<QueuedEvent> {
    let kind: String = row.get("kind")?;
    let status: String = row.get("status")?;
    let payload: String = row.get("payload")?;
    Ok(QueuedEvent {
        id: row.get("id")?,
        ticket_id: row.get("ticket_id")?,
        state_code: row.get("state_code")?,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("event kind {kind:?}")))?,
        payload: json_text(&payload, "payload")?,
        parked: status == "parked",
        attempts: row.get("attempts")?,
        available_at: row.get("available_at")?,
        last_error: row.get("last_error")?,
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

/// A ticket's events in any state. On a read connection.
pub(super) fn events_of(conn: &Connection, ticket: TicketId) -> Result<Vec<QueuedEvent>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE ticket_id = ?1 ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([ticket])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
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
