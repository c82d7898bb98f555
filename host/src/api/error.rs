//! Errors as `application/problem+json` (RFC 9457), each kind with a
//! stable `type` that clients can match on.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::engine::{ChangeError, CreateError};
use crate::store::StoreError;

/// The kinds of problem, and the `type` URI each is sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    MalformedJson,
    InvalidRequest,
    UnsupportedMediaType,
    PayloadTooLarge,
    InvalidPath,
    NotFound,
    MethodNotAllowed,
    UnknownMetaservice,
    UnknownTicketType,
    InvalidMetadata,
    Conflict,
    BotRefused,
    Unauthorized,
    Forbidden,
    InvalidCursor,
    InvalidQuery,
    InvalidStakeholder,
    PreconditionFailed,
    TooManyStreams,
    /// The database cannot be reached: the same request may succeed later.
    Unavailable,
    Internal,
}

impl ProblemKind {
    fn parts(self) -> (StatusCode, &'static str, &'static str) {
        use ProblemKind::*;
        match self {
            MalformedJson => (
                StatusCode::BAD_REQUEST,
                "malformed-json",
                "The body is not valid JSON",
            ),
            InvalidRequest => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-request",
                "The request does not have the expected shape",
            ),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Send JSON with Content-Type: application/json",
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "The body is too large",
            ),
            InvalidPath => (
                StatusCode::BAD_REQUEST,
                "invalid-path",
                "A path parameter is malformed",
            ),
            NotFound => (StatusCode::NOT_FOUND, "not-found", "No such resource"),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "The resource does not take this method",
            ),
            UnknownMetaservice => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-metaservice",
                "Unknown metaservice",
            ),
            UnknownTicketType => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-ticket-type",
                "Unknown ticket type",
            ),
            InvalidMetadata => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-metadata",
                "The metadata does not satisfy the ticket type's schema",
            ),
            Conflict => (
                StatusCode::CONFLICT,
                "conflict",
                "The request conflicts with the current state",
            ),
            BotRefused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "bot-refused",
                "The bot file was refused",
            ),
            Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "A valid bearer token is required",
            ),
            Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed for this caller",
            ),
            InvalidCursor => (
                StatusCode::BAD_REQUEST,
                "invalid-cursor",
                "The cursor is malformed or from another listing",
            ),
            InvalidStakeholder => (
                StatusCode::BAD_REQUEST,
                "invalid-stakeholder",
                "The stakeholder named is not the caller's on this ticket",
            ),
            InvalidQuery => (
                StatusCode::BAD_REQUEST,
                "invalid-query",
                "A query parameter is malformed",
            ),
            PreconditionFailed => (
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "The ticket is no longer at the version the request names",
            ),
            TooManyStreams => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-streams",
                "Too many event streams are open for this user",
            ),
            Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The database cannot be reached; try again shortly",
            ),
            Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }
}

/// An error response.
#[derive(Debug)]
pub struct AppError {
    pub kind: ProblemKind,
    pub detail: String,
}

impl AppError {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        AppError {
            kind,
            detail: detail.into(),
        }
    }
}

/// An error, as `application/problem+json` (RFC 9457).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.kind.parts();
        if status.is_server_error() {
            tracing::error!("{}", self.detail);
        }
        let body = Problem {
            kind: format!("urn:baton:problem:{slug}"),
            title,
            status: status.as_u16(),
            // Internal details stay in the log.
            detail: if status.is_server_error() {
                "see the server log"
            } else {
                &self.detail
            },
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // A database restart takes seconds.
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(what) => {
                AppError::new(ProblemKind::Conflict, format!("{what} already exists"))
            }
            StoreError::NotFound(what) => {
                AppError::new(ProblemKind::NotFound, format!("{what} not found"))
            }
            StoreError::Conflict(id) => AppError::new(
                ProblemKind::Conflict,
                format!("ticket {id} changed while the request ran; read it again and retry"),
            ),
            other if other.is_unavailable() => AppError::new(
                ProblemKind::Unavailable,
                format!("{other}; try again shortly"),
            ),
            other => AppError::new(ProblemKind::Internal, other.to_string()),
        }
    }
}

impl From<CreateError> for AppError {
    fn from(e: CreateError) -> Self {
        let kind = match &e {
            CreateError::UnknownMetaservice(_) | CreateError::Builtin(_) => {
                ProblemKind::UnknownMetaservice
            }
            CreateError::UnknownTicketType(..) => ProblemKind::UnknownTicketType,
            CreateError::InvalidTitle(_) => ProblemKind::InvalidRequest,
            CreateError::InvalidMetadata(_) => ProblemKind::InvalidMetadata,
            CreateError::InvalidStakeholder(_) => ProblemKind::InvalidRequest,
            CreateError::Forbidden(_) => ProblemKind::Forbidden,
            CreateError::Store(s) if s.is_unavailable() => ProblemKind::Unavailable,
            CreateError::Store(_) => ProblemKind::Internal,
        };
        AppError::new(kind, e.to_string())
    }
}

impl From<ChangeError> for AppError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Forbidden(m) => AppError::new(ProblemKind::Forbidden, m),
            ChangeError::Invalid(m) => AppError::new(ProblemKind::InvalidRequest, m),
            ChangeError::InvalidMetadata(m) => AppError::new(ProblemKind::InvalidMetadata, m),
            ChangeError::Precondition(m) => AppError::new(ProblemKind::PreconditionFailed, m),
            ChangeError::Raced(id) => AppError::new(
                ProblemKind::Conflict,
                format!("ticket {id} changed while the request ran; read it again and retry"),
            ),
            ChangeError::NotYours(m) => AppError::new(ProblemKind::InvalidStakeholder, m),
            ChangeError::NotFound(m) => AppError::new(ProblemKind::NotFound, m),
            ChangeError::Conflict(m) => AppError::new(ProblemKind::Conflict, m),
            ChangeError::Store(inner) => AppError::from(inner),
        }
    }
}
