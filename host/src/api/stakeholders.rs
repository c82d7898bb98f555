//! `/api/v1/tickets/{id}/stakeholders`: who is involved, and how. Rows are
//! never deleted: deactivating keeps the history.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
use super::error::{AppError, ProblemKind};
use super::extract::{Body, PathParam};
use super::tickets::{view, visible};
use super::views::TicketView;
use crate::engine::{CONNECTIONS, ROLES};
use crate::model::TicketId;
use crate::store::{NewStakeholder, Principal};

/// A stakeholder to add: exactly one of `user_id` and `group`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StakeholderBody {
    user_id: Option<i64>,
    group: Option<String>,
    connection: String,
    role: String,
    /// When adding to an existing ticket: one of the caller's stakeholders
    /// to act for (not used at creation).
    acting_stakeholder_id: Option<i64>,
}

fn known(what: &str, value: &str, allowed: &[&'static str]) -> Result<&'static str, AppError> {
    allowed
        .iter()
        .find(|a| **a == value)
        .copied()
        .ok_or_else(|| {
            AppError::new(
                ProblemKind::InvalidRequest,
                format!("{what} {value:?} is not one of {allowed:?}"),
            )
        })
}

pub fn parse_stakeholder(body: &StakeholderBody) -> Result<NewStakeholder, AppError> {
    let principal = match (&body.user_id, &body.group) {
        (None, Some(group)) if !crate::model::ticket::is_identifier(group) => {
            return Err(AppError::new(
                ProblemKind::InvalidRequest,
                "a group name is lowercase letters, digits and '_', at most 64",
            ));
        }
        (Some(id), None) => Principal::User(*id),
        (None, Some(group)) => Principal::Group(group.clone()),
        _ => {
            return Err(AppError::new(
                ProblemKind::InvalidRequest,
                "give exactly one of user_id and group",
            ));
        }
    };
    Ok(NewStakeholder {
        principal,
        connection: known("connection", &body.connection, &CONNECTIONS)?,
        role: known("role", &body.role, &ROLES)?,
    })
}

#[utoipa::path(get, path = "/tickets/{id}/stakeholders", tag = "tickets", params(("id" = i64, Path)), responses((status = 200, description = "The ticket, with its stakeholders", body = TicketView), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParam<TicketId>,
) -> Result<Json<TicketView>, AppError> {
    // The ticket view carries its stakeholders.
    let (_, view) = super::tickets::get(State(state), caller, path).await?;
    Ok(view)
}

#[utoipa::path(post, path = "/tickets/{id}/stakeholders", tag = "tickets", params(("id" = i64, Path)), request_body = StakeholderBody, responses((status = 201, body = TicketView), (status = 403, body = super::error::Problem), (status = 422, body = super::error::Problem), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<TicketId>,
    Body(body): Body<StakeholderBody>,
) -> Result<(StatusCode, Json<TicketView>), AppError> {
    let ticket = visible(&state, &caller, id).await?;
    let involvement = state.engine.involvement(&caller.user, id).await?;
    let s = parse_stakeholder(&body)?;
    state
        .engine
        .add_stakeholder(&ticket, &involvement, s, body.acting_stakeholder_id)
        .await?;
    let ticket = visible(&state, &caller, id).await?;
    Ok((StatusCode::CREATED, Json(view(&state, ticket).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    connection: Option<String>,
    is_active: Option<bool>,
    /// One of the caller's stakeholders to act for.
    acting_stakeholder_id: Option<i64>,
}

#[utoipa::path(patch, path = "/tickets/{id}/stakeholders/{sid}", tag = "tickets", params(("id" = i64, Path), ("sid" = i64, Path)), request_body = ChangeBody, responses((status = 200, body = TicketView), (status = 403, body = super::error::Problem), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    PathParam((id, sid)): PathParam<(TicketId, i64)>,
    Body(body): Body<ChangeBody>,
) -> Result<Json<TicketView>, AppError> {
    let ticket = visible(&state, &caller, id).await?;
    let involvement = state.engine.involvement(&caller.user, id).await?;
    let current = state
        .engine
        .store
        .stakeholders(id)
        .await?
        .into_iter()
        .find(|s| s.id == sid)
        .ok_or_else(|| {
            AppError::new(
                ProblemKind::NotFound,
                format!("ticket {id} has no stakeholder {sid}"),
            )
        })?;
    let connection = body
        .connection
        .as_deref()
        .map(|c| known("connection", c, &CONNECTIONS))
        .transpose()?;
    state
        .engine
        .update_stakeholder(
            &ticket,
            &involvement,
            &current,
            (connection, body.is_active),
            body.acting_stakeholder_id,
        )
        .await?;
    let ticket = visible(&state, &caller, id).await?;
    Ok(Json(view(&state, ticket).await?))
}
