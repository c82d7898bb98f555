//! Extractors whose rejections are problems, not axum's plain-text ones.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::{AppError, ProblemKind};

/// A JSON body; malformed, mistyped or oversized bodies become 4xx problems.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(json_problem(rejection)),
        }
    }
}

fn json_problem(rejection: JsonRejection) -> AppError {
    let detail = rejection.body_text();
    let kind = match &rejection {
        JsonRejection::JsonSyntaxError(_) => ProblemKind::MalformedJson,
        JsonRejection::JsonDataError(_) => ProblemKind::InvalidRequest,
        JsonRejection::MissingJsonContentType(_) => ProblemKind::UnsupportedMediaType,
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ProblemKind::PayloadTooLarge,
        _ => ProblemKind::InvalidRequest,
    };
    AppError::new(kind, detail)
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
