//! What people see: visibility, ticket listings, comments. Visibility is a
//! SQL condition, never a filter over rows already read.

use rusqlite::{Connection, OptionalExtension, params};
use sqlx::{Row, SqlitePool};

use super::read::{TICKET_COLUMNS, decode_ticket};
use crate::model::{Ticket, TicketId};
use crate::store::{Comment, Result, StateCount, TicketFilter, Viewer};

/// The tickets user `?` may see: where they are a stakeholder, or a group
/// they belong to is one — any row, active or not: they were involved, and
/// a group whose member accepted a ticket keeps seeing it (acting rights,
/// unlike sight, follow the active rows).
const VISIBLE_TO: &str = "SELECT s.ticket_id FROM ticket_stakeholders s WHERE s.user_id = :user \
     UNION SELECT s.ticket_id FROM ticket_stakeholders s \
       JOIN group_members m ON m.group_id = s.group_id \
       WHERE m.user_id = :user";

/// Turns `:user` into a numbered parameter.
pub(super) fn visible_to(param: usize) -> String {
    VISIBLE_TO.replace(":user", &format!("?{param}"))
}

/// Whether the viewer may see the ticket. On a read connection.
pub(super) fn can_see(conn: &Connection, viewer: Viewer, ticket: TicketId) -> Result<bool> {
    let found = match viewer {
        Viewer::Admin => conn
            .prepare_cached("SELECT id FROM tickets WHERE id = ?1")?
            .query_row([ticket], |r| r.get::<_, i64>(0))
            .optional()?,
        Viewer::User(user) => {
            let sql = format!("SELECT ?1 WHERE ?1 IN ({})", visible_to(2));
            conn.prepare_cached(&sql)?
                .query_row(params![ticket, user], |r| r.get::<_, i64>(0))
                .optional()?
        }
    };
    Ok(found.is_some())
}

/// The filters of a listing on tickets `t`, each with a numbered
/// parameter bound in order by [`list_tickets`]; an absent filter binds
/// NULL and its condition is true.
const FILTERS: &str = "(?1 IS NULL OR t.metaservice = ?1) AND (?2 IS NULL OR t.ticket_type = ?2) \
     AND (?3 IS NULL OR t.state_code = ?3) AND (?4 IS NULL OR t.status = ?4) \
     AND (?5 IS NULL OR t.created_at >= ?5) AND (?6 IS NULL OR t.created_at < ?6) \
     AND (?7 IS NULL OR t.id < ?7) \
     AND (?8 IS NULL OR t.id IN (SELECT ticket_id FROM ticket_stakeholders WHERE user_id = ?8)) \
     AND (?9 IS NULL OR t.id IN (SELECT s.ticket_id FROM ticket_stakeholders s \
          JOIN groups g ON g.id = s.group_id WHERE g.name = ?9)) \
     AND (?13 IS NULL OR instr(lower(t.title), lower(?13)) > 0) \
     AND (?14 IS NULL OR t.id IN (SELECT s.ticket_id FROM group_members m \
          JOIN ticket_stakeholders s ON s.group_id = m.group_id \
          WHERE m.user_id = ?14 AND s.is_active = 1)) \
     AND (?15 IS NULL OR (t.status = 'open' AND ( \
          t.id IN (SELECT ticket_id FROM ticket_stakeholders \
                   WHERE user_id = ?15 AND is_active = 1 AND connection = 'assigned') \
          OR (t.id IN (SELECT s.ticket_id FROM group_members m \
                       JOIN ticket_stakeholders s ON s.group_id = m.group_id \
                       WHERE m.user_id = ?15 AND s.is_active = 1 AND s.connection = 'assigned') \
              AND NOT EXISTS (SELECT 1 FROM ticket_stakeholders x WHERE x.ticket_id = t.id \
                   AND x.user_id IS NOT NULL AND x.is_active = 1 AND x.connection = 'assigned')))))";

/// Visible tickets matching the filter, newest first. On a read
/// connection.
pub(super) fn list_tickets(
    conn: &Connection,
    viewer: Viewer,
    f: &TicketFilter,
) -> Result<Vec<Ticket>> {
    let sql = match viewer {
        Viewer::User(_) => users_listing(),
        Viewer::Admin => admins_listing(f.mine.is_some()),
    };
    let viewer_id = match viewer {
        Viewer::Admin => None,
        Viewer::User(id) => Some(id),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![
        f.metaservice,
        f.ticket_type,
        f.state,
        f.status.map(|s| s.as_str()),
        f.created_after,
        f.created_before,
        f.before,
        f.stakeholder_user,
        f.stakeholder_group,
        f.mine,
        viewer_id,
        f.limit,
        f.title_contains,
        f.my_groups,
        f.waiting_for
    ])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode_ticket(row)?);
    }
    Ok(out)
}

/// The listing's counts per state: [`list_tickets`]'s query, grouped.
pub(super) fn count_tickets(
    conn: &Connection,
    viewer: Viewer,
    f: &TicketFilter,
) -> Result<Vec<StateCount>> {
    let listing = match viewer {
        Viewer::User(_) => users_listing(),
        Viewer::Admin => admins_listing(f.mine.is_some()),
    };
    let sql = format!(
        "SELECT metaservice, ticket_type, state_code, count(*) FROM ({listing}) \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    );
    let viewer_id = match viewer {
        Viewer::Admin => None,
        Viewer::User(id) => Some(id),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![
        f.metaservice,
        f.ticket_type,
        f.state,
        f.status.map(|s| s.as_str()),
        f.created_after,
        f.created_before,
        None::<i64>,
        f.stakeholder_user,
        f.stakeholder_group,
        f.mine,
        viewer_id,
        f.limit,
        f.title_contains,
        f.my_groups,
        f.waiting_for
    ])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(StateCount {
            metaservice: row.get(0)?,
            ticket_type: row.get(1)?,
            state_code: row.get(2)?,
            count: row.get(3)?,
        });
    }
    Ok(out)
}

/// A user's listing walks what they may see, newest first, from the
/// stakeholder side: their own rows and their groups' rows, each by its
/// index in ticket order, merged, each ticket read by its key and
/// filtered; the walk stops at the page's end. So a page costs about the
/// tickets on it, not the tickets scanned to find them (a user on 1 % of
/// the tickets made an id-order scan of tickets read a hundred rows per
/// ticket listed). For a user, "mine" is what they may see: a ticket they
/// created but are no stakeholder of is not visible anyway.
fn users_listing() -> String {
    // The cursor as a bound on the stakeholder index's range.
    const BEFORE: &str = "COALESCE(?7, 9223372036854775807)";
    let columns = TICKET_COLUMNS.replacen("t.id, ", "s.ticket_id AS id, ", 1);
    format!(
        "SELECT {columns} FROM ticket_stakeholders s JOIN tickets t ON t.id = s.ticket_id \
           WHERE s.user_id = ?11 AND s.ticket_id < {BEFORE} \
             AND (?10 IS NULL OR ?10 = ?11) AND {FILTERS} \
         UNION \
         SELECT {columns} FROM group_members m \
           JOIN ticket_stakeholders s ON s.group_id = m.group_id \
           JOIN tickets t ON t.id = s.ticket_id \
           WHERE m.user_id = ?11 AND s.ticket_id < {BEFORE} \
             AND (?10 IS NULL OR ?10 = ?11) AND {FILTERS} \
         ORDER BY 1 DESC LIMIT ?12"
    )
}

/// An administrator sees every ticket: an id-order walk of tickets;
/// `mine` keeps those they created or may see as a user.
fn admins_listing(mine: bool) -> String {
    let mut sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE {FILTERS}");
    if mine {
        sql.push_str(&format!(
            " AND (t.created_by_user = ?10 OR t.id IN ({}))",
            visible_to(10)
        ));
    }
    // ?11 (no viewer) is bound and unused.
    sql.push_str(" AND ?11 IS NULL ORDER BY t.id DESC LIMIT ?12");
    sql
}

/// The children of ticket `parent` the viewer may see, oldest first (by
/// the parent index, so a ticket without children costs one probe).
pub(super) fn children(
    conn: &Connection,
    viewer: Viewer,
    parent: TicketId,
    limit: u32,
) -> Result<Vec<Ticket>> {
    let viewer_id = match viewer {
        Viewer::Admin => None,
        Viewer::User(id) => Some(id),
    };
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.parent_id = ?1 \
           AND (?2 IS NULL OR t.id IN ({})) ORDER BY t.id LIMIT ?3",
        visible_to(2)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![parent, viewer_id, limit])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode_ticket(row)?);
    }
    Ok(out)
}

pub(super) async fn comments(pool: &SqlitePool, ticket: TicketId) -> Result<Vec<Comment>> {
    let rows = sqlx::query(
        "SELECT id, ticket_id, body, acting_user_id, acting_stakeholder_id, created_at \
         FROM ticket_comments WHERE ticket_id = ? ORDER BY id",
    )
    .bind(ticket)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Comment {
                id: r.try_get("id")?,
                ticket_id: r.try_get("ticket_id")?,
                body: r.try_get("body")?,
                acting_user_id: r.try_get("acting_user_id")?,
                acting_stakeholder_id: r.try_get("acting_stakeholder_id")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
