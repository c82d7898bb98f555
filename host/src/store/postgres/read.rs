//! Reads, and decoding rows into model types. A row that does not decode
//! (a value of the wrong type, a state code out of range, a JSON document
//! that does not parse) is reported as [`StoreError::Corrupt`], never
//! unwrapped.

use std::collections::BTreeMap;

use serde_json::Value;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{Decode, Postgres, Row, Type};

use crate::model::{Actor, Metadata, Status, Ticket, TicketId};
use crate::store::{BotRecord, LogEntry, Result, Stakeholder, StoreError};

/// Qualified with `t.` so that queries can join other tables. The
/// deadline is the due time of the ticket's lifetime timer in its current
/// state, as on SQLite (the `tickets.deadline_at` column is not used).
pub(super) const TICKET_COLUMNS: &str = "t.id, t.metaservice, t.ticket_type, t.title, t.state_code, \
     t.status, t.metadata, t.parent_id, t.created_by_kind, t.created_by_user, t.created_by_bot, \
     t.created_at, t.updated_at, t.closed_at, \
     (SELECT MIN(d.due_at) FROM timers d WHERE d.ticket_id = t.id AND d.kind = 'lifetime') \
       AS deadline_at, \
     t.version";

/// A column of a row; a value that does not decode is corrupt.
pub(super) fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(column).map_err(|e| match e {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StoreError::Corrupt(format!("{column}: {e}"))
        }
        other => StoreError::Database(other),
    })
}

/// A BIGINT column that holds a state code, a count of attempts or
/// restarts: a `u32` in the model.
pub(super) fn small(row: &PgRow, column: &str) -> Result<u32> {
    let value: i64 = get(row, column)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} = {value}")))
}

/// Like [`small`], for a nullable column.
pub(super) fn small_opt(row: &PgRow, column: &str) -> Result<Option<u32>> {
    let value: Option<i64> = get(row, column)?;
    value
        .map(|v| u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{column} = {v}"))))
        .transpose()
}

/// The JSON document in a text column.
pub(super) fn json_column(row: &PgRow, column: &str) -> Result<Value> {
    let text: String = get(row, column)?;
    json_text(&text, column)
}

/// A JSON document stored as text; `column` names it in the error.
pub(super) fn json_text(text: &str, column: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn actor(row: &PgRow, prefix: &str) -> Result<Actor> {
    let kind: String = get(row, &format!("{prefix}_kind"))?;
    let user: Option<i64> = get(row, &format!("{prefix}_user"))?;
    let bot: Option<String> = get(row, &format!("{prefix}_bot"))?;
    Actor::from_parts(&kind, user, bot.clone())
        .ok_or_else(|| StoreError::Corrupt(format!("actor {kind:?} {user:?} {bot:?}")))
}

/// A row of [`TICKET_COLUMNS`].
pub(super) fn decode_ticket(row: &PgRow) -> Result<Ticket> {
    let status: String = get(row, "status")?;
    Ok(Ticket {
        id: get(row, "id")?,
        metaservice: get(row, "metaservice")?,
        ticket_type: get(row, "ticket_type")?,
        title: get(row, "title")?,
        state_code: small(row, "state_code")?,
        status: status.parse::<Status>().map_err(StoreError::Corrupt)?,
        metadata: Metadata::from_text(get(row, "metadata")?)
            .map_err(|e| StoreError::Corrupt(format!("metadata: {e}")))?,
        parent_id: get(row, "parent_id")?,
        created_by: actor(row, "created_by")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        closed_at: get(row, "closed_at")?,
        deadline_at: get(row, "deadline_at")?,
        version: get(row, "version")?,
    })
}

pub(super) async fn ticket(pool: &PgPool, id: TicketId) -> Result<Option<Ticket>> {
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(decode_ticket).transpose()
}

/// A ticket's log, oldest first.
pub(super) async fn logs(pool: &PgPool, ticket: TicketId) -> Result<Vec<LogEntry>> {
    let rows = sqlx::query(
        "SELECT id, ticket_id, actor_kind, actor_user, actor_bot, action, from_state, to_state, \
         message, data, acting_stakeholder_id, created_at FROM ticket_logs WHERE ticket_id = $1 \
         ORDER BY id",
    )
    .bind(ticket)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let data: Option<String> = get(row, "data")?;
            Ok(LogEntry {
                id: get(row, "id")?,
                ticket_id: get(row, "ticket_id")?,
                actor: actor(row, "actor")?,
                action: get(row, "action")?,
                from_state: small_opt(row, "from_state")?,
                to_state: small_opt(row, "to_state")?,
                message: get(row, "message")?,
                data: data.map(|d| json_text(&d, "data")).transpose()?,
                acting_stakeholder_id: get(row, "acting_stakeholder_id")?,
                created_at: get(row, "created_at")?,
            })
        })
        .collect()
}

/// The columns a [`Stakeholder`] is read from, `s` its row and `g` its
/// group's.
const STAKEHOLDER: &str = "SELECT s.ticket_id, s.id, s.principal_kind, s.user_id, \
     g.name AS group_name, s.connection, s.role, s.is_active, s.created_at \
     FROM ticket_stakeholders s LEFT JOIN groups g ON g.id = s.group_id";

/// The stakeholders of many tickets in one query (a page of a listing),
/// by ticket; one prepared statement whatever the number of tickets.
pub(super) async fn stakeholders_of(
    pool: &PgPool,
    tickets: &[TicketId],
) -> Result<BTreeMap<TicketId, Vec<Stakeholder>>> {
    let mut by_ticket: BTreeMap<TicketId, Vec<Stakeholder>> = BTreeMap::new();
    if tickets.is_empty() {
        return Ok(by_ticket);
    }
    let sql = format!("{STAKEHOLDER} WHERE s.ticket_id = ANY($1) ORDER BY s.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tickets)
        .fetch_all(pool)
        .await?;
    for row in &rows {
        let ticket: TicketId = get(row, "ticket_id")?;
        by_ticket.entry(ticket).or_default().push(stakeholder(row)?);
    }
    Ok(by_ticket)
}

/// One ticket's stakeholders. Its own statement, not [`stakeholders_of`]
/// with one id: PostgreSQL plans `= ANY($1)` afresh at every call (its
/// generic plan looks dearer than a custom one), and that planning cost
/// five times the query itself (`pg_stat_statements` with
/// `track_planning`: 0.12 ms against 0.023) on the path of every ticket
/// that closes with notifications.
pub(super) async fn stakeholders(pool: &PgPool, ticket: TicketId) -> Result<Vec<Stakeholder>> {
    let sql = format!("{STAKEHOLDER} WHERE s.ticket_id = $1 ORDER BY s.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ticket)
        .fetch_all(pool)
        .await?;
    rows.iter().map(stakeholder).collect()
}

fn stakeholder(row: &PgRow) -> Result<Stakeholder> {
    Ok(Stakeholder {
        id: get(row, "id")?,
        principal_kind: get(row, "principal_kind")?,
        user_id: get(row, "user_id")?,
        group: get(row, "group_name")?,
        connection: get(row, "connection")?,
        role: get(row, "role")?,
        is_active: get(row, "is_active")?,
        created_at: get(row, "created_at")?,
    })
}

/// This node's record of a bot: every node runs every bot, so the rows
/// are per node.
pub(super) async fn bot_record(pool: &PgPool, node: &str, name: &str) -> Result<Option<BotRecord>> {
    let row = sqlx::query(
        "SELECT name, sha256, status, restarts, loaded_at, last_error, refused_sha256, updated_at \
         FROM bots WHERE node_id = $1 AND name = $2",
    )
    .bind(node)
    .bind(name)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(BotRecord {
            name: get(&row, "name")?,
            sha256: get(&row, "sha256")?,
            status: get(&row, "status")?,
            restarts: small(&row, "restarts")?,
            loaded_at: get(&row, "loaded_at")?,
            last_error: get(&row, "last_error")?,
            refused_sha256: get(&row, "refused_sha256")?,
            updated_at: get(&row, "updated_at")?,
        })
    })
    .transpose()
}
