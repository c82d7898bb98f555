//! The WebAssembly runtime: one wasmtime [`Engine`] with the pooling
//! allocator, loading bot components (`loader.rs`), and running one
//! invocation at a time per fresh instance (`invoke.rs`), with the host's
//! side of the contract in `host.rs` and the invocation's pending changes
//! in `session.rs`; the defaults Baton applies when a bot leaves a call to
//! the platform are in `platform.rs`; `next.rs` links what the draft next
//! version of the contract adds. `bench.rs` holds what only the
//! benchmarks use.
//!
//! # Sandbox
//! WASI is linked, but each instance gets a context with no preopened
//! directories, no environment, no arguments and no network addresses;
//! clocks and randomness work; stdout and stderr go to `tracing` tagged
//! with the bot's name (`output.rs`). Per invocation: a wall-clock deadline
//! (epoch interruption, so even a loop with no host calls stops), a memory
//! cap, and caps on host calls, tickets created and log bytes; guests
//! share the CPU as `pacing.rs` says. Across
//! invocations, per metaservice, the quotas of `quotas.rs`.

pub mod bench;
mod bindings;
mod cache;
mod convert;
mod egress;
mod host;
mod invoke;
mod loader;
mod memory;
mod next;
mod output;
mod pacing;
mod people;
mod platform;
mod quotas;
mod session;

use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde::Deserialize;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::model::catalog::{LimitOverrides, MAX_MEMORY_MIB};
pub use cache::Origin;

pub use bindings::types::Error as BotCallError;
pub use invoke::{Call, InvokeError};
pub use loader::{LoadError, LoadedBot, bot_name_of as loader_bot_name_of};
pub use quotas::QuotaHits;
pub use session::{Change, Effects, Session, Until};

/// How often the epoch ticks: every tick a running guest gives way to the
/// scheduler (`pacing.rs`), so a guest spinning in a loop holds a worker
/// thread for at most one tick at a time. 2 ms keeps that short, and the
/// ticker thread still wakes only 500 times a second.
const EPOCH_TICK: Duration = Duration::from_millis(2);

/// Per-invocation limits. Defaults are in config, overridable per
/// metaservice; the defaults suit bots that decide and delegate, not bots
/// that compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Wall-clock time for one invocation, host calls included.
    pub deadline_ms: u64,
    /// Linear memory of one instance.
    pub memory_mib: u32,
    pub max_host_calls: u32,
    pub max_tickets_created: u32,
    /// Log lines plus their data, in bytes.
    pub max_log_bytes: usize,
    /// stdout plus stderr kept in the host's log, in bytes.
    pub max_output_bytes: usize,
    // Quotas: what a metaservice's bots may queue up for later, across
    // invocations. Crossing one is refused with `limit-exceeded`.
    /// Tickets the metaservice's bots create in any minute.
    pub tickets_per_minute: u32,
    /// Open tickets of the metaservice at once.
    pub max_open_tickets: u32,
    /// Pending events of one ticket (notifications from bots included).
    pub max_pending_events: u32,
    /// Pending timers (waits) of one ticket.
    pub max_timers: u32,
    /// Generations of children below a ticket no bot created.
    pub max_child_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline_ms: 5_000,
            memory_mib: 64,
            max_host_calls: 10_000,
            max_tickets_created: 100,
            max_log_bytes: 64 * 1024,
            max_output_bytes: 64 * 1024,
            // Ten a second, sustained, is far above any workflow people
            // keep up with, and far below what fills a disk.
            tickets_per_minute: 600,
            max_open_tickets: 100_000,
            max_pending_events: 100,
            max_timers: 20,
            max_child_depth: 8,
        }
    }
}

/// Bytes of a memory or table slot kept mapped between instances when the
/// kernel reports which pages a guest wrote (`PAGEMAP_SCAN`): only those
/// are copied back, so this bounds the copy and the memory a warm slot
/// holds, not a `memset` per invocation. 512 KiB covers what the bots
/// measured write per invocation (2 MiB made no difference: BENCHMARKS.md,
/// "Only the pages a bot wrote are reset"); a guest that writes more has
/// the rest given back to the kernel.
const KEEP_RESIDENT: usize = 512 * 1024;

/// `with_scan` bytes kept resident when the kernel can say which pages
/// were written, else `without_scan` (reset by `memset`, written or not).
fn keep_resident(with_scan: usize, without_scan: usize) -> usize {
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        with_scan
    } else {
        without_scan
    }
}

/// The most a manifest may raise a per-invocation cap to: whoever writes a
/// manifest tunes its bots, but cannot lift the host's bounds.
const MAX_HOST_CALLS: u32 = 1_000_000;
const MAX_TICKETS_CREATED: u32 = 10_000;
const MAX_LOG_BYTES: usize = 1024 * 1024;
const MAX_OUTPUT_BYTES: usize = 1024 * 1024;

impl Limits {
    /// These limits with a metaservice's overrides applied. Quotas are
    /// the host's ceilings: a manifest may lower them, never raise them
    /// (the operator raises them in `baton.toml`). Per-invocation caps may
    /// be raised up to fixed ceilings; the deadline is checked against the
    /// lease when the manifest loads.
    pub fn with(self, o: &LimitOverrides) -> Limits {
        let lower = |own: Option<u32>, host: u32| own.map_or(host, |v| v.min(host));
        Limits {
            deadline_ms: o.deadline_ms.unwrap_or(self.deadline_ms),
            memory_mib: o.memory_mib.unwrap_or(self.memory_mib).min(MAX_MEMORY_MIB),
            max_host_calls: o
                .max_host_calls
                .unwrap_or(self.max_host_calls)
                .min(MAX_HOST_CALLS),
            max_tickets_created: o
                .max_tickets_created
                .unwrap_or(self.max_tickets_created)
                .min(MAX_TICKETS_CREATED),
            max_log_bytes: o
                .max_log_bytes
                .unwrap_or(self.max_log_bytes)
                .min(MAX_LOG_BYTES),
            max_output_bytes: o
                .max_output_bytes
                .unwrap_or(self.max_output_bytes)
                .min(MAX_OUTPUT_BYTES),
            tickets_per_minute: lower(o.tickets_per_minute, self.tickets_per_minute),
            max_open_tickets: lower(o.max_open_tickets, self.max_open_tickets),
            max_pending_events: lower(o.max_pending_events, self.max_pending_events),
            max_timers: lower(o.max_timers, self.max_timers),
            max_child_depth: lower(o.max_child_depth, self.max_child_depth),
        }
    }
}

/// Why a host call did not answer normally.
#[derive(Debug)]
pub enum CallError {
    /// The bot sees this as the call's `error` result.
    Refused(BotCallError),
    /// The invocation fails: the host could not do its part (the database
    /// is unreachable), which is not the bot's fault, and it is retried.
    Fatal(wasmtime::Error),
}

/// The data of one invocation's wasmtime `Store`.
pub struct BotState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    egress: egress::Egress,
    limits: memory::Metered,
    pacing: pacing::Pacing,
    /// `None` only while `describe()` runs at load time.
    session: Option<Session>,
}

impl BotState {
    /// The invocation's session; `describe()` has none and may not call the host.
    fn session(&mut self) -> Result<&mut Session, CallError> {
        self.session.as_mut().ok_or_else(|| {
            CallError::Fatal(invoke::HostFailure::error(
                "describe() may not call the host".into(),
            ))
        })
    }
}

impl WasiView for BotState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for BotState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.egress,
        }
    }
}

/// The engine and the linker, shared by every bot.
pub struct Runtime {
    engine: Engine,
    linker: Linker<BotState>,
    limits: Limits,
    cache: Option<Arc<cache::CompiledCache>>,
    /// What long-running guests share (see `pacing.rs`).
    long_runners: Arc<tokio::sync::Semaphore>,
}

impl Runtime {
    /// `concurrency` bounds the instances alive at once; the pooling
    /// allocator reserves that many slots up front. Compiled bots are
    /// cached under `cache_dir` when one is given.
    pub fn new(
        limits: Limits,
        concurrency: u32,
        cache_dir: Option<PathBuf>,
    ) -> anyhow::Result<Arc<Self>> {
        let mut pool = PoolingAllocationConfig::default();
        // One slot per concurrent invocation plus room for loading (which
        // instantiates to call `describe`) and for hot reloads.
        let instances = concurrency.saturating_mul(2).saturating_add(16);
        pool.total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(8))
            .total_memories(instances.saturating_mul(2))
            .total_tables(instances.saturating_mul(4))
            .total_stacks(instances)
            // Slots are sized for the largest memory a metaservice may ask
            // for; each store's own limiter enforces its actual cap.
            .max_memory_size(MAX_MEMORY_MIB as usize * 1024 * 1024)
            // An instance is made and dropped per invocation. Profiled, a
            // third of an invocation was giving its memory back
            // (`madvise`, then a page fault per page on the next use).
            // Where the kernel has `PAGEMAP_SCAN` (Linux ≥ 6.7), wasmtime
            // asks it which pages the guest wrote and copies back only
            // those, up to `KEEP_RESIDENT`: a bot's working set stays
            // mapped and nothing is given back. Without it, the first
            // pages of a memory and a table are reset with `memset`
            // (the whole `keep_resident`, written or not: hence the
            // smaller figures) and the rest is given back 16 slots at a
            // time, one system call and one TLB flush for all of them.
            .pagemap_scan(Enabled::Auto)
            .linear_memory_keep_resident(keep_resident(KEEP_RESIDENT, 128 * 1024))
            .table_keep_resident(keep_resident(KEEP_RESIDENT, 64 * 1024))
            .decommit_batch_size(16);
        Self::with_allocation(limits, cache_dir, InstanceAllocationStrategy::Pooling(pool))
    }

    /// [`Runtime::new`] with any instance allocator; production uses
    /// pooling, `bench.rs` wasmtime's default (on-demand) for comparison.
    fn with_allocation(
        limits: Limits,
        cache_dir: Option<PathBuf>,
        allocation: InstanceAllocationStrategy,
    ) -> anyhow::Result<Arc<Self>> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(allocation);
        let engine = Engine::new(&config)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        bindings::Bot::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        next::link(&mut linker)?;

        // The ticker holds only a weak reference: it ends with the engine.
        let weak = engine.weak();
        thread::Builder::new()
            .name("baton-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    thread::sleep(EPOCH_TICK);
                }
            })?;

        let cache = cache_dir.map(|dir| Arc::new(cache::CompiledCache::new(&dir, &engine)));
        Ok(Arc::new(Runtime {
            engine,
            linker,
            limits,
            cache,
            long_runners: pacing::long_runner_permits(),
        }))
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

#[cfg(test)]
mod limits_tests {
    use super::*;

    #[test]
    fn manifests_lower_quotas_and_raise_caps_only_to_ceilings() {
        let host = Limits::default();
        let greedy = LimitOverrides {
            tickets_per_minute: Some(u32::MAX),
            max_open_tickets: Some(u32::MAX),
            max_timers: Some(3),
            max_host_calls: Some(u32::MAX),
            max_log_bytes: Some(usize::MAX),
            ..LimitOverrides::default()
        };
        let got = host.with(&greedy);
        assert_eq!(got.tickets_per_minute, host.tickets_per_minute);
        assert_eq!(got.max_open_tickets, host.max_open_tickets);
        assert_eq!(got.max_timers, 3, "lowering is allowed");
        assert_eq!(got.max_host_calls, MAX_HOST_CALLS);
        assert_eq!(got.max_log_bytes, MAX_LOG_BYTES);
    }
}
