//! The store on its own, one suite for both backends: every test is
//! written once, as an `async fn(Db)` against the [`Store`] trait, and
//! [`both!`] runs it twice, on a fresh SQLite file and on a fresh
//! PostgreSQL database (`support/postgres.rs`), as
//! `store::<module>::<test>::sqlite` and `::postgres`. A look at raw rows,
//! where the trait shows nothing, goes through [`Db::scalar`], which runs
//! the same SQL on either pool.
//!
//! # Layout
//! - `store.rs`: the fixture ([`Db`]), [`both!`], and the builders the
//!   tests share.
//! - `store/commits.rs`: commits are all or nothing, guarded by versions,
//!   grouped in batches; ticket numbers; waits ended by a close.
//! - `store/groups.rs`: steps and closings of one batch, each with its
//!   own rows and results (one statement on PostgreSQL).
//! - `store/queue.rs`: claims (one per ticket, in order, per bot, others),
//!   releases, parking, dropping, waking.
//! - `store/people.rs`: users, tokens, groups, settings overrides, bots.
//! - `store/seeing.rs`: visibility, listings, comments, the inbox.
//! - `store/timers.rs`: firing once, starting and re-timing timers.
//! - `store/upkeep.rs`: sweeps, retention, quotas.
//! - `store/sqlite.rs`: what only SQLite has (its durability settings, its
//!   claim's plan).
//! - `store/postgres.rs`: what only several PostgreSQL nodes do (claiming
//!   and firing at once, outages), and documents byte-identical to SQLite's.

use std::sync::Arc;

use baton_host::model::{Actor, Catalog, Status, manifest};
use baton_host::store::{
    Commit, EventKind, NewEvent, NewLog, NewTicket, NewUser, PgStore, SqliteStore, Store,
    TicketUpdate, User, WriterStats,
};
use serde_json::json;

use crate::support::postgres::database;

/// Expands each named `async fn(Db)` of the calling module into a module
/// of that name with two tests, `sqlite` and `postgres`.
macro_rules! both {
    ($($test:ident),+ $(,)?) => {
        $(
            mod $test {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$test($crate::store::Db::sqlite().await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$test($crate::store::Db::postgres().await).await
                }
            }
        )+
    };
}

mod backlog;
mod commits;
mod groups;
mod outbox;
mod people;
mod postgres;
mod queue;
mod seeing;
mod sessions;
mod sqlite;
mod timers;
mod upkeep;

/// Two ticket types: `order` (1 new → 2 shipped) and `refund` (1 asked →
/// 2 paid or 3 refused), so that listings and claims have bots to tell
/// apart.
pub const MANIFEST: &str = r#"
name = "shop"
error_group = "ops"
[ticket_types.order]
transitions = [[1, 2]]
states = [{ code = 1, name = "new" }, { code = 2, name = "shipped", terminal = true }]
[ticket_types.refund]
transitions = [[1, 2, 3]]
states = [
  { code = 1, name = "asked" },
  { code = 2, name = "paid", terminal = true },
  { code = 3, name = "refused", terminal = true },
]
"#;

/// A store under test, of either backend, and what keeps its database.
pub struct Db {
    pub store: Arc<dyn Store>,
    pub backend: Backend,
    url: String,
    /// The temporary directory or the test database: dropped last.
    _place: Box<dyn std::any::Any + Send + Sync>,
}

/// The concrete store, for what only one backend has.
#[derive(Clone)]
pub enum Backend {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl std::ops::Deref for Db {
    type Target = dyn Store;

    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}

/// The catalog of [`MANIFEST`].
pub fn catalog() -> Catalog {
    let ms = manifest::parse("shop.metaservice.toml", MANIFEST, &|_| {
        Err("no files".into())
    })
    .expect("manifest");
    Catalog::new([ms])
}

impl Db {
    /// A store on a fresh SQLite file, with the catalog synced.
    pub async fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = Arc::new(SqliteStore::open(&url).await.expect("open"));
        Db::ready(store.clone(), Backend::Sqlite(store), url, Box::new(dir)).await
    }

    /// A store on a fresh PostgreSQL database, with the catalog synced.
    pub async fn postgres() -> Db {
        let db = database().await;
        let url = db.url.clone();
        let store = Arc::new(PgStore::open(&url).await.expect("open"));
        Db::ready(store.clone(), Backend::Postgres(store), url, Box::new(db)).await
    }

    async fn ready(
        store: Arc<dyn Store>,
        backend: Backend,
        url: String,
        place: Box<dyn std::any::Any + Send + Sync>,
    ) -> Db {
        store.sync_catalog(&catalog(), 0).await.expect("sync");
        Db {
            store,
            backend,
            url,
            _place: place,
        }
    }

    /// Another store on the same database: a second handle on the SQLite
    /// file, another node on PostgreSQL.
    pub async fn another(&self) -> Arc<dyn Store> {
        match self.backend {
            Backend::Sqlite(_) => Arc::new(SqliteStore::open(&self.url).await.expect("open")),
            Backend::Postgres(_) => Arc::new(PgStore::open(&self.url).await.expect("open")),
        }
    }

    /// Runs `sql` (written to mean the same on both databases) on the
    /// store's pool and returns its one integer.
    pub async fn scalar(&self, sql: &str) -> Option<i64> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match &self.backend {
            Backend::Sqlite(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await,
            Backend::Postgres(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await,
        }
        .expect("query")
    }

    /// Like [`Db::scalar`], for one text.
    pub async fn text(&self, sql: &str) -> String {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match &self.backend {
            Backend::Sqlite(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await,
            Backend::Postgres(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await,
        }
        .expect("query")
    }

    /// Rows in `table`.
    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .await
            .unwrap_or_default()
    }

    /// Holds the commit path before its next batch until the guard is
    /// dropped, and says how many batches the hold itself costs (SQLite's
    /// writer holds inside a batch of its own; PostgreSQL's committer
    /// holds before forming one).
    pub async fn pause(&self) -> (Box<dyn std::any::Any + Send>, u64) {
        match &self.backend {
            Backend::Sqlite(s) => (Box::new(s.pause_writer().await.expect("pause")), 1),
            Backend::Postgres(s) => (Box::new(s.pause_committer().await), 0),
        }
    }

    /// What the commit path has done so far.
    pub fn stats(&self) -> WriterStats {
        match &self.backend {
            Backend::Sqlite(s) => s.writer_stats(),
            Backend::Postgres(s) => s.committer_stats(),
        }
    }

    /// A user with this login.
    pub async fn person(&self, login: &str, admin: bool) -> User {
        let new = NewUser {
            login: login.into(),
            name: login.into(),
            email: Some(format!("{login}@example.org")),
            is_admin: admin,
        };
        self.create_user(&new, 0).await.expect("user")
    }
}

/// An open `order` ticket in state 1, created by the host.
pub fn new_ticket(id: i64) -> NewTicket {
    NewTicket {
        id,
        metaservice: "shop".into(),
        ticket_type: "order".into(),
        title: format!("order {id}"),
        state_code: 1,
        status: Status::Open,
        metadata: json!({}).into(),
        parent_id: None,
        created_by: Actor::Host,
        stakeholders: Vec::new(),
    }
}

/// An `entered` event for state 1, due at `at`.
pub fn event(ticket: i64, at: i64) -> NewEvent {
    NewEvent {
        ticket_id: ticket,
        state_code: 1,
        kind: EventKind::Entered,
        payload: json!({}),
        available_at: at,
    }
}

/// A host's log line.
pub fn log(ticket: i64, message: &str) -> NewLog {
    NewLog {
        ticket_id: ticket,
        actor: Actor::Host,
        action: "log",
        from_state: None,
        to_state: None,
        message: message.into(),
        data: None,
        acting_stakeholder: None,
    }
}

/// Creates `ticket` (committed at 1,000) with `events`; returns its number.
pub async fn create_with(store: &dyn Store, ticket: NewTicket, events: Vec<NewEvent>) -> i64 {
    let id = ticket.id;
    let commit = Commit {
        inserts: vec![ticket],
        events,
        ..Commit::default()
    };
    store.commit(&commit, 1_000).await.expect("commit");
    id
}

/// Creates an `order` ticket with `events`; returns its number.
pub async fn create(store: &dyn Store, events: Vec<NewEvent>) -> i64 {
    let id = store.next_ticket_id().await.expect("id");
    create_with(store, new_ticket(id), events).await
}

/// A move of `id` from state 1 to the terminal state 2, closing it,
/// guarded by `version`, with its log line.
pub fn step(id: i64, version: i64, title: &str) -> Commit {
    Commit {
        updates: vec![TicketUpdate {
            id,
            expected_version: version,
            title: Some(title.into()),
            state: Some((2, Status::Closed)),
            metadata: None,
        }],
        logs: vec![NewLog {
            action: "state_changed",
            from_state: Some(1),
            to_state: Some(2),
            ..log(id, title)
        }],
        ..Commit::default()
    }
}
