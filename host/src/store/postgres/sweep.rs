//! Sweeps: the tickets in a bot's state that it has not processed.

use sqlx::postgres::PgPool;

use crate::model::{BotName, TicketId, Timestamp};
use crate::store::{Result, bot_key};

/// The tickets of one state, open, not proceeded and with nothing queued,
/// by the `tickets_by_state` index. `$2, $3, $4` are the metaservice,
/// type and state.
const UNPROCESSED: &str = "SELECT t.id FROM tickets t \
     WHERE t.metaservice = $2 AND t.ticket_type = $3 AND t.state_code = $4 AND t.status = 'open' \
       AND NOT EXISTS (SELECT 1 FROM proceeded p WHERE p.ticket_id = t.id AND p.state_code = t.state_code) \
       AND NOT EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = t.id)";

/// Queues a `sweep` event for each unprocessed ticket. Every node sweeps
/// every bot: a transaction-scoped advisory lock on the bot's key makes
/// two sweeps of one bot run one after the other, so the second sees the
/// first's events and does not queue them again.
pub(super) async fn sweep(pool: &PgPool, bot: &BotName, now: Timestamp) -> Result<u64> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(bot_key(bot))
        .execute(&mut *tx)
        .await?;
    let sql = format!(
        "INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at) \
         SELECT id, $4, 'sweep', '{{}}', $1, $1 FROM ({UNPROCESSED} ORDER BY t.id) AS due"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(&bot.metaservice)
        .bind(&bot.ticket_type)
        .bind(i64::from(bot.state_code))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

pub(super) async fn current(pool: &PgPool, bot: &BotName, limit: u32) -> Result<Vec<TicketId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM tickets WHERE metaservice = $1 AND ticket_type = $2 AND state_code = $3 \
         AND status = 'open' ORDER BY id LIMIT $4",
    )
    .bind(&bot.metaservice)
    .bind(&bot.ticket_type)
    .bind(i64::from(bot.state_code))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?)
}
