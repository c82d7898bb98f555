//! The dispatcher: claims due events (fairly between bots, `claims.rs`),
//! runs each on the bot of its ticket's state, and commits or retries.
//!
//! Two bounds: `in_flight` events between their claim and their
//! settlement (most of them waiting for their commit's batch to be
//! durable), and `concurrency` invocations running guest code at once
//! (`per_bot_concurrency` of one bot). A bot's slot and the running
//! permit are given back when its guest returns, so the next invocations
//! run while the commit waits for the disk.
//!
//! Delivery is at least once; effects are exactly once, because a commit
//! consumes its event and is guarded by the versions of the tickets it
//! changes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tracing::Instrument;

use super::calls::call_of;
use super::errors::ErrorReport;
use super::registry::Lease;
use super::{Engine, Unavailable, commit};
use crate::model::{Actor, BotName, Status, Ticket};
use crate::runtime::{InvokeError, Session};
use crate::store::{EventKind, QueuedEvent, StoreError};

/// What became of one event.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Committed,
    /// The ticket moved on or is gone; the event no longer applies.
    Stale,
    /// No bot is loaded for the state yet.
    NoBot,
    /// The bot cannot take it now (crash backoff, or at its concurrency
    /// bound): try again at this time, without counting an attempt.
    Later(i64),
    Failed(String),
    /// The ticket is in a state its type does not declare: the code and
    /// the database do not match, and no retry can help.
    Mismatch(String),
}

impl Engine {
    /// Runs until `shutdown` completes, then waits for the invocations in
    /// flight to finish.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        let permits = Arc::new(Semaphore::new(self.in_flight() as usize));
        let poll = Duration::from_millis(self.config.poll_interval_ms.max(1));
        let mut last_sweep = self.clock.now();
        let mut last_retention = self.clock.now();
        let mut last_beat = None;
        let signals = tokio::spawn(self.clone().follow_signals());
        // Timers fire beside the dispatcher, not on its path (`firing.rs`).
        let timers = tokio::spawn(self.clone().fire_timers());
        tokio::pin!(shutdown);
        loop {
            self.beat_if_due(&mut last_beat).await;
            let now = self.clock.now();
            let (sweep_every, retention_every) =
                (self.config.sweep_every_ms, self.config.retention_every_ms);
            // On several nodes, one of them runs each (`cluster.rs`).
            if now - last_sweep >= sweep_every as i64 {
                last_sweep = now;
                if self.lead("sweep", sweep_every).await {
                    self.sweep_all().await;
                }
            }
            if now - last_retention >= retention_every as i64 {
                last_retention = now;
                if self.lead("retention", retention_every).await {
                    self.retain().await;
                }
            }
            // A commit since the last pass may have added a timer sooner
            // than the one the firing task sleeps for.
            self.timers_wake.notify_one();
            self.clone().dispatch_due(&permits).await;
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
            // The tasks ready to run go first: invocations that are about
            // to return free their slots, and one claim then takes all of
            // them. A claim steps past the bot's events in flight, so many
            // claims of one event each cost more than a few of several.
            tokio::task::yield_now().await;
        }
        signals.abort();
        timers.abort();
        // Every permit back means every invocation has finished and
        // settled. Bounded: what still runs after the grace period is
        // abandoned with the process; its events were not consumed, so
        // they run again (on another node, or after the restart).
        let all = self.in_flight();
        let grace = Duration::from_millis(self.config.shutdown_grace_ms);
        match tokio::time::timeout(grace, permits.acquire_many(all)).await {
            Ok(Ok(p)) => p.forget(),
            Ok(Err(_)) => {}
            Err(_) => tracing::warn!(
                still_running = all as usize - permits.available_permits(),
                "shutdown: invocations still running after {grace:?}; their events will run again"
            ),
        }
        // Leases this node still holds (events released with a backoff
        // keep none) go back at once, for the other nodes.
        if let Err(e) = self.store.leave().await {
            tracing::warn!("giving back this node's leases: {e}");
        }
        tracing::info!("dispatcher stopped; in-flight invocations finished");
    }

    /// One sweep of every loaded bot.
    async fn sweep_all(&self) {
        for slot in self
            .registry
            .snapshot()
            .into_iter()
            .filter(|s| s.loaded.is_some())
        {
            self.sweep(&slot.name).await;
        }
    }

    /// Queues `proceed-ticket(sweep)` for the tickets in the bot's state
    /// that it has not processed.
    pub async fn sweep(&self, bot: &BotName) {
        match self.store.sweep(bot, self.clock.now()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(bot = %bot, tickets = n, "sweep found unprocessed tickets");
                self.poke();
            }
            Err(e) => tracing::error!(bot = %bot, "sweep failed: {e}"),
        }
    }

    /// Claims and starts due events while there are free permits.
    async fn dispatch_due(self: Arc<Self>, permits: &Arc<Semaphore>) {
        loop {
            let free = permits.available_permits() as u32;
            if free == 0 {
                return;
            }
            // Fairly, bot by bot (claims.rs).
            let events = self.claim_fairly(free).await;
            if events.is_empty() {
                return;
            }
            for (event, slot) in events {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let engine = self.clone();
                tokio::spawn(async move {
                    engine.handle(event, slot).await;
                    drop(permit);
                    engine.poke();
                });
            }
        }
    }

    /// Events claimed and not settled at most (at least `concurrency`).
    fn in_flight(&self) -> u32 {
        self.config.in_flight.max(self.config.concurrency).max(1)
    }

    async fn handle(&self, mut event: QueuedEvent, slot: Option<Lease>) {
        self.count_lateness(&event);
        // The ticket as the claim read it, for the first attempt only.
        let seen = event.ticket.take();
        let span = tracing::info_span!(
            "event",
            event = event.id,
            ticket = event.ticket_id,
            kind = event.kind.as_str()
        );
        let outcome = self.process(&event, slot, seen).instrument(span).await;
        let now = self.clock.now();
        let result = match &outcome {
            Outcome::Committed => Ok(()),
            Outcome::Stale => self.store.drop_event(event.id).await,
            Outcome::NoBot => {
                let later = now + self.config.missing_bot_retry_ms as i64;
                self.store.release_event(event.id, later, None).await
            }
            Outcome::Later(at) => self.store.release_event(event.id, *at, None).await,
            Outcome::Failed(error) => self.fail(&event, error, true).await,
            Outcome::Mismatch(error) => self.fail(&event, error, false).await,
        };
        if let Err(e) = result {
            tracing::error!(
                event = event.id,
                ticket = event.ticket_id,
                "could not settle the event: {e}"
            );
        }
    }

    /// Runs the event's invocation, re-running it when its commit loses a
    /// version race. `slot`: the bot's slot reserved at the claim, used by
    /// the first attempt (a re-run takes a new one); `seen`: the ticket as
    /// the claim read it, likewise (a re-run reads it again).
    async fn process(
        &self,
        event: &QueuedEvent,
        mut slot: Option<Lease>,
        mut seen: Option<Ticket>,
    ) -> Outcome {
        for _ in 0..=self.config.conflict_retries {
            match self.attempt(event, &mut slot, seen.take()).await {
                Err(StoreError::Conflict(id)) => {
                    tracing::debug!(
                        event = event.id,
                        ticket = id,
                        "version conflict; running again"
                    );
                }
                // The event was consumed by another worker whose lease
                // overlapped ours: its commit stands. (Any other missing
                // row fails the attempt like other errors, so the event
                // is retried and parked, never re-run forever.)
                Err(StoreError::Consumed(_)) => return Outcome::Committed,
                Err(e) => return Outcome::Failed(format!("the host could not commit: {e}")),
                Ok(outcome) => return outcome,
            }
        }
        Outcome::Failed("the ticket kept changing while the bot ran".into())
    }

    /// `slot`: the bot's slot if one was reserved for this event; it is
    /// taken, and given back when the guest returns. `seen`: the ticket if
    /// already read since the event was claimed; else it is read here.
    async fn attempt(
        &self,
        event: &QueuedEvent,
        slot: &mut Option<Lease>,
        seen: Option<Ticket>,
    ) -> Result<Outcome, StoreError> {
        let ticket = match seen {
            Some(ticket) => ticket,
            None => match self.store.ticket(event.ticket_id).await? {
                Some(ticket) => ticket,
                None => return Ok(Outcome::Stale),
            },
        };
        if ticket.state_code != event.state_code || ticket.status == Status::Closed {
            return Ok(Outcome::Stale);
        }
        let catalog = self.catalog();
        let Some(ms) = catalog.metaservice(&ticket.metaservice).cloned() else {
            return Ok(Outcome::Failed(format!(
                "metaservice {} is not declared",
                ticket.metaservice
            )));
        };
        if ms.builtin {
            return Ok(Outcome::Stale);
        }
        let Some(state) = ms
            .ticket_types
            .get(&ticket.ticket_type)
            .and_then(|tt| tt.state(ticket.state_code))
        else {
            return Ok(Outcome::Mismatch(format!(
                "code and database don't match: ticket {} is in state {} of {}/{}, \
                 which the manifest ({}) does not declare",
                ticket.id, ticket.state_code, ticket.metaservice, ticket.ticket_type, ms.source
            )));
        };
        let call = match call_of(event) {
            Ok(Some(call)) => call,
            // Reminders are the host's own work: no bot runs.
            Ok(None) => {
                self.remind(&ticket, event).await?;
                return Ok(Outcome::Committed);
            }
            Err(why) => return Ok(Outcome::Failed(why)),
        };
        let name = BotName::new(&ms.name, &ticket.ticket_type, state.code, &state.name);
        let now = self.clock.now();
        let acquired = match slot.take() {
            Some(lease) => self.registry.loaded(&name, now).map(|bot| (bot, lease)),
            None => self
                .registry
                .acquire(&name, now, self.config.per_bot_concurrency),
        };
        let (bot, lease) = match acquired {
            Ok(acquired) => acquired,
            Err(Unavailable::NoBot) => return Ok(Outcome::NoBot),
            Err(Unavailable::BackingOff(until)) => return Ok(Outcome::Later(until)),
            Err(Unavailable::Busy) => {
                return Ok(Outcome::Later(now + self.config.poll_interval_ms as i64));
            }
        };
        let session = Session::new(
            name.clone(),
            ms.clone(),
            self.store.clone(),
            now,
            self.runtime.limits().with(&ms.limits),
            ticket,
        );
        let started = std::time::Instant::now();
        let quota_hits = session.quota_hits.clone();
        // Its own fields say which ticket and event: a bot's output lines,
        // written from WASI's own task, have this span alone as context.
        let span = tracing::info_span!(
            "invocation",
            bot = %name,
            ticket = event.ticket_id,
            event = event.id,
            duration_us = tracing::field::Empty
        );
        let invoked = async {
            // Closed only when the engine is dropped, which cannot happen
            // while this runs; without a permit the guest runs anyway.
            let _running = self.running.acquire().await.ok();
            self.runtime.invoke(&bot, session, call).await
        }
        .instrument(span.clone())
        .await;
        let took = started.elapsed();
        span.record("duration_us", took.as_micros() as u64);
        let bot_label = name.to_string();
        self.metrics
            .invocation(&bot_label, invoked.as_ref().map(|_| ()), took);
        // The bot may take its next event while this one commits: its
        // slot is free, and the dispatcher is told so now, not when the
        // commit is durable (a bot's events would otherwise come only a
        // few to a batch, its `per_bot_concurrency` per fsync).
        drop(lease);
        self.poke();
        self.report_quotas(&ms.name, &name, event.ticket_id, &quota_hits)
            .await;
        let effects = match invoked {
            Ok(effects) => effects,
            Err(e) => {
                let c = &self.config;
                self.registry.failed(
                    &name,
                    &e.to_string(),
                    self.clock.now(),
                    c.crash_backoff_ms,
                    c.crash_backoff_max_ms,
                );
                return Ok(Outcome::Failed(describe_failure(&name, &bot.sha256, &e)));
            }
        };
        let closed = super::closing::closed_by(&effects, &ms);
        let mut commit = commit::build(
            effects,
            event.id,
            &Actor::Bot(name.clone()),
            &ms,
            self.clock.now(),
        );
        // A proceed-ticket that committed puts the ticket on the state's
        // proceeded list: sweeps leave it alone from now on.
        if !matches!(
            event.kind,
            EventKind::Action
                | EventKind::Comment
                | EventKind::Timeout
                | EventKind::Accepted
                | EventKind::Notification
        ) {
            commit.proceeded.push((event.ticket_id, event.state_code));
        }
        commit
            .notifications
            .extend(self.closed_notices(&closed).await?);
        self.commit(&commit, self.clock.now()).await?;
        self.registry.succeeded(&name);
        tracing::debug!(parent: &span, elapsed_us = started.elapsed().as_micros() as u64, "invocation committed");
        Ok(Outcome::Committed)
    }

    /// A timer's event, at its first attempt: how late it runs.
    fn count_lateness(&self, event: &QueuedEvent) {
        let timed = matches!(
            event.kind,
            EventKind::WaitEnded | EventKind::Timeout | EventKind::Reminder
        );
        if !timed || event.attempts > 0 {
            return;
        }
        if let Some(due) = event.payload.get("due_at").and_then(|d| d.as_i64()) {
            self.metrics.timer_fired(self.clock.now() - due);
        }
    }

    /// Backs off, or parks the event and files an error ticket once it has
    /// failed `max_attempts` times (at once when `retry` is false).
    async fn fail(&self, event: &QueuedEvent, error: &str, retry: bool) -> Result<(), StoreError> {
        let attempts = event.attempts + 1;
        let now = self.clock.now();
        if retry && attempts < self.config.max_attempts {
            let delay = self.config.backoff_ms(attempts) as i64;
            tracing::warn!(
                event = event.id,
                ticket = event.ticket_id,
                attempts,
                retry_in_ms = delay,
                "{error}"
            );
            return self
                .store
                .release_event(event.id, now + delay, Some(error))
                .await;
        }
        let ticket = self.store.ticket(event.ticket_id).await?;
        let metaservice = ticket
            .as_ref()
            .map(|t| t.metaservice.clone())
            .unwrap_or_default();
        let bot = self.bot_for(ticket.as_ref());
        let report = ErrorReport {
            metaservice,
            failed_ticket: Some(event.ticket_id),
            bot: bot.as_ref().map(|(n, _)| n.to_string()),
            bot_version: bot.and_then(|(_, v)| v),
            message: if retry {
                format!("{error} (gave up after {attempts} attempts; the event is parked)")
            } else {
                format!("{error} (not retried; the event is parked)")
            },
            cause: None,
        };
        let (commit, error_ticket) = self.error_commit(&report).await?;
        self.store.park_event(event.id, error, &commit, now).await?;
        tracing::error!(
            event = event.id,
            ticket = event.ticket_id,
            error_ticket,
            attempts,
            "event parked: {error}"
        );
        Ok(())
    }

    fn bot_for(&self, ticket: Option<&crate::model::Ticket>) -> Option<(BotName, Option<String>)> {
        let t = ticket?;
        let catalog = self.catalog();
        let state = catalog
            .ticket_type(&t.metaservice, &t.ticket_type)?
            .state(t.state_code)?;
        let name = BotName::new(&t.metaservice, &t.ticket_type, state.code, &state.name);
        let version = self.registry.get(&name).map(|b| b.sha256.clone());
        Some((name, version))
    }
}

fn describe_failure(name: &BotName, sha256: &str, e: &InvokeError) -> String {
    let short = sha256.get(..12).unwrap_or(sha256);
    format!("bot {name} (version {short}): {e}")
}
