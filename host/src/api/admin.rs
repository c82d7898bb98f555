//! Metaservices and their ticket types, and the settings panel (admin).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::error::{AppError, ProblemKind};
use super::extract::{Body, PathParam};
use super::views::Items;
use crate::engine::SettingsPatch;
use crate::model::TicketType;
use crate::runtime::Limits;

#[derive(Serialize, utoipa::ToSchema)]
pub struct MetaserviceView {
    pub name: String,
    pub description: String,
    pub error_group: String,
    /// The groups its bots may address (with its error group).
    pub groups: Vec<String>,
    /// Where its bots may send HTTP requests: `host:port` (`*`: any port).
    pub egress: Vec<String>,
    pub ticket_types: Vec<String>,
    /// The limits and quotas in force for its bots.
    pub limits: LimitsView,
    /// What the quotas count now.
    pub usage: UsageView,
}

/// Per-invocation limits, then the quotas across invocations.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LimitsView {
    pub deadline_ms: u64,
    pub memory_mib: u32,
    pub max_host_calls: u32,
    pub max_tickets_created: u32,
    pub max_log_bytes: usize,
    pub max_output_bytes: usize,
    pub tickets_per_minute: u32,
    pub max_open_tickets: u32,
    pub max_pending_events: u32,
    pub max_timers: u32,
    pub max_child_depth: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UsageView {
    pub open_tickets: u64,
    /// Tickets its bots created in the last minute.
    pub created_last_minute: u64,
}

fn limits_view(l: Limits) -> LimitsView {
    LimitsView {
        deadline_ms: l.deadline_ms,
        memory_mib: l.memory_mib,
        max_host_calls: l.max_host_calls,
        max_tickets_created: l.max_tickets_created,
        max_log_bytes: l.max_log_bytes,
        max_output_bytes: l.max_output_bytes,
        tickets_per_minute: l.tickets_per_minute,
        max_open_tickets: l.max_open_tickets,
        max_pending_events: l.max_pending_events,
        max_timers: l.max_timers,
        max_child_depth: l.max_child_depth,
    }
}

#[utoipa::path(get, path = "/metaservices", tag = "admin", responses((status = 200, body = Items<MetaserviceView>), (status = 401, body = super::error::Problem)), security(("bearer" = [])))]
pub async fn metaservices(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Items<MetaserviceView>>, AppError> {
    let engine = &state.engine;
    let since = engine.clock.now() - 60_000;
    let mut items = Vec::new();
    for ms in engine.catalog().metaservices() {
        let usage = engine.store.quota_usage(&ms.name, since).await?;
        items.push(MetaserviceView {
            name: ms.name.clone(),
            description: ms.description.clone(),
            error_group: ms.error_group.clone(),
            groups: ms.groups.clone(),
            egress: ms.egress.iter().map(|r| r.to_string()).collect(),
            ticket_types: ms.ticket_types.keys().cloned().collect(),
            limits: limits_view(engine.runtime.limits().with(&ms.limits)),
            usage: UsageView {
                open_tickets: usage.open_tickets,
                created_last_minute: usage.created_since,
            },
        });
    }
    Ok(Json(Items { items }))
}

pub use crate::engine::settings_json;

fn type_view(tt: &TicketType) -> Value {
    json!({
        "name": tt.name,
        "description": tt.description,
        "initial_state": tt.initial,
        "states": tt.states.values().map(|s| json!({
            "code": s.code, "name": s.name, "description": s.description, "terminal": s.terminal,
            // What is in force in the state: the type's settings with the state's overrides.
            "settings": (!s.terminal).then(|| settings_json(&tt.settings_in(s.code))),
            "actions": s.actions.iter().map(|a| json!({"name": a.name, "allowed": a.allowed, "payload_schema": a.payload_schema})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "transitions": tt.transitions.iter().map(|(from, to)| {
            let mut row = vec![*from];
            row.extend(to);
            row
        }).collect::<Vec<_>>(),
        "metadata_schema": tt.metadata_schema,
        "settings": settings_json(&tt.settings),
    })
}

#[utoipa::path(get, path = "/metaservices/{ms}/ticket-types", tag = "admin", params(("ms" = String, Path)), responses((status = 200, description = "`{items: [...]}`: states, transitions, actions, schema and settings of each type", body = Object), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn ticket_types(
    State(state): State<AppState>,
    _caller: Caller,
    PathParam(ms): PathParam<String>,
) -> Result<Json<Items<Value>>, AppError> {
    let catalog = state.engine.catalog();
    let ms = catalog
        .metaservice(&ms)
        .ok_or_else(|| AppError::new(ProblemKind::NotFound, format!("no metaservice {ms:?}")))?;
    Ok(Json(Items {
        items: ms.ticket_types.values().map(type_view).collect(),
    }))
}

/// An archived ticket: the ticket, its stakeholders, comments and log, as
/// they were when retention archived it.
#[utoipa::path(get, path = "/archive/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, description = "The archived document", body = Object),
        (status = 403, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
pub async fn archived(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
) -> Result<Json<Value>, AppError> {
    caller.require_admin()?;
    state
        .engine
        .store
        .archived(id)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::new(ProblemKind::NotFound, format!("no archived ticket {id}")))
}

/// Each field that is present replaces the current value; a duration is
/// written like in manifests (`"36h"`), and `null` clears it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "14d")]
    lifetime: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "1d")]
    notify_every: Option<Option<String>>,
    notify_repeats: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "365d")]
    retention: Option<Option<String>>,
    /// `"archive"` or `"delete"`: what retention does with a closed ticket.
    #[schema(example = "archive")]
    on_retention: Option<String>,
}

/// Tells an explicit `null` (Some(None)) from an absent field (None).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[utoipa::path(patch, path = "/metaservices/{ms}/ticket-types/{tt}/settings", tag = "admin", params(("ms" = String, Path), ("tt" = String, Path)), request_body = SettingsBody, responses((status = 200, description = "The settings now in force", body = Object), (status = 403, body = super::error::Problem), (status = 422, body = super::error::Problem), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn set_settings(
    State(state): State<AppState>,
    caller: Caller,
    PathParam((ms, tt)): PathParam<(String, String)>,
    Body(body): Body<SettingsBody>,
) -> Result<Json<Value>, AppError> {
    caller.require_admin()?;
    let patch = SettingsPatch {
        lifetime: body.lifetime,
        notify_every: body.notify_every,
        notify_repeats: body.notify_repeats,
        retention: body.retention,
        on_retention: body.on_retention,
    };
    let new = state
        .engine
        .change_settings(&ms, &tt, caller.user.id, patch)
        .await?;
    Ok(Json(settings_json(&new)))
}
