//! Several nodes on one database: heartbeats (and freeing the leases of a
//! node that stopped beating), jobs run once per cluster, and the signals
//! nodes send each other over `LISTEN/NOTIFY`.
//!
//! Signals are hints, never the only way work is found: a node that misses
//! one still finds the work at its next poll. So a signal that cannot be
//! sent (the database is down) is dropped with a log line, and a listener
//! that lost its connection reconnects and hands the engine
//! [`Signal::Resync`], after which it looks at everything again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use super::read::get;
use crate::model::{BotName, Timestamp};
use crate::store::{BotRecord, NodeBot, Result, Signal, bot_key};

/// The `NOTIFY` channel every node listens on.
const CHANNEL: &str = "baton_signals";

/// Notification ids per message: a `NOTIFY` payload must stay under
/// 8,000 bytes, and an id takes at most 20 of them.
const IDS_PER_MESSAGE: usize = 300;

/// Signals kept for a slow follower before it is told it lagged (and
/// resyncs).
const FOLLOWERS_BACKLOG: usize = 1024;

/// What goes over the channel: a signal and the node that sent it, so
/// that a node ignores its own.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    from: String,
    #[serde(flatten)]
    signal: Signal,
}

/// The sending and listening tasks of one node; they stop when it drops.
pub(super) struct Signals {
    outgoing: mpsc::UnboundedSender<Signal>,
    incoming: broadcast::Sender<Signal>,
    tasks: Vec<JoinHandle<()>>,
}

impl Signals {
    /// Starts sending this node's signals and listening for the others'.
    pub(super) fn start(pool: &PgPool, node_id: &str) -> Signals {
        let (outgoing, queue) = mpsc::unbounded_channel();
        let (incoming, _) = broadcast::channel(FOLLOWERS_BACKLOG);
        let tasks = vec![
            tokio::spawn(send(pool.clone(), node_id.to_string(), queue)),
            tokio::spawn(listen(pool.clone(), node_id.to_string(), incoming.clone())),
        ];
        Signals {
            outgoing,
            incoming,
            tasks,
        }
    }

    pub(super) fn announce(&self, signal: Signal) {
        // Fails only when the sending task is gone, as the store closes.
        let _ = self.outgoing.send(signal);
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.incoming.subscribe()
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Sends what is announced, gathering what piled up meanwhile into one
/// round trip: many commits' "work queued" become one message.
async fn send(pool: PgPool, node: String, mut queue: mpsc::UnboundedReceiver<Signal>) {
    while let Some(first) = queue.recv().await {
        let mut signals = vec![first];
        while let Ok(more) = queue.try_recv() {
            signals.push(more);
        }
        let payloads = gather(&node, signals);
        let sent = sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
            .bind(CHANNEL)
            .bind(&payloads)
            .execute(&pool)
            .await;
        if let Err(e) = sent {
            tracing::warn!(
                signals = payloads.len(),
                "signals to other nodes not sent (they find the work at their next poll): {e}"
            );
        }
    }
}

/// The messages for a pile of signals: duplicates merged, notification
/// and ticket ids in messages small enough for `NOTIFY`.
fn gather(node: &str, signals: Vec<Signal>) -> Vec<String> {
    let mut ids = Vec::new();
    let mut tickets = std::collections::BTreeSet::new();
    let mut rest: Vec<Signal> = Vec::new();
    for signal in signals {
        match signal {
            Signal::Notifications(some) => ids.extend(some),
            Signal::Tickets(some) => tickets.extend(some),
            other if !rest.contains(&other) => rest.push(other),
            _ => {}
        }
    }
    rest.extend(
        ids.chunks(IDS_PER_MESSAGE)
            .map(|chunk| Signal::Notifications(chunk.to_vec())),
    );
    let tickets: Vec<i64> = tickets.into_iter().collect();
    rest.extend(
        tickets
            .chunks(IDS_PER_MESSAGE)
            .map(|chunk| Signal::Tickets(chunk.to_vec())),
    );
    rest.into_iter()
        .filter_map(|signal| {
            let envelope = Envelope {
                from: node.to_string(),
                signal,
            };
            serde_json::to_string(&envelope).ok()
        })
        .collect()
}

/// Listens until the store closes, reconnecting after a lost connection
/// and then passing on [`Signal::Resync`].
async fn listen(pool: PgPool, node: String, incoming: broadcast::Sender<Signal>) {
    let mut listener = loop {
        match subscribe(&pool).await {
            Ok(listener) => break listener,
            Err(e) => {
                tracing::warn!("cannot listen for other nodes' signals yet: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    loop {
        match listener.try_recv().await {
            Ok(Some(message)) => match serde_json::from_str::<Envelope>(message.payload()) {
                Ok(envelope) if envelope.from != node => {
                    let _ = incoming.send(envelope.signal);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("a signal that does not decode, ignored: {e}"),
            },
            // The connection was lost and is back: what was said meanwhile
            // is gone.
            Ok(None) => {
                let _ = incoming.send(Signal::Resync);
            }
            Err(e) => {
                tracing::warn!("listening for other nodes' signals: {e}; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn subscribe(pool: &PgPool) -> Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// The database's clock in milliseconds: heartbeats are compared with it,
/// so that nodes whose clocks disagree still agree on who is silent.
const DB_NOW: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/// How long a stopped node stays listed.
const FORGET_AFTER_MS: i64 = 3_600_000;

/// When this node last beat successfully: a node that could not beat for
/// a while (the database was down for everyone) frees nobody's leases at
/// its first beat back, since the others could not beat either.
#[derive(Default)]
pub(super) struct Beats {
    last_ok: Mutex<Option<Instant>>,
}

impl Beats {
    /// Records this node's beat and frees the leases of nodes silent for
    /// `dead_after_ms`; returns how many events were freed.
    pub(super) async fn beat(&self, pool: &PgPool, node: &str, dead_after_ms: i64) -> Result<u64> {
        let beat = format!(
            "INSERT INTO nodes (id, started_at, heartbeat_at) VALUES ($1, {DB_NOW}, {DB_NOW}) \
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = {DB_NOW}, stopped_at = NULL"
        );
        sqlx::query(sqlx::AssertSqlSafe(beat))
            .bind(node)
            .execute(pool)
            .await?;
        let steady = {
            let mut last = self.last_ok.lock().unwrap_or_else(|p| p.into_inner());
            let steady = last.is_some_and(|at| at.elapsed().as_millis() < dead_after_ms as u128);
            *last = Some(Instant::now());
            steady
        };
        if !steady {
            return Ok(0);
        }
        // Two statements, so that the queue (no index on its leases'
        // owners: migration 0006) is scanned only when a node has just
        // been found dead. Its leases are freed then, once; one it took
        // after that (had it come back, its beat would clear
        // `stopped_at`) runs out with its `lease_until` like any other.
        let mark = format!(
            "UPDATE nodes SET stopped_at = {DB_NOW} \
             WHERE id <> $1 AND stopped_at IS NULL AND heartbeat_at < {DB_NOW} - $2 RETURNING id"
        );
        let dead: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(mark))
            .bind(node)
            .bind(dead_after_ms)
            .fetch_all(pool)
            .await?;
        let freed = if dead.is_empty() {
            0
        } else {
            sqlx::query(
                "UPDATE events SET lease_owner = NULL, lease_until = NULL \
                 WHERE lease_owner = ANY($1)",
            )
            .bind(&dead)
            .execute(pool)
            .await?
            .rows_affected()
        };
        // Nodes gone for an hour leave `/api/v1/bots` (their bot rows go
        // with them): long enough to see what a dead node ran.
        let forget = format!("DELETE FROM nodes WHERE stopped_at < {DB_NOW} - $1");
        sqlx::query(sqlx::AssertSqlSafe(forget))
            .bind(FORGET_AFTER_MS)
            .execute(pool)
            .await?;
        Ok(freed)
    }
}

/// Marks this node stopped and gives back its leases, when it shuts down.
pub(super) async fn leave(pool: &PgPool, node: &str) -> Result<()> {
    let sql = format!("UPDATE nodes SET stopped_at = {DB_NOW} WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(node)
        .execute(pool)
        .await?;
    sqlx::query("UPDATE events SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1")
        .bind(node)
        .execute(pool)
        .await?;
    Ok(())
}

/// Whether `node` runs `job` now: the first node to ask once `every_ms`
/// (less a tenth, so that nodes polling on the same period do not skip
/// every other turn) has passed since the last run gets it.
pub(super) async fn lead(
    pool: &PgPool,
    node: &str,
    job: &str,
    now: Timestamp,
    every_ms: i64,
) -> Result<bool> {
    let led = sqlx::query(
        "INSERT INTO cluster_jobs (job, node_id, ran_at) VALUES ($1, $2, $3) \
         ON CONFLICT (job) DO UPDATE SET node_id = excluded.node_id, ran_at = excluded.ran_at \
         WHERE cluster_jobs.ran_at <= $3 - $4",
    )
    .bind(job)
    .bind(node)
    .bind(now)
    .bind(every_ms - every_ms / 10)
    .execute(pool)
    .await?;
    Ok(led.rows_affected() == 1)
}

/// The keys of bots that some other live node has running: their events
/// are that node's to run, not the "no bot loaded" pass's here.
pub(super) async fn running_elsewhere(
    pool: &PgPool,
    node: &str,
    dead_after_ms: i64,
) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT DISTINCT b.name FROM bots b JOIN nodes n ON n.id = b.node_id \
         WHERE b.node_id <> $1 AND b.status = 'running' AND n.stopped_at IS NULL \
           AND n.heartbeat_at >= {DB_NOW} - $2"
    );
    let names: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(node)
        .bind(dead_after_ms)
        .fetch_all(pool)
        .await?;
    Ok(names
        .iter()
        .filter_map(|name| BotName::parse(name).ok())
        .map(|bot| bot_key(&bot))
        .collect())
}

/// Every node's record of every bot, with whether the node is alive.
pub(super) async fn node_bots(pool: &PgPool, dead_after_ms: i64) -> Result<Vec<NodeBot>> {
    let sql = format!(
        "SELECT b.node_id, (n.stopped_at IS NULL AND n.heartbeat_at >= {DB_NOW} - $1) AS alive, \
           b.name, b.sha256, b.status, b.restarts, b.loaded_at, b.last_error, b.refused_sha256, \
           b.updated_at \
         FROM bots b JOIN nodes n ON n.id = b.node_id ORDER BY b.name, b.node_id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(dead_after_ms)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(NodeBot {
                node_id: get(row, "node_id")?,
                alive: get(row, "alive")?,
                bot: BotRecord {
                    name: get(row, "name")?,
                    sha256: get(row, "sha256")?,
                    status: get(row, "status")?,
                    restarts: super::read::small(row, "restarts")?,
                    loaded_at: get(row, "loaded_at")?,
                    last_error: get(row, "last_error")?,
                    refused_sha256: get(row, "refused_sha256")?,
                    updated_at: get(row, "updated_at")?,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Envelope, Signal, gather};

    #[test]
    fn piled_up_signals_go_as_few_small_messages() {
        let mut pile = vec![Signal::Work, Signal::Work, Signal::Settings];
        pile.extend((0..700).map(|id| Signal::Notifications(vec![id, i64::MAX - id])));
        // The same ticket in many commits goes once.
        pile.extend((0..700).map(|_| Signal::Tickets(vec![7, 8])));
        let messages = gather("node-a", pile);
        // Work and Settings once each, 1,400 ids in five messages, the
        // two tickets in one.
        assert_eq!(messages.len(), 2 + 5 + 1);
        let mut ids = 0;
        for message in &messages {
            assert!(message.len() < 8000, "{} bytes", message.len());
            let envelope: Envelope = serde_json::from_str(message).expect("decodes");
            assert_eq!(envelope.from, "node-a");
            if let Signal::Notifications(some) = envelope.signal {
                ids += some.len();
            }
        }
        assert_eq!(ids, 1400);
    }
}
