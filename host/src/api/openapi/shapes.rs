//! The shapes of the success bodies that handlers build as JSON rather
//! than from a typed view (actions, ticket types, settings, archives),
//! declared here for the document alone; the fuzz test checks real
//! responses against them.

#![allow(dead_code)] // Never constructed: they exist for their schemas.

use serde_json::Value;

/// An action was queued: the bot of the ticket's state runs it shortly.
#[derive(utoipa::ToSchema)]
pub struct ActionQueued {
    ticket_id: i64,
    action: String,
    #[schema(value_type = String, pattern = "^queued$")]
    status: String,
}

/// What retention does with a closed ticket past its `retention`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum OnRetention {
    Archive,
    Delete,
}

/// A ticket type's settings; durations are written like in manifests
/// (`"36h"`, `"14d"`), and `null` means none.
#[derive(utoipa::ToSchema)]
pub struct Settings {
    /// Time a ticket may spend in one state before `ticket-timeout`.
    #[schema(example = "14d")]
    lifetime: Option<String>,
    /// How often reminders and acceptance requests repeat.
    #[schema(example = "1d")]
    notify_every: Option<String>,
    notify_repeats: u32,
    /// How long a closed ticket is kept.
    #[schema(example = "365d")]
    retention: Option<String>,
    on_retention: OnRetention,
}

/// A button a state offers.
#[derive(utoipa::ToSchema)]
pub struct ActionDescription {
    name: String,
    /// Connections or roles that may press it (admins always may).
    allowed: Vec<String>,
    /// The JSON Schema its `payload` must satisfy.
    payload_schema: Value,
}

/// A state of a ticket type.
#[derive(utoipa::ToSchema)]
pub struct StateDescription {
    code: u32,
    name: String,
    description: String,
    terminal: bool,
    /// The settings in force in the state (the type's, with the state's
    /// overrides); `null` for terminal states.
    settings: Option<Settings>,
    actions: Vec<ActionDescription>,
}

/// A ticket type: its states, transitions, schema and settings.
#[derive(utoipa::ToSchema)]
pub struct TicketTypeDescription {
    name: String,
    description: String,
    initial_state: u32,
    states: Vec<StateDescription>,
    /// Each row: a state code, then the codes it may move to (the first
    /// is the normal next state).
    transitions: Vec<Vec<u32>>,
    /// The JSON Schema a ticket's `metadata` must satisfy.
    metadata_schema: Value,
    settings: Settings,
}

/// A metaservice's ticket types.
#[derive(utoipa::ToSchema)]
pub struct TicketTypeList {
    items: Vec<TicketTypeDescription>,
}

/// A ticket as retention archived it: its rows as they were stored (times
/// in milliseconds since the Unix epoch).
#[derive(utoipa::ToSchema)]
pub struct ArchivedTicket {
    #[schema(value_type = Object)]
    ticket: Value,
    #[schema(value_type = Vec<Object>)]
    stakeholders: Value,
    #[schema(value_type = Vec<Object>)]
    comments: Value,
    #[schema(value_type = Vec<Object>)]
    logs: Value,
}
