//! `wasm_vs_native_ratio`: the same workflow, with the same bot logic, run
//! as WebAssembly components and compiled natively into this benchmark, in
//! the same run.
//!
//! Tickets of the stepper fixture's four-state workflow (`1 a → 2 b → 3 c
//! → 4 done`) go through their three bot steps (`steps.rs`: invoke, build
//! the commit, `Engine::commit` on a real `SqliteStore`), 64 in flight as
//! tokio tasks so that the store's group commit works as it does under
//! load. Once the bots are the fixture's components, through
//! `Runtime::invoke` (pooling allocator, fresh instance per step); once
//! they are `fixture_stepper::Stepper` itself, compiled in, calling the
//! same host code through the SDK's `Host` seam (`adapter.rs`).
//!
//! Each run has its own fresh store and seeded tickets, so neither inherits
//! the other's database. Runs alternate (wasm, native, wasm, …) and each
//! rate is the median of its runs. The figure is wasm transitions per
//! second ÷ native transitions per second: 1 means the sandbox costs the
//! workflow nothing.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use baton_host::engine::{Engine, EngineConfig, SystemClock};
use baton_host::model::{BotName, Catalog, Metaservice, Status, Ticket};
use baton_host::runtime::bench::NativeCalls;
use baton_host::runtime::{Limits, LoadedBot, Runtime};
use baton_host::store::Store;
use tokio::task::JoinSet;

use crate::steps::{Flow, Runner};
use crate::{figure, setup};

/// Tickets in flight at once.
const IN_FLIGHT: usize = 64;

const BOTS: [&str; 3] = ["stepper-flow-1-a", "stepper-flow-2-b", "stepper-flow-3-c"];

/// What every run shares: the catalog, the runtime and its loaded bots.
struct Shared {
    catalog: Catalog,
    ms: Arc<Metaservice>,
    runtime: Arc<Runtime>,
    bots: Vec<Arc<LoadedBot>>,
    names: Vec<BotName>,
}

/// The tickets still to drive, taken one at a time by the workers.
struct Queue {
    tickets: Vec<Ticket>,
    next: AtomicUsize,
}

impl Queue {
    fn take(&self) -> Option<Ticket> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.tickets.get(i).cloned()
    }
}

/// Drives tickets from `queue` to their terminal state; returns the steps.
async fn worker(
    flow: Arc<Flow>,
    shared: Arc<Shared>,
    queue: Arc<Queue>,
    wasm: bool,
) -> anyhow::Result<usize> {
    let mut calls: Vec<NativeCalls> = shared
        .names
        .iter()
        .map(|name| NativeCalls::new(&shared.runtime, name))
        .collect();
    let mut steps = 0;
    while let Some(mut ticket) = queue.take() {
        while ticket.status == Status::Open {
            let mut runner = if wasm {
                Runner::Wasm {
                    runtime: &shared.runtime,
                    bots: &shared.bots,
                }
            } else {
                Runner::Native { calls: &mut calls }
            };
            ticket = flow.step(ticket, &mut runner).await?;
            steps += 1;
        }
    }
    Ok(steps)
}

/// The process's CPU time so far (user + system), in seconds, from
/// `/proc/self/stat` (clock ticks of 10 ms); 0 where that is missing.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    ticks(11)
        .zip(ticks(12))
        .map_or(0.0, |(u, s)| (u + s) / 100.0)
}

/// What a run measured.
struct Rate {
    per_second: f64,
    /// Cores busy on average (CPU time ÷ wall time).
    cores: f64,
    /// Commits per durable transaction of the store's writer.
    batch: f64,
}

/// One run on a fresh store.
async fn drive(shared: &Arc<Shared>, wasm: bool, tickets: usize) -> anyhow::Result<Rate> {
    let scratch = tempfile::tempdir()?;
    let sqlite = setup::store(scratch.path(), &shared.catalog).await?;
    let store: Arc<dyn Store> = sqlite.clone();
    let seeded = setup::seed(store.as_ref(), &shared.ms, "flow", tickets).await?;
    let ids: Vec<i64> = seeded.iter().map(|t| t.id).collect();
    let engine = Engine::new(
        store.clone(),
        shared.runtime.clone(),
        Arc::new(SystemClock),
        EngineConfig::default(),
        scratch.path().to_path_buf(),
    );
    let flow = Arc::new(Flow {
        engine,
        ms: shared.ms.clone(),
        names: shared.names.clone(),
        limits: shared.runtime.limits().with(&shared.ms.limits),
    });
    let queue = Arc::new(Queue {
        tickets: seeded,
        next: AtomicUsize::new(0),
    });
    let (before, cpu) = (sqlite.writer_stats(), cpu_seconds());
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..IN_FLIGHT {
        workers.spawn(worker(flow.clone(), shared.clone(), queue.clone(), wasm));
    }
    let mut steps = 0;
    while let Some(done) = workers.join_next().await {
        steps += done.context("a worker panicked")??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (after, cpu) = (sqlite.writer_stats(), cpu_seconds() - cpu);
    let batches = after.batches.saturating_sub(before.batches).max(1);
    for id in ids {
        let ticket = store.ticket(id).await?.context("a ticket vanished")?;
        if ticket.status != Status::Closed || ticket.state_code != 4 {
            bail!(
                "ticket {id} ended in state {} {:?}",
                ticket.state_code,
                ticket.status
            );
        }
    }
    if steps != tickets * BOTS.len() {
        bail!("{steps} steps for {tickets} tickets");
    }
    Ok(Rate {
        per_second: steps as f64 / elapsed,
        cores: cpu / elapsed,
        batch: after.jobs.saturating_sub(before.jobs) as f64 / batches as f64,
    })
}

fn median(rates: &[Rate]) -> f64 {
    let mut values: Vec<f64> = rates.iter().map(|r| r.per_second).collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

pub async fn run(fixtures: &Path, tickets: usize, runs: usize) -> anyhow::Result<()> {
    eprintln!(
        "wasm vs native: {tickets} stepper tickets × 3 steps, {IN_FLIGHT} in flight, {runs} run(s) each"
    );
    let catalog = setup::catalog(fixtures, &["stepper"])?;
    let ms = setup::metaservice(&catalog, "stepper")?;
    let runtime = Runtime::new(Limits::default(), IN_FLIGHT as u32, None)?;
    let mut bots = Vec::new();
    let mut names = Vec::new();
    for name in BOTS {
        let bot = setup::load(&runtime, fixtures, &catalog, name).await?;
        names.push(bot.name.clone());
        bots.push(Arc::new(bot));
    }
    let shared = Arc::new(Shared {
        catalog,
        ms,
        runtime,
        bots,
        names,
    });
    // A short run of each first: code paths, allocator slots, page cache.
    drive(&shared, true, tickets / 10 + 1).await?;
    drive(&shared, false, tickets / 10 + 1).await?;
    let (mut wasm, mut native) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        for (way, rates, is_wasm) in [("wasm", &mut wasm, true), ("native", &mut native, false)] {
            let rate = drive(&shared, is_wasm, tickets).await?;
            eprintln!(
                "  run {run} {way}: {:.0} transitions/s, {:.2} cores busy, {:.1} commits per transaction",
                rate.per_second, rate.cores, rate.batch
            );
            rates.push(rate);
        }
    }
    let (wasm, native) = (median(&wasm), median(&native));
    figure("wasm_transitions_per_s", wasm, "transitions/s");
    figure("native_transitions_per_s", native, "transitions/s");
    figure("wasm_vs_native_ratio", wasm / native, "x");
    Ok(())
}
