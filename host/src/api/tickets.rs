//! `/api/v1/tickets`: create, read, edit, list, and the log. A ticket the
//! caller may not see answers 404, exactly like one that does not exist.

use axum::Json;
use axum::extract::State;
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::error::{AppError, ProblemKind};
use super::extract::{Body, PathParam, Query};
use super::stakeholders::{StakeholderBody, parse_stakeholder};
use super::views::{self, Items, LogView, TicketView};
use crate::engine::{CreateTicket, Edit};
use crate::model::{Status, Ticket, TicketId};
use crate::store::TicketFilter;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    metaservice: String,
    ticket_type: String,
    title: String,
    metadata: Value,
    #[serde(default)]
    stakeholders: Vec<StakeholderBody>,
}

#[utoipa::path(post, path = "/tickets", tag = "tickets", request_body = CreateBody, responses((status = 201, body = TicketView), (status = 422, body = super::error::Problem), (status = 401, body = super::error::Problem)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<CreateBody>,
) -> Result<(StatusCode, Json<TicketView>), AppError> {
    let stakeholders = body
        .stakeholders
        .iter()
        .map(parse_stakeholder)
        .collect::<Result<Vec<_>, _>>()?;
    let req = CreateTicket {
        metaservice: body.metaservice,
        ticket_type: body.ticket_type,
        title: body.title,
        metadata: body.metadata,
        stakeholders,
        by_admin: caller.user.is_admin,
    };
    let ticket = state.engine.create_ticket(req, caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(view(&state, ticket).await?)))
}

/// The ticket, if it exists and the caller may see it; else 404.
pub async fn visible(state: &AppState, caller: &Caller, id: TicketId) -> Result<Ticket, AppError> {
    let not_found = || AppError::new(ProblemKind::NotFound, format!("no ticket {id}"));
    if !state.engine.store.can_see(caller.viewer(), id).await? {
        return Err(not_found());
    }
    state.engine.store.ticket(id).await?.ok_or_else(not_found)
}

pub async fn view(state: &AppState, ticket: Ticket) -> Result<TicketView, AppError> {
    let stakeholders = state.engine.store.stakeholders(ticket.id).await?;
    Ok(views::ticket(&state.engine.catalog(), ticket, stakeholders))
}

#[utoipa::path(get, path = "/tickets/{id}", tag = "tickets", params(("id" = i64, Path)), responses((status = 200, body = TicketView), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<TicketId>,
) -> Result<(HeaderMap, Json<TicketView>), AppError> {
    let ticket = visible(&state, &caller, id).await?;
    let tag = etag(&ticket);
    Ok((tag, Json(view(&state, ticket).await?)))
}

/// `ETag: "<version>"`: a ticket's version, for `If-Match` on `PATCH`.
fn etag(ticket: &Ticket) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", ticket.version)) {
        headers.insert(ETAG, value);
    }
    headers
}

/// The version an `If-Match` header names: `"7"`; `*` names none; a weak
/// tag (`W/"7"`) names one that never matches. Anything else is refused,
/// so that a typo never skips the check.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, AppError> {
    let Some(value) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        AppError::new(
            ProblemKind::InvalidRequest,
            "If-Match must be the ETag of the ticket, e.g. \"7\"",
        )
    };
    let text = value.to_str().map_err(|_| bad())?.trim();
    if text == "*" {
        return Ok(None);
    }
    // If-Match compares strongly (RFC 9110): a weak tag matches nothing.
    if text.starts_with("W/") {
        return Ok(Some(-1));
    }
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse().ok())
        .map(Some)
        .ok_or_else(bad)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    title: Option<String>,
    /// A JSON merge patch (RFC 7396) applied to the metadata.
    metadata: Option<Value>,
    /// The version the change is based on (like `If-Match`): 412 if the
    /// ticket moved since.
    version: Option<i64>,
    /// One of the caller's stakeholders to make the change for.
    acting_stakeholder_id: Option<i64>,
}

#[utoipa::path(patch, path = "/tickets/{id}", tag = "tickets", params(("id" = i64, Path)), request_body = PatchBody, responses((status = 200, body = TicketView), (status = 403, body = super::error::Problem), (status = 422, body = super::error::Problem), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<TicketId>,
    headers: HeaderMap,
    Body(body): Body<PatchBody>,
) -> Result<(HeaderMap, Json<TicketView>), AppError> {
    let ticket = visible(&state, &caller, id).await?;
    let header_version = if_match(&headers)?;
    let version = match (header_version, body.version) {
        (Some(a), Some(b)) if a != b => {
            return Err(AppError::new(
                ProblemKind::InvalidRequest,
                "If-Match and version name different versions",
            ));
        }
        (a, b) => a.or(b),
    };
    let involvement = state.engine.involvement(&caller.user, id).await?;
    let edit = Edit {
        title: body.title,
        metadata: body.metadata,
        version,
        acting_stakeholder: body.acting_stakeholder_id,
    };
    state
        .engine
        .patch_ticket(&ticket, &involvement, edit)
        .await?;
    let ticket = visible(&state, &caller, id).await?;
    let tag = etag(&ticket);
    Ok((tag, Json(view(&state, ticket).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    metaservice: Option<String>,
    ticket_type: Option<String>,
    state: Option<u32>,
    status: Option<String>,
    #[serde(default)]
    mine: bool,
    stakeholder_user: Option<i64>,
    stakeholder_group: Option<String>,
    created_after: Option<String>,
    created_before: Option<String>,
    /// Only tickets whose title contains this (ASCII case ignored).
    q: Option<String>,
    /// Only tickets a group of the caller's is an active stakeholder of.
    #[serde(default)]
    my_groups: bool,
    /// Only open tickets assigned to the caller, or to a group of theirs
    /// that no member has accepted yet.
    #[serde(default)]
    waiting_for_me: bool,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// A page size a client gets without asking, and the most it may ask for.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Page {
    pub items: Vec<TicketView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn cursor_of(id: TicketId) -> String {
    hex::encode(format!("tickets:{id}"))
}

fn parse_cursor(cursor: &str) -> Result<TicketId, AppError> {
    let bad = || {
        AppError::new(
            ProblemKind::InvalidCursor,
            format!("{cursor:?} is not a cursor this listing gave out"),
        )
    };
    let bytes = hex::decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("tickets:")
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)
}

fn parse_time(name: &str, value: &Option<String>) -> Result<Option<i64>, AppError> {
    value
        .as_deref()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|d| d.timestamp_millis())
                .map_err(|e| {
                    AppError::new(
                        ProblemKind::InvalidQuery,
                        format!("{name}: {e} (use RFC 3339)"),
                    )
                })
        })
        .transpose()
}

#[utoipa::path(get, path = "/tickets", tag = "tickets", params(ListParams), responses((status = 200, body = Page), (status = 400, body = super::error::Problem), (status = 401, body = super::error::Problem)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListParams>,
) -> Result<Response, AppError> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(AppError::new(
            ProblemKind::InvalidQuery,
            format!("limit must be 1 to {MAX_LIMIT}"),
        ));
    }
    let status = q
        .status
        .as_deref()
        .map(|s| s.parse::<Status>())
        .transpose()
        .map_err(|e| AppError::new(ProblemKind::InvalidQuery, e))?;
    let filter = TicketFilter {
        metaservice: q.metaservice,
        ticket_type: q.ticket_type,
        state: q.state,
        status,
        mine: q.mine.then_some(caller.user.id),
        stakeholder_user: q.stakeholder_user,
        stakeholder_group: q.stakeholder_group,
        created_after: parse_time("created_after", &q.created_after)?,
        created_before: parse_time("created_before", &q.created_before)?,
        before: q.cursor.as_deref().map(parse_cursor).transpose()?,
        // One more than asked tells whether there is a next page.
        limit: limit + 1,
        title_contains: q.q.filter(|s| !s.trim().is_empty()),
        my_groups: q.my_groups.then_some(caller.user.id),
        waiting_for: q.waiting_for_me.then_some(caller.user.id),
    };
    let mut tickets = state
        .engine
        .store
        .list_tickets(caller.viewer(), &filter)
        .await?;
    let next_cursor = if tickets.len() > limit as usize {
        tickets.truncate(limit as usize);
        tickets.last().map(|t| cursor_of(t.id))
    } else {
        None
    };
    // One read for the page's stakeholders, not one per ticket.
    let ids: Vec<TicketId> = tickets.iter().map(|t| t.id).collect();
    let mut people = state.engine.store.stakeholders_of(&ids).await?;
    let catalog = state.engine.catalog();
    let items = tickets
        .into_iter()
        .map(|t| {
            let rows = people.remove(&t.id).unwrap_or_default();
            views::ticket(&catalog, t, rows)
        })
        .collect::<Vec<_>>();
    // About 600 bytes a ticket with a few stakeholders and small metadata.
    let capacity = 64 + items.len() * 640;
    views::json_sized(&Page { items, next_cursor }, capacity)
}

#[utoipa::path(get, path = "/tickets/{id}/logs", tag = "tickets", params(("id" = i64, Path)), responses((status = 200, body = Items<LogView>), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn logs(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<TicketId>,
) -> Result<Json<Items<LogView>>, AppError> {
    let ticket = visible(&state, &caller, id).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_strangers_are_refused() {
        assert_eq!(parse_cursor(&cursor_of(42)).unwrap(), 42);
        for bad in [
            "",
            "zz",
            "42",
            &hex::encode("users:42"),
            &hex::encode("tickets:x"),
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }
}
