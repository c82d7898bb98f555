//! The commits of a bot's steps and closings, many in ONE statement.
//!
//! Most commits have one shape: consume an event; create tickets, or move
//! or edit them (perhaps closing them); add log lines, events, proceeded
//! marks and notifications. Every bot step has it, so has the closing
//! that ends a ticket, and so has a ticket created through the API. Such
//! commits, from many jobs of a batch, go
//! into one statement whose rows come from arrays (`UNNEST`). The
//! committer (`committer.rs`) then pays one round trip and one executor
//! start-up for the whole group. Before, it paid one per step and five
//! per closing, and those were most of PostgreSQL's CPU
//! (BENCHMARKS.md, "Steps and closings of a batch in one statement").
//!
//! The parts are data-modifying CTEs of one statement. They all run on
//! the statement's snapshot and cannot see each other's writes. That
//! gives the same result as `apply.rs`'s statements run one after the
//! other, because no part reads a table another part writes:
//! - the update reads tickets;
//! - the cleanup of the timers of a state left reads timers (and the
//!   update's `RETURNING`);
//! - the inserts read only the ticket's metaservice and type (an event's
//!   `bot`), which no update changes; for a ticket created by the same
//!   statement, from the new row's `RETURNING` (`born`).
//!
//! Foreign keys are checked at the end of the statement, so a log line,
//! event or stakeholder of a ticket created in the same statement (and a
//! child of such a ticket) passes.
//!
//! A close also ends the waits on its ticket. That part reads timers
//! that another transaction may have committed while this statement
//! waited for the ticket's row lock (see `apply.rs` on `FOR SHARE`), so
//! it runs as a second statement, with a fresh snapshot ([`ended`]).
//!
//! A group either stands whole or fails: an event already consumed, a
//! version that moved, or any database error. The committer then rolls
//! the batch back and runs each job alone in its own savepoint, where
//! this module's statement, with one commit, says which error it was.
//! The committer groups only commits that touch disjoint tickets
//! ([`Group::admits`]), so a failure is rare: a real race, not two jobs
//! of one batch.

use std::collections::HashSet;

use sqlx::postgres::PgConnection;

use super::apply::contended;
use super::read::get;
use super::rows::{
    EventRow, LogColumns, TicketColumns, bind_events, bind_logs, bind_tickets, proceeded,
};
use crate::model::{Status, TicketId, Timestamp};
use crate::store::{Commit, Committed, Notification, Principal, Result, StoreError};

/// Whether `commit` has the shape this module applies. Two updates of one
/// ticket go the general way: one `UPDATE ... FROM` would apply only one
/// of them. So does a close that also queues events: the waits it ends
/// must get their events before its own (the order of `apply.rs` and of
/// SQLite, which a waiting parent's bot sees), and here they are written
/// by [`ended`], after the group's statement.
///
/// New tickets fit when every stakeholder they start with is a user (a
/// group may have to be created first, `parties.rs`) and the commit does
/// not also update them (the update would not see the new row).
pub(super) fn fits(commit: &Commit) -> bool {
    let mut ids = HashSet::new();
    let closes = commit
        .updates
        .iter()
        .any(|u| matches!(u.state, Some((_, Status::Closed))));
    let users_only = commit.inserts.iter().all(|t| {
        t.stakeholders
            .iter()
            .all(|s| matches!(s.principal, Principal::User(_)))
    });
    (commit.events.is_empty() || !closes)
        && users_only
        && commit.timers.is_empty()
        && commit.stakeholders.is_empty()
        && commit.stakeholder_updates.is_empty()
        && commit.comments.is_empty()
        && commit.updates.iter().all(|u| ids.insert(u.id))
        && commit.inserts.iter().all(|t| ids.insert(t.id))
}

const GROUP: &str = "WITH consumed AS (DELETE FROM events WHERE id = ANY($1) RETURNING id), \
     born AS ( \
       INSERT INTO tickets (id, metaservice, ticket_type, title, state_code, status, metadata, \
         parent_id, created_by_kind, created_by_user, created_by_bot, created_at, updated_at, \
         closed_at, version) \
       SELECT id, ms, tt, title, st, status, md, parent, kind, usr, bot, at, at, \
         CASE WHEN status = 'closed' THEN at END, 1 \
       FROM UNNEST($34::bigint[], $35::text[], $36::text[], $37::text[], $38::bigint[], \
         $39::text[], $40::text[], $41::bigint[], $42::text[], $43::bigint[], $44::text[], \
         $45::bigint[]) WITH ORDINALITY \
         AS x(id, ms, tt, title, st, status, md, parent, kind, usr, bot, at, n) ORDER BY n \
       RETURNING id, metaservice, ticket_type), \
     held AS ( \
       INSERT INTO ticket_stakeholders (ticket_id, principal_kind, user_id, connection, role, \
         is_active, created_at) \
       SELECT t, 'user', u, c, r, TRUE, a FROM UNNEST($46::bigint[], $47::bigint[], $48::text[], \
         $49::text[], $50::bigint[]) WITH ORDINALITY AS s(t, u, c, r, a, n) ORDER BY n), \
     moved AS ( \
       UPDATE tickets t SET title = COALESCE(u.title, t.title), \
         state_code = COALESCE(u.state, t.state_code), status = COALESCE(u.status, t.status), \
         metadata = COALESCE(u.metadata, t.metadata), \
         closed_at = CASE WHEN u.status = 'closed' THEN u.at ELSE t.closed_at END, \
         updated_at = u.at, version = t.version + 1 \
       FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], \
         $7::text[], $8::bigint[]) AS u(id, expected, title, state, status, metadata, at) \
       WHERE t.id = u.id AND t.version = u.expected RETURNING t.id, u.state), \
     left_state AS ( \
       DELETE FROM timers d USING moved m WHERE d.ticket_id = m.id AND d.state_code <> m.state), \
     done AS ( \
       INSERT INTO proceeded (ticket_id, state_code, at) \
       SELECT t, s, a FROM UNNEST($9::bigint[], $10::bigint[], $11::bigint[]) AS p(t, s, a) \
       ON CONFLICT (ticket_id, state_code) DO UPDATE SET at = excluded.at), \
     logged AS ( \
       INSERT INTO ticket_logs (ticket_id, actor_kind, actor_user, actor_bot, action, \
         from_state, to_state, message, data, acting_stakeholder_id, created_at) \
       SELECT t, k, u, b, a, f, s, m, d, h, c FROM UNNEST($12::bigint[], $13::text[], \
         $14::bigint[], $15::text[], $16::text[], $17::bigint[], $18::bigint[], $19::text[], \
         $20::text[], $21::bigint[], $22::bigint[]) \
         WITH ORDINALITY AS l(t, k, u, b, a, f, s, m, d, h, c, n) ORDER BY n), \
     queued AS ( \
       INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at, bot) \
       SELECT t, s, k, p, a, c, COALESCE( \
           (SELECT n.metaservice || '/' || n.ticket_type FROM born n WHERE n.id = t), \
           (SELECT b.metaservice || '/' || b.ticket_type FROM tickets b WHERE b.id = t)) || '/' || s \
         FROM UNNEST($23::bigint[], $24::bigint[], $25::text[], \
         $26::text[], $27::bigint[], $28::bigint[]) WITH ORDINALITY AS e(t, s, k, p, a, c, n) \
         ORDER BY n), \
     noted AS ( \
       INSERT INTO notifications (user_id, ticket_id, kind, text, created_at) \
       SELECT u, t, k, x, c FROM UNNEST($29::bigint[], $30::bigint[], $31::text[], $32::text[], \
         $33::bigint[]) WITH ORDINALITY AS o(u, t, k, x, c, n) ORDER BY n RETURNING id) \
     SELECT ARRAY(SELECT id FROM consumed) AS consumed, ARRAY(SELECT id FROM moved) AS moved, \
       ARRAY(SELECT id FROM noted ORDER BY id) AS noted";

/// Commits gathered into one statement: their rows, one array per
/// column, in the commits' order (so that ids are handed out in that
/// order, as one commit after another would), and what each commit
/// adds, so that its notifications can be handed back to it.
#[derive(Default)]
pub(super) struct Group<'a> {
    commits: Vec<(&'a Commit, Timestamp)>,
    /// Tickets and events the group touches: a commit touching one of
    /// them again waits for a statement of its own.
    touched: HashSet<i64>,
    events: HashSet<i64>,
}

impl<'a> Group<'a> {
    /// Takes `commit` into the group if it [`fits`] and touches nothing
    /// the group touches already.
    pub(super) fn admits(&mut self, commit: &'a Commit, now: Timestamp) -> bool {
        let tickets = || {
            let updated = commit.updates.iter().map(|u| u.id);
            let born = commit.inserts.iter().map(|t| t.id);
            updated
                .chain(born)
                .chain(commit.proceeded.iter().map(|p| p.0))
        };
        let fresh = fits(commit)
            && tickets().all(|t| !self.touched.contains(&t))
            && commit.consumes.is_none_or(|e| !self.events.contains(&e));
        if fresh {
            self.touched.extend(tickets());
            self.events.extend(commit.consumes);
            self.commits.push((commit, now));
        }
        fresh
    }

    pub(super) fn len(&self) -> usize {
        self.commits.len()
    }

    /// Applies the group: each commit's [`Committed`], in the group's
    /// order, or the first error found (an event already consumed, then
    /// a version that moved, or the database's).
    pub(super) async fn apply(&self, conn: &mut PgConnection) -> Result<Vec<Committed>> {
        if self.commits.iter().all(|(c, _)| writes_nothing(c)) {
            // Empty commits (a parked event's report may be one): no round trip.
            return Ok(vec![Committed::default(); self.commits.len()]);
        }
        let rows = Rows::of(&self.commits);
        let first = rows.update_id.first().copied();
        let row = rows
            .bind()
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| match first {
                Some(ticket) => contended(e, ticket),
                None => StoreError::Database(e),
            })?;
        let consumed: Vec<i64> = get(&row, "consumed")?;
        if let Some(gone) = rows.events.iter().find(|e| !consumed.contains(e)) {
            // Another worker consumed it after our lease ran out.
            return Err(StoreError::Consumed(*gone));
        }
        let moved: Vec<i64> = get(&row, "moved")?;
        if let Some(stale) = rows.update_id.iter().find(|u| !moved.contains(u)) {
            return Err(StoreError::Conflict(*stale));
        }
        ended(conn, &rows.closed, &rows.closed_at).await?;
        let noted: Vec<i64> = get(&row, "noted")?;
        let mut committed = Vec::with_capacity(self.commits.len());
        let mut ids = noted.into_iter();
        for (commit, now) in &self.commits {
            let notifications: Vec<Notification> = commit
                .notifications
                .iter()
                .zip(ids.by_ref())
                .map(|(n, id)| n.stored(id, *now))
                .collect();
            if notifications.len() < commit.notifications.len() {
                return Err(StoreError::Writer(
                    "fewer notifications were written than given".into(),
                ));
            }
            super::outbox::write(conn, commit, &notifications, *now).await?;
            committed.push(Committed {
                notifications,
                ..Committed::default()
            });
        }
        Ok(committed)
    }
}

fn writes_nothing(commit: &Commit) -> bool {
    commit.consumes.is_none()
        && commit.inserts.is_empty()
        && commit.updates.is_empty()
        && commit.proceeded.is_empty()
        && commit.logs.is_empty()
        && commit.events.is_empty()
        && commit.notifications.is_empty()
}

/// The waits on tickets just closed end (a `ticket_closed` event each),
/// and the closed tickets' own timers go. The payload is built as
/// SQLite's `json_object('other', ...)` writes it. A statement of its
/// own, after the tickets' rows were locked by their update: see the
/// module's docs.
pub(super) async fn ended(
    conn: &mut PgConnection,
    tickets: &[TicketId],
    at: &[Timestamp],
) -> Result<()> {
    if tickets.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "WITH ended AS ( \
           INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at) \
           SELECT w.ticket_id, w.state_code, 'ticket_closed', '{\"other\":' || w.other_ticket || '}', \
             c.at, c.at FROM timers w JOIN UNNEST($1::bigint[], $2::bigint[]) AS c(id, at) \
             ON w.other_ticket = c.id WHERE w.kind = 'wait_ticket' ORDER BY w.id) \
         DELETE FROM timers WHERE (other_ticket = ANY($1) AND kind = 'wait_ticket') \
           OR ticket_id = ANY($1)",
    )
    .bind(tickets)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A group's rows, one array per column of [`GROUP`]. Updates are
/// sorted by ticket: two groups on two committers (two nodes') lock their
/// tickets in the same order and cannot deadlock on them.
#[derive(Default)]
struct Rows<'a> {
    events: Vec<i64>,
    update_id: Vec<i64>,
    expected: Vec<i64>,
    title: Vec<Option<&'a str>>,
    state: Vec<Option<i64>>,
    status: Vec<Option<&'static str>>,
    metadata: Vec<Option<String>>,
    updated_at: Vec<Timestamp>,
    proceeded: (Vec<i64>, Vec<i64>, Vec<Timestamp>),
    logs: LogColumns<'a>,
    logged_at: Vec<Timestamp>,
    queued: Vec<EventRow>,
    queued_at: Vec<Timestamp>,
    noted: Notes<'a>,
    closed: Vec<TicketId>,
    closed_at: Vec<Timestamp>,
    born: TicketColumns<'a>,
    held: Held,
}

/// The new tickets' stakeholders (users only, see [`fits`]).
#[derive(Default)]
struct Held {
    ticket: Vec<i64>,
    user: Vec<i64>,
    connection: Vec<&'static str>,
    role: Vec<&'static str>,
    at: Vec<Timestamp>,
}

/// The notifications' columns.
#[derive(Default)]
struct Notes<'a> {
    user: Vec<i64>,
    ticket: Vec<Option<i64>>,
    kind: Vec<&'static str>,
    text: Vec<&'a str>,
    at: Vec<Timestamp>,
}

impl<'a> Rows<'a> {
    fn of(commits: &[(&'a Commit, Timestamp)]) -> Self {
        let mut rows = Rows::default();
        let mut updates: Vec<_> = commits
            .iter()
            .flat_map(|(c, now)| c.updates.iter().map(move |u| (u, *now)))
            .collect();
        updates.sort_by_key(|(u, _)| u.id);
        for (u, now) in updates {
            rows.update_id.push(u.id);
            rows.expected.push(u.expected_version);
            rows.title.push(u.title.as_deref());
            rows.state.push(u.state.map(|s| i64::from(s.0)));
            rows.status.push(u.state.map(|s| s.1.as_str()));
            rows.metadata
                .push(u.metadata.as_ref().map(|m| m.text().into_owned()));
            rows.updated_at.push(now);
            if let Some((_, Status::Closed)) = u.state {
                rows.closed.push(u.id);
                rows.closed_at.push(now);
            }
        }
        for &(commit, now) in commits {
            rows.events.extend(commit.consumes);
            rows.born.extend(&commit.inserts, now);
            for t in &commit.inserts {
                for s in &t.stakeholders {
                    if let Principal::User(user) = s.principal {
                        rows.held.ticket.push(t.id);
                        rows.held.user.push(user);
                        rows.held.connection.push(s.connection);
                        rows.held.role.push(s.role);
                        rows.held.at.push(now);
                    }
                }
            }
            for (ticket, state) in proceeded(commit) {
                rows.proceeded.0.push(ticket);
                rows.proceeded.1.push(i64::from(state));
                rows.proceeded.2.push(now);
            }
            rows.logs.extend(commit);
            rows.logged_at.extend(commit.logs.iter().map(|_| now));
            rows.queued.extend(commit.events.iter().map(EventRow::from));
            rows.queued_at.extend(commit.events.iter().map(|_| now));
            for n in &commit.notifications {
                rows.noted.user.push(n.user_id);
                rows.noted.ticket.push(n.ticket_id);
                rows.noted.kind.push(n.kind);
                rows.noted.text.push(n.text.as_str());
                rows.noted.at.push(now);
            }
        }
        rows
    }

    /// [`GROUP`] with every array bound, in its parameters' order.
    fn bind(&self) -> super::rows::PgQuery<'_> {
        let query = sqlx::query(GROUP)
            .bind(&self.events)
            .bind(&self.update_id)
            .bind(&self.expected)
            .bind(&self.title)
            .bind(&self.state)
            .bind(&self.status)
            .bind(&self.metadata)
            .bind(&self.updated_at)
            .bind(&self.proceeded.0)
            .bind(&self.proceeded.1)
            .bind(&self.proceeded.2);
        let query = bind_logs(query, &self.logs).bind(&self.logged_at);
        let query = bind_events(query, &self.queued)
            .bind(&self.queued_at)
            .bind(&self.noted.user)
            .bind(&self.noted.ticket)
            .bind(&self.noted.kind)
            .bind(&self.noted.text)
            .bind(&self.noted.at);
        bind_tickets(query, &self.born)
            .bind(&self.held.ticket)
            .bind(&self.held.user)
            .bind(&self.held.connection)
            .bind(&self.held.role)
            .bind(&self.held.at)
    }
}
