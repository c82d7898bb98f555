//! Writes through the pool: this node's row, the catalog sync,
//! ticket-number blocks and bot records. Commits go through the committer
//! (`committer.rs`, `apply.rs`).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use sqlx::postgres::PgPool;
use sqlx::{Postgres, Transaction};

use crate::model::catalog::OnRetention;
use crate::model::{Actor, Catalog, Metaservice, TicketId, Timestamp, duration};
use crate::store::{BotRecord, Result, StoreError};

/// The actor's three columns: kind, user id, bot name.
pub(super) fn actor_columns(actor: &Actor) -> (&'static str, Option<i64>, Option<String>) {
    match actor {
        Actor::User(id) => (actor.kind(), Some(*id), None),
        Actor::Bot(name) => (actor.kind(), None, Some(name.to_string())),
        Actor::Host => (actor.kind(), None, None),
    }
}

/// Ticket numbers fetched per round trip from the `ticket_ids` sequence:
/// a number is then a step in memory, not a query of its own. Sequences
/// never hand a value out twice, whichever node asks; numbers fetched and
/// not used when the process stops are skipped, as those of a failed
/// invocation already are.
pub(super) const ID_BLOCK: i64 = 64;

/// The next [`ID_BLOCK`] ticket numbers, in ascending order.
pub(super) async fn reserve_ticket_ids(pool: &PgPool) -> Result<Vec<TicketId>> {
    let mut ids: Vec<i64> =
        sqlx::query_scalar("SELECT nextval('ticket_ids') FROM generate_series(1, $1)")
            .bind(ID_BLOCK)
            .fetch_all(pool)
            .await?;
    // nextval runs row by row, in order; sorting costs nothing and makes
    // "ascending" not depend on that.
    ids.sort_unstable();
    Ok(ids)
}

/// Now, in milliseconds since the Unix epoch (for this node's row).
pub(super) fn wall_clock() -> Timestamp {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Timestamp)
        .unwrap_or_default()
}

/// `<hostname>-<pid>-<random hex>`: readable in `nodes`, and unique even
/// when a process id is reused on a restarted host.
pub(super) fn new_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "baton".into());
    let mut random = [0u8; 4];
    // Without randomness the pid and the time still tell nodes apart.
    let random = match getrandom::fill(&mut random) {
        Ok(()) => hex::encode(random),
        Err(_) => format!("{:x}", wall_clock()),
    };
    format!("{host}-{}-{random}", std::process::id())
}

/// Registers this node: its row in `nodes`, which its bot records refer to.
pub(super) async fn register_node(pool: &PgPool, id: &str, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO nodes (id, started_at, heartbeat_at) VALUES ($1, $2, $2)")
        .bind(id)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

async fn ensure_group(
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO groups (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Any fixed number: the advisory lock that serialises catalog syncs.
const SYNC_LOCK: i64 = 0x6261_746f_6e01;

/// Upserts every metaservice, type, state and transition. States and
/// transitions of a type are replaced whole; rows of types a manifest no
/// longer declares are kept, since tickets may still refer to them.
///
/// Nodes starting together sync the same catalog: an advisory lock makes
/// their syncs run one after the other, since two replacing the same
/// states at once would collide on their keys.
pub(super) async fn sync_catalog(pool: &PgPool, catalog: &Catalog, now: Timestamp) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SYNC_LOCK)
        .execute(&mut *tx)
        .await?;
    for ms in catalog.metaservices() {
        sqlx::query(
            "INSERT INTO metaservices (name, description, error_group, source, synced_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET \
             description = excluded.description, error_group = excluded.error_group, \
             source = excluded.source, synced_at = excluded.synced_at",
        )
        .bind(&ms.name)
        .bind(&ms.description)
        .bind(&ms.error_group)
        .bind(&ms.source)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        ensure_group(&mut tx, &ms.error_group, now).await?;
        sync_types(&mut tx, ms).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One metaservice's ticket types, with their states and transitions.
async fn sync_types(tx: &mut Transaction<'static, Postgres>, ms: &Metaservice) -> Result<()> {
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
             metadata_schema, settings) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (metaservice, name) DO UPDATE SET description = excluded.description, \
             initial_state = excluded.initial_state, metadata_schema = excluded.metadata_schema, \
             settings = excluded.settings",
        )
        .bind(&ms.name)
        .bind(&tt.name)
        .bind(&tt.description)
        .bind(i64::from(tt.initial))
        .bind(tt.metadata_schema.to_string())
        .bind(settings.to_string())
        .execute(&mut **tx)
        .await?;
        for table in ["ticket_transitions", "ticket_states"] {
            let sql = format!("DELETE FROM {table} WHERE metaservice = $1 AND ticket_type = $2");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&ms.name)
                .bind(&tt.name)
                .execute(&mut **tx)
                .await?;
        }
        for st in tt.states.values() {
            sqlx::query(
                "INSERT INTO ticket_states (metaservice, ticket_type, code, name, description, \
                 terminal) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&ms.name)
            .bind(&tt.name)
            .bind(i64::from(st.code))
            .bind(&st.name)
            .bind(&st.description)
            .bind(st.terminal)
            .execute(&mut **tx)
            .await?;
        }
        for (from, to) in &tt.transitions {
            for (position, code) in to.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO ticket_transitions (metaservice, ticket_type, from_code, \
                     to_code, position) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&ms.name)
                .bind(&tt.name)
                .bind(i64::from(*from))
                .bind(i64::from(*code))
                .bind(position as i64)
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(())
}

/// Records a bot's status as this node sees it.
pub(super) async fn record_bot(pool: &PgPool, node: &str, bot: &BotRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO bots (node_id, name, sha256, status, restarts, loaded_at, last_error, \
         refused_sha256, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (node_id, name) DO UPDATE SET sha256 = excluded.sha256, \
         status = excluded.status, restarts = excluded.restarts, loaded_at = excluded.loaded_at, \
         last_error = excluded.last_error, refused_sha256 = excluded.refused_sha256, \
         updated_at = excluded.updated_at",
    )
    .bind(node)
    .bind(&bot.name)
    .bind(&bot.sha256)
    .bind(&bot.status)
    .bind(i64::from(bot.restarts))
    .bind(bot.loaded_at)
    .bind(&bot.last_error)
    .bind(&bot.refused_sha256)
    .bind(bot.updated_at)
    .execute(pool)
    .await
    .map_err(|e| match &e {
        // Another process deleted this node's row (it took us for dead).
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::NotFound(format!("node {node}"))
        }
        _ => StoreError::Database(e),
    })?;
    Ok(())
}
