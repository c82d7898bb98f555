//! What goes into and comes out of the store.

use serde_json::Value;

use super::people::{NewComment, NewNotification, Notification, StakeholderUpdate};
use crate::model::{Actor, Status, Ticket, TicketId, Timestamp};

pub type EventId = i64;

/// Everything one invocation or one API request writes, applied by
/// [`super::Store::commit`] in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Commit {
    /// The event this commit consumes; it is deleted with the commit.
    pub consumes: Option<EventId>,
    pub inserts: Vec<NewTicket>,
    pub updates: Vec<TicketUpdate>,
    pub logs: Vec<NewLog>,
    pub events: Vec<NewEvent>,
    pub stakeholders: Vec<(TicketId, NewStakeholder)>,
    pub stakeholder_updates: Vec<StakeholderUpdate>,
    pub comments: Vec<NewComment>,
    pub notifications: Vec<NewNotification>,
    pub timers: Vec<NewTimer>,
    /// (ticket, state) pairs to add to the proceeded list.
    pub proceeded: Vec<(TicketId, u32)>,
    /// Where `notifications` go besides the inbox (the outbox's rows are
    /// written in this commit).
    pub outbox: super::Outbox,
}

/// What a timer waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// A bot's `wait`/`wait-until-time`: fires `wait_ended` at `due_at`.
    Wait,
    /// A bot's `wait-until-ticket`: fires `ticket_closed` when the other
    /// ticket closes.
    WaitTicket,
    /// The state's lifetime: fires `timeout` at `due_at`.
    Lifetime,
    /// A reminder to the assigned (or, before acceptance, to the assigned
    /// group's members): fires `reminder` at `due_at`.
    Reminder,
}

impl TimerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::Wait => "wait",
            TimerKind::WaitTicket => "wait_ticket",
            TimerKind::Lifetime => "lifetime",
            TimerKind::Reminder => "reminder",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewTimer {
    pub ticket_id: TicketId,
    pub state_code: u32,
    pub kind: TimerKind,
    pub due_at: Option<Timestamp>,
    pub base_at: Timestamp,
    pub other_ticket: Option<TicketId>,
    /// Reminders still to be sent after this one.
    pub repeats_left: u32,
}

/// A pending timer, for operators and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub id: i64,
    pub ticket_id: TicketId,
    pub state_code: u32,
    pub kind: String,
    pub due_at: Option<Timestamp>,
    pub other_ticket: Option<TicketId>,
}

/// What a commit created that callers need back.
#[derive(Debug, Clone, Default)]
pub struct Committed {
    pub comment_ids: Vec<i64>,
    pub stakeholder_ids: Vec<i64>,
    pub notifications: Vec<Notification>,
}

/// A ticket to create, with a number from `next_ticket_id`.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub id: TicketId,
    pub metaservice: String,
    pub ticket_type: String,
    pub title: String,
    pub state_code: u32,
    pub status: Status,
    pub metadata: crate::model::Metadata,
    pub parent_id: Option<TicketId>,
    pub created_by: Actor,
    pub stakeholders: Vec<NewStakeholder>,
}

impl NewTicket {
    /// The row for a ticket built in memory (its number already taken).
    pub fn of(ticket: &crate::model::Ticket, stakeholders: Vec<NewStakeholder>) -> Self {
        NewTicket {
            id: ticket.id,
            metaservice: ticket.metaservice.clone(),
            ticket_type: ticket.ticket_type.clone(),
            title: ticket.title.clone(),
            state_code: ticket.state_code,
            status: ticket.status,
            metadata: ticket.metadata.clone(),
            parent_id: ticket.parent_id,
            created_by: ticket.created_by.clone(),
            stakeholders,
        }
    }
}

/// A change to an existing ticket, applied only if its version is still
/// `expected_version`; the version is then bumped by one.
#[derive(Debug, Clone)]
pub struct TicketUpdate {
    pub id: TicketId,
    pub expected_version: i64,
    pub title: Option<String>,
    pub state: Option<(u32, Status)>,
    pub metadata: Option<crate::model::Metadata>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User(i64),
    /// A group by name; it is created if missing.
    Group(String),
}

#[derive(Debug, Clone)]
pub struct NewStakeholder {
    pub principal: Principal,
    pub connection: &'static str,
    pub role: &'static str,
}

/// A stakeholder as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Stakeholder {
    pub id: i64,
    pub principal_kind: String,
    pub user_id: Option<i64>,
    pub group: Option<String>,
    pub connection: String,
    pub role: String,
    pub is_active: bool,
    pub created_at: Timestamp,
}

/// A line for a ticket's log.
#[derive(Debug, Clone)]
pub struct NewLog {
    pub ticket_id: TicketId,
    pub actor: Actor,
    /// What happened: `created`, `state_changed`, `metadata_changed`,
    /// `log` (a bot's own line), `error_filed`...
    pub action: &'static str,
    pub from_state: Option<u32>,
    pub to_state: Option<u32>,
    pub message: String,
    pub data: Option<Value>,
    /// For a person's change: the stakeholder they acted as.
    pub acting_stakeholder: Option<i64>,
}

/// A log line as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub id: i64,
    pub ticket_id: TicketId,
    pub actor: Actor,
    pub action: String,
    pub from_state: Option<u32>,
    pub to_state: Option<u32>,
    pub message: String,
    pub data: Option<Value>,
    pub acting_stakeholder_id: Option<i64>,
    pub created_at: Timestamp,
}

/// Why an event was queued; the payload carries the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The ticket entered `state_code`: `proceed-ticket(entered)`.
    Entered,
    /// A human action: `on-event(action)`.
    Action,
    /// A person's comment: `on-event(comment)`.
    Comment,
    /// A wait ended: `proceed-ticket(wait-ended)`.
    WaitEnded,
    /// A waited-for ticket closed: `proceed-ticket(ticket-closed)`;
    /// the payload's `other` names it.
    TicketClosed,
    /// The state's lifetime ran out: `ticket-timeout`.
    Timeout,
    /// A waited-for ticket no longer exists: `proceed-ticket(ticket-gone)`.
    TicketGone,
    /// A sweep found the ticket unprocessed: `proceed-ticket(sweep)`.
    Sweep,
    /// A reminder is due; the host sends it (no bot runs).
    Reminder,
    /// The host sent reminder `number`: `proceed-ticket(reminder)`.
    Reminded,
    /// Another bot's message: `on-event(notification)`.
    Notification,
    /// A member of the assigned group accepted: `on-event(accepted)`.
    Accepted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Entered => "entered",
            EventKind::Action => "action",
            EventKind::Comment => "comment",
            EventKind::WaitEnded => "wait_ended",
            EventKind::TicketClosed => "ticket_closed",
            EventKind::Timeout => "timeout",
            EventKind::TicketGone => "ticket_gone",
            EventKind::Sweep => "sweep",
            EventKind::Reminder => "reminder",
            EventKind::Reminded => "reminded",
            EventKind::Notification => "notification",
            EventKind::Accepted => "accepted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "entered" => Some(EventKind::Entered),
            "action" => Some(EventKind::Action),
            "comment" => Some(EventKind::Comment),
            "wait_ended" => Some(EventKind::WaitEnded),
            "ticket_closed" => Some(EventKind::TicketClosed),
            "timeout" => Some(EventKind::Timeout),
            "ticket_gone" => Some(EventKind::TicketGone),
            "sweep" => Some(EventKind::Sweep),
            "reminder" => Some(EventKind::Reminder),
            "reminded" => Some(EventKind::Reminded),
            "notification" => Some(EventKind::Notification),
            "accepted" => Some(EventKind::Accepted),
            _ => None,
        }
    }
}

/// An event to enqueue for the bot of `state_code`.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub ticket_id: TicketId,
    pub state_code: u32,
    pub kind: EventKind,
    pub payload: Value,
    pub available_at: Timestamp,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedEvent {
    pub id: EventId,
    pub ticket_id: TicketId,
    pub state_code: u32,
    pub kind: EventKind,
    pub payload: Value,
    pub parked: bool,
    pub attempts: u32,
    pub available_at: Timestamp,
    pub last_error: Option<String>,
    /// Its ticket as read when the event was claimed (claims only; `None`
    /// elsewhere, or when the ticket is gone): the engine's first attempt
    /// starts from it instead of reading the ticket again. A newer version
    /// of the ticket makes that attempt's commit lose its version race,
    /// and the next attempt reads the ticket afresh.
    pub ticket: Option<Ticket>,
}

/// A bot's status row.
#[derive(Debug, Clone)]
pub struct BotRecord {
    pub name: String,
    pub sha256: Option<String>,
    pub status: String,
    pub restarts: u32,
    pub loaded_at: Option<Timestamp>,
    pub last_error: Option<String>,
    /// The last file refused under this name, by hash.
    pub refused_sha256: Option<String>,
    pub updated_at: Timestamp,
}

/// What a metaservice's quotas count (see `[limits]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaUsage {
    /// Open tickets its bots created.
    pub open_tickets: u64,
    /// Tickets its bots created since the time asked about.
    pub created_since: u64,
}

/// A ticket's pending work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    pub events: u64,
    pub timers: u64,
}
