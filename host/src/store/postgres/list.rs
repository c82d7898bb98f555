//! What people see: visibility, ticket listings, comments. Visibility is a
//! SQL condition, never a filter over rows already read; the conditions
//! are SQLite's (`sqlite/list.rs`), with numbered parameters.

use sqlx::postgres::PgPool;

use super::read::{TICKET_COLUMNS, decode_ticket, get, small};
use crate::model::{Ticket, TicketId};
use crate::store::{Comment, Result, StateCount, TicketFilter, Viewer};

/// The tickets user `:user` may see: where they are a stakeholder, or a
/// group they belong to is one — any row, active or not: they were
/// involved, and a group whose member accepted a ticket keeps seeing it.
const VISIBLE_TO: &str = "SELECT s.ticket_id FROM ticket_stakeholders s WHERE s.user_id = :user \
     UNION SELECT s.ticket_id FROM ticket_stakeholders s \
       JOIN group_members m ON m.group_id = s.group_id \
       WHERE m.user_id = :user";

/// Turns `:user` into a numbered parameter.
pub(super) fn visible_to(param: usize) -> String {
    VISIBLE_TO.replace(":user", &format!("${param}"))
}

/// Whether the viewer may see the ticket.
pub(super) async fn can_see(pool: &PgPool, viewer: Viewer, ticket: TicketId) -> Result<bool> {
    let found: Option<i64> = match viewer {
        Viewer::Admin => {
            sqlx::query_scalar("SELECT id FROM tickets WHERE id = $1")
                .bind(ticket)
                .fetch_optional(pool)
                .await?
        }
        Viewer::User(user) => {
            let sql = format!("SELECT $1::bigint WHERE $1 IN ({})", visible_to(2));
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(ticket)
                .bind(user)
                .fetch_optional(pool)
                .await?
        }
    };
    Ok(found.is_some())
}

/// Visible tickets matching the filter, newest first: every branch is
/// bounded by the page's `LIMIT` and walks the visible set in id order.
pub(super) async fn list_tickets(
    pool: &PgPool,
    viewer: Viewer,
    f: &TicketFilter,
) -> Result<Vec<Ticket>> {
    let rows = listing(viewer, f, |sql| sql, f.before)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode_ticket).collect()
}

/// The listing's counts per state: [`list_tickets`]'s query (without its
/// cursor), grouped.
pub(super) async fn count_tickets(
    pool: &PgPool,
    viewer: Viewer,
    f: &TicketFilter,
) -> Result<Vec<StateCount>> {
    let grouped = |sql: String| {
        format!(
            "SELECT metaservice, ticket_type, state_code, count(*) AS n FROM ({sql}) l \
             GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
    };
    let rows = listing(viewer, f, grouped, None).fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(StateCount {
                metaservice: get(r, "metaservice")?,
                ticket_type: get(r, "ticket_type")?,
                state_code: small(r, "state_code")?,
                count: get(r, "n")?,
            })
        })
        .collect()
}

/// The listing's query, as `wrap` makes it, with its parameters bound.
fn listing(
    viewer: Viewer,
    f: &TicketFilter,
    wrap: impl FnOnce(String) -> String,
    before: Option<TicketId>,
) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments> {
    // Every condition is written with a numbered parameter, bound in order;
    // an absent filter binds NULL and its condition is true.
    let mut sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets t WHERE \
           ($1::text IS NULL OR t.metaservice = $1) AND ($2::text IS NULL OR t.ticket_type = $2) \
           AND ($3::bigint IS NULL OR t.state_code = $3) AND ($4::text IS NULL OR t.status = $4) \
           AND ($5::bigint IS NULL OR t.created_at >= $5) \
           AND ($6::bigint IS NULL OR t.created_at < $6) \
           AND ($7::bigint IS NULL OR t.id < $7) \
           AND ($8::bigint IS NULL OR t.id IN \
                (SELECT ticket_id FROM ticket_stakeholders WHERE user_id = $8)) \
           AND ($9::text IS NULL OR t.id IN (SELECT s.ticket_id FROM ticket_stakeholders s \
                JOIN groups g ON g.id = s.group_id WHERE g.name = $9)) \
           AND ($13::text IS NULL OR strpos(lower(t.title), lower($13)) > 0) \
           AND ($14::bigint IS NULL OR t.id IN (SELECT s.ticket_id FROM group_members m \
                JOIN ticket_stakeholders s ON s.group_id = m.group_id \
                WHERE m.user_id = $14 AND s.is_active)) \
           AND ($15::bigint IS NULL OR (t.status = 'open' AND ( \
                t.id IN (SELECT ticket_id FROM ticket_stakeholders \
                         WHERE user_id = $15 AND is_active AND connection = 'assigned') \
                OR (t.id IN (SELECT s.ticket_id FROM group_members m \
                             JOIN ticket_stakeholders s ON s.group_id = m.group_id \
                             WHERE m.user_id = $15 AND s.is_active AND s.connection = 'assigned') \
                    AND NOT EXISTS (SELECT 1 FROM ticket_stakeholders x WHERE x.ticket_id = t.id \
                         AND x.user_id IS NOT NULL AND x.is_active \
                         AND x.connection = 'assigned')))))"
    );
    match viewer {
        // For a user, "mine" is what they may see (a ticket they created
        // but are no stakeholder of is not visible anyway); nobody else's.
        Viewer::User(_) => sql.push_str(&format!(
            " AND ($10::bigint IS NULL OR $10 = $11) AND t.id IN ({})",
            visible_to(11)
        )),
        // An administrator's "mine": what they created or may see as a
        // user. Parameter 11 may go unused: sqlx declares every
        // parameter's type when it prepares, so PostgreSQL accepts it.
        Viewer::Admin if f.mine.is_some() => sql.push_str(&format!(
            " AND (t.created_by_user = $10 OR t.id IN ({}))",
            visible_to(10)
        )),
        Viewer::Admin => {}
    }
    sql.push_str(" ORDER BY t.id DESC LIMIT $12");
    let viewer_id = match viewer {
        Viewer::Admin => None,
        Viewer::User(id) => Some(id),
    };
    sqlx::query(sqlx::AssertSqlSafe(wrap(sql)))
        .bind(f.metaservice.clone())
        .bind(f.ticket_type.clone())
        .bind(f.state.map(i64::from))
        .bind(f.status.map(|s| s.as_str()))
        .bind(f.created_after)
        .bind(f.created_before)
        .bind(before)
        .bind(f.stakeholder_user)
        .bind(f.stakeholder_group.clone())
        .bind(f.mine)
        .bind(viewer_id)
        .bind(i64::from(f.limit))
        .bind(f.title_contains.clone())
        .bind(f.my_groups)
        .bind(f.waiting_for)
}

/// The children of ticket `parent` the viewer may see, oldest first (by
/// the parent index).
pub(super) async fn children(
    pool: &PgPool,
    viewer: Viewer,
    parent: TicketId,
    limit: u32,
) -> Result<Vec<Ticket>> {
    let viewer_id = match viewer {
        Viewer::Admin => None,
        Viewer::User(id) => Some(id),
    };
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.parent_id = $1 \
           AND ($2::bigint IS NULL OR t.id IN ({})) ORDER BY t.id LIMIT $3",
        visible_to(2)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(parent)
        .bind(viewer_id)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode_ticket).collect()
}

pub(super) async fn comments(pool: &PgPool, ticket: TicketId) -> Result<Vec<Comment>> {
    let rows = sqlx::query(
        "SELECT id, ticket_id, body, acting_user_id, acting_stakeholder_id, created_at \
         FROM ticket_comments WHERE ticket_id = $1 ORDER BY id",
    )
    .bind(ticket)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Comment {
                id: get(r, "id")?,
                ticket_id: get(r, "ticket_id")?,
                body: get(r, "body")?,
                acting_user_id: get(r, "acting_user_id")?,
                acting_stakeholder_id: get(r, "acting_stakeholder_id")?,
                created_at: get(r, "created_at")?,
            })
        })
        .collect()
}
