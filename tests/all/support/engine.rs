//! An engine driven in-process with a manual clock, so that hours and days
//! pass in milliseconds: a real SQLite file and real `.wasm` bots, no HTTP.
//! "Killing" it aborts its tasks with no shutdown; a new engine then takes
//! over the file.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_host::engine::{Engine, EngineConfig, ManualClock};
use baton_host::model::Status;
use baton_host::runtime::{Limits, Runtime};
use baton_host::store::{NewUser, SqliteStore};
use tempfile::TempDir;
use tokio::task::JoinHandle;

use super::{copy_dir, fixture_bots};

pub struct Running {
    pub engine: Arc<Engine>,
    pub dispatcher: JoinHandle<()>,
    /// The engine's store, for reading tables no trait method shows.
    pub sqlite: Arc<SqliteStore>,
}

pub async fn start(dir: &Path, clock: Arc<ManualClock>) -> Running {
    let url = format!("sqlite://{}", dir.join("baton.db").display());
    let store = Arc::new(SqliteStore::open(&url).await.expect("store"));
    let runtime = Runtime::new(Limits::default(), 4, Some(dir.join("cache"))).expect("runtime");
    let config = EngineConfig {
        poll_interval_ms: 10,
        ..EngineConfig::default()
    };
    let engine = Engine::new(store.clone(), runtime, clock, config, dir.join("bots"));
    engine.scan_bots_dir().await.expect("scan");
    let dispatcher = tokio::spawn(engine.clone().run(std::future::pending()));
    Running {
        engine,
        dispatcher,
        sqlite: store,
    }
}

/// A directory with the fixture bots, and a clock.
pub fn setup() -> (TempDir, Arc<ManualClock>) {
    setup_with(&fixture_bots())
}

/// A directory with the bots of `bots`, and a clock.
pub fn setup_with(bots: &Path) -> (TempDir, Arc<ManualClock>) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("bots")).expect("bots");
    copy_dir(bots, &dir.path().join("bots"));
    // Some Monday in 2026, 09:00 UTC.
    (dir, Arc::new(ManualClock::new(1_795_510_800_000)))
}

/// A user without rights, by login.
pub async fn person(engine: &Engine, login: &str) -> baton_host::store::User {
    let user = NewUser {
        login: login.into(),
        name: login.into(),
        email: None,
        is_admin: false,
    };
    engine.store.create_user(&user, 0).await.expect("a user")
}

/// Polls until `done` holds for the ticket's log messages.
pub async fn until_logged(engine: &Engine, id: i64, what: &str) {
    let start = Instant::now();
    loop {
        let logs = engine.store.logs(id).await.expect("logs");
        if logs.iter().any(|l| l.message.contains(what)) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "ticket {id} never logged {what:?}: {logs:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn status(engine: &Engine, id: i64) -> Status {
    engine
        .store
        .ticket(id)
        .await
        .expect("read")
        .expect("exists")
        .status
}

pub async fn timers(engine: &Engine, id: i64) -> Vec<String> {
    engine
        .store
        .timers_of(id)
        .await
        .expect("timers")
        .into_iter()
        .map(|t| t.kind)
        .collect()
}

/// Polls until the ticket has timers of each of `kinds`.
pub async fn settle(engine: &Engine, id: i64, kinds: &[&str]) {
    let start = Instant::now();
    loop {
        let have = timers(engine, id).await;
        if kinds.iter().all(|k| have.iter().any(|h| h == k)) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "ticket {id} never had timers {kinds:?}: {have:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
