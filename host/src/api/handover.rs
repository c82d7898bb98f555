//! `/api/v1/tickets/{id}/handover` and `/release`: the member who holds a
//! ticket (accepted for their group) hands it to another member of that
//! group, or gives it back to the group.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
use super::error::AppError;
use super::extract::{Body, PathParam};
use super::tickets::{view, visible};
use super::views::TicketView;
use crate::model::TicketId;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverBody {
    /// The member of the assigned group who takes the ticket.
    user_id: i64,
    /// One of the caller's stakeholders on this ticket to act for.
    acting_stakeholder_id: Option<i64>,
}

/// Hands a ticket to another member of the group it is assigned to.
#[utoipa::path(post, path = "/tickets/{id}/handover", tag = "tickets", params(("id" = i64, Path)), request_body = HandoverBody,
    responses((status = 200, description = "The new member holds the ticket", body = TicketView),
        (status = 403, description = "Only the holder or an admin hands a ticket over", body = super::error::Problem),
        (status = 404, body = super::error::Problem),
        (status = 409, description = "Closed, or nobody holds the ticket", body = super::error::Problem),
        (status = 422, description = "The user is not a member of the assigned group", body = super::error::Problem)),
    security(("bearer" = [])))]
pub async fn handover(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<TicketId>,
    Body(body): Body<HandoverBody>,
) -> Result<Json<TicketView>, AppError> {
    let ticket = visible(&state, &caller, id).await?;
    let involvement = state.engine.involvement(&caller.user, id).await?;
    state
        .engine
        .hand_over(
            &ticket,
            &involvement,
            body.user_id,
            body.acting_stakeholder_id,
        )
        .await?;
    let ticket = visible(&state, &caller, id).await?;
    Ok(Json(view(&state, ticket).await?))
}

/// Gives a ticket back to the group it is assigned to; its members are
/// asked again to accept it.
#[utoipa::path(post, path = "/tickets/{id}/release", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, description = "The group holds the ticket again", body = TicketView),
        (status = 403, description = "Only the holder or an admin gives a ticket back", body = super::error::Problem),
        (status = 404, body = super::error::Problem),
        (status = 409, description = "Closed, or nobody holds the ticket", body = super::error::Problem)),
    security(("bearer" = [])))]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<TicketId>,
) -> Result<Json<TicketView>, AppError> {
    let ticket = visible(&state, &caller, id).await?;
    let involvement = state.engine.involvement(&caller.user, id).await?;
    state.engine.release(&ticket, &involvement).await?;
    let ticket = visible(&state, &caller, id).await?;
    Ok(Json(view(&state, ticket).await?))
}
