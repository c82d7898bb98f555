//! The JSON shapes the API returns (design.md §6).

use chrono::{DateTime, SecondsFormat};
use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::BotSlot;
use crate::model::{Actor, Catalog, Status, Ticket, Timestamp};
use crate::store::{LogEntry, Stakeholder};

/// RFC 3339 in UTC with milliseconds.
pub fn time(ms: Timestamp) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn opt_time(ms: Option<Timestamp>) -> Option<String> {
    ms.map(time)
}

pub fn actor(a: &Actor) -> Value {
    match a {
        Actor::User(id) => json!({"kind": "user", "id": id}),
        Actor::Bot(name) => json!({"kind": "bot", "name": name.to_string()}),
        Actor::Host => json!({"kind": "host"}),
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
    /// `open` or `closed`.
    #[schema(value_type = String, example = "open")]
    pub status: Status,
    pub metadata: Value,
    pub parent_id: Option<i64>,
    pub created_by: Value,
    pub created_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
    pub deadline_at: Option<String>,
    pub version: i64,
    pub stakeholders: Vec<StakeholderView>,
}

pub fn ticket(catalog: &Catalog, t: Ticket, stakeholders: Vec<Stakeholder>) -> TicketView {
    TicketView {
        state: state(catalog, &t.metaservice, &t.ticket_type, t.state_code),
        id: t.id,
        title: t.title,
        status: t.status,
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
    pub principal: Value,
    pub connection: String,
    pub role: String,
    pub is_active: bool,
    pub created_at: String,
}

fn stakeholder(s: Stakeholder) -> StakeholderView {
    let principal = match (s.principal_kind.as_str(), s.user_id, s.group) {
        ("user", Some(id), _) => json!({"kind": "user", "id": id}),
        (_, _, Some(name)) => json!({"kind": "group", "name": name}),
        (kind, _, _) => json!({"kind": kind}),
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
    pub actor: Value,
    pub action: String,
    pub from_state: Option<StateView>,
    pub to_state: Option<StateView>,
    pub message: String,
    pub data: Option<Value>,
    /// For a person's change: the stakeholder they acted as.
    pub acting_stakeholder_id: Option<i64>,
    pub created_at: String,
}

pub fn log(catalog: &Catalog, t: &Ticket, l: LogEntry) -> LogView {
    let st = |code: Option<u32>| code.map(|c| state(catalog, &t.metaservice, &t.ticket_type, c));
    LogView {
        id: l.id,
        actor: actor(&l.actor),
        action: l.action,
        from_state: st(l.from_state),
        to_state: st(l.to_state),
        message: l.message,
        data: l.data,
        acting_stakeholder_id: l.acting_stakeholder_id,
        created_at: time(l.created_at),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BotView {
    pub name: String,
    pub metaservice: String,
    pub ticket_type: String,
    pub state: StateView,
    pub status: &'static str,
    /// SHA-256 of the file serving now.
    pub version: Option<String>,
    pub sdk_version: Option<String>,
    pub loaded_at: Option<String>,
    pub restarts: u32,
    pub last_error: Option<String>,
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
        status: slot.status.as_str(),
        version: slot.loaded.as_ref().map(|b| b.sha256.clone()),
        sdk_version: slot.loaded.as_ref().map(|b| b.sdk_version.clone()),
        loaded_at: opt_time(slot.loaded_at),
        restarts: slot.restarts,
        last_error: slot.last_error,
    }
}

/// A list response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}
