//! Tickets, states, reasons and events as a bot sees them.

use serde::de::DeserializeOwned;

use crate::Result;

/// A ticket's number.
pub type TicketId = u64;

/// A business state of a ticket type, e.g. `1 open`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub code: u32,
    pub name: String,
}

impl State {
    pub fn new(code: u32, name: impl Into<String>) -> Self {
        State {
            code,
            name: name.into(),
        }
    }
}

/// Open until the ticket reaches a terminal state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Closed,
}

/// A ticket, including the pending changes of the current invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: TicketId,
    pub metaservice: String,
    pub ticket_type: String,
    pub title: String,
    pub state: State,
    pub status: Status,
    /// The metadata as a JSON document; see [`Ticket::metadata`].
    pub metadata_json: String,
    pub parent_id: Option<TicketId>,
    /// The user who created it, if a person did (not a bot or Baton).
    pub created_by: Option<u64>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

impl Ticket {
    /// The metadata, deserialized into the bot's own type.
    pub fn metadata<T: DeserializeOwned>(&self) -> Result<T> {
        Ok(serde_json::from_str(&self.metadata_json)?)
    }
}

/// Why `proceed_ticket` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The ticket has just entered the state, or was created in it.
    Entered,
    /// A sweep found the ticket in the state but not yet processed.
    Sweep,
    /// A [`crate::Ctx::wait`] or [`crate::Ctx::wait_until_time`] ended.
    WaitEnded,
    /// The ticket a [`crate::Ctx::wait_until_ticket`] waited for closed.
    TicketClosed(TicketId),
    /// The ticket a [`crate::Ctx::wait_until_ticket`] waited for is gone
    /// (deleted by its retention, or never there).
    TicketGone(TicketId),
    /// The host just sent reminder number `n` (from 1) to the assigned
    /// people, as the state's `notify_every` asks; a bot may escalate. A bot
    /// that only acts on [`Reason::Entered`] should ignore it.
    Reminder(u32),
}

/// A human action, e.g. a reviewer's "approve" button.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub name: String,
    /// The payload as a JSON document; see [`Action::payload`].
    pub payload_json: String,
    /// The user who pressed it.
    pub user_id: u64,
}

impl Action {
    /// The payload, deserialized into the bot's own type.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T> {
        Ok(serde_json::from_str(&self.payload_json)?)
    }
}

/// A comment a person wrote on the ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub user_id: u64,
}

/// Something that happened to a ticket in the bot's state.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Action(Action),
    Comment(Comment),
    /// A member of the assigned group took the ticket (their user id).
    Accepted(u64),
    /// Another bot's message about the ticket.
    Notification {
        from: String,
        text: String,
    },
}

impl Event {
    /// A short description for log lines, e.g. `action "approve"`.
    pub fn describe(&self) -> String {
        match self {
            Event::Action(a) => format!("action {:?}", a.name),
            Event::Comment(c) => format!("comment {}", c.id),
            Event::Accepted(user) => format!("acceptance by user {user}"),
            Event::Notification { from, .. } => format!("notification from {from}"),
        }
    }
}

/// What `describe()` reports; built from the [`crate::Bot`] constants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotInfo {
    pub metaservice: String,
    pub ticket_type: String,
    pub states: Vec<u32>,
    pub toolchain: String,
}
