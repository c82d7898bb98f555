//! The outbox on SQLite: rows written with their notifications (in the
//! commit's savepoint), claimed and settled through the writer, read in
//! place.

use rusqlite::{Connection, OptionalExtension, params};

use crate::model::Timestamp;
use crate::store::outbox::{CLAIMED_COLUMNS, STATE_COLUMNS};
use crate::store::{Attempt, Commit, Delivery, DeliveryState, Notification, Result};

/// The outbox rows of a commit's notifications, as `commit.outbox` routes
/// them (nothing when it routes nowhere).
pub(super) fn write(
    conn: &Connection,
    commit: &Commit,
    notes: &[Notification],
    now: Timestamp,
) -> Result<()> {
    let outbox = &commit.outbox;
    if outbox.is_empty() {
        return Ok(());
    }
    let mut email = conn.prepare_cached(
        "INSERT INTO deliveries (notification_id, channel, target, next_at, created_at) \
         SELECT ?1, 'email', email, ?2, ?2 FROM users \
          WHERE id = ?3 AND email IS NOT NULL AND email_notifications",
    )?;
    let mut hook = conn.prepare_cached(
        "INSERT INTO deliveries (notification_id, channel, target, next_at, created_at) \
         VALUES (?1, 'webhook', ?2, ?3, ?3)",
    )?;
    let mut metaservice = conn.prepare_cached("SELECT metaservice FROM tickets WHERE id = ?1")?;
    for n in notes {
        if outbox.email {
            email.execute(params![n.id, now, n.user_id])?;
        }
        let Some(ticket) = n.ticket_id else {
            continue;
        };
        if outbox.webhooks.is_empty() {
            continue;
        }
        let ms: Option<String> = metaservice.query_row([ticket], |r| r.get(0)).optional()?;
        for route in outbox.webhooks_for(ms.as_deref().unwrap_or_default(), &n.kind) {
            hook.execute(params![n.id, route.name, now])?;
        }
    }
    Ok(())
}

/// Whether a delivery is due and free (a read, before taking the writer).
pub(super) fn any_due(conn: &Connection, now: Timestamp) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM deliveries WHERE state = 'pending' AND next_at <= ?1 \
               AND (lease_until IS NULL OR lease_until < ?1))",
        )?
        .query_row([now], |r| r.get(0))?)
}

/// Leases up to `limit` due deliveries until `until`; returns them.
pub(super) fn claim(
    conn: &Connection,
    now: Timestamp,
    until: Timestamp,
    limit: u32,
) -> Result<Vec<Delivery>> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "UPDATE deliveries SET lease_owner = 'local', lease_until = ?2 WHERE id IN \
             (SELECT id FROM deliveries WHERE state = 'pending' AND next_at <= ?1 \
                AND (lease_until IS NULL OR lease_until < ?1) ORDER BY next_at, id LIMIT ?3) \
             RETURNING id",
        )?
        .query_map(params![now, until, limit], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let sql = format!(
        "SELECT {CLAIMED_COLUMNS} FROM deliveries d JOIN notifications n ON n.id = d.notification_id \
         LEFT JOIN tickets t ON t.id = n.ticket_id WHERE d.id = ?1"
    );
    let mut read = conn.prepare_cached(&sql)?;
    let mut claimed = Vec::with_capacity(ids.len());
    for id in ids {
        let row = read.query_row([id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
                r.get(12)?,
            ))
        })?;
        claimed.push(Delivery::from(row));
    }
    Ok(claimed)
}

/// Records an attempt and frees the lease.
pub(super) fn settle(conn: &Connection, id: i64, attempt: &Attempt, now: Timestamp) -> Result<()> {
    match attempt {
        Attempt::Sent => conn
            .prepare_cached(
                "UPDATE deliveries SET state = 'sent', attempts = attempts + 1, sent_at = ?2, \
                 last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE id = ?1",
            )?
            .execute(params![id, now])?,
        Attempt::Retry { error, at } => conn
            .prepare_cached(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2, next_at = ?3, \
                 lease_owner = NULL, lease_until = NULL WHERE id = ?1",
            )?
            .execute(params![id, error, at])?,
        Attempt::GaveUp { error } => conn
            .prepare_cached(
                "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, last_error = ?2, \
                 lease_owner = NULL, lease_until = NULL WHERE id = ?1",
            )?
            .execute(params![id, error])?,
    };
    Ok(())
}

/// A failed delivery made due again with its attempts reset.
pub(super) fn resend(conn: &Connection, id: i64, now: Timestamp) -> Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_at = ?2, \
             lease_owner = NULL, lease_until = NULL WHERE id = ?1 AND state = 'failed'",
        )?
        .execute(params![id, now])?;
    Ok(changed == 1)
}

/// The deliveries of these notifications, by id.
pub(super) fn states(conn: &Connection, notifications: &[i64]) -> Result<Vec<DeliveryState>> {
    let sql =
        format!("SELECT {STATE_COLUMNS} FROM deliveries WHERE notification_id = ?1 ORDER BY id");
    let mut read = conn.prepare_cached(&sql)?;
    let mut all = Vec::new();
    for id in notifications {
        let rows = read.query_map([id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })?;
        for row in rows {
            all.push(DeliveryState::from(row?));
        }
    }
    Ok(all)
}

pub(super) fn set_email_notifications(conn: &Connection, user: i64, on: bool) -> Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE users SET email_notifications = ?2 WHERE id = ?1")?
        .execute(params![user, on])?;
    Ok(changed == 1)
}
