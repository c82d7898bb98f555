//! What the administration panel reads back: a user's tokens and the
//! history of settings changes.

use sqlx::postgres::PgPool;

use super::read::{get, json_column};
use crate::store::{Result, SettingsChange, SettingsRecord, Token};

pub(super) async fn tokens_of(pool: &PgPool, user_id: i64) -> Result<Vec<Token>> {
    let rows = sqlx::query(
        "SELECT id, user_id, name, created_at, last_used_at, revoked_at FROM api_tokens \
         WHERE user_id = $1 ORDER BY id DESC",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Token {
                id: get(r, "id")?,
                user_id: get(r, "user_id")?,
                name: get(r, "name")?,
                created_at: get(r, "created_at")?,
                last_used_at: get(r, "last_used_at")?,
                revoked_at: get(r, "revoked_at")?,
            })
        })
        .collect()
}

pub(super) async fn settings_history(pool: &PgPool, limit: u32) -> Result<Vec<SettingsRecord>> {
    let rows = sqlx::query(
        "SELECT id, metaservice, ticket_type, user_id, old, new, created_at \
         FROM settings_changes ORDER BY id DESC LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SettingsRecord {
                id: get(r, "id")?,
                change: SettingsChange {
                    metaservice: get(r, "metaservice")?,
                    ticket_type: get(r, "ticket_type")?,
                    user_id: get(r, "user_id")?,
                    old: json_column(r, "old")?,
                    new: json_column(r, "new")?,
                },
                at: get(r, "created_at")?,
            })
        })
        .collect()
}
