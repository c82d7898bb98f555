//! `/api/v1/bots`: every bot the manifests call for or the directory
//! holds, and restarting one by hand.

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::auth::Caller;
use super::error::{AppError, ProblemKind};
use super::extract::PathParam;
use super::views::{self, BotView, Items};
use crate::engine::RestartError;
use crate::model::BotName;

pub async fn list(State(state): State<AppState>, _caller: Caller) -> Json<Items<BotView>> {
    let items = state
        .engine
        .registry
        .snapshot()
        .into_iter()
        .map(views::bot)
        .collect();
    Json(Items { items })
}

/// Reloads the bot's file and clears its crash state; its pending events,
/// those in backoff included, run at once.
pub async fn restart(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(name): PathParam<String>,
) -> Result<Json<BotView>, AppError> {
    caller.require_admin()?;
    let not_found = || AppError::new(ProblemKind::NotFound, format!("no bot {name:?}"));
    let bot = BotName::parse(&name).map_err(|_| not_found())?;
    match state.engine.restart_bot(&bot).await {
        Ok(()) => {}
        Err(RestartError::Unknown) => return Err(not_found()),
        Err(e @ RestartError::NoFile(_)) => {
            return Err(AppError::new(ProblemKind::Conflict, e.to_string()));
        }
        Err(e @ RestartError::Refused(_)) => {
            return Err(AppError::new(ProblemKind::BotRefused, e.to_string()));
        }
    }
    let slot = state.engine.registry.slot_of(&bot).ok_or_else(not_found)?;
    Ok(Json(views::bot(slot)))
}
