//! The event queue, shared by every node on the database. Leases live in
//! the rows (`lease_owner`, `lease_until`): a claim picks due events with
//! `SELECT ... FOR UPDATE SKIP LOCKED` and leases them in the same
//! statement, so two nodes claiming at once never take the same event.
//!
//! What may be claimed is SQLite's rule (`sqlite/queue.rs`): a pending,
//! due event, not under a live lease, that is the oldest pending event of
//! its ticket, of a ticket none of whose events is under a live lease. So
//! a ticket's events run one at a time and in order across all nodes: a
//! node that meets the oldest event locked by another node's claim skips
//! it, and the next event of that ticket is not the oldest; a claim that
//! committed is seen by later claims through its `lease_until` (re-checked
//! on the row itself when it changed under us).
//!
//! The bots' claims run on their own small pool whose sessions have
//! `synchronous_commit = off`: a claim costs one round trip and no WAL
//! flush of its own. That is safe because a lease lost in a crash only
//! makes its event due again at once instead of at `lease_until`, and
//! every effect of an invocation commits (durably) together with the
//! deletion of its event, guarded by the ticket's version: a second run
//! finds the event consumed or the version moved. A durable commit also
//! flushes every earlier claim's WAL with its own.
//!
//! For tests, `PgStore::claim_plan` shows a claim's plan as claim
//! connections make it.
//!
//! Settling an event (release, park, drop) runs on the committer, in its
//! next batch, and clears the lease in the same statement; a commit that
//! consumes its event deletes the row.

use sqlx::Executor;
use sqlx::postgres::{PgConnection, PgPool, PgRow};

use super::cursors::Position;
use super::read::{TICKET_COLUMNS, decode_ticket, get, json_column, small};
use crate::model::{BotName, TicketId, Timestamp};
use crate::store::{EventId, EventKind, QueuedEvent, Result, StoreError};

const EVENT_COLUMNS: &str =
    "id, ticket_id, state_code, kind, payload, status, attempts, available_at, last_error";

/// Claimable (see the module's doc): `$1` is now. The one subquery covers
/// both "oldest pending of its ticket" and "no live lease on its ticket".
const CLAIMABLE: &str = "e.status = 'pending' AND e.available_at <= $1 \
     AND (e.lease_until IS NULL OR e.lease_until <= $1) \
     AND NOT EXISTS (SELECT 1 FROM events f WHERE f.ticket_id = e.ticket_id AND f.id <> e.id \
         AND ((f.status = 'pending' AND f.id < e.id) OR f.lease_until > $1))";

/// Oldest first within one bot, written as the whole key of
/// `events_by_bot`, with the bot matched as a range of one value (`bot >=
/// $3 AND bot <= $3`) rather than by `=`. With `bot = $3` the planner
/// counts the bot (and the status) as fixed, finds that `events_due`
/// (status, available_at, id) gives the same order, and often takes it,
/// filtering every other bot's due events on the way (and in a generic
/// plan, made without knowing the bot, it did). With a range, only
/// `events_by_bot` gives this order without a sort.
const BOT_ORDER: &str = "e.bot, e.status, e.available_at, e.id";

/// Leases the rows of `picked` (a CTE of ids) to `$4` until `$5`, and
/// returns them with their tickets' columns ([`TICKET_COLUMNS`], null
/// for a ticket gone): the workers then read no ticket of their own, and
/// a claim costs one round trip, not two. The event's columns that a
/// ticket has too are renamed (`event_id`, `event_state`, `event_status`);
/// the event's bot key is `event_bot`.
/// The tickets are read on the claim's snapshot, as a read right after it
/// would: a ticket that changes before its invocation commits fails the
/// commit's version guard either way.
fn lease() -> String {
    format!(
        "leased AS (UPDATE events SET lease_owner = $4, lease_until = $5 FROM picked \
           WHERE events.id = picked.id RETURNING events.id, events.ticket_id, events.state_code, \
           events.kind, events.payload, events.status, events.attempts, events.available_at, \
           events.last_error, events.bot) \
         SELECT l.id AS event_id, l.ticket_id, l.state_code AS event_state, l.kind, l.payload, \
           l.status AS event_status, l.attempts, l.available_at, l.last_error, \
           l.bot AS event_bot, {TICKET_COLUMNS} \
         FROM leased l LEFT JOIN tickets t ON t.id = l.ticket_id"
    )
}

/// The claim of several bots' events in one statement: `$1` now, `$2`
/// the limits (a bigint array), `$3` the bots' keys (a text array, one
/// per limit), `$4` the owner, `$5` the lease's end, `$6` and `$7` where
/// each bot's walk starts (past this `available_at` and `id`: see
/// `cursors.rs`; the front is the smallest bigints). For each bot it
/// walks the bot's range of `events_by_bot` in order ([`BOT_ORDER`]) and
/// stops after its limit of rows taken, so its cost follows the events
/// taken (and those skipped: in flight, parked, or queued behind an
/// older event of their ticket), not the queues' lengths. The bots of
/// one statement never take the same event: a ticket has one claimable
/// event, and it belongs to one bot.
///
/// A walk that starts past a position and finds fewer than its limit
/// goes on from the front up to that position (the second branch of the
/// `UNION ALL`, which runs only then): so a claim comes back short only
/// when the bot has no more claimable events anywhere, as the engine
/// takes it (it ends the bot's turns and waits for a wake), and an event
/// passed over before the position is found by the first claim that
/// runs out of newer ones.
pub(super) fn bots_claim() -> String {
    let walk = |bound: &str| {
        format!(
            "SELECT x.id FROM (SELECT e.id FROM events e \
               WHERE e.bot >= w.bot AND e.bot <= w.bot AND {bound} AND {CLAIMABLE} \
               ORDER BY {BOT_ORDER} LIMIT w.lim FOR UPDATE OF e SKIP LOCKED) x"
        )
    };
    format!(
        "WITH picked AS (SELECT c.id \
           FROM unnest($3::text[], $2::bigint[], $6::bigint[], $7::bigint[]) \
             AS w(bot, lim, after_at, after_id) \
           CROSS JOIN LATERAL ({past} UNION ALL {before} LIMIT w.lim) c), {lease}",
        past = walk("(e.available_at, e.id) > (w.after_at, w.after_id)"),
        before = walk("(e.available_at, e.id) <= (w.after_at, w.after_id)"),
        lease = lease()
    )
}

/// The claim of the events of every bot but those in `$3` (a text
/// array), and of events of no bot: bot by bot, by seeks on
/// `events_by_bot` (a loose index scan), so that a long queue of other
/// bots' events is never walked to find the few of these. Each bot gives
/// its oldest `$2`, and the oldest `$2` of those are leased.
fn other_claim() -> String {
    format!(
        "WITH RECURSIVE keys(bot) AS ( \
           (SELECT bot FROM events WHERE bot IS NOT NULL ORDER BY bot LIMIT 1) \
           UNION ALL \
           SELECT (SELECT e.bot FROM events e WHERE e.bot > keys.bot ORDER BY e.bot LIMIT 1) \
           FROM keys WHERE keys.bot IS NOT NULL), \
         wanted AS (SELECT bot FROM keys WHERE bot IS NOT NULL AND bot <> ALL($3)), \
         candidates AS ( \
           SELECT c.id, c.available_at FROM wanted CROSS JOIN LATERAL ( \
             SELECT e.id, e.available_at FROM events e \
             WHERE e.bot >= wanted.bot AND e.bot <= wanted.bot AND {CLAIMABLE} \
             ORDER BY {BOT_ORDER} LIMIT $2 FOR UPDATE OF e SKIP LOCKED) c \
           UNION ALL \
           SELECT c.id, c.available_at FROM ( \
             SELECT e.id, e.available_at FROM events e WHERE e.bot IS NULL AND {CLAIMABLE} \
             ORDER BY {BOT_ORDER} LIMIT $2 FOR UPDATE OF e SKIP LOCKED) c), \
         picked AS (SELECT id FROM candidates ORDER BY available_at, id LIMIT $2), {lease}",
        lease = lease()
    )
}

/// For each of `wants` (a bot's key, see [`crate::store::bot_key`], and
/// a limit), leases up to the limit of that bot's due events, oldest
/// first, at most one per ticket, reading its range past the position in
/// `starts` (one per want); one round trip for them all. The answer
/// follows the order of `wants`.
pub(super) async fn claim_for_bots(
    claims: &PgPool,
    owner: &str,
    wants: &[(String, u32)],
    starts: &[Position],
    now: Timestamp,
    lease_ms: i64,
) -> Result<Vec<Vec<QueuedEvent>>> {
    let (keys, limits): (Vec<&str>, Vec<i64>) = wants
        .iter()
        .map(|(key, limit)| (key.as_str(), i64::from(*limit)))
        .unzip();
    let (after_at, after_id): (Vec<Timestamp>, Vec<EventId>) = starts.iter().copied().unzip();
    let rows = sqlx::query(sqlx::AssertSqlSafe(bots_claim()))
        .bind(now)
        .bind(limits)
        .bind(keys)
        .bind(owner)
        .bind(now + lease_ms)
        .bind(after_at)
        .bind(after_id)
        .fetch_all(claims)
        .await?;
    let mut by_bot: Vec<Vec<QueuedEvent>> = wants.iter().map(|_| Vec::new()).collect();
    for row in &rows {
        let key: Option<String> = get(row, "event_bot")?;
        let at = wants
            .iter()
            .position(|(k, _)| Some(k) == key.as_ref())
            .ok_or_else(|| StoreError::Corrupt(format!("a claim returned bot {key:?}")))?;
        by_bot[at].push(claimed_row(row)?);
    }
    for events in &mut by_bot {
        events.sort_by_key(|e| (e.available_at, e.id));
    }
    Ok(by_bot)
}

/// Leases up to `limit` due events of bots not in `except` (and of no
/// bot), oldest first, at most one per ticket: the work no loaded bot
/// takes. With `except` empty, any due event (`claim_events`). It runs
/// at most once a second, on the main pool: the claim connections' planner
/// settings (`mod.rs`) suit the bots' claims and made this one's plan
/// read far more than it needs (469 ms a run, BENCHMARKS.md).
pub(super) async fn claim_others(
    pool: &PgPool,
    owner: &str,
    except: &[String],
    now: Timestamp,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<QueuedEvent>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(other_claim()))
        .bind(now)
        .bind(i64::from(limit))
        .bind(except)
        .bind(owner)
        .bind(now + lease_ms)
        .fetch_all(pool)
        .await?;
    claimed(&rows)
}

/// The rows of a claim, oldest first (`RETURNING` has no order), each
/// with its ticket.
fn claimed(rows: &[PgRow]) -> Result<Vec<QueuedEvent>> {
    let mut events = rows.iter().map(claimed_row).collect::<Result<Vec<_>>>()?;
    events.sort_by_key(|e| (e.available_at, e.id));
    Ok(events)
}

/// One row of a claim: the event with its ticket.
fn claimed_row(row: &PgRow) -> Result<QueuedEvent> {
    let ticket: Option<TicketId> = get(row, "id")?;
    Ok(QueuedEvent {
        ticket: ticket.map(|_| decode_ticket(row)).transpose()?,
        ..decode_as(row, ["event_id", "event_state", "event_status"])?
    })
}

fn decode(row: &PgRow) -> Result<QueuedEvent> {
    decode_as(row, ["id", "state_code", "status"])
}

/// An event row whose id, state and status columns are named `names`.
fn decode_as(row: &PgRow, [id, state, status]: [&str; 3]) -> Result<QueuedEvent> {
    let kind: String = get(row, "kind")?;
    let status: String = get(row, status)?;
    Ok(QueuedEvent {
        id: get(row, id)?,
        ticket_id: get(row, "ticket_id")?,
        state_code: small(row, state)?,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("event kind {kind:?}")))?,
        payload: json_column(row, "payload")?,
        parked: status == "parked",
        attempts: small(row, "attempts")?,
        available_at: get(row, "available_at")?,
        last_error: get(row, "last_error")?,
        ticket: None,
    })
}

/// Gives a claimed event back, due at `available_at`; `failed` counts an
/// attempt. On a committer's connection.
pub(super) async fn release(
    conn: &mut PgConnection,
    id: EventId,
    available_at: Timestamp,
    failed: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE events SET lease_owner = NULL, lease_until = NULL, available_at = $1, \
         attempts = attempts + $2, last_error = COALESCE($3, last_error) WHERE id = $4",
    )
    .bind(available_at)
    .bind(i64::from(failed.is_some()))
    .bind(failed)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Parks an event that failed for good. On a committer's connection.
pub(super) async fn park(conn: &mut PgConnection, id: EventId, error: &str) -> Result<()> {
    sqlx::query(
        "UPDATE events SET status = 'parked', lease_owner = NULL, lease_until = NULL, \
         attempts = attempts + 1, last_error = $1 WHERE id = $2",
    )
    .bind(error)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes an event that no longer applies. On a committer's connection.
pub(super) async fn drop_event(conn: &mut PgConnection, id: EventId) -> Result<()> {
    sqlx::query("DELETE FROM events WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Without `retries`, only events that never ran (attempts = 0) are woken:
/// those in backoff after a failure keep their delay.
pub(super) async fn wake(
    pool: &PgPool,
    bot: &BotName,
    now: Timestamp,
    retries: bool,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE events SET available_at = $1 WHERE status = 'pending' AND (attempts = 0 OR $5) \
         AND available_at > $1 AND state_code = $2 AND ticket_id IN ( \
           SELECT id FROM tickets WHERE metaservice = $3 AND ticket_type = $4 AND state_code = $2)",
    )
    .bind(now)
    .bind(i64::from(bot.state_code))
    .bind(&bot.metaservice)
    .bind(&bot.ticket_type)
    .bind(retries)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// A ticket's events in any state.
pub(super) async fn events_of(pool: &PgPool, ticket: TicketId) -> Result<Vec<QueuedEvent>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE ticket_id = $1 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ticket)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode).collect()
}

pub(super) async fn unpark(pool: &PgPool, ticket: TicketId, now: Timestamp) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE events SET status = 'pending', attempts = 0, available_at = $1, \
         lease_owner = NULL, lease_until = NULL WHERE ticket_id = $2 AND status = 'parked'",
    )
    .bind(now)
    .bind(ticket)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// What tests read of the claims as PostgreSQL runs them.
impl super::PgStore {
    /// PostgreSQL's plan for a claim of two bots' events (fair dispatch),
    /// one line per step, as claims run it: a generic plan, made now on a
    /// claim connection. It must read each bot's own index range.
    pub async fn claim_plan(&self) -> Result<Vec<String>> {
        let mut conn = self.claims.acquire().await?;
        let prepare = format!(
            "PREPARE baton_claim_plan (bigint, bigint[], text[], text, bigint, bigint[], bigint[]) \
             AS {}",
            bots_claim()
        );
        conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(prepare)))
            .await?;
        let plan = sqlx::query_scalar(
            "EXPLAIN EXECUTE baton_claim_plan (0, '{1,1}', '{a/b/1,a/b/2}', 'plan', 1, \
             '{0,0}', '{0,0}')",
        )
        .persistent(false)
        .fetch_all(&mut *conn)
        .await;
        conn.execute(sqlx::raw_sql("DEALLOCATE baton_claim_plan"))
            .await?;
        Ok(plan?)
    }
}
