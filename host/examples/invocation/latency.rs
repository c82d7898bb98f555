//! `invocation_*_us`: the time of one bot invocation as the engine runs it,
//! `Runtime::invoke` itself: a fresh store (WASI context, limits, pacing),
//! a fresh instance from the bot's pre-linked `InstancePre`, one
//! `proceed-ticket(entered)`, and the sorting of its effects. Each
//! iteration is timed with `Instant`; the figures are the median and the
//! 99th percentile in microseconds, after a warm-up.
//!
//! The bot is one written as bot authors write them, with the SDK for
//! `wasm32-wasip2`: the waiter fixture (`waiter-job-1-waiting`) on a
//! ticket whose metadata says `{"mode": "pass"}`, which reads the
//! metadata (serde) and makes exactly one host call, `send-ticket`. Two
//! other bots are measured beside it on the pooling allocator, and a
//! third mode of the waiter:
//! - `invocation_two_calls_*`: the stepper, whose steps make two calls
//!   (`log`, then `send-ticket`);
//! - `invocation_hostile_*`: the hostile fixture in its one-call mode
//!   (`{"do": "ok"}`, one `send-ticket`). It links every WASI interface it
//!   can reach in order to attack them (files, sockets, HTTP), and
//!   wasmtime wires each import into every fresh instance, so it is the
//!   upper bound of what a bot's imports cost, not a typical bot. Until
//!   2026-12-07 it was the headline figure (BENCHMARKS.md says why that
//!   changed);
//! - `invocation_wait_*`: the waiter in its `sleep` mode, one `wait`,
//!   which reads the database (the ticket's timer quota): what a host
//!   call that is not answered from the session adds.
//!
//! Except for `wait`, every call answers from the session, without the
//! database, as it does in production for the invoked ticket.
//!
//! For the waiter's `pass` mode:
//! - `invocation_*`: the pooling allocator, as `baton serve` configures it
//!   (`Runtime::new` with the engine's default concurrency);
//! - `invocation_ondemand_*`: wasmtime's default allocator
//!   (`Runtime::on_demand`);
//! - `invocation_live_*`: one instance made once and called again and
//!   again (`Runtime::live`): everything but the fresh store and instance.
//!
//! The `Session` each invocation gets is built before the clock starts
//! (the engine builds it before invoking, from the ticket it read).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use baton_host::engine::EngineConfig;
use baton_host::model::{BotName, Catalog, Metaservice, Ticket};
use baton_host::runtime::{
    Call, Change, Effects, InvokeError, Limits, LoadedBot, Runtime, Session,
};
use baton_host::store::Store;
use serde_json::{Value, json};

use crate::{figure, setup};

/// Invocations run and thrown away before measuring: code paths, caches
/// and the allocator's slots warm up.
const WARMUP: usize = 2_000;

/// The invoked ticket, what its sessions need, and the change each
/// invocation must ask for.
struct Case {
    name: BotName,
    expect: fn(&Change) -> bool,
    ms: Arc<Metaservice>,
    store: Arc<dyn Store>,
    limits: Limits,
    ticket: Ticket,
}

impl Case {
    fn new(
        catalog: &Catalog,
        bot: &str,
        metadata: Value,
        expect: fn(&Change) -> bool,
        store: Arc<dyn Store>,
        limits: Limits,
    ) -> anyhow::Result<Case> {
        let name = BotName::parse(bot).map_err(anyhow::Error::msg)?;
        let ms = setup::metaservice(catalog, &name.metaservice)?;
        let mut ticket = setup::ticket(1, &ms, &name.ticket_type, metadata);
        ticket.state_code = name.state_code;
        Ok(Case {
            limits: limits.with(&ms.limits),
            name,
            expect,
            ms,
            store,
            ticket,
        })
    }

    /// A session as the engine builds one for an event of the ticket.
    fn session(&self) -> Session {
        Session::new(
            self.name.clone(),
            self.ms.clone(),
            self.store.clone(),
            setup::now(),
            self.limits,
            self.ticket.clone(),
        )
    }

    /// The invocation asked for its change (outside the timed part).
    fn check(&self, outcome: Result<Effects, InvokeError>) -> anyhow::Result<()> {
        let effects = outcome.with_context(|| format!("invoking {}", self.name))?;
        if !effects.changes.iter().any(self.expect) {
            bail!(
                "{} did not ask for its change: {:?}",
                self.name,
                effects.changes
            );
        }
        Ok(())
    }
}

/// Nanoseconds of `n` invocations on fresh instances, after the warm-up.
async fn fresh(
    runtime: &Runtime,
    bot: &LoadedBot,
    case: &Case,
    n: usize,
) -> anyhow::Result<Vec<u64>> {
    let mut times = Vec::with_capacity(n);
    for i in 0..WARMUP + n {
        let session = case.session();
        let started = Instant::now();
        let outcome = runtime.invoke(bot, session, Call::Entered).await;
        let elapsed = started.elapsed();
        case.check(outcome)?;
        if i >= WARMUP {
            times.push(elapsed.as_nanos() as u64);
        }
    }
    Ok(times)
}

/// Nanoseconds of `n` calls on one live instance, after the warm-up.
async fn live(
    runtime: &Runtime,
    bot: &LoadedBot,
    case: &Case,
    n: usize,
) -> anyhow::Result<Vec<u64>> {
    let mut instance = runtime.live(bot).await?;
    let mut times = Vec::with_capacity(n);
    for i in 0..WARMUP + n {
        let session = case.session();
        let started = Instant::now();
        let outcome = instance.proceed(session).await;
        let elapsed = started.elapsed();
        case.check(outcome)?;
        if i >= WARMUP {
            times.push(elapsed.as_nanos() as u64);
        }
    }
    Ok(times)
}

/// The value at percentile `p` (0–100) of sorted `values`.
pub fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64
}

/// Prints `<prefix>_median_us` and `<prefix>_p99_us`.
fn report(prefix: &str, mut nanos: Vec<u64>) {
    nanos.sort_unstable();
    let us = |p| percentile(&nanos, p) / 1_000.0;
    figure(&format!("{prefix}_median_us"), us(50.0), "us");
    figure(&format!("{prefix}_p99_us"), us(99.0), "us");
    eprintln!(
        "  {prefix}: n={} min={:.2} us p90={:.2} us max={:.1} us",
        nanos.len(),
        us(0.0),
        us(90.0),
        us(100.0)
    );
}

fn moved(change: &Change) -> bool {
    matches!(change, Change::Moved { .. })
}

fn waits(change: &Change) -> bool {
    matches!(change, Change::Waits { .. })
}

/// What the figures beside the headline share: the runtime, the bots,
/// the store and the number of invocations.
struct Beside<'a> {
    runtime: &'a Runtime,
    fixtures: &'a Path,
    catalog: &'a Catalog,
    store: &'a Arc<dyn Store>,
    n: usize,
}

impl Beside<'_> {
    /// `report(prefix, ..)` of `n` fresh invocations of `bot` on a ticket
    /// with `metadata`, each asking for a change that `expect` accepts.
    async fn fresh(
        &self,
        prefix: &str,
        bot: &str,
        metadata: Value,
        expect: fn(&Change) -> bool,
    ) -> anyhow::Result<()> {
        let limits = Limits::default();
        let case = Case::new(
            self.catalog,
            bot,
            metadata,
            expect,
            self.store.clone(),
            limits,
        )?;
        let loaded = setup::load(self.runtime, self.fixtures, self.catalog, bot).await?;
        report(prefix, fresh(self.runtime, &loaded, &case, self.n).await?);
        Ok(())
    }
}

/// All the figures; with `only_pooling`, the first two alone (for
/// profilers: nothing else runs in the process).
pub async fn run(fixtures: &Path, iterations: usize, only_pooling: bool) -> anyhow::Result<()> {
    eprintln!("invocation latency: {iterations} invocations each, after {WARMUP} to warm up");
    let catalog = setup::catalog(fixtures, &["waiter", "hostile", "stepper"])?;
    let scratch = tempfile::tempdir()?;
    let store: Arc<dyn Store> = setup::store(scratch.path(), &catalog).await?;
    let limits = Limits::default();
    let pooling = Runtime::new(limits, EngineConfig::default().concurrency, None)?;

    let one = "waiter-job-1-waiting";
    let pass = json!({"mode": "pass"});
    let case = Case::new(&catalog, one, pass, moved, store.clone(), limits)?;
    let bot = setup::load(&pooling, fixtures, &catalog, one).await?;
    report(
        "invocation",
        fresh(&pooling, &bot, &case, iterations).await?,
    );
    if only_pooling {
        return Ok(());
    }
    let on_demand = Runtime::on_demand(limits)?;
    let other = setup::load(&on_demand, fixtures, &catalog, one).await?;
    let times = fresh(&on_demand, &other, &case, iterations).await?;
    report("invocation_ondemand", times);
    report(
        "invocation_live",
        live(&pooling, &bot, &case, iterations).await?,
    );

    let beside = Beside {
        runtime: &pooling,
        fixtures,
        catalog: &catalog,
        store: &store,
        n: iterations,
    };
    let two = "stepper-flow-1-a";
    beside
        .fresh("invocation_two_calls", two, json!({}), moved)
        .await?;
    let hostile = "hostile-job-1-run";
    beside
        .fresh("invocation_hostile", hostile, json!({"do": "ok"}), moved)
        .await?;
    let sleep = json!({"mode": "sleep"});
    beside.fresh("invocation_wait", one, sleep, waits).await?;
    Ok(())
}
