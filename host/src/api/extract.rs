//! Extractors whose rejections are problems, not axum's plain-text ones.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{AppError, ProblemKind};

/// A JSON object body. Malformed JSON is a 400; anything but an object
/// (an array, a scalar), a wrong field type or an unknown field is a 422;
/// a body over the limit a 413; another content type a 415. The body is
/// read as a JSON value first, because serde would otherwise accept an
/// array for a struct, field by field in order.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(req.headers()) {
            return Err(AppError::new(
                ProblemKind::UnsupportedMediaType,
                "expected a request with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let kind = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ProblemKind::PayloadTooLarge
            } else {
                ProblemKind::InvalidRequest
            };
            AppError::new(kind, rejection.body_text())
        })?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            // Nested past serde_json's own limit is a document too deep, as
            // one past Baton's is (a 422), not malformed JSON.
            if e.to_string().starts_with("recursion limit exceeded") {
                AppError::new(
                    ProblemKind::InvalidRequest,
                    "the body is nested too deep (Baton accepts 32 levels)",
                )
            } else {
                AppError::new(ProblemKind::MalformedJson, e.to_string())
            }
        })?;
        if !value.is_object() {
            return Err(AppError::new(
                ProblemKind::InvalidRequest,
                "the body must be a JSON object",
            ));
        }
        serde_json::from_value(value)
            .map(Body)
            .map_err(|e| AppError::new(ProblemKind::InvalidRequest, e.to_string()))
    }
}

/// `application/json`, or any `application/*+json`, with parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A path parameter; `/tickets/abc` is a 400, not a plain-text 400.
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PathParam(value)),
            Err(rejection) => Err(path_problem(rejection)),
        }
    }
}

fn path_problem(rejection: PathRejection) -> AppError {
    AppError::new(ProblemKind::InvalidPath, rejection.body_text())
}

/// Query parameters; unknown or malformed ones are a 400 problem.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(AppError::new(
                ProblemKind::InvalidQuery,
                rejection.body_text(),
            )),
        }
    }
}
