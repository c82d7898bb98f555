//! What a commit writes about people: stakeholders (and the groups they
//! name, created when missing), changes to stakeholders, comments and
//! notifications. The errors are SQLite's (`sqlite/apply.rs`).

use sqlx::postgres::PgConnection;

use super::apply::contended;
use super::rows::{EventRow, insert_events};
use crate::model::{TicketId, Timestamp};
use crate::store::{
    Commit, NewComment, NewNotification, NewStakeholder, Notification, Principal, Result,
    StoreError,
};

/// Stakeholder rows in one statement; their ids in the order given. A
/// user who does not exist is [`StoreError::NotFound`], as SQLite's
/// foreign key failure is: rows naming a missing user are left out by the
/// statement, and their absence is then explained.
pub(super) async fn insert_stakeholders(
    conn: &mut PgConnection,
    rows: &[(TicketId, &NewStakeholder)],
    now: Timestamp,
) -> Result<Vec<i64>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let (mut kinds, mut users, mut groups) = (Vec::new(), Vec::new(), Vec::new());
    for (_, s) in rows {
        let (kind, user, group) = match &s.principal {
            Principal::User(id) => ("user", Some(*id), None),
            Principal::Group(name) => ("group", None, Some(ensure_group(conn, name, now).await?)),
        };
        kinds.push(kind);
        users.push(user);
        groups.push(group);
    }
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO ticket_stakeholders (ticket_id, principal_kind, user_id, group_id, \
         connection, role, is_active, created_at) SELECT t, k, u, g, c, r, TRUE, $7 \
         FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], \
           $6::text[]) WITH ORDINALITY AS s(t, k, u, g, c, r, n) \
         WHERE s.u IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = s.u) ORDER BY s.n RETURNING id",
    )
    .bind(rows.iter().map(|(t, _)| *t).collect::<Vec<_>>())
    .bind(&kinds)
    .bind(&users)
    .bind(&groups)
    .bind(rows.iter().map(|(_, s)| s.connection).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, s)| s.role).collect::<Vec<_>>())
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| match &e {
        // A ticket that does not exist: SQLite reports any foreign key
        // failure here as the stakeholder's.
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::NotFound(format!("{:?}", rows[0].1.principal))
        }
        _ => StoreError::Database(e),
    })?;
    if ids.len() < rows.len() {
        return Err(missing_user(conn, rows, &users).await);
    }
    // Identities are handed out in insertion order, which is `n`'s.
    ids.sort_unstable();
    Ok(ids)
}

/// The first stakeholder whose user does not exist, as an error.
async fn missing_user(
    conn: &mut PgConnection,
    rows: &[(TicketId, &NewStakeholder)],
    users: &[Option<i64>],
) -> StoreError {
    let wanted: Vec<i64> = users.iter().flatten().copied().collect();
    let found: Vec<i64> = match sqlx::query_scalar("SELECT id FROM users WHERE id = ANY($1)")
        .bind(&wanted)
        .fetch_all(&mut *conn)
        .await
    {
        Ok(found) => found,
        Err(e) => return StoreError::Database(e),
    };
    let missing = rows
        .iter()
        .zip(users)
        .find(|(_, u)| u.is_some_and(|u| !found.contains(&u)));
    match missing {
        Some(((_, s), _)) => StoreError::NotFound(format!("{:?}", s.principal)),
        None => StoreError::Writer("a stakeholder row was not written".into()),
    }
}

/// The id of the group called `name`, created if missing. Read first:
/// the group almost always exists, and an insert would cost a write.
async fn ensure_group(conn: &mut PgConnection, name: &str, now: Timestamp) -> Result<i64> {
    let find = "SELECT id FROM groups WHERE name = $1";
    if let Some(id) = sqlx::query_scalar(find)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(id);
    }
    let created: Option<i64> = sqlx::query_scalar(
        "INSERT INTO groups (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING \
         RETURNING id",
    )
    .bind(name)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    match created {
        Some(id) => Ok(id),
        // Another transaction created it meanwhile (and committed: the
        // insert waited for it); a new statement sees it.
        None => Ok(sqlx::query_scalar(find)
            .bind(name)
            .fetch_one(&mut *conn)
            .await?),
    }
}

pub(super) async fn update_stakeholders(conn: &mut PgConnection, commit: &Commit) -> Result<()> {
    for u in &commit.stakeholder_updates {
        let done = sqlx::query(
            "UPDATE ticket_stakeholders SET connection = COALESCE($1, connection), \
             is_active = COALESCE($2, is_active) WHERE id = $3 AND ticket_id = $4",
        )
        .bind(u.connection)
        .bind(u.is_active)
        .bind(u.id)
        .bind(u.ticket_id)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("stakeholder {}", u.id)));
        }
    }
    Ok(())
}

/// A person's comment, with its `comment` event when a bot is to hear of
/// it. Only on an open ticket, read `FOR SHARE`: a comment racing the
/// commit that closes the ticket waits for it and loses, as a closed
/// ticket is read-only.
pub(super) async fn insert_comment(
    conn: &mut PgConnection,
    c: &NewComment,
    now: Timestamp,
) -> Result<i64> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO ticket_comments (ticket_id, body, acting_user_id, acting_stakeholder_id, \
         created_at) SELECT $1, $2, $3, $4, $5 WHERE EXISTS \
           (SELECT 1 FROM tickets WHERE id = $1 AND status = 'open' FOR SHARE) RETURNING id",
    )
    .bind(c.ticket_id)
    .bind(&c.body)
    .bind(c.acting_user_id)
    .bind(c.acting_stakeholder_id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| contended(e, c.ticket_id))?;
    let id = id.ok_or(StoreError::Conflict(c.ticket_id))?;
    if let Some(state) = c.event_for_state {
        let payload =
            serde_json::json!({"comment_id": id, "body": c.body, "user_id": c.acting_user_id});
        let event = EventRow {
            ticket: c.ticket_id,
            state,
            kind: "comment",
            payload: payload.to_string(),
            at: now,
        };
        insert_events(conn, &[event], now).await?;
    }
    Ok(id)
}

/// The notifications of a commit in one statement, returned with their ids.
pub(super) async fn notify(
    conn: &mut PgConnection,
    notes: &[NewNotification],
    now: Timestamp,
) -> Result<Vec<Notification>> {
    if notes.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO notifications (user_id, ticket_id, kind, text, created_at) \
         SELECT u, t, k, x, $5 FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[]) \
           WITH ORDINALITY AS n(u, t, k, x, i) ORDER BY i RETURNING id",
    )
    .bind(notes.iter().map(|n| n.user_id).collect::<Vec<_>>())
    .bind(notes.iter().map(|n| n.ticket_id).collect::<Vec<_>>())
    .bind(notes.iter().map(|n| n.kind).collect::<Vec<_>>())
    .bind(notes.iter().map(|n| n.text.as_str()).collect::<Vec<_>>())
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    // Identities are handed out in insertion order, which is `i`'s.
    ids.sort_unstable();
    Ok(notes
        .iter()
        .zip(ids)
        .map(|(n, id)| n.stored(id, now))
        .collect())
}
