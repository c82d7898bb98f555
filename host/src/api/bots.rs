//! `/api/v1/bots`: every bot the manifests call for or the directory holds.

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::views::{self, BotView, Items};

pub async fn list(State(state): State<AppState>) -> Json<Items<BotView>> {
    let items = state
        .engine
        .registry
        .snapshot()
        .into_iter()
        .map(views::bot)
        .collect();
    Json(Items { items })
}
