//! This process as one node among several on a shared database
//! (PostgreSQL, design.md §4 and §7):
//!
//! - its heartbeat, which also frees at once the event leases of nodes
//!   that stopped beating, so their work goes on elsewhere without waiting
//!   out whole leases;
//! - the signals other nodes send: work queued (wake the dispatcher),
//!   notifications (for this node's event streams), settings changed,
//!   a bot restarted by hand, a token revoked;
//! - jobs that run once per cluster, not once per node (sweeps,
//!   retention): [`Engine::lead`].
//!
//! On SQLite there is one node: the store's heartbeat does nothing, no
//! signal ever comes, and every job is this node's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast::error::RecvError;

use super::Engine;
use crate::model::BotName;
use crate::store::Signal;

/// How often a node says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// A node silent for this long is taken for dead and its leases are
/// freed. Three missed beats: long enough that a busy node (a long
/// garbage-free but CPU-bound stretch, a slow fsync) is not declared dead,
/// short enough that its work resumes elsewhere within the fail-over
/// target of 5 s (plus one poll).
pub const DEAD_AFTER: Duration = Duration::from_secs(3);

impl Engine {
    /// Beats if a beat is due (the dispatcher's loop calls this on every
    /// pass; `last` is when it last beat). Freed leases wake the
    /// dispatcher.
    pub(super) async fn beat_if_due(&self, last: &mut Option<Instant>) {
        if last.is_some_and(|at| at.elapsed() < HEARTBEAT) {
            return;
        }
        *last = Some(Instant::now());
        match self.store.heartbeat(DEAD_AFTER.as_millis() as i64).await {
            Ok(0) => {}
            Ok(freed) => {
                tracing::warn!(
                    events = freed,
                    "freed the leases of a node that stopped beating"
                );
                self.poke();
            }
            Err(e) => tracing::error!("heartbeat failed: {e}"),
        }
    }

    /// Whether this node runs the cluster-wide `job` now: one node per
    /// `every_ms` gets it. A database error counts as "not now", so a job
    /// is skipped rather than run twice.
    pub(super) async fn lead(&self, job: &str, every_ms: u64) -> bool {
        match self
            .store
            .lead(job, self.clock.now(), every_ms as i64)
            .await
        {
            Ok(lead) => lead,
            Err(e) => {
                tracing::error!(job, "could not tell which node runs the job: {e}");
                false
            }
        }
    }

    /// Follows the signals of other nodes until the store's channel ends.
    pub(super) async fn follow_signals(self: Arc<Self>) {
        let mut signals = self.store.signals();
        loop {
            match signals.recv().await {
                Ok(signal) => self.on_signal(signal).await,
                // Signals were missed: act as if all had come.
                Err(RecvError::Lagged(_)) => self.caught_up().await,
                Err(RecvError::Closed) => return,
            }
        }
    }

    async fn on_signal(&self, signal: Signal) {
        let kind = signal.kind();
        match signal {
            Signal::Work => self.poke(),
            Signal::Notifications(ids) => self.relay(&ids).await,
            Signal::Tickets(ids) => self.hear_touched(ids),
            Signal::Settings => self.reload_settings().await,
            Signal::RestartBot(name) => self.restart_here(&name).await,
            Signal::TokenRevoked(id) => self.streams.revoke(id),
            // Signals were lost (the listening connection was down).
            Signal::Resync => self.caught_up().await,
        }
        self.metrics.signal_heard(kind);
    }

    /// Another node's notifications, passed to the event streams open
    /// here: only those of users who hold a stream on this node are read,
    /// and nothing at all when none is open. Most nodes, most of the time,
    /// have no stream open, and reading every notification the cluster
    /// commits cost PostgreSQL about 0.3 of a core with two nodes and 0.4
    /// with three, at about 4,000 transitions a second (BENCHMARKS.md). A
    /// stream opened meanwhile gets the notifications committed from then
    /// on, as on one node; the inbox has the rest.
    async fn relay(&self, ids: &[i64]) {
        let users = self.streams.users();
        if users.is_empty() {
            return;
        }
        match self.store.notifications_by_id(ids, &users).await {
            Ok(found) => {
                self.metrics.relayed(found.len());
                self.publish(&found);
            }
            Err(e) => tracing::error!("reading another node's notifications failed: {e}"),
        }
    }

    /// After missed signals: look at the queue, tell live pages to look
    /// again, and read the settings again. (Streams re-check their tokens on their own.)
    async fn caught_up(&self) {
        self.poke();
        self.hear_all_changed();
        self.reload_settings().await;
    }

    /// A bot restarted by hand on another node restarts here too, if this
    /// node runs it.
    async fn restart_here(&self, name: &str) {
        let Ok(bot) = BotName::parse(name) else {
            tracing::warn!(
                bot = name,
                "another node restarted a bot this node does not know"
            );
            return;
        };
        if self.registry.slot_of(&bot).is_none() {
            return;
        }
        if let Err(e) = self.restart_bot_here(&bot).await {
            tracing::warn!(bot = %bot, "restart asked by another node: {e}");
        }
    }
}
