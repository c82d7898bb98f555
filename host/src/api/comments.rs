//! `/api/v1/tickets/{id}/comments` and `/actions/{name}`: what people say
//! on a ticket, and the buttons its current state offers them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::error::AppError;
use super::extract::{Body, PathParam};
use super::tickets::visible;
use super::views::{Items, time};
use crate::model::TicketId;
use crate::store::Comment;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CommentView {
    pub id: i64,
    pub body: String,
    pub acting_user_id: i64,
    pub acting_stakeholder_id: Option<i64>,
    pub created_at: String,
}

fn comment_view(c: Comment) -> CommentView {
    CommentView {
        id: c.id,
        body: c.body,
        acting_user_id: c.acting_user_id,
        acting_stakeholder_id: c.acting_stakeholder_id,
        created_at: time(c.created_at),
    }
}

#[utoipa::path(get, path = "/tickets/{id}/comments", tag = "tickets", params(("id" = i64, Path)), responses((status = 200, body = Items<CommentView>), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<TicketId>,
) -> Result<Json<Items<CommentView>>, AppError> {
    visible(&state, &caller, id).await?;
    let items = state
        .engine
        .store
        .comments(id)
        .await?
        .into_iter()
        .map(comment_view)
        .collect();
    Ok(Json(Items { items }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    body: String,
    /// One of the caller's own stakeholders on this ticket (themselves, or
    /// a group they belong to) to comment on behalf of.
    acting_stakeholder_id: Option<i64>,
}

#[utoipa::path(post, path = "/tickets/{id}/comments", tag = "tickets", params(("id" = i64, Path)), request_body = CommentBody, responses((status = 201, body = CommentView), (status = 400, description = "acting_stakeholder_id is not the caller's", body = super::error::Problem), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<TicketId>,
    Body(body): Body<CommentBody>,
) -> Result<(StatusCode, Json<CommentView>), AppError> {
    let ticket = visible(&state, &caller, id).await?;
    let involvement = state.engine.involvement(&caller.user, id).await?;
    let (comment_id, _) = state
        .engine
        .comment(
            &ticket,
            &caller.user,
            &involvement,
            body.body,
            body.acting_stakeholder_id,
        )
        .await?;
    let comment = state
        .engine
        .store
        .comments(id)
        .await?
        .into_iter()
        .find(|c| c.id == comment_id)
        .ok_or_else(|| {
            AppError::new(super::error::ProblemKind::Internal, "the comment vanished")
        })?;
    Ok((StatusCode::CREATED, Json(comment_view(comment))))
}

/// Takes a ticket assigned to one of the caller's groups.
#[utoipa::path(post, path = "/tickets/{id}/accept", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, description = "Accepted: the caller is the active assigned stakeholder", body = super::views::TicketView),
        (status = 403, description = "Not a member of the assigned group", body = super::error::Problem),
        (status = 409, description = "Already accepted, closed, or not assigned to a group", body = super::error::Problem),
        (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<TicketId>,
) -> Result<Json<super::views::TicketView>, AppError> {
    let ticket = visible(&state, &caller, id).await?;
    state.engine.accept(&ticket, &caller.user).await?;
    let ticket = visible(&state, &caller, id).await?;
    Ok(Json(super::tickets::view(&state, ticket).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    #[serde(default)]
    payload: Value,
    /// One of the caller's stakeholders on this ticket to act for.
    acting_stakeholder_id: Option<i64>,
}

/// Accepted: the bot of the current state runs it shortly.
#[utoipa::path(post, path = "/tickets/{id}/actions/{name}", tag = "tickets", params(("id" = i64, Path), ("name" = String, Path)), request_body = ActionBody, responses((status = 202, description = "Queued for the bot of the current state", body = Object), (status = 403, body = super::error::Problem), (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn act(
    State(state): State<AppState>,
    caller: Caller,
    PathParam((id, name)): PathParam<(TicketId, String)>,
    Body(body): Body<ActionBody>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let ticket = visible(&state, &caller, id).await?;
    let involvement = state.engine.involvement(&caller.user, id).await?;
    state
        .engine
        .act(
            &ticket,
            &caller.user,
            &involvement,
            &name,
            body.payload,
            body.acting_stakeholder_id,
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"ticket_id": id, "action": name, "status": "queued"})),
    ))
}
