//! Writes through the pool: the catalog sync, ticket-number blocks and bot
//! records. Commits go through the writer (`writer.rs`, `apply.rs`).

use serde_json::json;
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::model::catalog::OnRetention;
use crate::model::{Actor, Catalog, TicketId, Timestamp, duration};
use crate::store::{BotRecord, Result};

/// The actor's three columns: kind, user id, bot name.
pub(super) fn actor_columns(actor: &Actor) -> (&'static str, Option<i64>, Option<String>) {
    match actor {
        Actor::User(id) => (actor.kind(), Some(*id), None),
        Actor::Bot(name) => (actor.kind(), None, Some(name.to_string())),
        Actor::Host => (actor.kind(), None, None),
    }
}

/// Ticket numbers reserved per write: a number is then a step in memory,
/// not a transaction (and an fsync) of its own. Numbers reserved and not
/// used when the process stops are skipped, as those of a failed
/// invocation already are.
pub(super) const ID_BLOCK: i64 = 64;

/// Reserves the next block of ticket numbers: `[first, first + ID_BLOCK)`.
pub(super) async fn reserve_ticket_ids(pool: &SqlitePool) -> Result<TicketId> {
    let first: i64 = sqlx::query_scalar(
        "UPDATE id_sequences SET next_value = next_value + ?1 WHERE name = 'tickets' \
         RETURNING next_value - ?1",
    )
    .bind(ID_BLOCK)
    .fetch_one(pool)
    .await?;
    Ok(first)
}

async fn ensure_group(
    tx: &mut Transaction<'static, Sqlite>,
    name: &str,
    now: Timestamp,
) -> Result<i64> {
    sqlx::query(
        "INSERT INTO groups (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let id: i64 = sqlx::query_scalar("SELECT id FROM groups WHERE name = ?")
        .bind(name)
        .fetch_one(&mut **tx)
        .await?;
    Ok(id)
}

/// Upserts every metaservice, type, state and transition. States and
/// transitions of a type are replaced whole; rows of types a manifest no
/// longer declares are kept, since tickets may still refer to them.
pub(super) async fn sync_catalog(
    pool: &SqlitePool,
    catalog: &Catalog,
    now: Timestamp,
) -> Result<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for ms in catalog.metaservices() {
        sqlx::query(
            "INSERT INTO metaservices (name, description, error_group, source, synced_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET description = excluded.description, \
             error_group = excluded.error_group, source = excluded.source, synced_at = excluded.synced_at",
        )
        .bind(&ms.name)
        .bind(&ms.description)
        .bind(&ms.error_group)
        .bind(&ms.source)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        ensure_group(&mut tx, &ms.error_group, now).await?;
        for tt in ms.ticket_types.values() {
            let s = &tt.settings;
            let settings = json!({
                "lifetime": s.lifetime.map(duration::format),
                "notify_every": s.notify_every.map(duration::format),
                "notify_repeats": s.notify_repeats,
                "retention": s.retention.map(duration::format),
                "on_retention": OnRetention::as_str(s.on_retention),
            });
            sqlx::query(
                "INSERT INTO ticket_types (metaservice, name, description, initial_state, \
                 metadata_schema, settings) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (metaservice, name) \
                 DO UPDATE SET description = excluded.description, initial_state = excluded.initial_state, \
                 metadata_schema = excluded.metadata_schema, settings = excluded.settings",
            )
            .bind(&ms.name)
            .bind(&tt.name)
            .bind(&tt.description)
            .bind(tt.initial)
            .bind(tt.metadata_schema.to_string())
            .bind(settings.to_string())
            .execute(&mut *tx)
            .await?;
            for table in ["ticket_transitions", "ticket_states"] {
                let sql = format!("DELETE FROM {table} WHERE metaservice = ? AND ticket_type = ?");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&ms.name)
                    .bind(&tt.name)
                    .execute(&mut *tx)
                    .await?;
            }
            for st in tt.states.values() {
                sqlx::query(
                    "INSERT INTO ticket_states (metaservice, ticket_type, code, name, description, terminal) \
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(&ms.name)
                .bind(&tt.name)
                .bind(st.code)
                .bind(&st.name)
                .bind(&st.description)
                .bind(st.terminal)
                .execute(&mut *tx)
                .await?;
            }
            for (from, to) in &tt.transitions {
                for (position, code) in to.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO ticket_transitions (metaservice, ticket_type, from_code, to_code, position) \
                         VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(&ms.name)
                    .bind(&tt.name)
                    .bind(from)
                    .bind(code)
                    .bind(position as i64)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn record_bot(pool: &SqlitePool, bot: &BotRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO bots (name, sha256, status, restarts, loaded_at, last_error, refused_sha256, \
         updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET \
         sha256 = excluded.sha256, status = excluded.status, restarts = excluded.restarts, \
         loaded_at = excluded.loaded_at, last_error = excluded.last_error, \
         refused_sha256 = excluded.refused_sha256, updated_at = excluded.updated_at",
    )
    .bind(&bot.name)
    .bind(&bot.sha256)
    .bind(&bot.status)
    .bind(bot.restarts)
    .bind(bot.loaded_at)
    .bind(&bot.last_error)
    .bind(&bot.refused_sha256)
    .bind(bot.updated_at)
    .execute(pool)
    .await?;
    Ok(())
}
