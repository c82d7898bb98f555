//! The supervisor: whether this node does its job, from what the database
//! expects and what the process has. `/readyz`, `baton health` and
//! `/metrics` all read [`Engine::supervise`].
//!
//! A node is not ready when its database does not answer, a manifest in
//! its bots directory is refused, a bot the manifests call for is missing,
//! refused or crashing here, the oldest unfinished event was queued over
//! `engine.stale_queue_ms`, an event is parked, or the earliest timer is
//! overdue by more than `engine.overdue_timer_ms`.
//!
//! Other nodes' missing bots are *warnings*: they are listed (a rolling
//! update shows up), but they do not make this node unready, or one node's
//! mistake would take every node out of a load balancer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::{BotStatus, Engine};
use crate::model::Timestamp;
use crate::store::Backlog;

/// How long a check waits for the database: a probe must answer in time
/// even while connections to a database that is down are retried.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// What a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Database,
    Manifest,
    Bot,
    Queue,
    ParkedEvents,
    Timers,
    /// Another node (warnings only).
    Node,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Database => "database",
            Check::Manifest => "manifest",
            Check::Bot => "bot",
            Check::Queue => "queue",
            Check::ParkedEvents => "parked_events",
            Check::Timers => "timers",
            Check::Node => "node",
        }
    }
}

/// One thing wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub check: Check,
    /// The bot, manifest file or node it is about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub detail: String,
}

impl Problem {
    fn new(check: Check, subject: Option<String>, detail: impl Into<String>) -> Self {
        Problem {
            check,
            subject,
            detail: detail.into(),
        }
    }
}

/// The supervisor's verdict.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Each makes this node not ready.
    pub problems: Vec<Problem>,
    /// Worth a look; this node stays ready.
    pub warnings: Vec<Problem>,
    /// The queue and timers, when the database answered.
    #[serde(skip)]
    pub backlog: Option<Backlog>,
}

impl Report {
    pub fn ready(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Engine {
    /// Runs every check. Never fails: what cannot be checked is a problem.
    pub async fn supervise(&self) -> Report {
        let mut report = Report::default();
        report.problems.extend(self.manifest_problems());
        report.problems.extend(self.bot_problems());
        let now = self.clock.now();
        match tokio::time::timeout(PING_TIMEOUT, self.store.backlog(now)).await {
            Ok(Ok(backlog)) => {
                report.problems.extend(self.backlog_problems(&backlog, now));
                report.backlog = Some(backlog);
                report.warnings.extend(self.other_nodes().await);
            }
            Ok(Err(e)) => {
                tracing::error!("supervisor: database: {e}");
                report.problems.push(unreachable());
            }
            Err(_) => {
                tracing::error!("supervisor: database: no answer within {PING_TIMEOUT:?}");
                report.problems.push(unreachable());
            }
        }
        report
    }

    /// Bots the manifests call for that do not run well here.
    fn bot_problems(&self) -> Vec<Problem> {
        let expected: BTreeSet<_> = self.catalog().expected_bots().into_iter().collect();
        let mut problems = Vec::new();
        for slot in self.registry.snapshot() {
            if !expected.contains(&slot.name) {
                continue;
            }
            let error = slot.last_error.clone().unwrap_or_default();
            let detail = match slot.status {
                BotStatus::Running => continue,
                BotStatus::Missing => format!("no file {}.wasm in the bots directory", slot.name),
                BotStatus::Refused => format!("its file was refused: {error}"),
                BotStatus::Crashing => format!(
                    "{} failed invocations in a row; the last: {error}",
                    slot.consecutive_failures
                ),
            };
            problems.push(Problem::new(
                Check::Bot,
                Some(slot.name.to_string()),
                detail,
            ));
        }
        problems
    }

    fn backlog_problems(&self, backlog: &Backlog, now: Timestamp) -> Vec<Problem> {
        let mut problems = Vec::new();
        if let Some(due) = backlog.oldest_queued_at
            && now - due > self.config.stale_queue_ms
        {
            problems.push(Problem::new(
                Check::Queue,
                None,
                format!(
                    "the oldest unfinished event was queued {} s ago (threshold {} s; {} due now)",
                    (now - due) / 1000,
                    self.config.stale_queue_ms / 1000,
                    backlog.events_due
                ),
            ));
        }
        if backlog.parked > 0 {
            problems.push(Problem::new(
                Check::ParkedEvents,
                None,
                format!(
                    "{} events are parked after their last attempt: see the open error \
                     tickets, then retry or drop them",
                    backlog.parked
                ),
            ));
        }
        if let Some(due) = backlog.next_timer_at
            && now - due > self.config.overdue_timer_ms
        {
            problems.push(Problem::new(
                Check::Timers,
                None,
                format!(
                    "a timer due {} s ago has not fired (threshold {} s)",
                    (now - due) / 1000,
                    self.config.overdue_timer_ms / 1000
                ),
            ));
        }
        problems
    }

    /// Other live nodes without a running copy of a bot the manifests
    /// call for (several nodes on PostgreSQL; none on SQLite).
    async fn other_nodes(&self) -> Vec<Problem> {
        let records = match self.store.node_bots().await {
            Ok(records) => records,
            Err(e) => {
                tracing::warn!("supervisor: reading other nodes' bots: {e}");
                return Vec::new();
            }
        };
        let me = self.store.node_id();
        let mut running: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for record in records.iter().filter(|r| r.alive && r.node_id != me) {
            let bots = running.entry(&record.node_id).or_default();
            if record.bot.status == BotStatus::Running.as_str() {
                bots.insert(record.bot.name.clone());
            }
        }
        let expected = self.catalog().expected_bots();
        let mut warnings = Vec::new();
        for (node, bots) in running {
            for bot in expected.iter().filter(|b| !bots.contains(&b.to_string())) {
                warnings.push(Problem::new(
                    Check::Node,
                    Some(node.to_string()),
                    format!("bot {bot} is not running on node {node}"),
                ));
            }
        }
        warnings
    }

    /// Each manifest file of the bots directory that is refused, or not in
    /// force until a restart, with why: `(file, reason)`.
    pub fn refused_manifests(&self) -> Vec<(String, String)> {
        self.manifest_errors
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(file, detail)| (file.clone(), detail.clone()))
            .collect()
    }

    /// The manifests refused, at start or since on disk.
    fn manifest_problems(&self) -> Vec<Problem> {
        self.manifest_errors
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(file, detail)| Problem::new(Check::Manifest, Some(file.clone()), detail))
            .collect()
    }

    /// Reads every manifest of the bots directory again (they are applied
    /// only at start) and records what is wrong with each: refused, or
    /// valid but not in force until a restart.
    pub(super) fn recheck_manifests(&self) {
        let catalog = self.catalog();
        let mut errors = BTreeMap::new();
        let files = super::manifest_files(&self.bots_dir).unwrap_or_default();
        for path in files {
            let file = display(&path);
            match super::read_manifest(&path).and_then(|ms| self.fits_the_lease(&path, ms)) {
                Err(e) => {
                    errors.insert(file, format!("refused, line {}: {}", e.line, e.message));
                }
                Ok(ms) if catalog.metaservice(&ms.name).is_none() => {
                    errors.insert(
                        file,
                        format!(
                            "metaservice {} is not loaded (it was refused or absent at start): \
                             restart Baton to load it",
                            ms.name
                        ),
                    );
                }
                Ok(_) => {}
            }
        }
        *self
            .manifest_errors
            .write()
            .unwrap_or_else(|e| e.into_inner()) = errors;
    }
}

fn display(path: &Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn unreachable() -> Problem {
    // Anyone may ask: the driver's words (hosts, ports) stay in the log.
    Problem::new(Check::Database, None, "the database does not answer")
}
