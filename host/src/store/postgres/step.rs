//! A commit of the shape of a bot's step, applied in ONE statement: it
//! consumes its event, moves or edits tickets without closing them, and
//! adds log lines, events and proceeded marks. Most commits have this
//! shape (every step of a bot but the one that closes its ticket), and a
//! committer's job is then two round trips (its savepoint, this
//! statement) instead of four or more.
//!
//! The parts are data-modifying CTEs of one statement, which all run on
//! the statement's snapshot and cannot see each other's writes. That is
//! the same as `apply.rs`'s statements one after the other only because no
//! part reads a table another part writes: the update reads tickets, the
//! cleanup of the timers of a state left reads timers (and the update's
//! `RETURNING`), the inserts read only the ticket's metaservice and type
//! (an event's `bot`), which no update changes. A close, which
//! ends the waits on its ticket by reading timers and writing events, and
//! every other part of a commit go the general way (`apply.rs`).

use std::collections::HashSet;

use sqlx::postgres::PgConnection;

use super::apply::contended;
use super::read::get;
use super::rows::{EventRow, LogColumns, bind_events, bind_logs, proceeded};
use crate::model::{Status, Timestamp};
use crate::store::{Commit, Result, StoreError};

/// Whether `commit` has the shape this module applies. Two updates of one
/// ticket go the general way too: one `UPDATE ... FROM` would apply only
/// one of them.
pub(super) fn fits(commit: &Commit) -> bool {
    let mut ids = HashSet::new();
    commit.inserts.is_empty()
        && commit.timers.is_empty()
        && commit.stakeholders.is_empty()
        && commit.stakeholder_updates.is_empty()
        && commit.comments.is_empty()
        && commit.notifications.is_empty()
        && commit
            .updates
            .iter()
            .all(|u| !matches!(u.state, Some((_, Status::Closed))) && ids.insert(u.id))
}

const STEP: &str = "WITH consumed AS (DELETE FROM events WHERE id = $1 RETURNING id), \
     moved AS ( \
       UPDATE tickets t SET title = COALESCE(u.title, t.title), \
         state_code = COALESCE(u.state, t.state_code), status = COALESCE(u.status, t.status), \
         metadata = COALESCE(u.metadata, t.metadata), updated_at = $25, version = t.version + 1 \
       FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], \
         $7::text[]) AS u(id, expected, title, state, status, metadata) \
       WHERE t.id = u.id AND t.version = u.expected RETURNING t.id, u.state), \
     left_state AS ( \
       DELETE FROM timers d USING moved m WHERE d.ticket_id = m.id AND d.state_code <> m.state), \
     done AS ( \
       INSERT INTO proceeded (ticket_id, state_code, at) \
       SELECT t, s, $25 FROM UNNEST($8::bigint[], $9::bigint[]) AS p(t, s) \
       ON CONFLICT (ticket_id, state_code) DO UPDATE SET at = excluded.at), \
     logged AS ( \
       INSERT INTO ticket_logs (ticket_id, actor_kind, actor_user, actor_bot, action, \
         from_state, to_state, message, data, acting_stakeholder_id, created_at) \
       SELECT t, k, u, b, a, f, s, m, d, h, $25 FROM UNNEST($10::bigint[], $11::text[], \
         $12::bigint[], $13::text[], $14::text[], $15::bigint[], $16::bigint[], $17::text[], \
         $18::text[], $19::bigint[]) WITH ORDINALITY AS l(t, k, u, b, a, f, s, m, d, h, n) \
       ORDER BY n), \
     queued AS ( \
       INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at, bot) \
       SELECT t, s, k, p, a, $25, (SELECT b.metaservice || '/' || b.ticket_type || '/' || s \
         FROM tickets b WHERE b.id = t) FROM UNNEST($20::bigint[], $21::bigint[], $22::text[], \
         $23::text[], $24::bigint[]) WITH ORDINALITY AS e(t, s, k, p, a, n) ORDER BY n) \
     SELECT (SELECT COUNT(*) FROM consumed) AS consumed, ARRAY(SELECT id FROM moved) AS moved";

/// Applies a commit that [`fits`], with SQLite's errors: the event gone
/// first ([`StoreError::Consumed`]), then the first update whose version
/// moved ([`StoreError::Conflict`]). Nothing of a failed step stays: the
/// committer rolls its savepoint back.
pub(super) async fn apply(conn: &mut PgConnection, commit: &Commit, now: Timestamp) -> Result<()> {
    let nothing = commit.consumes.is_none()
        && commit.updates.is_empty()
        && commit.proceeded.is_empty()
        && commit.logs.is_empty()
        && commit.events.is_empty();
    if nothing {
        // An empty commit (a parked event's report may be one) writes
        // nothing; no round trip for it.
        return Ok(());
    }
    let proceeded = proceeded(commit);
    let logs = LogColumns::of(commit);
    let events: Vec<EventRow> = commit.events.iter().map(EventRow::from).collect();
    let u = &commit.updates;
    let query = sqlx::query(STEP)
        .bind(commit.consumes)
        .bind(u.iter().map(|u| u.id).collect::<Vec<_>>())
        .bind(u.iter().map(|u| u.expected_version).collect::<Vec<_>>())
        .bind(u.iter().map(|u| u.title.as_deref()).collect::<Vec<_>>())
        .bind(
            u.iter()
                .map(|u| u.state.map(|s| i64::from(s.0)))
                .collect::<Vec<_>>(),
        )
        .bind(
            u.iter()
                .map(|u| u.state.map(|s| s.1.as_str()))
                .collect::<Vec<_>>(),
        )
        .bind(
            u.iter()
                .map(|u| u.metadata.as_ref().map(|m| m.text().into_owned()))
                .collect::<Vec<_>>(),
        )
        .bind(proceeded.iter().map(|p| p.0).collect::<Vec<_>>())
        .bind(proceeded.iter().map(|p| i64::from(p.1)).collect::<Vec<_>>());
    let query = bind_logs(query, &logs);
    let row = bind_events(query, &events)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| match u.first() {
            Some(first) => contended(e, first.id),
            None => StoreError::Database(e),
        })?;
    if let Some(event) = commit.consumes
        && get::<i64>(&row, "consumed")? == 0
    {
        // Another worker consumed it after our lease ran out.
        return Err(StoreError::Consumed(event));
    }
    let moved: Vec<i64> = get(&row, "moved")?;
    match u.iter().find(|u| !moved.contains(&u.id)) {
        Some(stale) => Err(StoreError::Conflict(stale.id)),
        None => Ok(()),
    }
}
