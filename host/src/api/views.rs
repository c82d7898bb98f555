//! The JSON shapes the API returns (design.md §6), typed so that the
//! OpenAPI document describes exactly what is sent, and [`json_sized`] for
//! large bodies.

use std::borrow::Cow;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use super::error::{AppError, ProblemKind};
use crate::engine::{BotSlot, BotStatus, CONNECTIONS, ROLES};
use crate::model::{Actor, Catalog, Metadata, Status, Ticket, Timestamp};
use crate::store::{LogEntry, NodeBot, Stakeholder};

/// `value` as an `application/json` response whose buffer is allocated
/// once, `capacity` bytes. axum's `Json` starts at 128 bytes and doubles,
/// so a listing page of 28 KB was copied eight times on its way out.
pub fn json_sized<T: Serialize>(value: &T, capacity: usize) -> Result<Response, AppError> {
    let mut body = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut body, value)
        .map_err(|e| AppError::new(ProblemKind::Internal, format!("encoding a response: {e}")))?;
    let json = HeaderValue::from_static("application/json");
    Ok(([(header::CONTENT_TYPE, json)], body).into_response())
}

/// RFC 3339 in UTC with milliseconds.
pub fn time(ms: Timestamp) -> String {
    crate::model::rfc3339(ms)
}

fn opt_time(ms: Option<Timestamp>) -> Option<String> {
    ms.map(time)
}

/// Who did something: a person, a bot (by its file name), or the host
/// itself (timers, retention, error tickets).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[schema(as = Actor)]
pub enum ActorView {
    User { id: i64 },
    Bot { name: String },
    Host,
}

pub fn actor(a: &Actor) -> ActorView {
    match a {
        Actor::User(id) => ActorView::User { id: *id },
        Actor::Bot(name) => ActorView::Bot {
            name: name.to_string(),
        },
        Actor::Host => ActorView::Host,
    }
}

/// Who a stakeholder is: a user, or a group (each of its members).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[schema(as = Principal)]
pub enum PrincipalView {
    User { id: i64 },
    Group { name: String },
}

/// Whether a ticket is still travelling: `closed` exactly when its state
/// is terminal.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    Open,
    Closed,
}

impl From<Status> for TicketStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Open => TicketStatus::Open,
            Status::Closed => TicketStatus::Closed,
        }
    }
}

/// A string schema whose values are `values`, for the vocabularies the
/// engine keeps as lists of names.
fn names(description: &str, values: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values.iter().copied()))
        .into()
}

/// How a stakeholder is connected to a ticket (the engine's `CONNECTIONS`).
pub struct Connection;

impl utoipa::PartialSchema for Connection {
    fn schema() -> RefOr<Schema> {
        names(
            "`assigned`: works on the ticket; `cc`, `bcc`: kept informed.",
            &CONNECTIONS,
        )
    }
}

impl utoipa::ToSchema for Connection {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Connection")
    }
}

/// A stakeholder's role on a ticket (the engine's `ROLES`).
pub struct Role;

impl utoipa::PartialSchema for Role {
    fn schema() -> RefOr<Schema> {
        names("`requester`: asked for it; `actioner`: acts on it.", &ROLES)
    }
}

impl utoipa::ToSchema for Role {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Role")
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StateView {
    pub code: u32,
    pub name: String,
}

fn state(catalog: &Catalog, ms: &str, tt: &str, code: u32) -> StateView {
    let name = catalog
        .ticket_type(ms, tt)
        .and_then(|t| t.state(code))
        .map(|s| s.name.clone())
        .unwrap_or_default();
    StateView { code, name }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TicketView {
    pub id: i64,
    pub metaservice: String,
    pub ticket_type: String,
    pub title: String,
    pub state: StateView,
    pub status: TicketStatus,
    /// Valid against the ticket type's `metadata_schema`.
    #[schema(value_type = Value)]
    pub metadata: Metadata,
    pub parent_id: Option<i64>,
    pub created_by: ActorView,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    /// When the state's `lifetime` runs out, if it has one.
    #[schema(format = DateTime)]
    pub deadline_at: Option<String>,
    /// Grows with every change; the `ETag` of the ticket.
    pub version: i64,
    pub stakeholders: Vec<StakeholderView>,
}

pub fn ticket(catalog: &Catalog, t: Ticket, stakeholders: Vec<Stakeholder>) -> TicketView {
    TicketView {
        state: state(catalog, &t.metaservice, &t.ticket_type, t.state_code),
        id: t.id,
        title: t.title,
        status: t.status.into(),
        metadata: t.metadata,
        parent_id: t.parent_id,
        created_by: actor(&t.created_by),
        created_at: time(t.created_at),
        updated_at: time(t.updated_at),
        closed_at: opt_time(t.closed_at),
        deadline_at: opt_time(t.deadline_at),
        version: t.version,
        stakeholders: stakeholders.into_iter().map(stakeholder).collect(),
        metaservice: t.metaservice,
        ticket_type: t.ticket_type,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StakeholderView {
    pub id: i64,
    pub principal: PrincipalView,
    #[schema(value_type = Connection)]
    pub connection: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub is_active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

fn stakeholder(s: Stakeholder) -> StakeholderView {
    // The store keeps exactly one of a user id and a group name.
    let principal = match (s.user_id, s.group) {
        (_, Some(name)) if s.principal_kind == "group" => PrincipalView::Group { name },
        (Some(id), _) => PrincipalView::User { id },
        (None, name) => PrincipalView::Group {
            name: name.unwrap_or_default(),
        },
    };
    StakeholderView {
        id: s.id,
        principal,
        connection: s.connection,
        role: s.role,
        is_active: s.is_active,
        created_at: time(s.created_at),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LogView {
    pub id: i64,
    pub actor: ActorView,
    /// The stakeholder the user acted for, when they named one.
    pub acting_stakeholder_id: Option<i64>,
    pub action: String,
    pub from_state: Option<StateView>,
    pub to_state: Option<StateView>,
    pub message: String,
    /// Structured details, such as a metadata change's old and new values.
    pub data: Option<Value>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

pub fn log(catalog: &Catalog, t: &Ticket, l: LogEntry) -> LogView {
    let st = |code: Option<u32>| code.map(|c| state(catalog, &t.metaservice, &t.ticket_type, c));
    LogView {
        id: l.id,
        actor: actor(&l.actor),
        acting_stakeholder_id: l.acting_stakeholder_id,
        action: l.action,
        from_state: st(l.from_state),
        to_state: st(l.to_state),
        message: l.message,
        data: l.data,
        created_at: time(l.created_at),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BotView {
    pub name: String,
    pub metaservice: String,
    pub ticket_type: String,
    pub state: StateView,
    pub status: BotStatusView,
    /// SHA-256 of the file serving now.
    pub version: Option<String>,
    /// What built the bot, as it says (`baton-sdk 0.1.0 (rust)`).
    pub toolchain: Option<String>,
    #[schema(format = DateTime)]
    pub loaded_at: Option<String>,
    pub restarts: u32,
    pub last_error: Option<String>,
    /// With several nodes on one database: what each node runs under
    /// this name (a rolling update shows two versions). Absent on SQLite,
    /// where there is one node.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeBotView>,
}

/// One node's copy of a bot.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = NodeBot)]
pub struct NodeBotView {
    pub node: String,
    /// Whether the node beat in the last few seconds.
    pub alive: bool,
    pub status: BotStatusView,
    /// SHA-256 of the file the node serves it from.
    pub version: Option<String>,
    #[schema(format = DateTime)]
    pub loaded_at: Option<String>,
    pub restarts: u32,
    pub last_error: Option<String>,
}

pub fn node_bot(n: NodeBot) -> NodeBotView {
    let status = match n.bot.status.as_str() {
        "running" => BotStatusView::Running,
        "crashing" => BotStatusView::Crashing,
        "refused" => BotStatusView::Refused,
        _ => BotStatusView::Missing,
    };
    NodeBotView {
        node: n.node_id,
        alive: n.alive,
        status,
        version: n.bot.sha256,
        loaded_at: opt_time(n.bot.loaded_at),
        restarts: n.bot.restarts,
        last_error: n.bot.last_error,
    }
}

/// `running`; `crashing` (in backoff after failures); `missing` (the
/// manifest calls for it, no file serves it); `refused` (its file was
/// refused at load).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = BotStatus)]
pub enum BotStatusView {
    Running,
    Crashing,
    Missing,
    Refused,
}

impl From<BotStatus> for BotStatusView {
    fn from(s: BotStatus) -> Self {
        match s {
            BotStatus::Running => BotStatusView::Running,
            BotStatus::Crashing => BotStatusView::Crashing,
            BotStatus::Missing => BotStatusView::Missing,
            BotStatus::Refused => BotStatusView::Refused,
        }
    }
}

pub fn bot(slot: BotSlot) -> BotView {
    BotView {
        name: slot.name.to_string(),
        metaservice: slot.name.metaservice.clone(),
        ticket_type: slot.name.ticket_type.clone(),
        state: StateView {
            code: slot.name.state_code,
            name: slot.name.state_name.clone(),
        },
        status: slot.status.into(),
        version: slot.loaded.as_ref().map(|b| b.sha256.clone()),
        toolchain: slot.loaded.as_ref().map(|b| b.toolchain.clone()),
        loaded_at: opt_time(slot.loaded_at),
        restarts: slot.restarts,
        last_error: slot.last_error,
        nodes: Vec::new(),
    }
}

/// A list response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}
