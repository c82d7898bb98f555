//! The outbox on PostgreSQL: rows written with their notifications in the
//! commit's transaction, claimed with `FOR UPDATE SKIP LOCKED` (one node
//! sends each), settled in place.

use sqlx::postgres::{PgConnection, PgPool};

use crate::model::Timestamp;
use crate::store::outbox::{CLAIMED_COLUMNS, ClaimedRow, STATE_COLUMNS, StateRow};
use crate::store::{Attempt, Commit, Delivery, DeliveryState, Notification, Result};

/// The outbox rows of a commit's notifications, as `commit.outbox` routes
/// them: the e-mails in one statement, each webhook in one.
pub(super) async fn write(
    conn: &mut PgConnection,
    commit: &Commit,
    notes: &[Notification],
    now: Timestamp,
) -> Result<()> {
    let outbox = &commit.outbox;
    if outbox.is_empty() || notes.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = notes.iter().map(|n| n.id).collect();
    if outbox.email {
        sqlx::query(
            "INSERT INTO deliveries (notification_id, channel, target, next_at, created_at) \
             SELECT n.id, 'email', u.email, $2, $2 FROM notifications n \
               JOIN users u ON u.id = n.user_id \
              WHERE n.id = ANY($1) AND u.email IS NOT NULL AND u.email_notifications \
              ORDER BY n.id",
        )
        .bind(&ids)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    for route in outbox.webhooks.iter() {
        sqlx::query(
            "INSERT INTO deliveries (notification_id, channel, target, next_at, created_at) \
             SELECT n.id, 'webhook', $2, $5, $5 FROM notifications n \
               JOIN tickets t ON t.id = n.ticket_id \
              WHERE n.id = ANY($1) AND t.metaservice = $3 \
                AND (cardinality($4::text[]) = 0 OR n.kind = ANY($4)) \
              ORDER BY n.id",
        )
        .bind(&ids)
        .bind(&route.name)
        .bind(&route.metaservice)
        .bind(&route.kinds)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Leases up to `limit` due deliveries to `node` until `until`.
pub(super) async fn claim(
    pool: &PgPool,
    node: &str,
    now: Timestamp,
    until: Timestamp,
    limit: u32,
) -> Result<Vec<Delivery>> {
    let sql = format!(
        "WITH claimed AS ( \
           UPDATE deliveries SET lease_owner = $2, lease_until = $3 WHERE id IN \
             (SELECT id FROM deliveries WHERE state = 'pending' AND next_at <= $1 \
                AND (lease_until IS NULL OR lease_until < $1) \
              ORDER BY next_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
           RETURNING * ) \
         SELECT {CLAIMED_COLUMNS} FROM claimed d JOIN notifications n ON n.id = d.notification_id \
           LEFT JOIN tickets t ON t.id = n.ticket_id ORDER BY d.id"
    );
    let rows: Vec<ClaimedRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(node)
        .bind(until)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(Delivery::from).collect())
}

/// Records an attempt and frees the lease.
pub(super) async fn settle(
    pool: &PgPool,
    id: i64,
    attempt: &Attempt,
    now: Timestamp,
) -> Result<()> {
    let query = match attempt {
        Attempt::Sent => sqlx::query(
            "UPDATE deliveries SET state = 'sent', attempts = attempts + 1, sent_at = $2, \
             last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(now),
        Attempt::Retry { error, at } => sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = $2, next_at = $3, \
             lease_owner = NULL, lease_until = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(error.clone())
        .bind(*at),
        Attempt::GaveUp { error } => sqlx::query(
            "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, last_error = $2, \
             lease_owner = NULL, lease_until = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(error.clone()),
    };
    query.execute(pool).await?;
    Ok(())
}

/// A failed delivery made due again with its attempts reset.
pub(super) async fn resend(pool: &PgPool, id: i64, now: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE deliveries SET state = 'pending', attempts = 0, next_at = $2, \
         lease_owner = NULL, lease_until = NULL WHERE id = $1 AND state = 'failed'",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The deliveries of these notifications.
pub(super) async fn states(pool: &PgPool, notifications: &[i64]) -> Result<Vec<DeliveryState>> {
    let sql = format!(
        "SELECT {STATE_COLUMNS} FROM deliveries WHERE notification_id = ANY($1) ORDER BY id"
    );
    let rows: Vec<StateRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(notifications)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(DeliveryState::from).collect())
}

pub(super) async fn set_email_notifications(pool: &PgPool, user: i64, on: bool) -> Result<bool> {
    let done = sqlx::query("UPDATE users SET email_notifications = $2 WHERE id = $1")
        .bind(user)
        .bind(on)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}
