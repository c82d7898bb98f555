//! Retention: archiving or deleting closed tickets, a batch per
//! transaction so that no lock is held for long.

use serde_json::Value;
use sqlx::SqlitePool;

use super::read::json_column;
use crate::model::{TicketId, Timestamp};
use crate::store::Result;

pub(super) async fn expired(
    pool: &SqlitePool,
    metaservice: &str,
    ticket_type: &str,
    closed_before: Timestamp,
    limit: u32,
) -> Result<Vec<TicketId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM tickets WHERE metaservice = ? AND ticket_type = ? AND status = 'closed' \
         AND closed_at < ? ORDER BY closed_at LIMIT ?",
    )
    .bind(metaservice)
    .bind(ticket_type)
    .bind(closed_before)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// The whole ticket as one JSON document: the ticket, its stakeholders,
/// comments and log, each in order.
const DOCUMENT: &str = "json_object(\
    'ticket', json_object('id', t.id, 'metaservice', t.metaservice, 'ticket_type', t.ticket_type, \
        'title', t.title, 'state_code', t.state_code, 'status', t.status, 'metadata', json(t.metadata), \
        'parent_id', t.parent_id, 'created_by', json_object('kind', t.created_by_kind, \
        'user_id', t.created_by_user, 'bot', t.created_by_bot), 'created_at', t.created_at, \
        'updated_at', t.updated_at, 'closed_at', t.closed_at, 'version', t.version), \
    'stakeholders', (SELECT json_group_array(json_object('id', s.id, 'principal_kind', s.principal_kind, \
        'user_id', s.user_id, 'group', (SELECT name FROM groups g WHERE g.id = s.group_id), \
        'connection', s.connection, 'role', s.role, 'is_active', s.is_active, 'created_at', s.created_at)) \
        FROM (SELECT * FROM ticket_stakeholders WHERE ticket_id = t.id ORDER BY id) s), \
    'comments', (SELECT json_group_array(json_object('id', c.id, 'body', c.body, \
        'acting_user_id', c.acting_user_id, 'acting_stakeholder_id', c.acting_stakeholder_id, \
        'created_at', c.created_at)) FROM (SELECT * FROM ticket_comments WHERE ticket_id = t.id ORDER BY id) c), \
    'logs', (SELECT json_group_array(json_object('id', l.id, 'actor_kind', l.actor_kind, \
        'actor_user', l.actor_user, 'actor_bot', l.actor_bot, 'action', l.action, \
        'from_state', l.from_state, 'to_state', l.to_state, 'message', l.message, \
        'data', json(l.data), 'acting_stakeholder_id', l.acting_stakeholder_id, \
        'created_at', l.created_at)) \
        FROM (SELECT * FROM ticket_logs WHERE ticket_id = t.id ORDER BY id) l))";

/// Archives (or only deletes) tickets, in one transaction. Waits on them
/// end with `ticket_gone`; their logs, comments, stakeholders, events and
/// timers go with them; children keep living, without a parent.
pub(super) async fn retire(
    pool: &SqlitePool,
    ids: &[TicketId],
    archive: bool,
    now: Timestamp,
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    // Integers only: safe to inline.
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    if archive {
        let sql = format!(
            "INSERT OR REPLACE INTO archived_tickets (id, metaservice, ticket_type, closed_at, archived_at, document) \
             SELECT t.id, t.metaservice, t.ticket_type, t.closed_at, ?1, {DOCUMENT} FROM tickets t WHERE t.id IN ({list})"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    let gone = format!(
        "INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at) \
         SELECT ticket_id, state_code, 'ticket_gone', json_object('other', other_ticket), ?1, ?1 \
         FROM timers WHERE kind = 'wait_ticket' AND other_ticket IN ({list})"
    );
    sqlx::query(sqlx::AssertSqlSafe(gone))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let cleanup =
        format!("DELETE FROM timers WHERE kind = 'wait_ticket' AND other_ticket IN ({list})");
    sqlx::query(sqlx::AssertSqlSafe(cleanup))
        .execute(&mut *tx)
        .await?;
    let delete = format!("DELETE FROM tickets WHERE id IN ({list})");
    let done = sqlx::query(sqlx::AssertSqlSafe(delete))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

pub(super) async fn archived(pool: &SqlitePool, id: TicketId) -> Result<Option<Value>> {
    let row = sqlx::query("SELECT document FROM archived_tickets WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| json_column(&r, "document")).transpose()
}
