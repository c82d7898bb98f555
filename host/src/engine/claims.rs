//! Which due events this process claims, and in what order: fair dispatch.
//! The loaded bots take turns, each claiming at most [`FAIR_SHARE`] events
//! a turn and never more than it can start now, so one bot's backlog or
//! concurrency bound never holds back another bot's events, and a bot at
//! its bound has none claimed only to give them back. A bot's claim reads
//! its own index range (`events_by_bot`), so it costs the events taken,
//! not the length of any queue. A pass first asks the store which bots
//! have due events at all (one read), and gives turns to those alone
//! (SQLite answers; PostgreSQL's store keeps every bot, the default).
//!
//! Events no loaded bot takes — reminders of a state whose bot is missing,
//! a state the manifest no longer declares, a bot not yet loaded — are
//! claimed oldest first by a slower pass, at most every [`REST_EVERY`],
//! as before: they get their `no bot` delay, their reminder, or their
//! error ticket.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::Engine;
use super::registry::Lease;
use crate::model::BotName;
use crate::store::{QueuedEvent, bot_key};

/// A claimed event, with its bot's slot when it was claimed for a loaded
/// bot (the invocation runs on it); events of the slow pass have none.
pub type Claimed = (QueuedEvent, Option<Lease>);

/// Events one bot claims per turn: small, so that with many bots each
/// gets a turn soon; a bot with free slots gets more turns in the pass.
pub const FAIR_SHARE: u32 = 4;

/// How often the pass for events of no loaded bot runs (real time, not
/// the engine's clock, which tests and drills may stop or move).
pub const REST_EVERY: Duration = Duration::from_secs(1);

/// Where the turns start next, and when the slow pass last ran.
#[derive(Debug, Default)]
pub struct ClaimState {
    next_turn: AtomicUsize,
    last_rest: Mutex<Option<Instant>>,
}

impl ClaimState {
    /// Whether the slow pass is due now; if so, it counts as run.
    fn rest_due(&self) -> bool {
        let mut last = self.last_rest.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|at| at.elapsed() >= REST_EVERY);
        if due {
            *last = Some(Instant::now());
        }
        due
    }
}

impl Engine {
    /// Claims up to `free` due events, bot by bot in turns, then (now and
    /// then) the events no loaded bot takes.
    pub(super) async fn claim_fairly(&self, free: u32) -> Vec<Claimed> {
        let mut bots: Vec<BotName> = self
            .registry
            .snapshot()
            .into_iter()
            .filter(|s| s.loaded.is_some())
            .map(|s| s.name)
            .collect();
        if !bots.is_empty() {
            let start = self.claims.next_turn.fetch_add(1, Ordering::Relaxed) % bots.len();
            bots.rotate_left(start);
        }
        let mut claimed = self.claim_in_turns(&self.with_due(&bots).await, free).await;
        let left = free.saturating_sub(claimed.len() as u32);
        if left > 0 && self.claims.rest_due() {
            let rest = self.claim_rest(&bots, left).await;
            claimed.extend(rest.into_iter().map(|e| (e, None)));
        }
        claimed
    }

    /// Of the loaded bots (in turn order), those the store says have due
    /// events: most bots are idle most of the time, and one read for all
    /// of them costs less than a claim for each. On an error, all of them.
    async fn with_due(&self, bots: &[BotName]) -> Vec<BotName> {
        if bots.len() < 2 {
            return bots.to_vec();
        }
        match self
            .store
            .bots_with_due_events(bots.to_vec(), self.clock.now())
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!("finding the bots with due events failed: {e}");
                bots.to_vec()
            }
        }
    }

    /// Turns over the loaded bots until `free` is used or none has more.
    /// In each turn, every bot with room reserves its slots first, then
    /// one claim asks for all of them (one round trip on a server's
    /// store), so the room one pass sees is never taken by events an
    /// earlier pass claimed, and no bot's events wait for another bot's
    /// claim to come back. A bot at its bound, or that found fewer events
    /// than it asked for, has no more turns in this pass.
    async fn claim_in_turns(&self, bots: &[BotName], free: u32) -> Vec<Claimed> {
        let per_bot = self.config.per_bot_concurrency;
        let mut active: Vec<BotName> = bots.to_vec();
        let mut claimed: Vec<Claimed> = Vec::new();
        while !active.is_empty() {
            let now = self.clock.now();
            let mut left = free.saturating_sub(claimed.len() as u32);
            let mut wants = Vec::new();
            let mut reserved = Vec::new();
            active.retain(|bot| {
                if left == 0 {
                    return true;
                }
                let slots = self
                    .registry
                    .reserve(bot, now, per_bot, FAIR_SHARE.min(left));
                if slots.is_empty() {
                    return false;
                }
                left -= slots.len() as u32;
                wants.push((bot.clone(), slots.len() as u32));
                reserved.push(slots);
                true
            });
            if wants.is_empty() {
                break;
            }
            let lease = self.config.lease_ms;
            let got = match self
                .store
                .claim_for_bots(&self.worker_id, &wants, now, lease)
                .await
            {
                Ok(got) => got,
                Err(e) => {
                    tracing::error!(bots = wants.len(), "claiming events failed: {e}");
                    break;
                }
            };
            for ((events, mut slots), (bot, want)) in got.into_iter().zip(reserved).zip(&wants) {
                if (events.len() as u32) < *want {
                    active.retain(|b| b != bot);
                }
                // Slots beyond the events found go back as `slots` drops.
                for event in events {
                    claimed.push((event, slots.pop()));
                }
            }
        }
        claimed
    }

    /// Oldest first, the due events of no loaded bot.
    async fn claim_rest(&self, loaded: &[BotName], limit: u32) -> Vec<QueuedEvent> {
        let keys: Vec<String> = loaded.iter().map(bot_key).collect();
        let now = self.clock.now();
        match self
            .store
            .claim_other_events(&self.worker_id, &keys, now, self.config.lease_ms, limit)
            .await
        {
            Ok(events) => events,
            Err(e) => {
                tracing::error!("claiming events failed: {e}");
                Vec::new()
            }
        }
    }
}
