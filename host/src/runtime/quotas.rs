//! Quotas: what one metaservice's bots may queue up for later, across
//! invocations (per-invocation limits cannot see a chain of children, a
//! fan-out spread over many invocations, or a ticket that notifies itself
//! into an endless queue). Checked in the host before the call takes
//! effect; a refusal is `limit-exceeded`, which the bot may handle, and
//! each quota crossed is reported to the engine, which files one error
//! ticket per cause while it stays open.
//!
//! The counts are read from the database once per invocation and kept up
//! to date with the invocation's own calls. Invocations running at once
//! each see the others' committed work only, so a quota can be overshot by
//! at most what those invocations add (each bounded by its own limits).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::CallError;
use super::host::{fatal, over_limit};
use super::session::Session;
use crate::model::TicketId;
use crate::store::QuotaUsage;

/// The quotas crossed by one invocation: cause → what was refused.
#[derive(Debug, Clone, Default)]
pub struct QuotaHits(Arc<Mutex<BTreeMap<&'static str, String>>>);

impl QuotaHits {
    fn record(&self, cause: &'static str, message: &str) {
        let mut hits = self.0.lock().unwrap_or_else(|e| e.into_inner());
        hits.entry(cause).or_insert_with(|| message.to_string());
    }

    /// Every quota crossed so far, once each.
    pub fn take(&self) -> Vec<(&'static str, String)> {
        let mut hits = self.0.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *hits).into_iter().collect()
    }
}

/// What an invocation counted so far.
#[derive(Debug, Default)]
pub(super) struct QuotaCounts {
    /// The metaservice's usage when first asked, plus this invocation's.
    usage: Option<QuotaUsage>,
    /// Per ticket: (events queued, timers set) by this invocation.
    queued: BTreeMap<TicketId, (u64, u64)>,
    depth: Option<u32>,
}

impl Session {
    fn refuse(&self, cause: &'static str, message: String) -> CallError {
        self.quota_hits.record(cause, &message);
        over_limit(message)
    }

    /// Before a child of the invoked ticket is created: how deep it would
    /// sit, how many tickets the metaservice's bots made this minute, and
    /// how many of its tickets are open.
    pub(super) async fn quota_for_child(&mut self) -> Result<(), CallError> {
        let depth = self.depth_of_invoked().await? + 1;
        let max = self.limits.max_child_depth;
        if depth > max {
            return Err(self.refuse(
                "max_child_depth",
                format!("a child here would be {depth} generations deep; the most is {max}"),
            ));
        }
        let usage = match self.quotas.usage {
            Some(u) => u,
            None => self
                .store
                .quota_usage(&self.metaservice.name, self.now - 60_000)
                .await
                .map_err(|e| fatal(format!("counting tickets for the quotas: {e}")))?,
        };
        let per_minute = u64::from(self.limits.tickets_per_minute);
        if usage.created_since >= per_minute {
            return Err(self.refuse(
                "tickets_per_minute",
                format!(
                    "metaservice {} created {per_minute} tickets in the last minute, the most allowed",
                    self.metaservice.name
                ),
            ));
        }
        let open = u64::from(self.limits.max_open_tickets);
        if usage.open_tickets >= open {
            return Err(self.refuse(
                "max_open_tickets",
                format!(
                    "metaservice {} has {open} open tickets, the most allowed",
                    self.metaservice.name
                ),
            ));
        }
        self.quotas.usage = Some(QuotaUsage {
            open_tickets: usage.open_tickets + 1,
            created_since: usage.created_since + 1,
        });
        Ok(())
    }

    /// Before an event is queued for `ticket` by this invocation.
    pub(super) async fn quota_for_event(&mut self, ticket: TicketId) -> Result<(), CallError> {
        let (events, _) = self.pending(ticket).await?;
        let max = u64::from(self.limits.max_pending_events);
        if events >= max {
            return Err(self.refuse(
                "max_pending_events",
                format!("ticket {ticket} has {max} pending events, the most allowed"),
            ));
        }
        self.quotas.queued.entry(ticket).or_default().0 += 1;
        Ok(())
    }

    /// Before a wait (a timer) is set for `ticket` by this invocation.
    pub(super) async fn quota_for_timer(&mut self, ticket: TicketId) -> Result<(), CallError> {
        let (_, timers) = self.pending(ticket).await?;
        let max = u64::from(self.limits.max_timers);
        if timers >= max {
            return Err(self.refuse(
                "max_timers",
                format!("ticket {ticket} has {max} pending timers, the most allowed"),
            ));
        }
        self.quotas.queued.entry(ticket).or_default().1 += 1;
        Ok(())
    }

    /// A ticket's pending (events, timers): stored, plus this invocation's.
    async fn pending(&mut self, ticket: TicketId) -> Result<(u64, u64), CallError> {
        let stored = if self.created.contains(&ticket) {
            Default::default()
        } else {
            self.store
                .pending_of(ticket)
                .await
                .map_err(|e| fatal(format!("counting the pending work of ticket {ticket}: {e}")))?
        };
        let (events, timers) = self.quotas.queued.get(&ticket).copied().unwrap_or_default();
        Ok((stored.events + events, stored.timers + timers))
    }

    /// How many ancestors the invoked ticket has (bounded by the quota).
    async fn depth_of_invoked(&mut self) -> Result<u32, CallError> {
        if let Some(depth) = self.quotas.depth {
            return Ok(depth);
        }
        let mut depth = 0;
        let mut parent = self.seen.get(&self.invoked).and_then(|t| t.parent_id);
        while let Some(id) = parent {
            depth += 1;
            if depth > self.limits.max_child_depth {
                break;
            }
            parent = self
                .store
                .ticket(id)
                .await
                .map_err(|e| fatal(format!("reading ticket {id}: {e}")))?
                .and_then(|t| t.parent_id);
        }
        self.quotas.depth = Some(depth);
        Ok(depth)
    }
}
