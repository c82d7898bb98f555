//! The rows of a commit that go in one multi-row statement each: new
//! tickets, events, and together the proceeded list, log lines and events
//! of a commit; and their columns, which `group.rs` binds too.
//! Each is an `INSERT ... SELECT FROM UNNEST(...) WITH ORDINALITY`, ordered,
//! so that ids are handed out in the commit's order, as SQLite's one row
//! at a time does.
//!
//! The events' `bot` key is written by the insert itself, from the
//! ticket's row: the `events_bot` trigger (migration 0001), which fills it
//! for every other insert, runs a PL/pgSQL function per row, and that was
//! about a fifth of a bot step's time in PostgreSQL (`EXPLAIN ANALYZE`:
//! 0.15 of 0.71 ms).

use std::collections::HashSet;

use sqlx::Postgres;
use sqlx::postgres::{PgArguments, PgConnection};
use sqlx::query::Query;

use super::write::actor_columns;
use crate::model::{TicketId, Timestamp};
use crate::store::{Commit, NewEvent, NewTicket, Result};

/// An event row: [`NewEvent`] with its kind as stored.
pub(super) struct EventRow {
    pub(super) ticket: TicketId,
    pub(super) state: u32,
    pub(super) kind: &'static str,
    pub(super) payload: String,
    pub(super) at: Timestamp,
}

impl From<&NewEvent> for EventRow {
    fn from(e: &NewEvent) -> Self {
        EventRow {
            ticket: e.ticket_id,
            state: e.state_code,
            kind: e.kind.as_str(),
            payload: e.payload.to_string(),
            at: e.available_at,
        }
    }
}

/// Events in one statement, ids in the order given.
pub(super) async fn insert_events(
    conn: &mut PgConnection,
    events: &[EventRow],
    now: Timestamp,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let insert = sqlx::query(
        "INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at, bot) \
         SELECT t, s, k, p, a, $6, (SELECT b.metaservice || '/' || b.ticket_type || '/' || s \
           FROM tickets b WHERE b.id = t) FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], \
           $4::text[], $5::bigint[]) WITH ORDINALITY AS x(t, s, k, p, a, n) ORDER BY n",
    );
    bind_events(insert, events)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The proceeded list, the log lines and the events of a commit: three
/// independent inserts (none reads what another writes), so one statement
/// and one round trip.
pub(super) async fn insert_rows(
    conn: &mut PgConnection,
    commit: &Commit,
    now: Timestamp,
) -> Result<()> {
    if commit.proceeded.is_empty() && commit.logs.is_empty() && commit.events.is_empty() {
        return Ok(());
    }
    let proceeded = proceeded(commit);
    let logs = LogColumns::of(commit);
    let events: Vec<EventRow> = commit.events.iter().map(EventRow::from).collect();
    let insert = sqlx::query(
        "WITH done AS ( \
           INSERT INTO proceeded (ticket_id, state_code, at) \
           SELECT t, s, $18 FROM UNNEST($1::bigint[], $2::bigint[]) AS p(t, s) \
           ON CONFLICT (ticket_id, state_code) DO UPDATE SET at = excluded.at), \
         logged AS ( \
           INSERT INTO ticket_logs (ticket_id, actor_kind, actor_user, actor_bot, action, \
             from_state, to_state, message, data, acting_stakeholder_id, created_at) \
           SELECT t, k, u, b, a, f, s, m, d, h, $18 FROM UNNEST($3::bigint[], $4::text[], \
             $5::bigint[], $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], \
             $11::text[], $12::bigint[]) WITH ORDINALITY AS l(t, k, u, b, a, f, s, m, d, h, n) \
           ORDER BY n) \
         INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at, bot) \
         SELECT t, s, k, p, a, $18, (SELECT b.metaservice || '/' || b.ticket_type || '/' || s \
           FROM tickets b WHERE b.id = t) FROM UNNEST($13::bigint[], $14::bigint[], $15::text[], \
           $16::text[], $17::bigint[]) WITH ORDINALITY AS e(t, s, k, p, a, n) ORDER BY n",
    )
    .bind(proceeded.iter().map(|p| p.0).collect::<Vec<_>>())
    .bind(proceeded.iter().map(|p| i64::from(p.1)).collect::<Vec<_>>());
    let insert = bind_logs(insert, &logs);
    bind_events(insert, &events)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The commit's proceeded marks, each once: one upsert statement may not
/// touch a row twice, and SQLite's one row at a time ends the same.
pub(super) fn proceeded(commit: &Commit) -> Vec<(TicketId, u32)> {
    let mut seen = HashSet::new();
    commit
        .proceeded
        .iter()
        .copied()
        .filter(|p| seen.insert(*p))
        .collect()
}

/// The columns of a commit's log lines, one array each.
#[derive(Default)]
pub(super) struct LogColumns<'a> {
    pub(super) ticket: Vec<i64>,
    pub(super) kind: Vec<&'static str>,
    pub(super) user: Vec<Option<i64>>,
    pub(super) bot: Vec<Option<String>>,
    pub(super) action: Vec<&'static str>,
    pub(super) from: Vec<Option<i64>>,
    pub(super) to: Vec<Option<i64>>,
    pub(super) message: Vec<&'a str>,
    pub(super) data: Vec<Option<String>>,
    pub(super) acting: Vec<Option<i64>>,
}

impl<'a> LogColumns<'a> {
    pub(super) fn of(commit: &'a Commit) -> Self {
        let mut cols = LogColumns::default();
        cols.extend(commit);
        cols
    }

    /// Adds `commit`'s log lines after those already taken.
    pub(super) fn extend(&mut self, commit: &'a Commit) {
        let cols = self;
        for l in &commit.logs {
            let (kind, user, bot) = actor_columns(&l.actor);
            cols.ticket.push(l.ticket_id);
            cols.kind.push(kind);
            cols.user.push(user);
            cols.bot.push(bot);
            cols.action.push(l.action);
            cols.from.push(l.from_state.map(i64::from));
            cols.to.push(l.to_state.map(i64::from));
            cols.message.push(l.message.as_str());
            cols.data.push(l.data.as_ref().map(|d| d.to_string()));
            cols.acting.push(l.acting_stakeholder);
        }
    }
}

/// The columns of new tickets, one array each, in the order of
/// [`bind_tickets`]; `at` is each ticket's creation time.
#[derive(Default)]
pub(super) struct TicketColumns<'a> {
    id: Vec<i64>,
    metaservice: Vec<&'a str>,
    ticket_type: Vec<&'a str>,
    title: Vec<&'a str>,
    state: Vec<i64>,
    status: Vec<&'static str>,
    metadata: Vec<String>,
    parent: Vec<Option<i64>>,
    kind: Vec<&'static str>,
    user: Vec<Option<i64>>,
    bot: Vec<Option<String>>,
    at: Vec<Timestamp>,
}

impl<'a> TicketColumns<'a> {
    /// Adds `tickets`, created at `now`, after those already taken.
    pub(super) fn extend(&mut self, tickets: &'a [NewTicket], now: Timestamp) {
        let cols = self;
        for t in tickets {
            let (kind, user, bot) = actor_columns(&t.created_by);
            cols.id.push(t.id);
            cols.metaservice.push(t.metaservice.as_str());
            cols.ticket_type.push(t.ticket_type.as_str());
            cols.title.push(t.title.as_str());
            cols.state.push(i64::from(t.state_code));
            cols.status.push(t.status.as_str());
            cols.metadata.push(t.metadata.text().into_owned());
            cols.parent.push(t.parent_id);
            cols.kind.push(kind);
            cols.user.push(user);
            cols.bot.push(bot);
            cols.at.push(now);
        }
    }
}

/// Binds the twelve arrays of [`TicketColumns`], in its field order.
pub(super) fn bind_tickets<'q>(query: PgQuery<'q>, t: &'q TicketColumns<'_>) -> PgQuery<'q> {
    query
        .bind(&t.id)
        .bind(&t.metaservice)
        .bind(&t.ticket_type)
        .bind(&t.title)
        .bind(&t.state)
        .bind(&t.status)
        .bind(&t.metadata)
        .bind(&t.parent)
        .bind(&t.kind)
        .bind(&t.user)
        .bind(&t.bot)
        .bind(&t.at)
}

/// A statement being bound.
pub(super) type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

/// Binds the ten arrays of [`LogColumns`], in its field order.
pub(super) fn bind_logs<'q>(query: PgQuery<'q>, logs: &'q LogColumns<'_>) -> PgQuery<'q> {
    query
        .bind(&logs.ticket)
        .bind(&logs.kind)
        .bind(&logs.user)
        .bind(&logs.bot)
        .bind(&logs.action)
        .bind(&logs.from)
        .bind(&logs.to)
        .bind(&logs.message)
        .bind(&logs.data)
        .bind(&logs.acting)
}

/// Binds the five arrays of event rows: ticket, state, kind, payload, due.
pub(super) fn bind_events<'q>(query: PgQuery<'q>, events: &'q [EventRow]) -> PgQuery<'q> {
    query
        .bind(events.iter().map(|e| e.ticket).collect::<Vec<_>>())
        .bind(
            events
                .iter()
                .map(|e| i64::from(e.state))
                .collect::<Vec<_>>(),
        )
        .bind(events.iter().map(|e| e.kind).collect::<Vec<_>>())
        .bind(
            events
                .iter()
                .map(|e| e.payload.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(events.iter().map(|e| e.at).collect::<Vec<_>>())
}
