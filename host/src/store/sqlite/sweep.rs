//! Sweeps: the tickets in a bot's state that it has not processed.

use sqlx::SqlitePool;

use crate::model::{BotName, TicketId, Timestamp};
use crate::store::Result;

/// The tickets of one state, open, not proceeded and with nothing queued.
/// `?2, ?3, ?4` are the metaservice, type and state.
pub(super) const UNPROCESSED: &str = "SELECT t.id FROM tickets t \
     WHERE t.metaservice = ?2 AND t.ticket_type = ?3 AND t.state_code = ?4 AND t.status = 'open' \
       AND NOT EXISTS (SELECT 1 FROM proceeded p WHERE p.ticket_id = t.id AND p.state_code = t.state_code) \
       AND NOT EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = t.id)";

pub(super) async fn sweep(pool: &SqlitePool, bot: &BotName, now: Timestamp) -> Result<u64> {
    let sql = format!(
        "INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at) \
         SELECT id, ?4, 'sweep', '{{}}', ?1, ?1 FROM ({UNPROCESSED})"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(&bot.metaservice)
        .bind(&bot.ticket_type)
        .bind(bot.state_code)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn current(pool: &SqlitePool, bot: &BotName, limit: u32) -> Result<Vec<TicketId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM tickets WHERE metaservice = ? AND ticket_type = ? AND state_code = ? \
         AND status = 'open' ORDER BY id LIMIT ?",
    )
    .bind(&bot.metaservice)
    .bind(&bot.ticket_type)
    .bind(bot.state_code)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}
