//! One sweep of a state holding a few open tickets among very many: the
//! cost a bot's periodic sweep adds, which the state index should keep
//! proportional to the tickets in that state.
//!
//! ```sh
//! cargo run --release -p baton-host --example sweep -- [--tickets 1000000] [--open 1000] [--db PATH]
//! ```
//!
//! Opens a [`SqliteStore`] (in a temporary directory, or at `--db`, which
//! is replaced), registers a four-state type by a catalog sync, and seeds
//! `--tickets` tickets with plain SQL: `--open` of them open in state 2,
//! none on the proceeded list and none with an event queued; the rest open
//! in states 1 and 3 or closed in state 4. Then it times `store.sweep` of
//! state 2 twice: the first queues an event per open ticket there, the
//! second finds none. Prints `sweep_1k_of_1m_ms: X ms` and
//! `sweep_again_ms: Y ms` (the first figure's name follows the counts,
//! e.g. `sweep_1k_of_100k_ms` for 100,000 tickets).

use std::time::Instant;

use anyhow::{Context, bail};
use baton_host::model::{BotName, Catalog, manifest};
use baton_host::store::{SqliteStore, Store};

const MANIFEST: &str = r#"
name = "bench"
error_group = "bench_admins"
[ticket_types.flow]
transitions = [[1, 2], [2, 3], [3, 4]]
states = [
  { code = 1, name = "a" },
  { code = 2, name = "b" },
  { code = 3, name = "c" },
  { code = 4, name = "done", terminal = true },
]
"#;

/// `n` tickets numbered from 1: the last `open` open in state 2, the others
/// in turn open in state 1, open in state 3, closed in state 4 (twice).
const SEED: &str = "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?1) \
    INSERT INTO tickets (id, metaservice, ticket_type, title, state_code, status, metadata, \
    created_by_kind, created_at, updated_at, closed_at) \
    SELECT i, 'bench', 'flow', 'seeded', \
      CASE WHEN i > ?1 - ?2 THEN 2 WHEN i % 4 = 0 THEN 1 WHEN i % 4 = 1 THEN 3 ELSE 4 END, \
      CASE WHEN i > ?1 - ?2 OR i % 4 < 2 THEN 'open' ELSE 'closed' END, '{}', 'host', ?3, ?3, \
      CASE WHEN i > ?1 - ?2 OR i % 4 < 2 THEN NULL ELSE ?3 END FROM s";

struct Args {
    tickets: i64,
    open: i64,
    db: Option<std::path::PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut out = Args {
        tickets: 1_000_000,
        open: 1_000,
        db: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--tickets" => out.tickets = value.parse().context("--tickets")?,
            "--open" => out.open = value.parse().context("--open")?,
            "--db" => out.db = Some(value.into()),
            other => bail!("unknown argument {other:?} (--tickets N, --open N, --db PATH)"),
        }
    }
    if out.open < 1 || out.open > out.tickets {
        bail!("--open must be between 1 and --tickets");
    }
    Ok(out)
}

/// 1000 → "1k", 1000000 → "1m", others as they are.
fn short(n: i64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}m", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let temp = tempfile::tempdir()?;
    let path = args
        .db
        .clone()
        .unwrap_or_else(|| temp.path().join("sweep.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = SqliteStore::open(&path.display().to_string()).await?;
    let ms = manifest::parse("bench.metaservice.toml", MANIFEST, &|_| {
        Err("no schema files".into())
    })?;
    store.sync_catalog(&Catalog::new([ms]), now_ms()).await?;

    let seeding = Instant::now();
    sqlx::query(SEED)
        .bind(args.tickets)
        .bind(args.open)
        .bind(now_ms())
        .execute(store.pool())
        .await?;
    sqlx::query("UPDATE id_sequences SET next_value = ?1 WHERE name = 'tickets'")
        .bind(args.tickets + 1)
        .execute(store.pool())
        .await?;
    println!(
        "sweep: seeded {} tickets ({} open in the swept state) in {:.1} s",
        args.tickets,
        args.open,
        seeding.elapsed().as_secs_f64()
    );

    let bot = BotName::new("bench", "flow", 2, "b");
    for line in store.sweep_plan(&bot).await? {
        println!("sweep: plan: {line}");
    }
    let name = format!("sweep_{}_of_{}_ms", short(args.open), short(args.tickets));
    for (label, expected) in [(name.as_str(), args.open), ("sweep_again_ms", 0)] {
        let started = Instant::now();
        let queued = store.sweep(&bot, now_ms()).await?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        println!("{label}: {ms:.1} ms");
        if queued != expected as u64 {
            println!("sweep: WARNING: {label} queued {queued} events, not {expected}");
        }
    }
    Ok(())
}
