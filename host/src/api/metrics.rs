//! `/metrics` in the Prometheus text format (no token, like `/readyz`:
//! scrapers rarely carry one; it names bots and routes, never tickets or
//! people), and the layer that counts and times every request.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// OpenMetrics, the text format Prometheus standardised (and asks for
/// first): counters carry `_total`, the text ends with `# EOF`.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let text = state.engine.metrics_text().await;
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text)
}

/// Counts and times each request by method, route template and status.
/// Unknown methods and paths share one label each, so that what callers
/// send cannot grow the metrics without bound.
pub async fn count_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    state.engine.metrics.request(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
