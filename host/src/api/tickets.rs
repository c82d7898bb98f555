//! `/api/v1/tickets`: create, read, and the log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::error::{AppError, ProblemKind};
use super::extract::{Body, PathParam};
use super::views::{self, Items, LogView, TicketView};
use crate::engine::CreateTicket;
use crate::model::{Actor, Ticket, TicketId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    metaservice: String,
    ticket_type: String,
    title: String,
    metadata: Value,
}

pub async fn create(
    State(state): State<AppState>,
    Body(body): Body<CreateBody>,
) -> Result<(StatusCode, Json<TicketView>), AppError> {
    let req = CreateTicket {
        metaservice: body.metaservice,
        ticket_type: body.ticket_type,
        title: body.title,
        metadata: body.metadata,
    };
    // Until authentication lands, requests are anonymous (loopback only).
    let ticket = state.engine.create_ticket(req, Actor::Anonymous).await?;
    let view = view(&state, ticket).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

async fn find(state: &AppState, id: TicketId) -> Result<Ticket, AppError> {
    state
        .engine
        .store
        .ticket(id)
        .await?
        .ok_or_else(|| AppError::new(ProblemKind::NotFound, format!("no ticket {id}")))
}

async fn view(state: &AppState, ticket: Ticket) -> Result<TicketView, AppError> {
    let stakeholders = state.engine.store.stakeholders(ticket.id).await?;
    Ok(views::ticket(&state.engine.catalog(), ticket, stakeholders))
}

pub async fn get(
    State(state): State<AppState>,
    PathParam(id): PathParam<TicketId>,
) -> Result<Json<TicketView>, AppError> {
    let ticket = find(&state, id).await?;
    Ok(Json(view(&state, ticket).await?))
}

pub async fn logs(
    State(state): State<AppState>,
    PathParam(id): PathParam<TicketId>,
) -> Result<Json<Items<LogView>>, AppError> {
    let ticket = find(&state, id).await?;
    let catalog = state.engine.catalog();
    let items = state
        .engine
        .store
        .logs(id)
        .await?
        .into_iter()
        .map(|l| views::log(&catalog, &ticket, l))
        .collect();
    Ok(Json(Items { items }))
}
