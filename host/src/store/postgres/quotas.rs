//! What the quotas count: the open tickets a metaservice's bots created
//! (people's tickets are not the bots' to bound) and those they created
//! lately, a ticket's pending events and timers, and the open error
//! ticket already filed for a cause (so that a quota crossed a thousand
//! times files one).

use sqlx::postgres::PgPool;

use super::read::get;
use crate::model::{TicketId, Timestamp};
use crate::store::{Pending, QuotaUsage, Result};

pub(super) async fn usage(
    pool: &PgPool,
    metaservice: &str,
    since: Timestamp,
) -> Result<QuotaUsage> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM tickets WHERE metaservice = $1 AND status = 'open' \
                   AND created_by_kind = 'bot') AS open, \
                (SELECT COUNT(*) FROM tickets WHERE metaservice = $1 AND created_at >= $2 \
                   AND created_by_kind = 'bot') AS created",
    )
    .bind(metaservice)
    .bind(since)
    .fetch_one(pool)
    .await?;
    Ok(QuotaUsage {
        open_tickets: get::<i64>(&row, "open")?.max(0) as u64,
        created_since: get::<i64>(&row, "created")?.max(0) as u64,
    })
}

pub(super) async fn pending(pool: &PgPool, ticket: TicketId) -> Result<Pending> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM events WHERE ticket_id = $1 AND status = 'pending') \
           AS events, (SELECT COUNT(*) FROM timers WHERE ticket_id = $1) AS timers",
    )
    .bind(ticket)
    .fetch_one(pool)
    .await?;
    Ok(Pending {
        events: get::<i64>(&row, "events")?.max(0) as u64,
        timers: get::<i64>(&row, "timers")?.max(0) as u64,
    })
}

/// Metadata is text (the same bytes as on SQLite): it is read as `jsonb`
/// here, where SQLite uses `json_extract`; `->>` gives a string's value
/// unquoted, as `json_extract` does.
pub(super) async fn open_error(
    pool: &PgPool,
    metaservice: &str,
    cause: &str,
) -> Result<Option<TicketId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM tickets WHERE metaservice = 'baton' AND status = 'open' \
           AND metadata::jsonb ->> 'metaservice' = $1 \
           AND metadata::jsonb ->> 'cause' = $2 ORDER BY id LIMIT 1",
    )
    .bind(metaservice)
    .bind(cause)
    .fetch_optional(pool)
    .await?)
}
