//! What the administration panel reads back: a user's tokens and the
//! history of settings changes.

use sqlx::{Row, SqlitePool};

use super::read::json_column;
use crate::store::{Result, SettingsChange, SettingsRecord, Token};

pub(super) async fn tokens_of(pool: &SqlitePool, user_id: i64) -> Result<Vec<Token>> {
    let rows = sqlx::query(
        "SELECT id, user_id, name, created_at, last_used_at, revoked_at FROM api_tokens \
         WHERE user_id = ? ORDER BY id DESC",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Token {
                id: r.try_get("id")?,
                user_id: r.try_get("user_id")?,
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}

pub(super) async fn settings_history(pool: &SqlitePool, limit: u32) -> Result<Vec<SettingsRecord>> {
    let rows = sqlx::query(
        "SELECT id, metaservice, ticket_type, user_id, old, new, created_at \
         FROM settings_changes ORDER BY id DESC LIMIT ?",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SettingsRecord {
                id: r.try_get("id")?,
                change: SettingsChange {
                    metaservice: r.try_get("metaservice")?,
                    ticket_type: r.try_get("ticket_type")?,
                    user_id: r.try_get("user_id")?,
                    old: json_column(r, "old")?,
                    new: json_column(r, "new")?,
                },
                at: r.try_get("created_at")?,
            })
        })
        .collect()
}
