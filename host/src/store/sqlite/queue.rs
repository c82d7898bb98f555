//! The event queue. A worker claims due events with a lease (held in the
//! process, `leases.rs`); only the oldest pending event of a ticket can be
//! claimed, so a ticket's events run one at a time and in order, whatever
//! the number of workers. Claims read through the pool; settling an event
//! writes on the writer's connection (`writer.rs`), in its next batch.

use rusqlite::{Connection, OptionalExtension, params};
use sqlx::SqlitePool;

use super::leases::{Claiming, Leases};
use super::read::json_text;
use super::readers::Readers;
use crate::model::{BotName, TicketId, Timestamp};
use crate::store::{EventId, EventKind, QueuedEvent, Result, StoreError};

const EVENT_COLUMNS: &str =
    "id, ticket_id, state_code, kind, payload, status, attempts, available_at, last_error";

/// A bot's due pending events, oldest first, as (id, ticket, due time):
/// `?1` now, `?2` the bot's key. Read from the covering index
/// `events_by_bot` alone, so that stepping past the events in flight
/// costs an index step each, not a row read.
pub(super) const BOT_DUE: &str = "SELECT e.id, e.ticket_id, e.available_at FROM events e \
     WHERE e.bot = ?2 AND e.status = 'pending' AND e.available_at <= ?1 \
     ORDER BY e.available_at, e.id";

/// Whether the bot `?2` has a due pending event at `?1`: the first entry
/// of [`BOT_DUE`]'s range, if any.
const ANY_DUE: &str = "SELECT 1 FROM events e \
     WHERE e.bot = ?2 AND e.status = 'pending' AND e.available_at <= ?1 LIMIT 1";

/// The same for events whose ticket's bot could not be named.
const UNKEYED_DUE: &str = "SELECT e.id, e.ticket_id, e.available_at FROM events e \
     WHERE e.bot IS NULL AND e.status = 'pending' AND e.available_at <= ?1 \
     ORDER BY e.available_at, e.id";

/// The oldest pending event of a ticket: the only one a claim may take,
/// so that a ticket's events run one at a time and in order.
const FIRST_OF_TICKET: &str =
    "SELECT MIN(id) FROM events WHERE ticket_id = ?1 AND status = 'pending'";

/// A claimable event found by [`candidates`]: (due time, id, ticket).
type Candidate = (Timestamp, EventId, TicketId);

/// Up to `limit` events of one key (or of none) that a claim may take
/// now: due, the oldest pending of their ticket, and not leased (nor
/// their ticket). Streams the key's index range and stops once it has
/// enough, so it costs the events in flight plus those taken.
fn candidates(
    conn: &Connection,
    claiming: &Claiming<'_>,
    key: Option<&str>,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<Candidate>> {
    let mut due = conn.prepare_cached(if key.is_some() { BOT_DUE } else { UNKEYED_DUE })?;
    let mut rows = match key {
        Some(key) => due.query(params![now, key])?,
        None => due.query(params![now])?,
    };
    let mut first = conn.prepare_cached(FIRST_OF_TICKET)?;
    let mut found = Vec::new();
    while found.len() < limit {
        let Some(row) = rows.next()? else { break };
        let (id, ticket): (EventId, TicketId) = (row.get(0)?, row.get(1)?);
        if claiming.is_leased(id, ticket) {
            continue;
        }
        let oldest: Option<EventId> = first.query_row([ticket], |r| r.get(0))?;
        if oldest == Some(id) {
            found.push((row.get(2)?, id, ticket));
        }
    }
    Ok(found)
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

/// Reads the chosen events whole (oldest first, at most `limit`, one per
/// ticket) and leases them. Nothing is leased if one does not decode.
fn lease(
    conn: &Connection,
    claiming: &mut Claiming<'_>,
    mut chosen: Vec<Candidate>,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<QueuedEvent>> {
    chosen.sort_unstable();
    let mut tickets = std::collections::HashSet::new();
    chosen.retain(|(_, _, ticket)| tickets.insert(*ticket));
    chosen.truncate(limit as usize);
    let mut whole =
        conn.prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = ?1"))?;
    let mut events = Vec::with_capacity(chosen.len());
    for (_, id, _) in &chosen {
        let mut rows = whole.query([id])?;
        if let Some(row) = rows.next()? {
            events.push(decode(row)?);
        }
    }
    // In the same read, so the worker needs no second one; before any
    // lease is taken, so a failed read leaves none behind.
    for event in &mut events {
        event.ticket = super::read::ticket(conn, event.ticket_id)?;
    }
    for event in &events {
        claiming.take(event.id, event.ticket_id, lease_ms);
    }
    Ok(events)
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
    readers.snapshot(|conn| {
        let chosen = candidates(conn, &claiming, Some(bot), now, limit as usize)?;
        lease(conn, &mut claiming, chosen, lease_ms, limit)
    })
}

/// Of `bots`, those with a due pending event, each found by one seek on
/// `events_by_bot`, all in one read snapshot.
pub(super) fn bots_with_due(
    readers: &Readers,
    bots: Vec<BotName>,
    now: Timestamp,
) -> Result<Vec<BotName>> {
    readers.snapshot(|conn| {
        let mut any = conn.prepare_cached(ANY_DUE)?;
        let mut due = Vec::with_capacity(bots.len());
        for bot in bots {
            let key = crate::store::bot_key(&bot);
            if any
                .query_row(params![now, key], |_| Ok(()))
                .optional()?
                .is_some()
            {
                due.push(bot);
            }
        }
        Ok(due)
    })
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
    readers.read(|conn| {
        let mut chosen = candidates(conn, &claiming, None, now, limit as usize)?;
        for key in keys(conn)? {
            if !except.contains(&key) {
                chosen.extend(candidates(
                    conn,
                    &claiming,
                    Some(&key),
                    now,
                    limit as usize,
                )?);
            }
        }
        lease(conn, &mut claiming, chosen, lease_ms, limit)
    })
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
        ticket: None,
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
