//! Applying one [`Commit`] inside a committer's savepoint
//! (`committer.rs`): the one path by which tickets change. The rows, the
//! order of effects and the errors are those of `sqlite/apply.rs`.
//!
//! Round trips are what a job costs here, so: statements are prepared once
//! per connection (sqlx caches them), the rows of one table go in one
//! multi-row `INSERT ... SELECT FROM UNNEST(...)` in the commit's order (so
//! ids are handed out in that order, `rows.rs`), and independent inserts
//! share a statement. A commit of the shape of a bot's step (consume, move,
//! log, queue, proceeded, perhaps a close and notifications) is one
//! statement, shared with the other such commits of its batch (`group.rs`).
//!
//! SQLite has one writer; here several transactions run at once, so two
//! reads lock what they depend on: the ticket a wait is on (`FOR SHARE`,
//! so that a close racing the wait either sees its timer or is seen by
//! it), and the ticket a comment goes on (a comment racing the close
//! loses, as on SQLite).
//!
//! Any error leaves the job's savepoint to be rolled back by the committer.

use std::collections::HashMap;

use sqlx::postgres::PgConnection;

use super::parties::{insert_comment, insert_stakeholders, notify, update_stakeholders};
use super::read::get;
use super::rows::{EventRow, TicketColumns, bind_tickets, insert_events, insert_rows};
use crate::model::{Status, TicketId, Timestamp};
use crate::store::{
    Commit, Committed, NewStakeholder, NewTicket, NewTimer, Result, StoreError, TicketUpdate,
    TimerKind,
};

/// Applies `commit` as of `now`.
pub(super) async fn apply(
    conn: &mut PgConnection,
    commit: &Commit,
    now: Timestamp,
) -> Result<Committed> {
    // A step alone is one statement too. New tickets alone take the
    // statements below, whose errors say what failed (a stakeholder who
    // does not exist): a group's only says that something did.
    let mut group = super::group::Group::default();
    if commit.inserts.is_empty() && group.admits(commit, now) {
        let mut applied = group.apply(conn).await?;
        return applied
            .pop()
            .ok_or_else(|| StoreError::Writer("a commit's group gave no result".into()));
    }
    let mut committed = Committed::default();
    if let Some(event) = commit.consumes {
        let gone = sqlx::query("DELETE FROM events WHERE id = $1")
            .bind(event)
            .execute(&mut *conn)
            .await?;
        if gone.rows_affected() == 0 {
            // Another worker consumed it after our lease ran out: its
            // commit stands, ours must not.
            return Err(StoreError::Consumed(event));
        }
    }
    insert_tickets(conn, &commit.inserts, now).await?;
    for u in &commit.updates {
        update_ticket(conn, u, now).await?;
    }
    // After the moves, so that a wait on a ticket closed by this very
    // commit ends at once.
    insert_timers(conn, &commit.timers, now).await?;
    insert_rows(conn, commit, now).await?;
    let added: Vec<(TicketId, &NewStakeholder)> =
        commit.stakeholders.iter().map(|(t, s)| (*t, s)).collect();
    committed.stakeholder_ids = insert_stakeholders(conn, &added, now).await?;
    update_stakeholders(conn, commit).await?;
    for c in &commit.comments {
        committed
            .comment_ids
            .push(insert_comment(conn, c, now).await?);
    }
    committed.notifications = notify(conn, &commit.notifications, now).await?;
    super::outbox::write(conn, commit, &committed.notifications, now).await?;
    Ok(committed)
}

/// New tickets in one statement, then all their stakeholders in another.
async fn insert_tickets(
    conn: &mut PgConnection,
    tickets: &[NewTicket],
    now: Timestamp,
) -> Result<()> {
    if tickets.is_empty() {
        return Ok(());
    }
    let mut cols = TicketColumns::default();
    cols.extend(tickets, now);
    let insert = sqlx::query(
        "INSERT INTO tickets (id, metaservice, ticket_type, title, state_code, status, metadata, \
         parent_id, created_by_kind, created_by_user, created_by_bot, created_at, updated_at, \
         closed_at, version) \
         SELECT id, ms, tt, title, st, status, md, parent, kind, usr, bot, at, at, \
           CASE WHEN status = 'closed' THEN at END, 1 \
         FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], \
           $7::text[], $8::bigint[], $9::text[], $10::bigint[], $11::text[], $12::bigint[]) \
           WITH ORDINALITY AS x(id, ms, tt, title, st, status, md, parent, kind, usr, bot, at, n) \
         ORDER BY n",
    );
    bind_tickets(insert, &cols).execute(&mut *conn).await?;
    let stakeholders: Vec<(TicketId, &NewStakeholder)> = tickets
        .iter()
        .flat_map(|t| t.stakeholders.iter().map(move |s| (t.id, s)))
        .collect();
    insert_stakeholders(conn, &stakeholders, now).await?;
    Ok(())
}

/// Whether a database error means "try again": a deadlock between two
/// batches that touch the same tickets in opposite orders (PostgreSQL
/// aborts one of them), or a serialization failure.
pub(super) fn is_contention(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db)
        if matches!(db.code().as_deref(), Some("40P01") | Some("40001")))
}

/// A database error, as [`StoreError::Conflict`] on `ticket` when it is
/// contention: the caller re-reads and re-runs, as after a lost race.
pub(super) fn contended(e: sqlx::Error, ticket: TicketId) -> StoreError {
    match is_contention(&e) {
        true => StoreError::Conflict(ticket),
        false => StoreError::Database(e),
    }
}

/// Applies one guarded update: [`StoreError::Conflict`] when the ticket's
/// version moved since it was read. Leaving a state drops that state's
/// timers in the same statement.
async fn update_ticket(conn: &mut PgConnection, u: &TicketUpdate, now: Timestamp) -> Result<()> {
    let status = u.state.map(|(_, s)| s.as_str());
    let closed_at = (status == Some(Status::Closed.as_str())).then_some(now);
    let metadata = u.metadata.as_ref().map(|m| m.text().into_owned());
    let moved: i64 = sqlx::query_scalar(
        "WITH moved AS ( \
           UPDATE tickets SET title = COALESCE($1, title), state_code = COALESCE($2, state_code), \
             status = COALESCE($3, status), metadata = COALESCE($4, metadata), \
             closed_at = COALESCE($5, closed_at), updated_at = $6, version = version + 1 \
           WHERE id = $7 AND version = $8 RETURNING id), \
         left_state AS ( \
           DELETE FROM timers WHERE ticket_id IN (SELECT id FROM moved) AND state_code <> $2) \
         SELECT COUNT(*) FROM moved",
    )
    .bind(&u.title)
    .bind(u.state.map(|(code, _)| i64::from(code)))
    .bind(status)
    .bind(metadata)
    .bind(closed_at)
    .bind(now)
    .bind(u.id)
    .bind(u.expected_version)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| contended(e, u.id))?;
    if moved == 0 {
        return Err(StoreError::Conflict(u.id));
    }
    if let Some((_, Status::Closed)) = u.state {
        super::group::ended(conn, &[u.id], &[now]).await?;
    }
    Ok(())
}

/// The commit's timers. A wait on a ticket already closed (or gone) ends
/// at once with an event instead.
async fn insert_timers(conn: &mut PgConnection, timers: &[NewTimer], now: Timestamp) -> Result<()> {
    if timers.is_empty() {
        return Ok(());
    }
    let status = waited_on(conn, timers).await?;
    let mut ended = Vec::new();
    let mut kept = Vec::new();
    for t in timers {
        let other = t.other_ticket.filter(|_| t.kind == TimerKind::WaitTicket);
        let kind = other.and_then(|o| match status.get(&o).map(String::as_str) {
            Some("closed") => Some("ticket_closed"),
            None => Some("ticket_gone"),
            Some(_) => None,
        });
        match (kind, other) {
            (Some(kind), Some(other)) => ended.push(EventRow {
                ticket: t.ticket_id,
                state: t.state_code,
                kind,
                payload: serde_json::json!({ "other": other }).to_string(),
                at: now,
            }),
            _ => kept.push(t),
        }
    }
    insert_events(conn, &ended, now).await?;
    if kept.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO timers (ticket_id, state_code, kind, due_at, base_at, other_ticket, \
         repeats_left, created_at) SELECT t, s, k, d, b, o, r, $8 \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], \
           $6::bigint[], $7::bigint[]) WITH ORDINALITY AS x(t, s, k, d, b, o, r, n) ORDER BY n",
    )
    .bind(kept.iter().map(|t| t.ticket_id).collect::<Vec<_>>())
    .bind(
        kept.iter()
            .map(|t| i64::from(t.state_code))
            .collect::<Vec<_>>(),
    )
    .bind(kept.iter().map(|t| t.kind.as_str()).collect::<Vec<_>>())
    .bind(kept.iter().map(|t| t.due_at).collect::<Vec<_>>())
    .bind(kept.iter().map(|t| t.base_at).collect::<Vec<_>>())
    .bind(kept.iter().map(|t| t.other_ticket).collect::<Vec<_>>())
    .bind(
        kept.iter()
            .map(|t| i64::from(t.repeats_left))
            .collect::<Vec<_>>(),
    )
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The status of every ticket a wait in `timers` is on, locked `FOR
/// SHARE` until the batch commits: a commit closing one of them waits for
/// us (and then sees our timer), or we wait for it (and see it closed).
async fn waited_on(conn: &mut PgConnection, timers: &[NewTimer]) -> Result<HashMap<i64, String>> {
    let others: Vec<i64> = timers
        .iter()
        .filter(|t| t.kind == TimerKind::WaitTicket)
        .filter_map(|t| t.other_ticket)
        .collect();
    if others.is_empty() {
        return Ok(HashMap::new());
    }
    let rows =
        sqlx::query("SELECT id, status FROM tickets WHERE id = ANY($1) ORDER BY id FOR SHARE")
            .bind(&others)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| contended(e, timers[0].ticket_id))?;
    rows.iter()
        .map(|r| Ok((get(r, "id")?, get(r, "status")?)))
        .collect()
}
