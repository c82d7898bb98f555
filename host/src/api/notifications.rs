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
use super::deliveries::{DeliveryView, delivery_view};
use super::error::{AppError, ProblemKind};
use super::extract::{PathParam, Query};
use super::views::time;
use crate::store::{Notification, Viewer};
use tokio::sync::broadcast::error::RecvError;

#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub kind: String,
    pub text: String,
    pub read: bool,
    pub created_at: String,
    /// Its deliveries beyond the inbox (webhooks, e-mail), if any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<DeliveryView>,
}

fn notification_view(n: Notification) -> NotificationView {
    NotificationView {
        id: n.id,
        ticket_id: n.ticket_id,
        kind: n.kind,
        text: n.text,
        read: n.read_at.is_some(),
        created_at: time(n.created_at),
        deliveries: Vec::new(),
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
    let ids: Vec<i64> = rows.iter().map(|n| n.id).collect();
    let mut deliveries = state.engine.store.deliveries_of(&ids).await?;
    let items = rows
        .into_iter()
        .map(|n| {
            let id = n.id;
            let mut view = notification_view(n);
            view.deliveries = deliveries
                .extract_if(.., |d| d.notification_id == id)
                .map(delivery_view)
                .collect();
            view
        })
        .collect();
    Ok(Json(InboxPage { items, next_cursor }))
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
/// event and should re-read its inbox. The stream ends when its token is
/// revoked; notifications about tickets the caller may no longer see are
/// left out; a user holds at most five streams at once.
#[utoipa::path(get, path = "/notifications/stream", tag = "notifications", responses((status = 200, description = "Server-sent events: `notification` (a NotificationView as JSON) and `lagged`", content_type = "text/event-stream", body = String), (status = 401, body = super::error::Problem), (status = 429, description = "The caller has five streams open already", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let engine = state.engine.clone();
    let slot = engine.streams.open(caller.user.id).ok_or_else(|| {
        AppError::new(
            ProblemKind::TooManyStreams,
            format!(
                "you have {} event streams open; close one first",
                crate::engine::streams::MAX_STREAMS_PER_USER
            ),
        )
    })?;
    let mut rx = engine.subscribe();
    let mut revoked = engine.streams.revocations();
    // Subscribed to revocations first, checked again now: a token revoked
    // between authentication and this point is not missed.
    let mut viewer = match still_valid(&engine, &caller).await {
        Some(v) => v,
        None => {
            return Err(AppError::new(
                ProblemKind::Unauthorized,
                "the token was revoked",
            ));
        }
    };
    let stopping = engine.stopped();
    let events = async_stream(move |tx| async move {
        // Held for as long as the stream runs.
        let _slot = slot;
        tokio::pin!(stopping);
        let mut recheck = tokio::time::interval(TOKEN_RECHECK);
        recheck.tick().await;
        loop {
            let event = tokio::select! {
                got = rx.recv() => match got {
                    Ok(n) if n.user_id == caller.user.id => {
                        if !still_visible(&engine, viewer, &n).await {
                            continue;
                        }
                        let data = serde_json::to_string(&notification_view(n)).unwrap_or_default();
                        Event::default().event("notification").data(data)
                    }
                    Ok(_) => continue,
                    Err(RecvError::Lagged(n)) => Event::default().event("lagged").data(n.to_string()),
                    Err(RecvError::Closed) => break,
                },
                id = revoked.recv() => match id {
                    Ok(id) if id == caller.token_id => break,
                    Ok(_) => continue,
                    // Revocations were missed: check this token now.
                    Err(RecvError::Lagged(_)) => match still_valid(&engine, &caller).await {
                        Some(v) => { viewer = v; continue }
                        None => break,
                    },
                    Err(RecvError::Closed) => break,
                },
                // The client went away: the stream, and its slot, end now,
                // not at the next notification.
                _ = tx.closed() => break,
                // The server is stopping: a client reconnects to another
                // node, or to this one once it is back.
                _ = &mut stopping => break,
                _ = recheck.tick() => {
                    // A revocation this process did not see (another
                    // node's, once there are several) ends it here; a
                    // user who is no longer an admin sees as a user.
                    match still_valid(&engine, &caller).await {
                        Some(v) => { viewer = v; continue }
                        None => break,
                    }
                }
            };
            if tx.send(event).await.is_err() {
                break;
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// How often an open stream checks that its token still stands.
const TOKEN_RECHECK: Duration = Duration::from_secs(30);

/// The caller's token, checked again: how they see now (`None`: it was
/// revoked). A database that cannot answer keeps the stream as it was.
async fn still_valid(engine: &crate::engine::Engine, caller: &Caller) -> Option<Viewer> {
    let now = engine.clock.now();
    match engine.store.authenticate(&caller.token_hash, now).await {
        Ok(Some(found)) => Some(if found.user.is_admin {
            Viewer::Admin
        } else {
            Viewer::User(found.user.id)
        }),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!("an event stream could not re-check its token: {e}");
            Some(caller.viewer())
        }
    }
}

/// Whether the viewer may still see the ticket a notification is about
/// (they may have left the group it was for).
async fn still_visible(engine: &crate::engine::Engine, viewer: Viewer, n: &Notification) -> bool {
    match n.ticket_id {
        None => true,
        Some(ticket) => engine.store.can_see(viewer, ticket).await.unwrap_or(false),
    }
}

/// A stream fed by a task through a channel; the task ends when the client
/// goes away.
pub(crate) fn async_stream<F, Fut>(produce: F) -> impl Stream<Item = Result<Event, Infallible>>
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
