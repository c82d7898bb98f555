//! `/api/v1/bots`: every bot the manifests call for or the directory
//! holds, and restarting one by hand.

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::auth::Caller;
use super::error::{AppError, ProblemKind};
use super::extract::PathParam;
use super::views::{self, BotView, Items};
use crate::engine::BotSlot;
use crate::engine::RestartError;
use crate::model::BotName;
use crate::store::NodeBot;

#[utoipa::path(get, path = "/bots", tag = "bots", responses((status = 200, body = Items<BotView>), (status = 401, body = super::error::Problem)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Items<BotView>>, AppError> {
    let mut items: Vec<BotView> = state
        .engine
        .registry
        .snapshot()
        .into_iter()
        .map(views::bot)
        .collect();
    // With several nodes, each bot's copies, node by node; a bot only
    // other nodes have (their manifests differ from ours) is listed too.
    for copy in state.engine.store.node_bots().await? {
        let at = match items.iter().position(|b| b.name == copy.bot.name) {
            Some(at) => at,
            None => match only_elsewhere(&copy) {
                Some(view) => {
                    items.push(view);
                    items.len() - 1
                }
                None => continue,
            },
        };
        items[at].nodes.push(views::node_bot(copy));
    }
    Ok(Json(Items { items }))
}

/// The entry of a bot this node does not know, from another node's copy.
fn only_elsewhere(copy: &NodeBot) -> Option<BotView> {
    let name = BotName::parse(&copy.bot.name).ok()?;
    let mut view = views::bot(BotSlot::missing(name));
    view.status = views::node_bot(copy.clone()).status;
    view.version = copy.bot.sha256.clone();
    Some(view)
}

/// Reloads the bot's file and clears its crash state; its pending events,
/// those in backoff included, run at once.
#[utoipa::path(post, path = "/bots/{name}/restart", tag = "bots", params(("name" = String, Path)), responses((status = 200, body = BotView), (status = 403, body = super::error::Problem), (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
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
