//! `/api/v1/notifications`: the caller's inbox, unread first, and a
//! server-sent event stream of new notifications.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Caller;
use super::error::{AppError, ProblemKind};
use super::extract::{PathParam, Query};
use super::views::time;
use crate::store::Notification;

#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub kind: String,
    pub text: String,
    pub read: bool,
    pub created_at: String,
}

fn notification_view(n: Notification) -> NotificationView {
    NotificationView {
        id: n.id,
        ticket_id: n.ticket_id,
        kind: n.kind,
        text: n.text,
        read: n.read_at.is_some(),
        created_at: time(n.created_at),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxParams {
    cursor: Option<String>,
    limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InboxPage {
    pub items: Vec<NotificationView>,
    pub next_cursor: Option<String>,
}

fn cursor_of(n: &Notification) -> String {
    hex::encode(format!("inbox:{}:{}", u8::from(n.read_at.is_some()), n.id))
}

fn parse_cursor(cursor: &str) -> Result<(bool, i64), AppError> {
    let bad = || {
        AppError::new(
            ProblemKind::InvalidCursor,
            format!("{cursor:?} is not a cursor this listing gave out"),
        )
    };
    let text = String::from_utf8(hex::decode(cursor).map_err(|_| bad())?).map_err(|_| bad())?;
    let rest = text.strip_prefix("inbox:").ok_or_else(bad)?;
    let (read, id) = rest.split_once(':').ok_or_else(bad)?;
    Ok((read == "1", id.parse().map_err(|_| bad())?))
}

#[utoipa::path(get, path = "/notifications", tag = "notifications", params(InboxParams), responses((status = 200, body = InboxPage), (status = 400, body = super::error::Problem), (status = 401, body = super::error::Problem)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<InboxParams>,
) -> Result<Json<InboxPage>, AppError> {
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > 200 {
        return Err(AppError::new(
            ProblemKind::InvalidQuery,
            "limit must be 1 to 200",
        ));
    }
    let after = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let mut rows = state
        .engine
        .store
        .notifications(caller.user.id, after, limit + 1)
        .await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(cursor_of)
    } else {
        None
    };
    Ok(Json(InboxPage {
        items: rows.into_iter().map(notification_view).collect(),
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/notifications/{id}/read", tag = "notifications", params(("id" = i64, Path)), responses((status = 204, description = "Marked read"), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
) -> Result<StatusCode, AppError> {
    if state
        .engine
        .store
        .mark_read(caller.user.id, id, state.engine.clock.now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::new(
            ProblemKind::NotFound,
            format!("no notification {id}"),
        ))
    }
}

/// One `notification` event per new notification for the caller, as JSON.
/// A client that falls behind by more than the buffer gets a `lagged`
/// event and should re-read its inbox.
#[utoipa::path(get, path = "/notifications/stream", tag = "notifications", responses((status = 200, description = "Server-sent events: `notification` (a NotificationView as JSON) and `lagged`", content_type = "text/event-stream", body = String), (status = 401, body = super::error::Problem)), security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut rx = state.engine.subscribe();
    let user = caller.user.id;
    let events = async_stream(move |tx| async move {
        loop {
            match rx.recv().await {
                Ok(n) if n.user_id == user => {
                    let data = serde_json::to_string(&notification_view(n)).unwrap_or_default();
                    if tx
                        .send(Event::default().event("notification").data(data))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    if tx
                        .send(Event::default().event("lagged").data(n.to_string()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// A stream fed by a task through a channel; the task ends when the client
/// goes away.
fn async_stream<F, Fut>(produce: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(produce(tx));
    futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
    )
}
