//! What the quotas count: the open tickets a metaservice's bots created
//! (people's tickets are not the bots' to bound) and those they created
//! lately, a ticket's pending events and timers, and the
//! open error ticket already filed for a cause (so that a quota crossed a
//! thousand times files one).

use sqlx::{Row, SqlitePool};

use super::readers::Readers;
use crate::model::{TicketId, Timestamp};
use crate::store::{Pending, QuotaUsage, Result};

pub(super) async fn usage(
    pool: &SqlitePool,
    metaservice: &str,
    since: Timestamp,
) -> Result<QuotaUsage> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM tickets WHERE metaservice = ?1 AND status = 'open' \
                   AND created_by_kind = 'bot') AS open, \
                (SELECT COUNT(*) FROM tickets WHERE metaservice = ?1 AND created_at >= ?2 \
                   AND created_by_kind = 'bot') AS created",
    )
    .bind(metaservice)
    .bind(since)
    .fetch_one(pool)
    .await?;
    Ok(QuotaUsage {
        open_tickets: row.try_get::<i64, _>("open")?.max(0) as u64,
        created_since: row.try_get::<i64, _>("created")?.max(0) as u64,
    })
}

/// A ticket's pending events and timers, asked by every `wait` and every
/// event a bot queues. Read on the calling thread through [`Readers`],
/// like the claims: a bot waits for this inside its invocation, and
/// sqlx's hand-off to its connection thread cost more than the count
/// (which a ticket's own quotas bound to a few rows). `usage` stays on
/// sqlx: it counts a metaservice's open tickets, which may be many, and a
/// long read must not hold a runtime thread.
pub(super) fn pending(readers: &Readers, ticket: TicketId) -> Result<Pending> {
    readers.read(|conn| {
        let mut pending = conn.prepare_cached(
            "SELECT (SELECT COUNT(*) FROM events WHERE ticket_id = ?1 AND status = 'pending'), \
                    (SELECT COUNT(*) FROM timers WHERE ticket_id = ?1)",
        )?;
        let (events, timers): (i64, i64) =
            pending.query_row([ticket], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(Pending {
            events: events.max(0) as u64,
            timers: timers.max(0) as u64,
        })
    })
}

pub(super) async fn open_error(
    pool: &SqlitePool,
    metaservice: &str,
    cause: &str,
) -> Result<Option<TicketId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM tickets WHERE metaservice = 'baton' AND status = 'open' \
           AND json_extract(metadata, '$.metaservice') = ?1 \
           AND json_extract(metadata, '$.cause') = ?2 ORDER BY id LIMIT 1",
    )
    .bind(metaservice)
    .bind(cause)
    .fetch_optional(pool)
    .await?)
}
