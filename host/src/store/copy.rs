//! `baton migrate --from sqlite://… --to postgres://…`: a whole SQLite
//! installation copied into a new PostgreSQL database, so that a user who
//! outgrows one machine keeps every ticket, log, comment, person, token,
//! pending event and timer, and the archive.
//!
//! Both schemas have the same tables and columns (`migrations/postgres`
//! says so), so the copy is generic: table by table in the order their
//! foreign keys need, each column converted to the type PostgreSQL
//! declares for it (SQLite's 0/1 flags become booleans), rows sent in
//! chunks as one `INSERT … SELECT * FROM UNNEST(…)` each. Everything lands
//! in one transaction: a failure leaves the target as it was. Before the
//! commit, every table's count is compared with the source's; then each
//! identity and the ticket-number sequence are moved past the copied ids.
//!
//! Not copied: `bots` (each node records the bots it runs) and SQLite's
//! `id_sequences` (PostgreSQL's `ticket_ids` sequence takes its place).

use rusqlite::types::Value as Cell;
use rusqlite::{Connection, OpenFlags};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::{Result, SqliteStore, StoreError};

/// The tables, parents before children. Console sessions are not copied:
/// people sign in again on the new installation.
const TABLES: [&str; 19] = [
    "users",
    "groups",
    "group_members",
    "metaservices",
    "ticket_types",
    "ticket_states",
    "ticket_transitions",
    "tickets",
    "ticket_stakeholders",
    "ticket_comments",
    "ticket_logs",
    "events",
    "api_tokens",
    "notifications",
    "deliveries",
    "settings_changes",
    "timers",
    "proceeded",
    "archived_tickets",
];

/// Rows per statement: big enough that a million-row table is a few
/// thousand round trips, small enough to keep each bind list modest.
const CHUNK: usize = 1_000;

/// What was copied: (table, rows), in copy order.
pub type Copied = Vec<(String, i64)>;

/// Copies the SQLite database at `from` into the empty PostgreSQL
/// database at `to`, after bringing both schemas up to date.
pub async fn sqlite_to_postgres(from: &str, to: &str) -> Result<Copied> {
    // Brings an older SQLite file to the current schema first.
    drop(SqliteStore::open(from).await?);
    let source = open_source(from)?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(to)
        .await?;
    sqlx::migrate!("../migrations/postgres").run(&pool).await?;
    let mut tx = pool.begin().await?;
    refuse_if_used(&mut tx, to).await?;
    let mut copied = Copied::new();
    for table in TABLES {
        let rows = copy_table(&source, &mut tx, table).await?;
        let target: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut *tx)
                .await?;
        if target != rows {
            return Err(StoreError::Corrupt(format!(
                "{table}: {rows} rows read from SQLite but {target} in PostgreSQL; nothing was copied"
            )));
        }
        copied.push((table.to_string(), rows));
    }
    // Leases of the old process mean nothing to the new nodes: its events
    // and deliveries are due as they were, not held until leases of a
    // stopped server run out.
    for table in ["events", "deliveries"] {
        let sql = format!("UPDATE {table} SET lease_owner = NULL, lease_until = NULL");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    move_sequences(&source, &mut tx).await?;
    tx.commit().await?;
    Ok(copied)
}

fn open_source(from: &str) -> Result<Connection> {
    let path = from
        .strip_prefix("sqlite://")
        .or_else(|| from.strip_prefix("sqlite:"))
        .unwrap_or(from);
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    // One snapshot for the whole copy, even if something writes meanwhile.
    conn.execute_batch("BEGIN")?;
    Ok(conn)
}

/// A copy goes into a new database only: merging two installations would
/// mix their ticket numbers and people.
async fn refuse_if_used(tx: &mut PgConnection, to: &str) -> Result<()> {
    let (users, tickets, archived): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM tickets), \
         (SELECT COUNT(*) FROM archived_tickets)",
    )
    .fetch_one(&mut *tx)
    .await?;
    if users + tickets + archived > 0 {
        return Err(StoreError::Duplicate(format!(
            "data in {} ({users} users, {tickets} tickets, {archived} archived): \
             migrate into a new, empty database",
            redact(to)
        )));
    }
    // A node that started on it already wrote the catalog: the copy brings
    // the source's, which the next start syncs again.
    for table in [
        "ticket_transitions",
        "ticket_states",
        "ticket_types",
        "metaservices",
        "group_members",
        "groups",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// The PostgreSQL type of each column of `table`, in column order.
async fn columns(tx: &mut PgConnection, table: &str) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *tx)
    .await?)
}

/// Copies one table; returns the rows read.
async fn copy_table(source: &Connection, tx: &mut PgConnection, table: &str) -> Result<i64> {
    let columns = columns(tx, table).await?;
    if columns.is_empty() {
        return Err(StoreError::NotFound(format!("table {table} in PostgreSQL")));
    }
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let order = if names.contains(&"id") { "id" } else { "rowid" };
    let sql = format!("SELECT {} FROM {table} ORDER BY {order}", names.join(", "));
    let mut stmt = source.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut chunk: Vec<Vec<Cell>> = Vec::with_capacity(CHUNK);
    let mut total = 0i64;
    while let Some(row) = rows.next()? {
        let mut cells = Vec::with_capacity(names.len());
        for i in 0..names.len() {
            cells.push(row.get::<_, Cell>(i)?);
        }
        chunk.push(cells);
        if chunk.len() == CHUNK {
            total += insert(tx, table, &columns, &chunk).await?;
            chunk.clear();
        }
    }
    total += insert(tx, table, &columns, &chunk).await?;
    if table == "tickets" {
        relink_parents(source, tx).await?;
    }
    Ok(total)
}

/// One chunk as one statement: a typed array per column.
async fn insert(
    tx: &mut PgConnection,
    table: &str,
    columns: &[(String, String)],
    rows: &[Vec<Cell>],
) -> Result<i64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "INSERT INTO {table} ({}) SELECT * FROM UNNEST(",
        names.join(", ")
    ));
    let mut sep = q.separated(", ");
    for (i, (name, kind)) in columns.iter().enumerate() {
        let cells = rows.iter().map(|r| &r[i]);
        // Tickets arrive without their parents; `relink_parents` sets them.
        let cells: Box<dyn Iterator<Item = &Cell>> = if table == "tickets" && name == "parent_id" {
            Box::new(cells.map(|_| &Cell::Null))
        } else {
            Box::new(cells)
        };
        match kind.as_str() {
            "bigint" | "integer" => {
                let v: Vec<Option<i64>> = cells
                    .map(|c| integer(c, table, name))
                    .collect::<Result<_>>()?;
                sep.push_bind(v).push_unseparated("::bigint[]");
            }
            "boolean" => {
                let v: Vec<Option<bool>> = cells
                    .map(|c| Ok(integer(c, table, name)?.map(|n| n != 0)))
                    .collect::<Result<_>>()?;
                sep.push_bind(v).push_unseparated("::boolean[]");
            }
            _ => {
                let v: Vec<Option<String>> =
                    cells.map(|c| text(c, table, name)).collect::<Result<_>>()?;
                sep.push_bind(v).push_unseparated("::text[]");
            }
        }
    }
    q.push(")");
    let done = q.build().execute(&mut *tx).await?;
    Ok(done.rows_affected() as i64)
}

fn integer(cell: &Cell, table: &str, column: &str) -> Result<Option<i64>> {
    match cell {
        Cell::Null => Ok(None),
        Cell::Integer(n) => Ok(Some(*n)),
        other => Err(StoreError::Corrupt(format!(
            "{table}.{column}: {other:?} where a number belongs"
        ))),
    }
}

fn text(cell: &Cell, table: &str, column: &str) -> Result<Option<String>> {
    match cell {
        Cell::Null => Ok(None),
        Cell::Text(t) => Ok(Some(t.clone())),
        Cell::Integer(n) => Ok(Some(n.to_string())),
        other => Err(StoreError::Corrupt(format!(
            "{table}.{column}: {other:?} where text belongs"
        ))),
    }
}

/// Sets each copied ticket's parent, once every ticket is in.
async fn relink_parents(source: &Connection, tx: &mut PgConnection) -> Result<()> {
    let mut stmt =
        source.prepare("SELECT id, parent_id FROM tickets WHERE parent_id IS NOT NULL")?;
    let pairs: Vec<(i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for chunk in pairs.chunks(CHUNK) {
        let (ids, parents): (Vec<i64>, Vec<i64>) = chunk.iter().copied().unzip();
        sqlx::query(
            "UPDATE tickets t SET parent_id = p.parent FROM UNNEST($1::bigint[], $2::bigint[]) \
             AS p(id, parent) WHERE t.id = p.id",
        )
        .bind(ids)
        .bind(parents)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Moves every identity past the copied ids, and the ticket numbers past
/// every number SQLite handed out (also those of deleted tickets).
async fn move_sequences(source: &Connection, tx: &mut PgConnection) -> Result<()> {
    for table in TABLES {
        let identity: Option<String> = sqlx::query_scalar(
            "SELECT is_identity::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'id'",
        )
        .bind(table)
        .fetch_optional(&mut *tx)
        .await?;
        if identity.as_deref() != Some("YES") {
            continue;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )))
        .execute(&mut *tx)
        .await?;
    }
    let next: i64 = source.query_row(
        "SELECT MAX(COALESCE((SELECT next_value FROM id_sequences WHERE name = 'tickets'), 1), \
         COALESCE((SELECT MAX(id) FROM tickets), 0) + 1, \
         COALESCE((SELECT MAX(id) FROM archived_tickets), 0) + 1)",
        [],
        |r| r.get(0),
    )?;
    sqlx::query("SELECT setval('ticket_ids', $1, false)")
        .bind(next)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(
            super::redact("postgres://baton:s3cret@db:5432/baton"),
            "postgres://baton@db:5432/baton"
        );
        assert_eq!(super::redact("postgres://db/baton"), "postgres://db/baton");
    }
}
