//! The errors page: the open error tickets the user may see (those of the
//! metaservices whose error group they are in, all for admins), each with
//! what failed, the failed ticket's parked events, and the Retry and
//! Resolve buttons (the error ticket's own actions, posted to the ticket
//! page's action route like any other).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::Console;
use super::pages::{Me, failure, render};
use super::session::Signed;
use super::tickets::viewer_of;
use crate::model::{Status, rfc3339};
use crate::store::TicketFilter;

pub struct ErrorRow {
    pub id: i64,
    pub title: String,
    pub when: String,
    pub message: String,
    pub failed_ticket: Option<i64>,
    pub parked: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/errors.html")]
struct Errors {
    me: Option<Me>,
    csrf: String,
    errors: Vec<ErrorRow>,
}

pub async fn errors(State(console): State<Console>, signed: Signed) -> Response {
    let store = &console.engine.store;
    let filter = TicketFilter {
        metaservice: Some(crate::model::catalog::BUILTIN_METASERVICE.into()),
        status: Some(Status::Open),
        limit: 200,
        ..TicketFilter::default()
    };
    let tickets = match store.list_tickets(viewer_of(&signed), &filter).await {
        Ok(t) => t,
        Err(e) => return failure(&e.to_string()),
    };
    let mut errors = Vec::with_capacity(tickets.len());
    for t in tickets {
        // A document that does not parse shows no cause (and is logged)
        // rather than hiding the other error tickets.
        let doc = t.metadata.to_value().unwrap_or_else(|e| {
            tracing::warn!(ticket = t.id, "metadata does not parse: {e}");
            serde_json::Value::Null
        });
        let failed_ticket = doc["failed_ticket_id"].as_i64();
        let parked = match failed_ticket {
            Some(id) => match store.events_of(id).await {
                Ok(events) => events
                    .into_iter()
                    .filter(|e| e.parked)
                    .map(|e| {
                        format!(
                            "event {} ({}), {} attempts: {}",
                            e.id,
                            e.kind.as_str(),
                            e.attempts,
                            e.last_error.unwrap_or_default()
                        )
                    })
                    .collect(),
                Err(e) => return failure(&e.to_string()),
            },
            None => Vec::new(),
        };
        errors.push(ErrorRow {
            id: t.id,
            title: t.title,
            when: rfc3339(t.created_at),
            message: doc["message"].as_str().unwrap_or_default().to_string(),
            failed_ticket,
            parked,
        });
    }
    let page = Errors {
        me: Me::of(&signed),
        csrf: signed.csrf.clone(),
        errors,
    };
    render(StatusCode::OK, &page)
}
