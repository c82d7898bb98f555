//! Users, groups, tokens, notifications and settings overrides.

use serde_json::Value;
use sqlx::Postgres;
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgRow};
use sqlx::query::Query;

use super::read::{get, json_column};
use crate::model::Timestamp;
use crate::store::{
    Authenticated, Group, NewUser, Notification, Result, SettingsChange, StoreError, Token, User,
};

/// Maps a unique-constraint failure to `Duplicate(what)`.
fn unique(e: sqlx::Error, what: String) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(what),
        _ => StoreError::Database(e),
    }
}

/// Maps a foreign-key failure on the user to `NotFound`.
fn user_exists(e: sqlx::Error, user_id: i64) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::NotFound(format!("user {user_id}"))
        }
        _ => StoreError::Database(e),
    }
}

pub(super) fn user(row: &PgRow) -> Result<User> {
    Ok(User {
        id: get(row, "id")?,
        login: get(row, "login")?,
        name: get(row, "name")?,
        email: get(row, "email")?,
        is_admin: get(row, "is_admin")?,
        email_notifications: get(row, "email_notifications")?,
        created_at: get(row, "created_at")?,
    })
}

pub(super) const USER_COLUMNS: &str =
    "u.id, u.login, u.name, u.email, u.is_admin, u.email_notifications, u.created_at";

pub(super) async fn create_user(pool: &PgPool, new: &NewUser, now: Timestamp) -> Result<User> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (login, name, email, is_admin, created_at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id",
    )
    .bind(&new.login)
    .bind(&new.name)
    .bind(&new.email)
    .bind(new.is_admin)
    .bind(now)
    .fetch_one(pool)
    .await
    .map_err(|e| unique(e, format!("user {:?}", new.login)))?;
    Ok(User {
        id,
        login: new.login.clone(),
        name: new.name.clone(),
        email: new.email.clone(),
        is_admin: new.is_admin,
        email_notifications: true,
        created_at: now,
    })
}

pub(super) async fn user_by_id(pool: &PgPool, id: i64) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(user).transpose()
}

pub(super) async fn users(pool: &PgPool) -> Result<Vec<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?;
    rows.iter().map(user).collect()
}

pub(super) async fn count_users(pool: &PgPool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await?)
}

pub(super) async fn create_token(
    pool: &PgPool,
    user_id: i64,
    name: &str,
    hash: &str,
    now: Timestamp,
) -> Result<Token> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id",
    )
    .bind(user_id)
    .bind(name)
    .bind(hash)
    .bind(now)
    .fetch_one(pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => user_exists(e, user_id),
        _ => unique(e, "token".into()),
    })?;
    Ok(Token {
        id,
        user_id,
        name: name.to_string(),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    })
}

pub(super) async fn revoke_token(pool: &PgPool, id: i64, now: Timestamp) -> Result<bool> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// How stale `last_used_at` may get before a request writes it again: a
/// write per request would put every read on the commit path.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// The live token with this hash and its user (every API request asks),
/// with when it was last used.
pub(super) async fn authenticate(
    pool: &PgPool,
    hash: &str,
) -> Result<Option<(Authenticated, Option<Timestamp>)>> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, t.id AS token_id, t.last_used_at FROM api_tokens t \
         JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
    );
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(hash)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let who = Authenticated {
        user: user(&row)?,
        token_id: get(&row, "token_id")?,
    };
    Ok(Some((who, get(&row, "last_used_at")?)))
}

/// Whether a token last used at `last` should have its use recorded at
/// `now`: at most once a minute, so that reads do not each cost a write.
pub(super) fn record_use(last: Option<Timestamp>, now: Timestamp) -> bool {
    last.is_none_or(|t| now - t > LAST_USED_RESOLUTION_MS)
}

/// Records a token's use. On a committer's connection.
pub(super) async fn used(conn: &mut PgConnection, token: i64, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(token)
        .execute(conn)
        .await?;
    Ok(())
}

/// Groups with their members (see `group_select!`), in one query.
async fn group_rows(pool: &PgPool, query: Query<'_, Postgres, PgArguments>) -> Result<Vec<Group>> {
    let rows = query.fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            Ok(Group {
                id: get(row, "id")?,
                name: get(row, "name")?,
                members: get(row, "members")?,
                created_at: get(row, "created_at")?,
            })
        })
        .collect()
}

/// A group's members, ordered by id, as an array column.
macro_rules! group_select {
    ($from:literal) => {
        concat!(
            "SELECT g.id, g.name, g.created_at, ARRAY(SELECT m.user_id FROM group_members m \
             WHERE m.group_id = g.id ORDER BY m.user_id) AS members ",
            $from
        )
    };
}

pub(super) async fn create_group(pool: &PgPool, name: &str, now: Timestamp) -> Result<Group> {
    let id: i64 =
        sqlx::query_scalar("INSERT INTO groups (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(now)
            .fetch_one(pool)
            .await
            .map_err(|e| unique(e, format!("group {name:?}")))?;
    Ok(Group {
        id,
        name: name.to_string(),
        members: Vec::new(),
        created_at: now,
    })
}

pub(super) async fn group(pool: &PgPool, name: &str) -> Result<Option<Group>> {
    let query = sqlx::query(group_select!("FROM groups g WHERE g.name = $1")).bind(name);
    Ok(group_rows(pool, query).await?.pop())
}

pub(super) async fn groups(pool: &PgPool) -> Result<Vec<Group>> {
    group_rows(
        pool,
        sqlx::query(group_select!("FROM groups g ORDER BY g.name")),
    )
    .await
}

pub(super) async fn groups_of(pool: &PgPool, user_id: i64) -> Result<Vec<Group>> {
    let sql = group_select!(
        "FROM groups g JOIN group_members j ON j.group_id = g.id WHERE j.user_id = $1 \
         ORDER BY g.name"
    );
    group_rows(pool, sqlx::query(sql).bind(user_id)).await
}

pub(super) async fn set_member(
    pool: &PgPool,
    group_id: i64,
    user_id: i64,
    member: bool,
) -> Result<bool> {
    let done = if member {
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(group_id)
        .bind(user_id)
        .execute(pool)
        .await
        .map_err(|e| user_exists(e, user_id))?
    } else {
        sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group_id)
            .bind(user_id)
            .execute(pool)
            .await?
    };
    Ok(done.rows_affected() == 1)
}

fn notification(row: &PgRow) -> Result<Notification> {
    Ok(Notification {
        id: get(row, "id")?,
        user_id: get(row, "user_id")?,
        ticket_id: get(row, "ticket_id")?,
        kind: get(row, "kind")?,
        text: get(row, "text")?,
        read_at: get(row, "read_at")?,
        created_at: get(row, "created_at")?,
    })
}

/// The notifications among `ids` for one of `users` (for the event
/// streams of a node that did not commit them).
pub(super) async fn notifications_by_id(
    pool: &PgPool,
    ids: &[i64],
    users: &[i64],
) -> Result<Vec<Notification>> {
    let rows = sqlx::query(
        "SELECT id, user_id, ticket_id, kind, text, read_at, created_at FROM notifications \
         WHERE id = ANY($1) AND user_id = ANY($2) ORDER BY id",
    )
    .bind(ids)
    .bind(users)
    .fetch_all(pool)
    .await?;
    rows.iter().map(notification).collect()
}

pub(super) async fn notifications(
    pool: &PgPool,
    user_id: i64,
    after: Option<(bool, i64)>,
    limit: u32,
) -> Result<Vec<Notification>> {
    // Unread (false) before read (true), then newest first; the cursor is
    // the (read, id) of the last row seen.
    let (read, id) = after.unwrap_or((false, i64::MAX));
    // A notification about a ticket the user may no longer see (they left
    // the group it was for) is no longer shown.
    let sql = format!(
        "SELECT id, user_id, ticket_id, kind, text, read_at, created_at FROM notifications \
         WHERE user_id = $1 AND ((read_at IS NOT NULL) > $2 \
           OR ((read_at IS NOT NULL) = $2 AND id < $3)) \
           AND (ticket_id IS NULL OR (SELECT is_admin FROM users WHERE id = $1) \
                OR ticket_id IN ({})) \
         ORDER BY (read_at IS NOT NULL), id DESC LIMIT $4",
        super::list::visible_to(1)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .bind(read)
        .bind(if after.is_some() { id } else { i64::MAX })
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(notification).collect()
}

/// Marks a user's notification read (the first time only); `false` if
/// it is not theirs.
pub(super) async fn mark_read(
    pool: &PgPool,
    user_id: i64,
    id: i64,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND user_id = $3",
    )
    .bind(now)
    .bind(id)
    .bind(user_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn set_settings(
    pool: &PgPool,
    change: &SettingsChange,
    now: Timestamp,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE ticket_types SET settings_override = $1 WHERE metaservice = $2 AND name = $3",
    )
    .bind(change.new.to_string())
    .bind(&change.metaservice)
    .bind(&change.ticket_type)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "ticket type {}/{}",
            change.metaservice, change.ticket_type
        )));
    }
    sqlx::query(
        "INSERT INTO settings_changes (metaservice, ticket_type, user_id, old, new, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&change.metaservice)
    .bind(&change.ticket_type)
    .bind(change.user_id)
    .bind(change.old.to_string())
    .bind(change.new.to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn settings_overrides(pool: &PgPool) -> Result<Vec<(String, String, Value)>> {
    let rows = sqlx::query(
        "SELECT metaservice, name, settings_override FROM ticket_types \
         WHERE settings_override IS NOT NULL",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                get(r, "metaservice")?,
                get(r, "name")?,
                json_column(r, "settings_override")?,
            ))
        })
        .collect()
}

pub(super) async fn involved_in(pool: &PgPool, user_id: i64, metaservice: &str) -> Result<bool> {
    let found: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM ticket_stakeholders s JOIN tickets t ON t.id = s.ticket_id \
         WHERE s.user_id = $1 AND t.metaservice = $2 LIMIT 1",
    )
    .bind(user_id)
    .bind(metaservice)
    .fetch_optional(pool)
    .await?;
    Ok(found.is_some())
}
