//! What `/metrics` shows, in the Prometheus text format: counters and
//! histograms that the engine, the store's committer and the API move as
//! they work, and gauges read from the database at each scrape.
//!
//! One registry per engine, not a process-wide recorder: tests that run
//! several engines in one process keep their counts apart.
//!
//! Label values come from a closed set (outcomes, channels, states) or
//! from names the manifests declare (bots, routes); never from request
//! input, so a scraper's memory stays bounded whatever callers send.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use super::Engine;
use super::supervisor::Report;
use crate::runtime::InvokeError;
use crate::store::Batch;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BotOutcome {
    pub bot: String,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BotLabel {
    pub bot: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub metaservice: String,
    pub ticket_type: String,
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Delivery {
    pub channel: &'static str,
    pub state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignalLabel {
    pub signal: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Route {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CheckLabel {
    pub check: &'static str,
}

/// Seconds, from 100 µs to about 26 s: an invocation, a commit batch and
/// a request each fall well inside.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.000_1, 2.0, 19))
}

/// Commits per batch: 1 to 512.
fn batch_sizes() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 10))
}

/// Every metric, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    invocations: Family<BotOutcome, Counter>,
    invocation_seconds: Family<BotLabel, Histogram>,
    traps: Family<BotLabel, Counter>,
    reloads: Family<BotLabel, Counter>,
    error_tickets: Counter,
    batch_commits: Histogram,
    batch_seconds: Histogram,
    timer_lateness: Histogram,
    notifications: Family<Delivery, Counter>,
    signals: Family<SignalLabel, Counter>,
    relay_reads: Counter,
    relayed: Counter,
    requests: Family<Route, Counter>,
    request_seconds: Family<Route, Histogram>,
    // Read from the database at each scrape.
    events_due: Gauge,
    oldest_event_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    events_parked: Gauge,
    timers_pending: Gauge,
    open_tickets: Family<StateLabels, Gauge>,
    problems: Family<CheckLabel, Gauge>,
    /// One scrape at a time: gauges are set, then encoded.
    scrape: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("baton"),
            invocations: Family::default(),
            invocation_seconds: Family::new_with_constructor(seconds),
            traps: Family::default(),
            reloads: Family::default(),
            error_tickets: Counter::default(),
            batch_commits: batch_sizes(),
            batch_seconds: seconds(),
            timer_lateness: seconds(),
            notifications: Family::default(),
            signals: Family::default(),
            relay_reads: Counter::default(),
            relayed: Counter::default(),
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(seconds),
            events_due: Gauge::default(),
            oldest_event_age: Gauge::default(),
            events_parked: Gauge::default(),
            timers_pending: Gauge::default(),
            open_tickets: Family::default(),
            problems: Family::default(),
            scrape: Mutex::new(()),
        };
        m.register();
        m
    }
}

impl Metrics {
    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "invocations",
            "Bot invocations by bot and outcome (ok, bot_error, timeout, trap, limit, host_error)",
            self.invocations.clone(),
        );
        r.register_with_unit(
            "invocation_duration",
            "Time of one invocation: fresh instance and the call",
            Unit::Seconds,
            self.invocation_seconds.clone(),
        );
        r.register("traps", "Invocations that trapped", self.traps.clone());
        r.register(
            "reloads",
            "Bot versions loaded after the first (new files and restarts)",
            self.reloads.clone(),
        );
        r.register(
            "error_tickets_filed",
            "baton.error tickets filed",
            self.error_tickets.clone(),
        );
        r.register(
            "commit_batch_commits",
            "Commits written in one transaction",
            self.batch_commits.clone(),
        );
        r.register_with_unit(
            "commit_batch_duration",
            "Time of one commit batch's transaction, fsync included",
            Unit::Seconds,
            self.batch_seconds.clone(),
        );
        r.register_with_unit(
            "timer_lateness",
            "How late fired timers ran their event, from their due time",
            Unit::Seconds,
            self.timer_lateness.clone(),
        );
        r.register(
            "notifications",
            "Notifications by channel and delivery state",
            self.notifications.clone(),
        );
        r.register(
            "cluster_signals",
            "Signals heard from other nodes, by kind, counted once handled (a notifications signal with no stream open here is handled by doing nothing)",
            self.signals.clone(),
        );
        r.register(
            "cluster_notification_reads",
            "Reads of other nodes' notifications, for event streams open here",
            self.relay_reads.clone(),
        );
        r.register(
            "cluster_notifications_relayed",
            "Other nodes' notifications read and passed to event streams open here",
            self.relayed.clone(),
        );
        r.register(
            "http_requests",
            "HTTP requests by method, route and status",
            self.requests.clone(),
        );
        r.register_with_unit(
            "http_request_duration",
            "HTTP request latency by method, route and status",
            Unit::Seconds,
            self.request_seconds.clone(),
        );
        r.register(
            "events_due",
            "Events due and not parked (waiting or running)",
            self.events_due.clone(),
        );
        r.register_with_unit(
            "oldest_event_age",
            "How long ago the oldest unfinished event was queued",
            Unit::Seconds,
            self.oldest_event_age.clone(),
        );
        r.register(
            "events_parked",
            "Events parked after their last attempt",
            self.events_parked.clone(),
        );
        r.register(
            "timers_pending",
            "Timers with a due time",
            self.timers_pending.clone(),
        );
        r.register(
            "open_tickets",
            "Open tickets by metaservice, type and state",
            self.open_tickets.clone(),
        );
        r.register(
            "supervisor_problems",
            "Problems the supervisor finds, by check (see /readyz)",
            self.problems.clone(),
        );
    }

    /// One invocation's end.
    pub fn invocation(&self, bot: &str, result: Result<(), &InvokeError>, took: Duration) {
        let outcome = match result {
            Ok(()) => "ok",
            Err(InvokeError::Bot(_)) => "bot_error",
            Err(InvokeError::Timeout(_)) => "timeout",
            Err(InvokeError::Trap(_)) => "trap",
            Err(InvokeError::Limit(_)) => "limit",
            Err(InvokeError::Host(_)) => "host_error",
        };
        let bot = bot.to_string();
        if outcome == "trap" {
            self.traps
                .get_or_create(&BotLabel { bot: bot.clone() })
                .inc();
        }
        self.invocation_seconds
            .get_or_create(&BotLabel { bot: bot.clone() })
            .observe(took.as_secs_f64());
        self.invocations
            .get_or_create(&BotOutcome { bot, outcome })
            .inc();
    }

    /// Invocations of `bot` in this process: (succeeded, failed).
    pub fn invocations_of(&self, bot: &str) -> (u64, u64) {
        let mut ok = 0;
        let mut failed = 0;
        for outcome in ["ok", "bot_error", "timeout", "trap", "limit", "host_error"] {
            let labels = BotOutcome {
                bot: bot.to_string(),
                outcome,
            };
            let n = self.invocations.get(&labels).map_or(0, |c| c.get());
            if outcome == "ok" {
                ok += n;
            } else {
                failed += n;
            }
        }
        (ok, failed)
    }

    pub fn reloaded(&self, bot: &str) {
        self.reloads
            .get_or_create(&BotLabel {
                bot: bot.to_string(),
            })
            .inc();
    }

    pub fn error_ticket_filed(&self) {
        self.error_tickets.inc();
    }

    pub fn batch(&self, batch: Batch) {
        self.batch_commits.observe(batch.commits as f64);
        self.batch_seconds.observe(batch.took.as_secs_f64());
    }

    /// A timer's event ran `late_ms` after the timer's due time.
    pub fn timer_fired(&self, late_ms: i64) {
        self.timer_lateness.observe(late_ms.max(0) as f64 / 1000.0);
    }

    /// `n` notifications reached `state` on `channel`.
    pub fn notified(&self, channel: &'static str, state: &'static str, n: u64) {
        self.notifications
            .get_or_create(&Delivery { channel, state })
            .inc_by(n);
    }

    /// A signal of another node, handled (which may be doing nothing).
    pub fn signal_heard(&self, signal: &'static str) {
        self.signals.get_or_create(&SignalLabel { signal }).inc();
    }

    /// One read of other nodes' notifications for streams open here,
    /// which found `n` for their users.
    pub fn relayed(&self, n: usize) {
        self.relay_reads.inc();
        self.relayed.inc_by(n as u64);
    }

    /// One HTTP request; `route` is the matched route's template
    /// (`/api/v1/tickets/{id}`), or `unmatched`.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let labels = Route {
            method: method.to_string(),
            route: route.to_string(),
            status,
        };
        self.request_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        self.requests.get_or_create(&labels).inc();
    }
}

impl Engine {
    /// `/metrics`: the gauges read now, then everything encoded.
    pub async fn metrics_text(&self) -> String {
        let report = self.supervise().await;
        let open = self.store.open_tickets().await;
        let m = &self.metrics;
        let _one = m.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.set_gauges(&report, open);
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &m.registry) {
            tracing::error!("encoding the metrics: {e}");
        }
        text
    }

    fn set_gauges(
        &self,
        report: &Report,
        open: crate::store::Result<Vec<crate::store::OpenCount>>,
    ) {
        let m = &self.metrics;
        if let Some(b) = &report.backlog {
            let now = self.clock.now();
            m.events_due.set(b.events_due as i64);
            let age = b.oldest_queued_at.map_or(0, |at| (now - at).max(0));
            m.oldest_event_age.set(age as f64 / 1000.0);
            m.events_parked.set(b.parked as i64);
            m.timers_pending.set(b.timers_pending as i64);
        }
        m.problems.clear();
        for p in &report.problems {
            m.problems
                .get_or_create(&CheckLabel {
                    check: p.check.as_str(),
                })
                .inc();
        }
        match open {
            Ok(counts) => {
                let catalog = self.catalog();
                m.open_tickets.clear();
                for c in counts {
                    let state = catalog
                        .ticket_type(&c.metaservice, &c.ticket_type)
                        .and_then(|tt| tt.state(c.state_code))
                        .map_or_else(|| c.state_code.to_string(), |s| s.name.clone());
                    let labels = StateLabels {
                        metaservice: c.metaservice,
                        ticket_type: c.ticket_type,
                        state,
                    };
                    m.open_tickets.get_or_create(&labels).set(c.count as i64);
                }
            }
            Err(e) => tracing::warn!("metrics: counting open tickets: {e}"),
        }
    }
}
