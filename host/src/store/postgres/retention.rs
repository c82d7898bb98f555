//! Retention: archiving or deleting closed tickets, a batch per
//! transaction.
//!
//! The archive document is built here, in Rust, to be byte for byte the
//! one SQLite's `json_object` writes (`sqlite/retention.rs`): keys in that
//! order (serde_json's maps would sort them), flags as `1`/`0`, embedded
//! JSON documents minified. PostgreSQL's own JSON functions space their
//! output differently.

use std::collections::BTreeMap;

use serde_json::Value;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{Postgres, Transaction};

use super::read::{get, json_column, json_text};
use crate::model::{TicketId, Timestamp};
use crate::store::Result;

pub(super) async fn expired(
    pool: &PgPool,
    metaservice: &str,
    ticket_type: &str,
    closed_before: Timestamp,
    limit: u32,
) -> Result<Vec<TicketId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM tickets WHERE metaservice = $1 AND ticket_type = $2 AND status = 'closed' \
         AND closed_at < $3 ORDER BY closed_at LIMIT $4",
    )
    .bind(metaservice)
    .bind(ticket_type)
    .bind(closed_before)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?)
}

/// A JSON object written key by key in the order given.
struct Object(String);

impl Object {
    fn new() -> Self {
        Object(String::from("{"))
    }

    /// A member whose value is JSON text already.
    fn raw(mut self, key: &str, json: &str) -> Self {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push_str(&Value::from(key).to_string());
        self.0.push(':');
        self.0.push_str(json);
        self
    }

    fn value(self, key: &str, value: impl Into<Value>) -> Self {
        let json = value.into().to_string();
        self.raw(key, &json)
    }

    fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// SQLite's `json_group_array` of objects already written.
fn array(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}

/// A stored JSON document, minified as SQLite's `json()` gives it.
fn embedded(row: &PgRow, column: &str) -> Result<String> {
    let text: Option<String> = get(row, column)?;
    match text {
        Some(text) => Ok(json_text(&text, column)?.to_string()),
        None => Ok("null".into()),
    }
}

fn ticket_object(t: &PgRow) -> Result<String> {
    let created_by = Object::new()
        .value("kind", get::<String>(t, "created_by_kind")?)
        .value("user_id", get::<Option<i64>>(t, "created_by_user")?)
        .value("bot", get::<Option<String>>(t, "created_by_bot")?)
        .end();
    Ok(Object::new()
        .value("id", get::<i64>(t, "id")?)
        .value("metaservice", get::<String>(t, "metaservice")?)
        .value("ticket_type", get::<String>(t, "ticket_type")?)
        .value("title", get::<String>(t, "title")?)
        .value("state_code", get::<i64>(t, "state_code")?)
        .value("status", get::<String>(t, "status")?)
        .raw("metadata", &embedded(t, "metadata")?)
        .value("parent_id", get::<Option<i64>>(t, "parent_id")?)
        .raw("created_by", &created_by)
        .value("created_at", get::<i64>(t, "created_at")?)
        .value("updated_at", get::<i64>(t, "updated_at")?)
        .value("closed_at", get::<Option<i64>>(t, "closed_at")?)
        .value("version", get::<i64>(t, "version")?)
        .end())
}

fn stakeholder_object(s: &PgRow) -> Result<String> {
    // SQLite has no booleans: the flag is an integer there.
    let active = i64::from(get::<bool>(s, "is_active")?);
    Ok(Object::new()
        .value("id", get::<i64>(s, "id")?)
        .value("principal_kind", get::<String>(s, "principal_kind")?)
        .value("user_id", get::<Option<i64>>(s, "user_id")?)
        .value("group", get::<Option<String>>(s, "group_name")?)
        .value("connection", get::<String>(s, "connection")?)
        .value("role", get::<String>(s, "role")?)
        .value("is_active", active)
        .value("created_at", get::<i64>(s, "created_at")?)
        .end())
}

fn comment_object(c: &PgRow) -> Result<String> {
    Ok(Object::new()
        .value("id", get::<i64>(c, "id")?)
        .value("body", get::<String>(c, "body")?)
        .value("acting_user_id", get::<i64>(c, "acting_user_id")?)
        .value(
            "acting_stakeholder_id",
            get::<Option<i64>>(c, "acting_stakeholder_id")?,
        )
        .value("created_at", get::<i64>(c, "created_at")?)
        .end())
}

fn log_object(l: &PgRow) -> Result<String> {
    Ok(Object::new()
        .value("id", get::<i64>(l, "id")?)
        .value("actor_kind", get::<String>(l, "actor_kind")?)
        .value("actor_user", get::<Option<i64>>(l, "actor_user")?)
        .value("actor_bot", get::<Option<String>>(l, "actor_bot")?)
        .value("action", get::<String>(l, "action")?)
        .value("from_state", get::<Option<i64>>(l, "from_state")?)
        .value("to_state", get::<Option<i64>>(l, "to_state")?)
        .value("message", get::<String>(l, "message")?)
        .raw("data", &embedded(l, "data")?)
        .value(
            "acting_stakeholder_id",
            get::<Option<i64>>(l, "acting_stakeholder_id")?,
        )
        .value("created_at", get::<i64>(l, "created_at")?)
        .end())
}

/// The rows of `sql` (about `$1`, an array of ticket ids), each written
/// by `write`, grouped by their `ticket_id` in the order read.
async fn parts(
    tx: &mut Transaction<'static, Postgres>,
    sql: &'static str,
    ids: &[TicketId],
    write: fn(&PgRow) -> Result<String>,
) -> Result<BTreeMap<TicketId, Vec<String>>> {
    let rows = sqlx::query(sql).bind(ids).fetch_all(&mut **tx).await?;
    let mut by_ticket: BTreeMap<TicketId, Vec<String>> = BTreeMap::new();
    for row in &rows {
        by_ticket
            .entry(get(row, "ticket_id")?)
            .or_default()
            .push(write(row)?);
    }
    Ok(by_ticket)
}

/// Archives the tickets read (locked) in `tickets`: one document each.
async fn archive(
    tx: &mut Transaction<'static, Postgres>,
    tickets: &[PgRow],
    now: Timestamp,
) -> Result<()> {
    let ids: Vec<i64> = tickets
        .iter()
        .map(|t| get(t, "id"))
        .collect::<Result<_>>()?;
    let mut stakeholders = parts(
        tx,
        "SELECT s.*, (SELECT name FROM groups g WHERE g.id = s.group_id) AS group_name \
         FROM ticket_stakeholders s WHERE s.ticket_id = ANY($1) ORDER BY s.id",
        &ids,
        stakeholder_object,
    )
    .await?;
    let mut comments = parts(
        tx,
        "SELECT * FROM ticket_comments WHERE ticket_id = ANY($1) ORDER BY id",
        &ids,
        comment_object,
    )
    .await?;
    let mut logs = parts(
        tx,
        "SELECT * FROM ticket_logs WHERE ticket_id = ANY($1) ORDER BY id",
        &ids,
        log_object,
    )
    .await?;
    let (mut metaservices, mut types, mut closed, mut documents) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (t, id) in tickets.iter().zip(&ids) {
        let document = Object::new()
            .raw("ticket", &ticket_object(t)?)
            .raw(
                "stakeholders",
                &array(&stakeholders.remove(id).unwrap_or_default()),
            )
            .raw("comments", &array(&comments.remove(id).unwrap_or_default()))
            .raw("logs", &array(&logs.remove(id).unwrap_or_default()))
            .end();
        metaservices.push(get::<String>(t, "metaservice")?);
        types.push(get::<String>(t, "ticket_type")?);
        closed.push(get::<Option<i64>>(t, "closed_at")?);
        documents.push(document);
    }
    sqlx::query(
        "INSERT INTO archived_tickets (id, metaservice, ticket_type, closed_at, archived_at, \
         document) SELECT i, m, t, c, $5, d FROM UNNEST($1::bigint[], $2::text[], $3::text[], \
           $4::bigint[], $6::text[]) AS x(i, m, t, c, d) \
         ON CONFLICT (id) DO UPDATE SET metaservice = excluded.metaservice, \
           ticket_type = excluded.ticket_type, closed_at = excluded.closed_at, \
           archived_at = excluded.archived_at, document = excluded.document",
    )
    .bind(&ids)
    .bind(&metaservices)
    .bind(&types)
    .bind(&closed)
    .bind(now)
    .bind(&documents)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Archives (or only deletes) tickets, in one transaction. Waits on them
/// end with `ticket_gone`; their logs, comments, stakeholders, events and
/// timers go with them; children keep living, without a parent. The
/// tickets are locked first: a commit racing the retirement waits, and a
/// node retiring the same tickets at once archives each only once.
pub(super) async fn retire(
    pool: &PgPool,
    ids: &[TicketId],
    archiving: bool,
    now: Timestamp,
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    let tickets = sqlx::query("SELECT * FROM tickets WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
    if archiving && !tickets.is_empty() {
        archive(&mut tx, &tickets, now).await?;
    }
    sqlx::query(
        "WITH gone AS ( \
           INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at) \
           SELECT ticket_id, state_code, 'ticket_gone', '{\"other\":' || other_ticket || '}', \
             $1, $1 FROM timers WHERE kind = 'wait_ticket' AND other_ticket = ANY($2) \
           ORDER BY other_ticket, id) \
         DELETE FROM timers WHERE kind = 'wait_ticket' AND other_ticket = ANY($2)",
    )
    .bind(now)
    .bind(ids)
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query("DELETE FROM tickets WHERE id = ANY($1)")
        .bind(ids)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

pub(super) async fn archived(pool: &PgPool, id: TicketId) -> Result<Option<Value>> {
    let row = sqlx::query("SELECT document FROM archived_tickets WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| json_column(&r, "document")).transpose()
}
