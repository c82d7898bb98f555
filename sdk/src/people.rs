//! People and settings as bots see them: [`Principal`], [`Connection`],
//! [`Role`] for stakeholders, and the [`Settings`] in force.

use std::time::Duration;

/// A user (by id) or a group (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User(u64),
    Group(String),
}

/// How a stakeholder is connected to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Responsible for moving it on.
    Assigned,
    /// Kept in the loop, visibly.
    Cc,
    /// Kept in the loop, hidden from the other stakeholders.
    Bcc,
}

/// What a stakeholder does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Requester,
    Actioner,
}

/// The ticket type's settings in force in the bot's state, as the
/// manifest and the admin panel set them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Time a ticket may spend in the state before `ticket_timeout`.
    pub lifetime: Option<Duration>,
    /// Interval of reminders and acceptance requests.
    pub notify_every: Option<Duration>,
    /// How many reminders at most.
    pub notify_repeats: u32,
    /// How long a closed ticket is kept.
    pub retention: Option<Duration>,
}
