//! The pieces both benchmarks set up: the fixtures' manifests and bot
//! files, a real SQLite store in a scratch directory, and tickets.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use baton_host::engine::read_manifest;
use baton_host::model::{Actor, BotName, Catalog, Metaservice, Status, Ticket, TicketId};
use baton_host::runtime::{LoadedBot, Runtime};
use baton_host::store::{Commit, NewTicket, SqliteStore, Store};
use serde_json::{Value, json};

/// Milliseconds since the Unix epoch, as the engine's clock gives them.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The catalog of the named fixture manifests (`<name>.metaservice.toml`).
pub fn catalog(fixtures: &Path, names: &[&str]) -> anyhow::Result<Catalog> {
    let mut metaservices = Vec::new();
    for name in names {
        let path = fixtures.join(format!("{name}.metaservice.toml"));
        metaservices.push(read_manifest(&path)?);
    }
    Ok(Catalog::new(metaservices))
}

pub fn metaservice(catalog: &Catalog, name: &str) -> anyhow::Result<Arc<Metaservice>> {
    catalog
        .metaservice(name)
        .cloned()
        .with_context(|| format!("no metaservice {name}"))
}

/// Loads `<name>.wasm` from the fixtures as the engine does (compiled,
/// checked, `describe()` called).
pub async fn load(
    runtime: &Runtime,
    fixtures: &Path,
    catalog: &Catalog,
    name: &str,
) -> anyhow::Result<LoadedBot> {
    let path = fixtures.join(format!("{name}.wasm"));
    let bytes = std::fs::read(&path)
        .with_context(|| format!("reading {} (build the fixtures first)", path.display()))?;
    let bot_name = BotName::parse(name).map_err(anyhow::Error::msg)?;
    runtime
        .load(bot_name, bytes, catalog)
        .await
        .with_context(|| format!("loading {name}"))
}

/// A fresh store in `dir` with the catalog written into it.
pub async fn store(dir: &Path, catalog: &Catalog) -> anyhow::Result<Arc<SqliteStore>> {
    let store = SqliteStore::open(&dir.join("baton.db").display().to_string()).await?;
    store.sync_catalog(catalog, now()).await?;
    Ok(Arc::new(store))
}

/// A ticket as the store holds it right after being created.
pub fn ticket(id: TicketId, ms: &Metaservice, ticket_type: &str, metadata: Value) -> Ticket {
    let now = now();
    let initial = ms.ticket_types.get(ticket_type).map_or(1, |tt| tt.initial);
    Ticket {
        id,
        metaservice: ms.name.clone(),
        ticket_type: ticket_type.into(),
        title: "bench".into(),
        state_code: initial,
        status: Status::Open,
        metadata: metadata.into(),
        parent_id: None,
        created_by: Actor::Host,
        created_at: now,
        updated_at: now,
        closed_at: None,
        deadline_at: None,
        version: 1,
    }
}

/// Writes `n` new tickets of `ticket_type`, 500 to a commit, with no
/// events (the benchmark drives them itself); returns them as read back.
pub async fn seed(
    store: &dyn Store,
    ms: &Metaservice,
    ticket_type: &str,
    n: usize,
) -> anyhow::Result<Vec<Ticket>> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(store.next_ticket_id().await?);
    }
    for chunk in ids.chunks(500) {
        let inserts = chunk
            .iter()
            .map(|id| NewTicket::of(&ticket(*id, ms, ticket_type, json!({})), Vec::new()))
            .collect();
        let commit = Commit {
            inserts,
            ..Commit::default()
        };
        store.commit(&commit, now()).await?;
    }
    let mut tickets = Vec::with_capacity(n);
    for id in ids {
        tickets.push(
            store
                .ticket(id)
                .await?
                .context("a seeded ticket is missing")?,
        );
    }
    Ok(tickets)
}
