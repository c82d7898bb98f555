//! Applying one [`Commit`] on the writer's connection (`writer.rs`): the
//! one path by which tickets change. Statements are prepared once per
//! connection and reused from its cache.
//!
//! Any error leaves the job's writes to be undone by the writer (its
//! transaction rolled back, then the job alone in a savepoint).

use rusqlite::{Connection, OptionalExtension, params};

use crate::model::{Status, TicketId, Timestamp};
use crate::store::{
    Commit, Committed, NewComment, NewStakeholder, NewTicket, NewTimer, Principal, Result,
    StoreError, TicketUpdate, TimerKind,
};

use super::write::actor_columns;

/// Applies `commit` as of `now`.
pub(super) fn apply(conn: &Connection, commit: &Commit, now: Timestamp) -> Result<Committed> {
    let mut committed = Committed::default();
    if let Some(event) = commit.consumes {
        let gone = conn
            .prepare_cached("DELETE FROM events WHERE id = ?1")?
            .execute([event])?;
        if gone == 0 {
            // Another worker consumed it after our lease ran out: its
            // commit stands, ours must not.
            return Err(StoreError::Consumed(event));
        }
    }
    for t in &commit.inserts {
        insert_ticket(conn, t, now)?;
    }
    for u in &commit.updates {
        update_ticket(conn, u, now)?;
    }
    // After the moves, so that a wait on a ticket closed by this very
    // commit ends at once.
    for t in &commit.timers {
        insert_timer(conn, t, now)?;
    }
    let mut proceeded = conn.prepare_cached(
        "INSERT INTO proceeded (ticket_id, state_code, at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (ticket_id, state_code) DO UPDATE SET at = excluded.at",
    )?;
    for (ticket, state) in &commit.proceeded {
        proceeded.execute(params![ticket, state, now])?;
    }
    let mut log = conn.prepare_cached(
        "INSERT INTO ticket_logs (ticket_id, actor_kind, actor_user, actor_bot, action, \
         from_state, to_state, message, data, acting_stakeholder_id, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for l in &commit.logs {
        let (kind, user, bot) = actor_columns(&l.actor);
        let data = l.data.as_ref().map(|d| d.to_string());
        log.execute(params![
            l.ticket_id,
            kind,
            user,
            bot,
            l.action,
            l.from_state,
            l.to_state,
            l.message,
            data,
            l.acting_stakeholder,
            now
        ])?;
    }
    for e in &commit.events {
        let payload = e.payload.to_string();
        insert_event(
            conn,
            e.ticket_id,
            e.state_code,
            e.kind.as_str(),
            &payload,
            e.available_at,
            now,
        )?;
    }
    for (ticket, s) in &commit.stakeholders {
        committed
            .stakeholder_ids
            .push(insert_stakeholder(conn, *ticket, s, now)?);
    }
    update_stakeholders(conn, commit)?;
    for c in &commit.comments {
        committed.comment_ids.push(insert_comment(conn, c, now)?);
    }
    let mut notify = conn.prepare_cached(
        "INSERT INTO notifications (user_id, ticket_id, kind, text, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
    )?;
    for n in &commit.notifications {
        let id: i64 = notify
            .query_row(params![n.user_id, n.ticket_id, n.kind, n.text, now], |r| {
                r.get(0)
            })?;
        committed.notifications.push(n.stored(id, now));
    }
    super::outbox::write(conn, commit, &committed.notifications, now)?;
    Ok(committed)
}

fn insert_event(
    conn: &Connection,
    ticket: TicketId,
    state: u32,
    kind: &str,
    payload: &str,
    available_at: Timestamp,
    now: Timestamp,
) -> Result<()> {
    // The bot's key is the same value the `events_bot` trigger would
    // fill in (migration 0010), given here so that the trigger does not
    // run: its UPDATE rewrote the row and its `events_by_bot` entry.
    conn.prepare_cached(
        "INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at, bot) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT t.metaservice || '/' || t.ticket_type || '/' || ?2 \
           FROM tickets t WHERE t.id = ?1))",
    )?
    .execute(params![ticket, state, kind, payload, available_at, now])?;
    Ok(())
}

fn insert_ticket(conn: &Connection, t: &NewTicket, now: Timestamp) -> Result<()> {
    let (kind, user, bot) = actor_columns(&t.created_by);
    let closed_at = (t.status == Status::Closed).then_some(now);
    conn.prepare_cached(
        "INSERT INTO tickets (id, metaservice, ticket_type, title, state_code, status, metadata, \
         parent_id, created_by_kind, created_by_user, created_by_bot, created_at, updated_at, \
         closed_at, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, 1)",
    )?
    .execute(params![
        t.id,
        t.metaservice,
        t.ticket_type,
        t.title,
        t.state_code,
        t.status.as_str(),
        t.metadata.text(),
        t.parent_id,
        kind,
        user,
        bot,
        now,
        closed_at
    ])?;
    for s in &t.stakeholders {
        insert_stakeholder(conn, t.id, s, now)?;
    }
    Ok(())
}

/// Applies one guarded update: [`StoreError::Conflict`] when the ticket's
/// version moved since it was read.
fn update_ticket(conn: &Connection, u: &TicketUpdate, now: Timestamp) -> Result<()> {
    let done = match u.state {
        // Most moves keep the status (open to open): tried first with the
        // status as a guard and left alone, then set if it did differ.
        Some((_, status)) => {
            set_columns(conn, u, now, StatusIs::Kept(status))?
                || set_columns(conn, u, now, StatusIs::Set(status))?
        }
        None => set_columns(conn, u, now, StatusIs::Untouched)?,
    };
    if !done {
        return Err(StoreError::Conflict(u.id));
    }
    if let Some((state, status)) = u.state {
        // Its timers of other states no longer apply.
        conn.prepare_cached("DELETE FROM timers WHERE ticket_id = ?1 AND state_code <> ?2")?
            .execute(params![u.id, state])?;
        if status == Status::Closed {
            closed(conn, u.id, now)?;
        }
    }
    Ok(())
}

/// What an update does with the ticket's status.
#[derive(Clone, Copy)]
enum StatusIs {
    /// Not part of the update.
    Untouched,
    /// Already this: matched, not written.
    Kept(Status),
    /// Written (and `closed_at` with it when it is `closed`).
    Set(Status),
}

/// One `UPDATE` of the ticket row that assigns only the columns that
/// change: SQLite rewrites the index entries of every column a statement
/// assigns, changed or not, and a ticket's state, status and closing time
/// are in three indexes. Says whether the row matched (the version guard,
/// and the status for [`StatusIs::Kept`]).
fn set_columns(
    conn: &Connection,
    u: &TicketUpdate,
    now: Timestamp,
    status: StatusIs,
) -> Result<bool> {
    let metadata = u.metadata.as_ref().map(|m| m.text());
    let state = u.state.map(|(code, _)| code);
    let mut sql = String::from("UPDATE tickets SET updated_at = ?, version = version + 1");
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![&now];
    if let Some(title) = &u.title {
        sql.push_str(", title = ?");
        values.push(title);
    }
    if let Some(code) = &state {
        sql.push_str(", state_code = ?");
        values.push(code);
    }
    if let Some(text) = &metadata {
        sql.push_str(", metadata = ?");
        values.push(text);
    }
    let name = match status {
        StatusIs::Set(s) | StatusIs::Kept(s) => s.as_str(),
        StatusIs::Untouched => "",
    };
    if let StatusIs::Set(s) = status {
        sql.push_str(", status = ?");
        values.push(&name);
        if s == Status::Closed {
            sql.push_str(", closed_at = ?");
            values.push(&now);
        }
    }
    sql.push_str(" WHERE id = ? AND version = ?");
    values.push(&u.id);
    values.push(&u.expected_version);
    if let StatusIs::Kept(_) = status {
        sql.push_str(" AND status = ?");
        values.push(&name);
    }
    let done = conn
        .prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(values))?;
    Ok(done > 0)
}

/// A ticket closed: the waits on it end, and its own timers go.
fn closed(conn: &Connection, ticket: TicketId, now: Timestamp) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at) \
         SELECT ticket_id, state_code, 'ticket_closed', json_object('other', other_ticket), ?1, ?1 \
         FROM timers WHERE other_ticket = ?2 AND kind = 'wait_ticket'",
    )?
    .execute(params![now, ticket])?;
    conn.prepare_cached(
        "DELETE FROM timers WHERE (other_ticket = ?1 AND kind = 'wait_ticket') OR ticket_id = ?1",
    )?
    .execute([ticket])?;
    Ok(())
}

fn insert_timer(conn: &Connection, t: &NewTimer, now: Timestamp) -> Result<()> {
    if t.kind == TimerKind::WaitTicket
        && let Some(other) = t.other_ticket
    {
        let status: Option<String> = conn
            .prepare_cached("SELECT status FROM tickets WHERE id = ?1")?
            .query_row([other], |r| r.get(0))
            .optional()?;
        let kind = match status.as_deref() {
            Some("closed") => Some("ticket_closed"),
            None => Some("ticket_gone"),
            Some(_) => None,
        };
        if let Some(kind) = kind {
            // Already closed (or gone): the wait ends at once.
            let payload = serde_json::json!({ "other": other }).to_string();
            return insert_event(conn, t.ticket_id, t.state_code, kind, &payload, now, now);
        }
    }
    conn.prepare_cached(
        "INSERT INTO timers (ticket_id, state_code, kind, due_at, base_at, other_ticket, \
         repeats_left, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        t.ticket_id,
        t.state_code,
        t.kind.as_str(),
        t.due_at,
        t.base_at,
        t.other_ticket,
        t.repeats_left,
        now
    ])?;
    Ok(())
}

fn insert_stakeholder(
    conn: &Connection,
    ticket: TicketId,
    s: &NewStakeholder,
    now: Timestamp,
) -> Result<i64> {
    let (kind, user, group) = match &s.principal {
        Principal::User(id) => ("user", Some(*id), None),
        Principal::Group(name) => ("group", None, Some(ensure_group(conn, name, now)?)),
    };
    conn.prepare_cached(
        "INSERT INTO ticket_stakeholders (ticket_id, principal_kind, user_id, group_id, \
         connection, role, is_active, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7) \
         RETURNING id",
    )?
    .query_row(
        params![ticket, kind, user, group, s.connection, s.role, now],
        |r| r.get(0),
    )
    .map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) if is_foreign_key(&e) => {
            StoreError::NotFound(format!("{:?}", s.principal))
        }
        _ => StoreError::Sqlite(e),
    })
}

fn is_foreign_key(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

/// The id of the group called `name`, created if missing.
pub(super) fn ensure_group(conn: &Connection, name: &str, now: Timestamp) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO groups (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
    )?
    .execute(params![name, now])?;
    Ok(conn
        .prepare_cached("SELECT id FROM groups WHERE name = ?1")?
        .query_row([name], |r| r.get(0))?)
}

fn update_stakeholders(conn: &Connection, commit: &Commit) -> Result<()> {
    for u in &commit.stakeholder_updates {
        let done = conn
            .prepare_cached(
                "UPDATE ticket_stakeholders SET connection = COALESCE(?1, connection), \
                 is_active = COALESCE(?2, is_active) WHERE id = ?3 AND ticket_id = ?4",
            )?
            .execute(params![u.connection, u.is_active, u.id, u.ticket_id])?;
        if done == 0 {
            return Err(StoreError::NotFound(format!("stakeholder {}", u.id)));
        }
    }
    Ok(())
}

/// A person's comment, with its `comment` event when a bot is to hear of
/// it. Only on an open ticket: a comment racing the commit that closes the
/// ticket loses, as a closed ticket is read-only.
fn insert_comment(conn: &Connection, c: &NewComment, now: Timestamp) -> Result<i64> {
    let id: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO ticket_comments (ticket_id, body, acting_user_id, acting_stakeholder_id, \
             created_at) SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS \
               (SELECT 1 FROM tickets WHERE id = ?1 AND status = 'open') RETURNING id",
        )?
        .query_row(
            params![
                c.ticket_id,
                c.body,
                c.acting_user_id,
                c.acting_stakeholder_id,
                now
            ],
            |r| r.get(0),
        )
        .optional()?;
    let id = id.ok_or(StoreError::Conflict(c.ticket_id))?;
    if let Some(state) = c.event_for_state {
        let payload =
            serde_json::json!({"comment_id": id, "body": c.body, "user_id": c.acting_user_id});
        insert_event(
            conn,
            c.ticket_id,
            state,
            "comment",
            &payload.to_string(),
            now,
            now,
        )?;
    }
    Ok(id)
}
