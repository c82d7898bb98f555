//! One invocation's view of the world: the tickets it read, with its own
//! pending changes applied, and the list of changes it asked for. Nothing
//! here touches the database except reads of tickets it has not seen yet;
//! the engine commits [`Effects`] when the invocation returns `ok`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::Limits;
use crate::model::{Actor, BotName, Metaservice, Ticket, TicketId, Timestamp};
use crate::store::{Principal, Store};

/// A change an invocation asked for, in the order it asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A child ticket was created (its row is in [`Effects::tickets`]).
    Created { id: TicketId },
    /// A ticket moved from one state to another.
    Moved { id: TicketId, from: u32, to: u32 },
    /// A ticket's metadata was replaced.
    MetadataSet {
        id: TicketId,
        old: Value,
        new: Value,
    },
    /// The bot wrote a log line.
    Logged {
        id: TicketId,
        message: String,
        data: Option<Value>,
    },
    /// The ticket waits, in `state`, until a time or another ticket.
    Waits {
        id: TicketId,
        state: u32,
        until: Until,
    },
    /// A notification for a user.
    Notified {
        id: TicketId,
        user_id: i64,
        text: String,
    },
    /// A message for the bot of `state`.
    BotNotified {
        id: TicketId,
        state: u32,
        text: String,
    },
    /// The ticket goes on the proceeded list of `state`.
    Proceeded { id: TicketId, state: u32 },
    /// An error ticket, numbered `error_ticket`, filed about ticket `id`.
    ErrorReported {
        id: TicketId,
        error_ticket: TicketId,
        message: String,
    },
    /// A new stakeholder row.
    StakeholderAdded {
        id: TicketId,
        principal: Principal,
        connection: &'static str,
        role: &'static str,
    },
    /// A stored stakeholder row becomes inactive (it is kept as history).
    StakeholderDeactivated { id: TicketId, stakeholder_id: i64 },
    /// The members of `group` are asked to accept the ticket.
    AcceptanceRequested {
        id: TicketId,
        group: String,
        members: Vec<i64>,
    },
    /// The bot assigned the ticket to a member of its group.
    UserAssigned {
        id: TicketId,
        user_id: i64,
        group: String,
    },
}

/// One stakeholder as the invocation sees it: stored rows (with `stored`
/// id) and the rows it added.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRow {
    pub stored: Option<i64>,
    pub user_id: Option<i64>,
    pub group: Option<String>,
    pub connection: String,
    pub role: String,
    pub is_active: bool,
}

/// What a wait waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    Time(Timestamp),
    Ticket(TicketId),
    /// A ticket the bot may not see: the wait ends at once, `ticket-gone`.
    Gone(TicketId),
}

/// What a successful invocation asks the engine to commit.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    pub changes: Vec<Change>,
    /// The final view of every ticket the invocation changed or created.
    pub tickets: BTreeMap<TicketId, Ticket>,
    /// The version each changed, pre-existing ticket had when first read:
    /// the commit's guard.
    pub read_versions: BTreeMap<TicketId, i64>,
}

/// Per-invocation counters, checked against [`Limits`].
#[derive(Debug, Default)]
struct Usage {
    host_calls: u32,
    tickets_created: u32,
    log_bytes: usize,
    notifications: usize,
}

/// The most notifications (one per recipient) one invocation may send:
/// a group's members each count, so a loop of calls to a large group
/// cannot flood inboxes by the million.
pub const MAX_NOTIFICATIONS: usize = 1_000;

pub struct Session {
    pub bot: BotName,
    pub metaservice: Arc<Metaservice>,
    pub store: Arc<dyn Store>,
    pub now: Timestamp,
    pub limits: Limits,
    /// The ticket the bot was invoked for.
    pub invoked: TicketId,
    /// Every ticket read so far, with pending changes applied.
    pub(super) seen: BTreeMap<TicketId, Ticket>,
    read_versions: BTreeMap<TicketId, i64>,
    /// Tickets this invocation created.
    pub(super) created: BTreeSet<TicketId>,
    /// Stakeholders of the tickets whose people were asked about, with
    /// pending changes applied.
    pub(super) people: BTreeMap<TicketId, Vec<PersonRow>>,
    changes: Vec<Change>,
    usage: Usage,
    /// Set when a limit was crossed: the invocation fails even if the bot
    /// ignores the refusal.
    pub(super) fatal: Option<String>,
    /// Members of the groups asked about, read once per invocation.
    pub(super) group_members: BTreeMap<String, Vec<i64>>,
    /// The quotas this invocation crossed, for the engine whatever the
    /// invocation's outcome.
    pub quota_hits: super::quotas::QuotaHits,
    pub(super) quotas: super::quotas::QuotaCounts,
}

impl Session {
    pub fn new(
        bot: BotName,
        metaservice: Arc<Metaservice>,
        store: Arc<dyn Store>,
        now: Timestamp,
        limits: Limits,
        ticket: Ticket,
    ) -> Self {
        let invoked = ticket.id;
        Session {
            bot,
            metaservice,
            store,
            now,
            limits,
            invoked,
            read_versions: BTreeMap::from([(invoked, ticket.version)]),
            seen: BTreeMap::from([(invoked, ticket)]),
            created: BTreeSet::new(),
            people: BTreeMap::new(),
            changes: Vec::new(),
            usage: Usage::default(),
            fatal: None,
            group_members: BTreeMap::new(),
            quota_hits: Default::default(),
            quotas: Default::default(),
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::Bot(self.bot.clone())
    }

    /// Remembers a ticket read from the database.
    pub(super) fn remember(&mut self, ticket: Ticket) {
        self.read_versions
            .entry(ticket.id)
            .or_insert(ticket.version);
        self.seen.entry(ticket.id).or_insert(ticket);
    }

    pub(super) fn record(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// The changes asked for so far, in order.
    pub(super) fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Takes back pending changes that a later call superseded.
    pub(super) fn withdraw(&mut self, superseded: impl Fn(&Change) -> bool) {
        self.changes.retain(|c| !superseded(c));
    }

    /// Counts one host call; `Err` with the message once over the limit.
    pub(super) fn count_call(&mut self) -> Result<(), String> {
        self.usage.host_calls += 1;
        let max = self.limits.max_host_calls;
        self.check(self.usage.host_calls > max, || {
            format!("more than {max} host calls in one invocation")
        })
    }

    pub(super) fn count_created(&mut self) -> Result<(), String> {
        self.usage.tickets_created += 1;
        let max = self.limits.max_tickets_created;
        self.check(self.usage.tickets_created > max, || {
            format!("more than {max} tickets created in one invocation")
        })
    }

    pub(super) fn count_log_bytes(&mut self, bytes: usize) -> Result<(), String> {
        self.usage.log_bytes += bytes;
        let max = self.limits.max_log_bytes;
        self.check(self.usage.log_bytes > max, || {
            format!("more than {max} bytes of log lines in one invocation")
        })
    }

    /// Counts notifications to `recipients` people; `Err` once over
    /// [`MAX_NOTIFICATIONS`].
    pub(super) fn count_notifications(&mut self, recipients: usize) -> Result<(), String> {
        self.usage.notifications += recipients;
        self.check(self.usage.notifications > MAX_NOTIFICATIONS, || {
            format!("more than {MAX_NOTIFICATIONS} notifications in one invocation")
        })
    }

    fn check(&mut self, over: bool, message: impl FnOnce() -> String) -> Result<(), String> {
        if !over {
            return Ok(());
        }
        let message = message();
        self.fatal.get_or_insert_with(|| message.clone());
        Err(message)
    }

    /// The effects to commit: only tickets that changed are guarded.
    pub fn into_effects(self) -> Effects {
        let mut touched = BTreeSet::new();
        for change in &self.changes {
            match change {
                // A change of people is guarded by the ticket's version
                // too: a member accepting meanwhile makes the commit lose.
                Change::Created { id }
                | Change::Moved { id, .. }
                | Change::MetadataSet { id, .. }
                | Change::StakeholderAdded { id, .. }
                | Change::StakeholderDeactivated { id, .. }
                | Change::UserAssigned { id, .. }
                | Change::AcceptanceRequested { id, .. } => {
                    touched.insert(*id);
                }
                Change::Logged { .. }
                | Change::Waits { .. }
                | Change::Notified { .. }
                | Change::Proceeded { .. }
                | Change::BotNotified { .. }
                | Change::ErrorReported { .. } => {}
            }
        }
        let tickets = self
            .seen
            .into_iter()
            .filter(|(id, _)| touched.contains(id))
            .collect();
        let read_versions = self
            .read_versions
            .into_iter()
            .filter(|(id, _)| touched.contains(id) && !self.created.contains(id))
            .collect();
        Effects {
            changes: self.changes,
            tickets,
            read_versions,
        }
    }
}
