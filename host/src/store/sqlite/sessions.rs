//! Passwords and console sessions: rare writes and one indexed read per
//! console request.

use sqlx::SqlitePool;

use super::people::{USER_COLUMNS, user};
use crate::model::Timestamp;
use crate::store::{NewSession, Result, User};

pub(super) async fn set_password(pool: &SqlitePool, user: i64, hash: Option<&str>) -> Result<bool> {
    let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
        .bind(hash)
        .bind(user)
        .execute(pool)
        .await?;
    // A new password (or none) signs the user out everywhere.
    sqlx::query("DELETE FROM sessions WHERE user_id = ?")
        .bind(user)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn password_of(pool: &SqlitePool, login: &str) -> Result<Option<(User, String)>> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, u.password_hash FROM users u \
         WHERE u.login = ? AND u.password_hash IS NOT NULL"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(login)
        .fetch_optional(pool)
        .await?;
    match row {
        Some(row) => {
            let hash: String = sqlx::Row::try_get(&row, "password_hash")?;
            Ok(Some((user(&row)?, hash)))
        }
        None => Ok(None),
    }
}

pub(super) async fn create_session(
    pool: &SqlitePool,
    s: &NewSession,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&s.id_hash)
    .bind(s.user_id)
    .bind(&s.csrf)
    .bind(now)
    .bind(s.expires_at)
    .execute(pool)
    .await?;
    // Expired sessions go when new ones come.
    sqlx::query("DELETE FROM sessions WHERE expires_at < ?")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn session(
    pool: &SqlitePool,
    id_hash: &str,
    now: Timestamp,
) -> Result<Option<(User, String)>> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id_hash = ? AND s.expires_at > ?"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id_hash)
        .bind(now)
        .fetch_optional(pool)
        .await?;
    match row {
        Some(row) => {
            let csrf: String = sqlx::Row::try_get(&row, "csrf")?;
            Ok(Some((user(&row)?, csrf)))
        }
        None => Ok(None),
    }
}

pub(super) async fn end_session(pool: &SqlitePool, id_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}
