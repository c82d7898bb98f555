//! A fresh PostgreSQL database per test, on loopback.
//!
//! The server is the one `BATON_TEST_POSTGRES` names (a server URL such as
//! `postgres://postgres@127.0.0.1:PORT/postgres`; `cargo xtask test` sets
//! it). Without it, as under a plain `cargo test`, a throwaway cluster is
//! started with xtask's own module (`xtask/src/postgres.rs`: `initdb` in a
//! directory of its own, a free loopback port, stopped and deleted on
//! drop), and shared by the tests of this process that run at the same
//! time: each database holds an `Arc` of it, a static holds only a `Weak`,
//! and the last test to finish stops it. Not one cluster for the whole
//! process: the test harness has no "after the last test" hook and a
//! static is never dropped, so its server would outlive the process. Not
//! one per test either, when tests overlap: `initdb` costs seconds.
//!
//! Each test gets a database of its own, `baton_test_<pid>_<n>_<time>`,
//! created when asked for and dropped (best effort, `WITH (FORCE)`: the
//! store's connections may still be open) when the handle is dropped,
//! also when the test fails.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

use sqlx::{Connection, Executor, PgConnection};

#[path = "../../../xtask/src/postgres.rs"]
#[allow(dead_code)]
mod cluster;

pub use cluster::Cluster;

/// The variable naming the server to use.
const SERVER_VAR: &str = "BATON_TEST_POSTGRES";

/// The cluster of this process's tests, while some test holds it.
static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());

/// A database of its own for one test.
pub struct TestDatabase {
    /// The database's URL, for `PgStore::open`.
    pub url: String,
    /// The server's maintenance database, to create and drop it.
    admin: String,
    name: String,
    /// The throwaway cluster it lives on, when there is no server given.
    _cluster: Option<Arc<Cluster>>,
}

/// Where throwaway clusters go: `target/pg/...` of this workspace.
fn scratch() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
    }
}

/// Starts a cluster of its own, for a test that stops and starts its
/// server. Blocking (it runs `initdb`): call it off the async threads.
pub fn own_cluster() -> Cluster {
    Cluster::start(&scratch()).expect("starting a throwaway PostgreSQL cluster")
}

/// The shared cluster, started if no test holds it now.
fn shared_cluster() -> Arc<Cluster> {
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(cluster) = shared.upgrade() {
        return cluster;
    }
    let cluster = Arc::new(own_cluster());
    *shared = Arc::downgrade(&cluster);
    cluster
}

/// `url` with its database replaced by `database`. Panics unless the host
/// is a loopback address: tests reach nothing else.
pub fn with_database(url: &str, database: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let host = parsed.host_str().unwrap_or_default();
    assert!(
        matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1"),
        "{SERVER_VAR} must name a server on loopback, not {host:?}"
    );
    parsed.set_path(&format!("/{database}"));
    parsed.to_string()
}

/// A fresh, empty database on the test server.
pub async fn database() -> TestDatabase {
    let (server, cluster) = match std::env::var(SERVER_VAR) {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let cluster = tokio::task::spawn_blocking(shared_cluster)
                .await
                .expect("starting the cluster");
            (cluster.url.clone(), Some(cluster))
        }
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let name = format!(
        "baton_test_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let admin = with_database(&server, "postgres");
    let mut conn = PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("connecting to {admin}: {e}"));
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE \"{name}\""
    ))))
    .await
    .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
    let _ = conn.close().await;
    TestDatabase {
        url: with_database(&server, &name),
        admin,
        name,
        _cluster: cluster,
    }
}

impl Drop for TestDatabase {
    /// Drops the database on a thread of its own (this may run inside the
    /// test's runtime, which cannot be blocked on), before the cluster
    /// handle goes.
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .map_err(|e| e.to_string())?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = conn.close().await;
                Ok(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: dropping database {}: {e}", self.name),
            Err(_) => eprintln!(
                "warning: dropping database {}: the thread panicked",
                self.name
            ),
        }
    }
}
