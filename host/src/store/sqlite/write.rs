//! Writes: commits (the one path for ticket changes) and the catalog sync.

use serde_json::json;
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::model::catalog::OnRetention;
use crate::model::{Actor, Catalog, Status, TicketId, Timestamp, duration};
use crate::store::{
    BotRecord, Commit, Committed, NewStakeholder, NewTicket, Principal, Result, StoreError,
};

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

/// Applies a commit inside `tx`. Any error leaves the transaction to be
/// rolled back by the caller (dropping it does).
pub(super) async fn apply(
    tx: &mut Transaction<'static, Sqlite>,
    commit: &Commit,
    now: Timestamp,
) -> Result<Committed> {
    let mut committed = Committed::default();
    if let Some(event) = commit.consumes {
        let done = sqlx::query("DELETE FROM events WHERE id = ?")
            .bind(event)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            // Another worker consumed it after our lease ran out: its
            // commit stands, ours must not.
            return Err(StoreError::Consumed(event));
        }
    }
    for t in &commit.inserts {
        insert_ticket(tx, t, now).await?;
    }
    for u in &commit.updates {
        let status = u.state.map(|(_, s)| s.as_str());
        let closed_at = (status == Some(Status::Closed.as_str())).then_some(now);
        let done = sqlx::query(
            "UPDATE tickets SET title = COALESCE(?, title), state_code = COALESCE(?, state_code), \
             status = COALESCE(?, status), metadata = COALESCE(?, metadata), \
             closed_at = COALESCE(?, closed_at), updated_at = ?, version = version + 1 \
             WHERE id = ? AND version = ?",
        )
        .bind(&u.title)
        .bind(u.state.map(|(code, _)| code))
        .bind(status)
        .bind(u.metadata.as_ref().map(|m| m.to_string()))
        .bind(closed_at)
        .bind(now)
        .bind(u.id)
        .bind(u.expected_version)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(u.id));
        }
        if let Some((state, status)) = u.state {
            super::timers::moved(tx, u.id, state).await?;
            if status == Status::Closed {
                super::timers::closed(tx, u.id, now).await?;
            }
        }
    }
    // After the moves, so that a wait on a ticket closed by this very
    // commit ends at once.
    for t in &commit.timers {
        super::timers::insert(tx, t, now).await?;
    }
    for (ticket, state) in &commit.proceeded {
        sqlx::query(
            "INSERT INTO proceeded (ticket_id, state_code, at) VALUES (?, ?, ?) \
             ON CONFLICT (ticket_id, state_code) DO UPDATE SET at = excluded.at",
        )
        .bind(ticket)
        .bind(state)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    for log in &commit.logs {
        let (kind, user, bot) = actor_columns(&log.actor);
        sqlx::query(
            "INSERT INTO ticket_logs (ticket_id, actor_kind, actor_user, actor_bot, action, \
             from_state, to_state, message, data, acting_stakeholder_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(log.ticket_id)
        .bind(kind)
        .bind(user)
        .bind(bot)
        .bind(log.action)
        .bind(log.from_state)
        .bind(log.to_state)
        .bind(&log.message)
        .bind(log.data.as_ref().map(|d| d.to_string()))
        .bind(log.acting_stakeholder)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    for e in &commit.events {
        sqlx::query(
            "INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(e.ticket_id)
        .bind(e.state_code)
        .bind(e.kind.as_str())
        .bind(e.payload.to_string())
        .bind(e.available_at)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    for (ticket, s) in &commit.stakeholders {
        committed
            .stakeholder_ids
            .push(insert_stakeholder(tx, *ticket, s, now).await?);
    }
    for u in &commit.stakeholder_updates {
        let done = sqlx::query(
            "UPDATE ticket_stakeholders SET connection = COALESCE(?, connection), \
             is_active = COALESCE(?, is_active) WHERE id = ? AND ticket_id = ?",
        )
        .bind(u.connection)
        .bind(u.is_active)
        .bind(u.id)
        .bind(u.ticket_id)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("stakeholder {}", u.id)));
        }
    }
    for c in &commit.comments {
        // Only on an open ticket: a comment racing the commit that closes
        // the ticket loses, as a closed ticket is read-only.
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO ticket_comments (ticket_id, body, acting_user_id, acting_stakeholder_id, created_at) \
             SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS \
               (SELECT 1 FROM tickets WHERE id = ?1 AND status = 'open') RETURNING id",
        )
        .bind(c.ticket_id)
        .bind(&c.body)
        .bind(c.acting_user_id)
        .bind(c.acting_stakeholder_id)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
        let id = id.ok_or(StoreError::Conflict(c.ticket_id))?;
        committed.comment_ids.push(id);
        if let Some(state) = c.event_for_state {
            let payload =
                serde_json::json!({"comment_id": id, "body": c.body, "user_id": c.acting_user_id});
            sqlx::query(
                "INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at) \
                 VALUES (?, ?, 'comment', ?, ?, ?)",
            )
            .bind(c.ticket_id)
            .bind(state)
            .bind(payload.to_string())
            .bind(now)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
    }
    for n in &commit.notifications {
        let row = sqlx::query(
            "INSERT INTO notifications (user_id, ticket_id, kind, text, created_at) VALUES (?, ?, ?, ?, ?) \
             RETURNING id, user_id, ticket_id, kind, text, read_at, created_at",
        )
        .bind(n.user_id)
        .bind(n.ticket_id)
        .bind(n.kind)
        .bind(&n.text)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        committed
            .notifications
            .push(super::people::notification(&row)?);
    }
    Ok(committed)
}

async fn insert_ticket(
    tx: &mut Transaction<'static, Sqlite>,
    t: &NewTicket,
    now: Timestamp,
) -> Result<()> {
    let (kind, user, bot) = actor_columns(&t.created_by);
    let closed_at = (t.status == Status::Closed).then_some(now);
    sqlx::query(
        "INSERT INTO tickets (id, metaservice, ticket_type, title, state_code, status, metadata, \
         parent_id, created_by_kind, created_by_user, created_by_bot, created_at, updated_at, \
         closed_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
    )
    .bind(t.id)
    .bind(&t.metaservice)
    .bind(&t.ticket_type)
    .bind(&t.title)
    .bind(t.state_code)
    .bind(t.status.as_str())
    .bind(t.metadata.to_string())
    .bind(t.parent_id)
    .bind(kind)
    .bind(user)
    .bind(bot)
    .bind(now)
    .bind(now)
    .bind(closed_at)
    .execute(&mut **tx)
    .await?;
    for s in &t.stakeholders {
        insert_stakeholder(tx, t.id, s, now).await?;
    }
    Ok(())
}

async fn insert_stakeholder(
    tx: &mut Transaction<'static, Sqlite>,
    ticket: TicketId,
    s: &NewStakeholder,
    now: Timestamp,
) -> Result<i64> {
    let (kind, user, group) = match &s.principal {
        Principal::User(id) => ("user", Some(*id), None),
        Principal::Group(name) => ("group", None, Some(ensure_group(tx, name, now).await?)),
    };
    let id = sqlx::query_scalar(
        "INSERT INTO ticket_stakeholders (ticket_id, principal_kind, user_id, group_id, \
         connection, role, is_active, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?) RETURNING id",
    )
    .bind(ticket)
    .bind(kind)
    .bind(user)
    .bind(group)
    .bind(s.connection)
    .bind(s.role)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::NotFound(format!("{:?}", s.principal))
        }
        _ => StoreError::Database(e),
    })?;
    Ok(id)
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
