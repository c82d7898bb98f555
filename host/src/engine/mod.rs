//! The engine: it turns events into bot invocations and their effects into
//! commits.
//!
//! # Layout
//! - `clock.rs`: injectable time.
//! - `registry.rs`: the bots loaded in this process and their status.
//! - `loading.rs`: reading the bots directory: manifests, then `.wasm` files.
//! - `dispatch.rs`: the loop that claims events and runs invocations.
//! - `firing.rs`: the task that turns due timers into events.
//! - `claims.rs`: which events to claim: bots take turns (fair dispatch).
//! - `cluster.rs`: this process as one node of several: heartbeat,
//!   signals from other nodes, jobs run once per cluster.
//! - `calls.rs`: from a queued event to the call its bot gets.
//! - `commit.rs`: from an invocation's effects to one store commit.
//! - `errors.rs`: filing `baton.error` tickets.
//! - `tickets.rs`: creating tickets on behalf of the API.
//! - `policy.rs`: who may do what to a ticket's people and fields.
//! - `changes.rs`: edits and stakeholders from people.
//! - `actions.rs`: comments and actions from people.
//! - `acceptance.rs`: taking a ticket assigned to one's group, handing it
//!   over to another member, giving it back to the group.
//! - `streams.rs`: the event streams open in this process.
//! - `live.rs`: which tickets changed, for pages that follow them live.
//! - `watcher.rs`: hot reload of the bots directory.
//! - `retention.rs`: archiving or deleting closed tickets.
//! - `reminders.rs`: reminders and repeated acceptance requests.
//! - `closing.rs`: telling a ticket's people that it closed.
//! - `settings.rs`: admin settings changes, and the waiting tickets they reach.
//! - `supervisor.rs`: whether this node does its job (`/readyz`, `baton health`).
//! - `metrics.rs`: what `/metrics` shows.
//! - `delivery/`: notifications that leave Baton (webhooks, e-mail).

mod acceptance;
mod actions;
mod calls;
mod changes;
mod claims;
mod clock;
mod closing;
mod cluster;
mod commit;
pub mod delivery;
mod dispatch;
mod errors;
mod firing;
mod live;
mod loading;
pub mod metrics;
pub mod policy;
mod registry;
mod reminders;
mod retention;
mod settings;
pub mod streams;
pub mod supervisor;
mod tickets;
mod watcher;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use serde::Deserialize;
use tokio::sync::Notify;

pub use changes::{CONNECTIONS, ChangeError, Edit, ROLES, merge_patch};
pub use clock::{Clock, ManualClock, OffsetClock, SystemClock};
pub use live::Changed;
pub use loading::{RestartError, ScanReport, manifest_files, read_manifest};
pub use policy::Involvement;
pub use registry::{BotSlot, BotStatus, Registry, Unavailable};
pub use settings::{SettingsPatch, settings_json};
pub use tickets::{CreateError, CreateTicket};
pub use watcher::DirWatch;

use crate::model::Catalog;
use crate::runtime::Runtime;
use crate::store::Store;

/// How the engine runs; `[engine]` in `baton.toml`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Invocations running at once in this process (guest code executing,
    /// each on its own instance).
    pub concurrency: u32,
    /// Events claimed and not yet settled: running, or finished and
    /// waiting for their commit's batch. Far more than `concurrency`, so
    /// that while one batch is written to the disk the next one fills:
    /// throughput is `in_flight` divided by the time from claim to
    /// durable commit (Little's law), and a batch waits a few
    /// milliseconds for its fsync. Taken as at least `concurrency`.
    pub in_flight: u32,
    /// How often the queue is polled when nothing wakes the dispatcher
    /// (other processes' events, delayed retries). Timers do not wait for
    /// it: the firing task (`firing.rs`) also wakes when the next one it
    /// knows of is due.
    pub poll_interval_ms: u64,
    /// How long a claimed event is reserved. It must outlast the longest
    /// invocation, or another worker may run the event twice (the version
    /// guard keeps the effects single, but the work is wasted).
    pub lease_ms: i64,
    /// Failed attempts before an event is parked and an error ticket filed.
    pub max_attempts: u32,
    /// The first retry's delay; each further one doubles, up to `retry_max_ms`.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// How soon an event whose bot is not loaded is looked at again.
    pub missing_bot_retry_ms: u64,
    /// Re-runs of an invocation whose commit lost a version race.
    pub conflict_retries: u32,
    /// Invocations of one bot running at once, so that a slow or looping
    /// bot cannot take every slot of `concurrency`. A slot is held from
    /// the claim until the guest returns, not through the commit.
    pub per_bot_concurrency: u32,
    /// A crashing bot (three failures in a row) waits this long before its
    /// next invocation, doubling up to `crash_backoff_max_ms`.
    pub crash_backoff_ms: u64,
    pub crash_backoff_max_ms: u64,
    /// How often each bot sweeps its state for unprocessed tickets (it also
    /// sweeps once whenever it is loaded, before anything else).
    pub sweep_every_ms: u64,
    /// How often closed tickets past their retention are archived or deleted.
    pub retention_every_ms: u64,
    /// How long the bots directory must be quiet before a change is loaded,
    /// so a file still being copied is not read half-written.
    pub reload_debounce_ms: u64,
    /// The supervisor calls the queue stale (and the node not ready) when
    /// its oldest unfinished event was queued this long ago.
    pub stale_queue_ms: i64,
    /// ... and the timers stuck when the earliest is overdue by this much.
    pub overdue_timer_ms: i64,
    /// How long a stopping process waits for its in-flight invocations
    /// and their commits before it exits anyway.
    pub shutdown_grace_ms: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            concurrency: 16,
            // Measured with `cargo xtask bench throughput`: 24 in flight
            // (the old per-bot bound held through the commit) capped the
            // stepper at ~1,000 transitions/s; see BENCHMARKS.md.
            in_flight: 256,
            poll_interval_ms: 250,
            lease_ms: 60_000,
            max_attempts: 5,
            retry_base_ms: 1_000,
            retry_max_ms: 300_000,
            missing_bot_retry_ms: 5_000,
            conflict_retries: 5,
            per_bot_concurrency: 8,
            crash_backoff_ms: 1_000,
            crash_backoff_max_ms: 60_000,
            reload_debounce_ms: 200,
            // Events carry the work; the sweep only catches what slipped
            // through (a ticket written by hand, an event deleted), so it
            // need not be frequent.
            sweep_every_ms: 300_000,
            retention_every_ms: 60_000,
            // A minute: far above a healthy node's lateness (milliseconds)
            // and above a retry's first delays, far below what a person
            // waiting on a ticket would notice before the operator does.
            stale_queue_ms: 60_000,
            overdue_timer_ms: 60_000,
            // Above the default deadline (10 s) and a commit, below the
            // 90 s systemd gives a unit before SIGKILL.
            shutdown_grace_ms: 30_000,
        }
    }
}

impl EngineConfig {
    /// The delay before attempt `attempts + 1`.
    pub fn backoff_ms(&self, attempts: u32) -> u64 {
        let factor = 1u64 << attempts.saturating_sub(1).min(30);
        self.retry_base_ms
            .saturating_mul(factor)
            .min(self.retry_max_ms)
    }
}

/// Everything the engine shares with its tasks and with the API.
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub runtime: Arc<Runtime>,
    pub registry: Registry,
    pub clock: Arc<dyn Clock>,
    pub config: EngineConfig,
    pub bots_dir: PathBuf,
    catalog: RwLock<Arc<Catalog>>,
    /// Rung whenever this process enqueues an event.
    wake: Notify,
    /// Rung by each pass of the dispatcher, for the firing task.
    timers_wake: Notify,
    /// Names this process in event leases.
    worker_id: String,
    /// New notifications, for the server-sent event streams of this process.
    notifications: tokio::sync::broadcast::Sender<crate::store::Notification>,
    /// Tickets changed, for live pages (`live.rs`).
    changes: tokio::sync::broadcast::Sender<live::Changed>,
    /// The event streams open in this process.
    pub streams: Arc<streams::Streams>,
    /// Whose turn it is to claim events.
    claims: claims::ClaimState,
    /// Invocations running at once (`concurrency`).
    running: Arc<tokio::sync::Semaphore>,
    /// What is wrong with each manifest file of the bots directory, by
    /// file name (see `supervisor.rs`).
    manifest_errors: RwLock<BTreeMap<String, String>>,
    pub metrics: Arc<metrics::Metrics>,
    /// Set once when the process is asked to stop (see [`Engine::stop`]).
    stop: tokio::sync::watch::Sender<bool>,
    /// Where notifications go besides the inbox (`delivery/`).
    outbox: RwLock<crate::store::Outbox>,
    /// Rung when a commit queued deliveries.
    outbox_wake: Notify,
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<Runtime>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
        bots_dir: PathBuf,
    ) -> Arc<Self> {
        // Leases name the node, so that another node can free them when
        // this one stops beating.
        let worker_id = store.node_id().to_string();
        let metrics = Arc::new(metrics::Metrics::default());
        let observer = metrics.clone();
        store.observe_batches(Arc::new(move |batch| observer.batch(batch)));
        Arc::new(Engine {
            store,
            runtime,
            registry: Registry::default(),
            clock,
            bots_dir,
            catalog: RwLock::new(Arc::new(Catalog::default())),
            wake: Notify::new(),
            timers_wake: Notify::new(),
            worker_id,
            notifications: tokio::sync::broadcast::channel(1024).0,
            changes: live::channel(),
            streams: Arc::new(streams::Streams::default()),
            claims: claims::ClaimState::default(),
            running: Arc::new(tokio::sync::Semaphore::new(
                config.concurrency.max(1) as usize
            )),
            manifest_errors: RwLock::default(),
            metrics,
            stop: tokio::sync::watch::channel(false).0,
            outbox: RwLock::default(),
            outbox_wake: Notify::new(),
            config,
        })
    }

    /// Asks the dispatcher, the watcher and the API's event streams to
    /// stop (SIGTERM): no new event is claimed, in-flight invocations
    /// finish, open streams end so that the server can close.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Completes once [`Engine::stop`] was called (at once if it was).
    pub fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + use<> {
        let mut rx = self.stop.subscribe();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }

    /// The catalog in force.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_catalog(&self, catalog: Catalog) {
        *self.catalog.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(catalog);
    }

    /// The one place the engine writes: commits (in the store's next
    /// batch, acknowledged after its fsync), then publishes the commit's
    /// notifications to this node's live streams and tells the other
    /// nodes about them, then wakes the dispatcher, here and on the other
    /// nodes, when the commit queued work.
    pub async fn commit(
        &self,
        commit: &crate::store::Commit,
        now: crate::model::Timestamp,
    ) -> Result<crate::store::Committed, crate::store::StoreError> {
        let outbox = self.outbox_of(commit);
        let committed = match &outbox {
            Some(routed) => self.store.commit(routed, now).await?,
            None => self.store.commit(commit, now).await?,
        };
        if outbox.is_some() {
            self.outbox_wake.notify_one();
        }
        self.publish(&committed.notifications);
        self.touched(live::touched_by(commit));
        if !committed.notifications.is_empty() {
            // In the inbox, durable: delivered on the one channel built so
            // far. (Channels that leave the building count their own.)
            let n = committed.notifications.len() as u64;
            self.metrics.notified("inbox", "delivered", n);
            let ids = committed.notifications.iter().map(|n| n.id).collect();
            self.store
                .announce(crate::store::Signal::Notifications(ids));
        }
        let queued = !commit.events.is_empty()
            || !commit.timers.is_empty()
            || commit.comments.iter().any(|c| c.event_for_state.is_some())
            || commit.updates.iter().any(|u| u.state.is_some());
        if queued {
            self.poke();
            self.store.announce(crate::store::Signal::Work);
        }
        Ok(committed)
    }

    /// Sends notifications out as `outbox` says from now on (set once at
    /// start from `[delivery]`).
    pub fn route_outbox(&self, outbox: crate::store::Outbox) {
        *self.outbox.write().unwrap_or_else(|e| e.into_inner()) = outbox;
    }

    /// Tells the sender that deliveries are due (a resend).
    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }

    /// `commit` with its notifications routed to the outbox, when it has
    /// notifications and the outbox goes somewhere.
    fn outbox_of(&self, commit: &crate::store::Commit) -> Option<crate::store::Commit> {
        if commit.notifications.is_empty() {
            return None;
        }
        let outbox = self.outbox.read().unwrap_or_else(|e| e.into_inner());
        if outbox.is_empty() {
            return None;
        }
        let mut routed = commit.clone();
        routed.outbox = outbox.clone();
        Some(routed)
    }

    /// Announces committed notifications to this process's streams.
    pub fn publish(&self, notifications: &[crate::store::Notification]) {
        for n in notifications {
            // No subscriber is not an error: the inbox has them.
            let _ = self.notifications.send(n.clone());
        }
    }

    /// Every notification this process commits from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::store::Notification> {
        self.notifications.subscribe()
    }

    /// Tells the dispatcher that new events are due.
    pub fn poke(&self) {
        self.wake.notify_one();
    }
}
