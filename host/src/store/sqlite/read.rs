//! Reads, and decoding rows into model types. A row that does not decode
//! is reported as [`StoreError::Corrupt`], never unwrapped.

use std::collections::BTreeMap;

use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use crate::model::{Actor, Status, Ticket, TicketId};
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

pub(super) async fn ticket(pool: &SqlitePool, id: TicketId) -> Result<Option<Ticket>> {
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| decode_ticket(&r)).transpose()
}

pub(super) fn json_column(row: &SqliteRow, column: &str) -> Result<Value> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn opt_json_column(row: &SqliteRow, column: &str) -> Result<Option<Value>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    })
    .transpose()
}

fn actor(row: &SqliteRow, prefix: &str) -> Result<Actor> {
    let kind: String = row.try_get(format!("{prefix}_kind").as_str())?;
    let user: Option<i64> = row.try_get(format!("{prefix}_user").as_str())?;
    let bot: Option<String> = row.try_get(format!("{prefix}_bot").as_str())?;
    Actor::from_parts(&kind, user, bot.clone())
        .ok_or_else(|| StoreError::Corrupt(format!("actor {kind:?} {user:?} {bot:?}")))
}

pub(super) fn decode_ticket(row: &SqliteRow) -> Result<Ticket> {
    let status: String = row.try_get("status")?;
    Ok(Ticket {
        id: row.try_get("id")?,
        metaservice: row.try_get("metaservice")?,
        ticket_type: row.try_get("ticket_type")?,
        title: row.try_get("title")?,
        state_code: row.try_get("state_code")?,
        status: status.parse::<Status>().map_err(StoreError::Corrupt)?,
        metadata: json_column(row, "metadata")?,
        parent_id: row.try_get("parent_id")?,
        created_by: actor(row, "created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        closed_at: row.try_get("closed_at")?,
        deadline_at: row.try_get("deadline_at")?,
        version: row.try_get("version")?,
    })
}

pub(super) async fn logs(pool: &SqlitePool, ticket: TicketId) -> Result<Vec<LogEntry>> {
    let rows = sqlx::query(
        "SELECT id, ticket_id, actor_kind, actor_user, actor_bot, action, from_state, to_state, \
         message, data, acting_stakeholder_id, created_at FROM ticket_logs WHERE ticket_id = ? \
         ORDER BY id",
    )
    .bind(ticket)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(LogEntry {
                id: row.try_get("id")?,
                ticket_id: row.try_get("ticket_id")?,
                actor: actor(row, "actor")?,
                action: row.try_get("action")?,
                from_state: row.try_get("from_state")?,
                to_state: row.try_get("to_state")?,
                message: row.try_get("message")?,
                data: opt_json_column(row, "data")?,
                acting_stakeholder_id: row.try_get("acting_stakeholder_id")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

const STAKEHOLDER_COLUMNS: &str = "s.ticket_id, s.id, s.principal_kind, s.user_id, \
     g.name AS group_name, s.connection, s.role, s.is_active, s.created_at \
     FROM ticket_stakeholders s LEFT JOIN groups g ON g.id = s.group_id";

pub(super) async fn stakeholders(pool: &SqlitePool, ticket: TicketId) -> Result<Vec<Stakeholder>> {
    let sql = format!("SELECT {STAKEHOLDER_COLUMNS} WHERE s.ticket_id = ? ORDER BY s.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ticket)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode_stakeholder).collect()
}

/// The stakeholders of many tickets in one query (a page of a listing),
/// by ticket.
pub(super) async fn stakeholders_of(
    pool: &SqlitePool,
    tickets: &[TicketId],
) -> Result<BTreeMap<TicketId, Vec<Stakeholder>>> {
    let mut by_ticket: BTreeMap<TicketId, Vec<Stakeholder>> = BTreeMap::new();
    if tickets.is_empty() {
        return Ok(by_ticket);
    }
    // Integers only: safe to inline.
    let list = tickets
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let sql = format!("SELECT {STAKEHOLDER_COLUMNS} WHERE s.ticket_id IN ({list}) ORDER BY s.id");
    for row in sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?
    {
        let ticket: TicketId = row.try_get("ticket_id")?;
        by_ticket
            .entry(ticket)
            .or_default()
            .push(decode_stakeholder(&row)?);
    }
    Ok(by_ticket)
}

fn decode_stakeholder(row: &SqliteRow) -> Result<Stakeholder> {
    Ok(Stakeholder {
        id: row.try_get("id")?,
        principal_kind: row.try_get("principal_kind")?,
        user_id: row.try_get("user_id")?,
        group: row.try_get("group_name")?,
        connection: row.try_get("connection")?,
        role: row.try_get("role")?,
        is_active: row.try_get("is_active")?,
        created_at: row.try_get("created_at")?,
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
