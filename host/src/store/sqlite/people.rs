//! Users, groups, tokens, notifications and settings overrides.

use rusqlite::Connection;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use super::read::json_column;
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

pub(super) fn user(row: &SqliteRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        login: row.try_get("login")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        is_admin: row.try_get("is_admin")?,
        email_notifications: row.try_get("email_notifications")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) const USER_COLUMNS: &str =
    "u.id, u.login, u.name, u.email, u.is_admin, u.email_notifications, u.created_at";

pub(super) async fn create_user(pool: &SqlitePool, new: &NewUser, now: Timestamp) -> Result<User> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (login, name, email, is_admin, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
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

pub(super) async fn user_by_id(pool: &SqlitePool, id: i64) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| user(&r)).transpose()
}

pub(super) async fn users(pool: &SqlitePool) -> Result<Vec<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?;
    rows.iter().map(user).collect()
}

pub(super) async fn count_users(pool: &SqlitePool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await?)
}

pub(super) async fn create_token(
    pool: &SqlitePool,
    user_id: i64,
    name: &str,
    hash: &str,
    now: Timestamp,
) -> Result<Token> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(user_id)
    .bind(name)
    .bind(hash)
    .bind(now)
    .fetch_one(pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound(format!("user {user_id}")),
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

pub(super) async fn revoke_token(pool: &SqlitePool, id: i64, now: Timestamp) -> Result<bool> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// How stale `last_used_at` may get before a request writes it again: a
/// write per request would serialise every read behind the writer lock.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// The live token with this hash and its user, read on a read
/// connection (every API request asks), with when it was last used.
pub(super) fn authenticate(
    conn: &Connection,
    hash: &str,
) -> Result<Option<(Authenticated, Option<Timestamp>)>> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, t.id AS token_id, t.last_used_at FROM api_tokens t \
         JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1 AND t.revoked_at IS NULL"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([hash])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let user = User {
        id: row.get("id")?,
        login: row.get("login")?,
        name: row.get("name")?,
        email: row.get("email")?,
        is_admin: row.get("is_admin")?,
        email_notifications: row.get("email_notifications")?,
        created_at: row.get("created_at")?,
    };
    let token_id: i64 = row.get("token_id")?;
    Ok(Some((
        Authenticated { user, token_id },
        row.get("last_used_at")?,
    )))
}

/// Whether a token last used at `last` should have its use recorded at
/// `now`: at most once a minute, so that reads do not each cost a write.
pub(super) fn record_use(last: Option<Timestamp>, now: Timestamp) -> bool {
    last.is_none_or(|t| now - t > LAST_USED_RESOLUTION_MS)
}

/// Records a token's use. On the writer's connection.
pub(super) fn used(conn: &Connection, token: i64, now: Timestamp) -> Result<()> {
    conn.prepare_cached("UPDATE api_tokens SET last_used_at = ?1 WHERE id = ?2")?
        .execute(rusqlite::params![now, token])?;
    Ok(())
}

async fn members(pool: &SqlitePool, group_id: i64) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id")
            .bind(group_id)
            .fetch_all(pool)
            .await?,
    )
}

async fn group_rows(pool: &SqlitePool, rows: Vec<SqliteRow>) -> Result<Vec<Group>> {
    let mut groups = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.try_get("id")?;
        groups.push(Group {
            id,
            name: row.try_get("name")?,
            members: members(pool, id).await?,
            created_at: row.try_get("created_at")?,
        });
    }
    Ok(groups)
}

pub(super) async fn create_group(pool: &SqlitePool, name: &str, now: Timestamp) -> Result<Group> {
    let id: i64 =
        sqlx::query_scalar("INSERT INTO groups (name, created_at) VALUES (?, ?) RETURNING id")
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

pub(super) async fn group(pool: &SqlitePool, name: &str) -> Result<Option<Group>> {
    let rows = sqlx::query("SELECT id, name, created_at FROM groups WHERE name = ?")
        .bind(name)
        .fetch_all(pool)
        .await?;
    Ok(group_rows(pool, rows).await?.pop())
}

pub(super) async fn groups(pool: &SqlitePool) -> Result<Vec<Group>> {
    let rows = sqlx::query("SELECT id, name, created_at FROM groups ORDER BY name")
        .fetch_all(pool)
        .await?;
    group_rows(pool, rows).await
}

pub(super) async fn groups_of(pool: &SqlitePool, user_id: i64) -> Result<Vec<Group>> {
    let rows = sqlx::query(
        "SELECT g.id, g.name, g.created_at FROM groups g JOIN group_members m ON m.group_id = g.id \
         WHERE m.user_id = ? ORDER BY g.name",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    group_rows(pool, rows).await
}

pub(super) async fn set_member(
    pool: &SqlitePool,
    group_id: i64,
    user_id: i64,
    member: bool,
) -> Result<bool> {
    let done = if member {
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(group_id)
        .bind(user_id)
        .execute(pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::NotFound(format!("user {user_id}"))
            }
            _ => StoreError::Database(e),
        })?
    } else {
        sqlx::query("DELETE FROM group_members WHERE group_id = ? AND user_id = ?")
            .bind(group_id)
            .bind(user_id)
            .execute(pool)
            .await?
    };
    Ok(done.rows_affected() == 1)
}

pub(super) fn notification(row: &SqliteRow) -> Result<Notification> {
    Ok(Notification {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        ticket_id: row.try_get("ticket_id")?,
        kind: row.try_get("kind")?,
        text: row.try_get("text")?,
        read_at: row.try_get("read_at")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) async fn notifications(
    pool: &SqlitePool,
    user_id: i64,
    after: Option<(bool, i64)>,
    limit: u32,
) -> Result<Vec<Notification>> {
    // Unread (read = 0) before read, then newest first; the cursor is the
    // (read, id) of the last row seen.
    let (read, id) = after.unwrap_or((false, i64::MAX));
    // A notification about a ticket the user may no longer see (they left
    // the group it was for) is no longer shown.
    let sql = format!(
        "SELECT id, user_id, ticket_id, kind, text, read_at, created_at FROM notifications \
         WHERE user_id = ?1 AND ((read_at IS NOT NULL) > ?2 OR ((read_at IS NOT NULL) = ?2 AND id < ?3)) \
           AND (ticket_id IS NULL OR (SELECT is_admin FROM users WHERE id = ?1) = 1 \
                OR ticket_id IN ({})) \
         ORDER BY (read_at IS NOT NULL), id DESC LIMIT ?4",
        super::list::visible_to(1)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .bind(read)
        .bind(if after.is_some() { id } else { i64::MAX })
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(notification).collect()
}

pub(super) async fn mark_read(
    pool: &SqlitePool,
    user_id: i64,
    id: i64,
    now: Timestamp,
) -> Result<bool> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM notifications WHERE id = ? AND user_id = ?")
            .bind(id)
            .bind(user_id)
            .fetch_optional(pool)
            .await?;
    if exists.is_none() {
        return Ok(false);
    }
    sqlx::query("UPDATE notifications SET read_at = COALESCE(read_at, ?) WHERE id = ?")
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(true)
}

pub(super) async fn set_settings(
    pool: &SqlitePool,
    change: &SettingsChange,
    now: Timestamp,
) -> Result<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let done = sqlx::query(
        "UPDATE ticket_types SET settings_override = ? WHERE metaservice = ? AND name = ?",
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
        "INSERT INTO settings_changes (metaservice, ticket_type, user_id, old, new, created_at) VALUES (?, ?, ?, ?, ?, ?)",
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

pub(super) async fn settings_overrides(pool: &SqlitePool) -> Result<Vec<(String, String, Value)>> {
    let rows = sqlx::query(
        "SELECT metaservice, name, settings_override FROM ticket_types WHERE settings_override IS NOT NULL",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("metaservice")?,
                r.try_get("name")?,
                json_column(r, "settings_override")?,
            ))
        })
        .collect()
}

pub(super) async fn involved_in(
    pool: &SqlitePool,
    user_id: i64,
    metaservice: &str,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM ticket_stakeholders s JOIN tickets t ON t.id = s.ticket_id \
         WHERE s.user_id = ? AND t.metaservice = ? LIMIT 1",
    )
    .bind(user_id)
    .bind(metaservice)
    .fetch_optional(pool)
    .await?;
    Ok(found.is_some())
}
