//! Authentication: `Authorization: Bearer <token>` on every `/api/v1`
//! route. Tokens are random, shown once, stored as their SHA-256, and
//! revocable; a request with a missing, unknown or revoked token is a 401.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::{AppError, ProblemKind};
use crate::model::Actor;
use crate::store::{User, Viewer};

/// The prefix that makes a Baton token recognisable in logs and scanners.
const TOKEN_PREFIX: &str = "bt_";

/// A new random token (256 bits) and the hash to store.
pub fn new_token() -> Result<(String, String), AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::new(ProblemKind::Internal, format!("no randomness: {e}")))?;
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// What is stored for a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    /// The token they came with: what they open with it (an event stream)
    /// ends when it is revoked.
    pub token_id: i64,
    pub token_hash: String,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor::User(self.user.id)
    }

    pub fn viewer(&self) -> Viewer {
        if self.user.is_admin {
            Viewer::Admin
        } else {
            Viewer::User(self.user.id)
        }
    }

    /// Refuses callers who are not admins.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.user.is_admin {
            Ok(())
        } else {
            Err(AppError::new(
                ProblemKind::Forbidden,
                "this needs an administrator",
            ))
        }
    }
}

/// Authenticates every request it wraps (all of `/api/v1`), so that no
/// route can be left open by a handler that forgets to ask for a caller.
pub async fn require_token(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match authenticate(request.headers(), &state).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match parts.extensions.get::<Caller>() {
            Some(caller) => Ok(caller.clone()),
            None => authenticate(&parts.headers, state).await,
        }
    }
}

async fn authenticate(
    headers: &axum::http::HeaderMap,
    state: &AppState,
) -> Result<Caller, AppError> {
    let unauthorized = |why: &str| AppError::new(ProblemKind::Unauthorized, why.to_string());
    let header = headers
        .get(AUTHORIZATION)
        .ok_or_else(|| unauthorized("send Authorization: Bearer <token>"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("the Authorization header must be: Bearer <token>"))?;
    let now = state.engine.clock.now();
    let token_hash = hash_token(token);
    let found = state
        .engine
        .store
        .authenticate(&token_hash, now)
        .await?
        .ok_or_else(|| unauthorized("the token is unknown or revoked"))?;
    Ok(Caller {
        user: found.user,
        token_id: found.token_id,
        token_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let (a, hash_a) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("bt_") && a.len() == 3 + 64);
        assert_eq!(hash_token(&a), hash_a);
        assert_ne!(hash_a, a);
    }
}
