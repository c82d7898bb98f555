//! Reads, and decoding rows into model types. A row that does not decode
//! is reported as [`StoreError::Corrupt`], never unwrapped. The hot reads
//! run on a read connection (`readers.rs`), the rest through the pool.

use std::collections::BTreeMap;

use rusqlite::{Connection, Row};
use serde_json::Value;
use sqlx::Row as _;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteRow;

use crate::model::{Actor, Metadata, Status, Ticket, TicketId};
use crate::store::{BotRecord, LogEntry, Result, Stakeholder, StoreError};

/// Qualified with `t.` so that queries can join other tables. The
/// deadline is the due time of the ticket's lifetime timer in its current
/// state, so it follows every move and every settings change by
/// construction (the `tickets.deadline_at` column is not used).
pub(super) const TICKET_COLUMNS: &str = "t.id, t.metaservice, t.ticket_type, t.title, t.state_code, \
     t.status, t.metadata, t.parent_id, t.created_by_kind, t.created_by_user, t.created_by_bot, \
     t.created_at, t.updated_at, t.closed_at, \
     (SELECT MIN(d.due_at) FROM timers d WHERE d.ticket_id = t.id AND d.kind = 'lifetime') \
       AS deadline_at, \
     t.version";

/// A ticket by id. On a read connection (`readers.rs`).
pub(super) fn ticket(conn: &Connection, id: TicketId) -> Result<Option<Ticket>> {
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(decode_ticket).transpose()
}

/// The JSON document in a sqlx row's text column.
pub(super) fn json_column(row: &SqliteRow, column: &str) -> Result<Value> {
    let text: String = row.try_get(column)?;
    json_text(&text, column)
}

/// A JSON document stored as text; `column` names it in the error.
pub(super) fn json_text(text: &str, column: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// An actor from its kind, user and bot columns, at `at` and after.
fn actor(row: &Row, at: usize) -> Result<Actor> {
    let kind: String = row.get(at)?;
    let user: Option<i64> = row.get(at + 1)?;
    let bot: Option<String> = row.get(at + 2)?;
    Actor::from_parts(&kind, user, bot.clone())
        .ok_or_else(|| StoreError::Corrupt(format!("actor {kind:?} {user:?} {bot:?}")))
}

/// A row of [`TICKET_COLUMNS`], by position: a lookup by name compares
/// the column names one by one, which cost more than the decoding on
/// listing pages.
pub(super) fn decode_ticket(row: &Row) -> Result<Ticket> {
    let status: String = row.get(5)?;
    let metadata: String = row.get(6)?;
    Ok(Ticket {
        id: row.get(0)?,
        metaservice: row.get(1)?,
        ticket_type: row.get(2)?,
        title: row.get(3)?,
        state_code: row.get(4)?,
        status: status.parse::<Status>().map_err(StoreError::Corrupt)?,
        metadata: Metadata::from_text(metadata)
            .map_err(|e| StoreError::Corrupt(format!("metadata: {e}")))?,
        parent_id: row.get(7)?,
        created_by: actor(row, 8)?,
        created_at: row.get(11)?,
        updated_at: row.get(12)?,
        closed_at: row.get(13)?,
        deadline_at: row.get(14)?,
        version: row.get(15)?,
    })
}

/// A ticket's log, oldest first. On a read connection.
pub(super) fn logs(conn: &Connection, ticket: TicketId) -> Result<Vec<LogEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, ticket_id, actor_kind, actor_user, actor_bot, action, from_state, to_state, \
         message, data, acting_stakeholder_id, created_at FROM ticket_logs WHERE ticket_id = ?1 \
         ORDER BY id",
    )?;
    let mut rows = stmt.query([ticket])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let data: Option<String> = row.get("data")?;
        out.push(LogEntry {
            id: row.get("id")?,
            ticket_id: row.get("ticket_id")?,
            actor: actor(row, 2)?,
            action: row.get("action")?,
            from_state: row.get("from_state")?,
            to_state: row.get("to_state")?,
            message: row.get("message")?,
            data: data.map(|d| json_text(&d, "data")).transpose()?,
            acting_stakeholder_id: row.get("acting_stakeholder_id")?,
            created_at: row.get("created_at")?,
        });
    }
    Ok(out)
}

const STAKEHOLDER_COLUMNS: &str = "s.ticket_id, s.id, s.principal_kind, s.user_id, \
     g.name AS group_name, s.connection, s.role, s.is_active, s.created_at \
     FROM ticket_stakeholders s LEFT JOIN groups g ON g.id = s.group_id";

/// A ticket's stakeholders. On a read connection.
///
/// Its own statement rather than [`stakeholders_of`] with one id: every
/// invocation reads its ticket's stakeholders, and the list form's JSON
/// parse, virtual table and sort cost as much again as the lookup (by
/// `EXPLAIN QUERY PLAN`: here one index search, rows already in id order).
pub(super) fn stakeholders(conn: &Connection, ticket: TicketId) -> Result<Vec<Stakeholder>> {
    let sql = format!("SELECT {STAKEHOLDER_COLUMNS} WHERE s.ticket_id = ?1 ORDER BY s.id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([ticket])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(stakeholder(row)?);
    }
    Ok(out)
}

/// The stakeholders of many tickets in one query (a page of a listing),
/// by ticket. On a read connection.
pub(super) fn stakeholders_of(
    conn: &Connection,
    tickets: &[TicketId],
) -> Result<BTreeMap<TicketId, Vec<Stakeholder>>> {
    let mut by_ticket: BTreeMap<TicketId, Vec<Stakeholder>> = BTreeMap::new();
    if tickets.is_empty() {
        return Ok(by_ticket);
    }
    // The ids travel as one JSON array, so the statement is the same for
    // every page and is prepared once per connection (with the ids inlined
    // each call parsed and planned a new statement: 13 % of a listing's
    // CPU when profiled).
    let ids: Vec<String> = tickets.iter().map(i64::to_string).collect();
    let list = format!("[{}]", ids.join(","));
    let sql = format!(
        "SELECT {STAKEHOLDER_COLUMNS} WHERE s.ticket_id IN (SELECT value FROM json_each(?1)) \
         ORDER BY s.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([list])?;
    while let Some(row) = rows.next()? {
        let ticket: TicketId = row.get(0)?;
        by_ticket.entry(ticket).or_default().push(stakeholder(row)?);
    }
    Ok(by_ticket)
}

/// A row of [`STAKEHOLDER_COLUMNS`], by position: a lookup by name
/// compares column names one by one (6 % of a listing page's CPU).
fn stakeholder(row: &Row) -> Result<Stakeholder> {
    Ok(Stakeholder {
        id: row.get(1)?,
        principal_kind: row.get(2)?,
        user_id: row.get(3)?,
        group: row.get(4)?,
        connection: row.get(5)?,
        role: row.get(6)?,
        is_active: row.get(7)?,
        created_at: row.get(8)?,
    })
}

pub(super) async fn bot_record(pool: &SqlitePool, name: &str) -> Result<Option<BotRecord>> {
    let row = sqlx::query(
        "SELECT name, sha256, status, restarts, loaded_at, last_error, refused_sha256, updated_at \
         FROM bots WHERE name = ?",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(BotRecord {
            name: row.try_get("name")?,
            sha256: row.try_get("sha256")?,
            status: row.try_get("status")?,
            restarts: row.try_get("restarts")?,
            loaded_at: row.try_get("loaded_at")?,
            last_error: row.try_get("last_error")?,
            refused_sha256: row.try_get("refused_sha256")?,
            updated_at: row.try_get("updated_at")?,
        })
    })
    .transpose()
}
