//! A user's page in the administration panel (admins only): their API
//! tokens, live and revoked; a new token, shown once; revoking one, which
//! also ends the event streams it opened.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::Console;
use super::pages::{Me, failure, message, not_found, render};
use super::people::refused;
use super::session::Signed;
use crate::model::rfc3339;
use crate::store::StoreError;

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub last_used: String,
    pub revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "console/person.html")]
struct Person {
    me: Option<Me>,
    csrf: String,
    user_id: i64,
    login: String,
    name: String,
    tokens: Vec<TokenRow>,
    notice: Option<String>,
    token: Option<String>,
}

/// The user's page with `token` (just created) and `notice` on it.
async fn show(
    console: &Console,
    signed: &Signed,
    status: StatusCode,
    user_id: i64,
    token: Option<String>,
    notice: Option<String>,
) -> Response {
    let store = &console.engine.store;
    let user = match store.user(user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return not_found().await,
        Err(e) => return failure(&e.to_string()),
    };
    let tokens = match store.tokens_of(user_id).await {
        Ok(tokens) => tokens,
        Err(e) => return failure(&e.to_string()),
    };
    let tokens = tokens
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            created: rfc3339(t.created_at),
            last_used: t
                .last_used_at
                .map(rfc3339)
                .unwrap_or_else(|| "never".into()),
            revoked: t.revoked_at.map(rfc3339),
        })
        .collect();
    let page = Person {
        me: Me::of(signed),
        csrf: signed.csrf.clone(),
        user_id,
        login: user.login,
        name: user.name,
        tokens,
        notice,
        token,
    };
    render(status, &page)
}

pub async fn page(
    State(console): State<Console>,
    signed: Signed,
    Path(user): Path<i64>,
) -> Response {
    if !signed.user.is_admin {
        return message(
            StatusCode::FORBIDDEN,
            Me::of(&signed),
            "For administrators",
            "Only administrators manage people.",
        );
    }
    show(&console, &signed, StatusCode::OK, user, None, None).await
}

pub async fn create(
    State(console): State<Console>,
    signed: Signed,
    Path(user): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(page) = refused(&signed, &form) {
        return page;
    }
    let name = form
        .get("name")
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "console".into());
    let engine = &console.engine;
    let (token, hash) = match crate::api::auth::new_token() {
        Ok(t) => t,
        Err(_) => return failure("no randomness for a token"),
    };
    match engine
        .store
        .create_token(user, &name, &hash, engine.clock.now())
        .await
    {
        Ok(_) => {
            tracing::info!(by = signed.user.id, user, "token created from the console");
            // Shown once: this page, not a redirect to it.
            show(&console, &signed, StatusCode::OK, user, Some(token), None).await
        }
        Err(StoreError::NotFound(_)) => not_found().await,
        Err(e) => failure(&e.to_string()),
    }
}

pub async fn revoke(
    State(console): State<Console>,
    signed: Signed,
    Path(token): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(page) = refused(&signed, &form) {
        return page;
    }
    let back = form.get("user").and_then(|u| u.parse::<i64>().ok());
    match console.engine.revoke_token(token).await {
        Ok(true) => {
            tracing::info!(by = signed.user.id, token, "token revoked from the console");
            match back {
                Some(user) => {
                    Redirect::to(&format!("/console/admin/people/{user}")).into_response()
                }
                None => Redirect::to("/console/admin/people").into_response(),
            }
        }
        Ok(false) => match back {
            Some(user) => {
                let why = format!("Token {token} is not live (revoked already, or no such token).");
                show(
                    &console,
                    &signed,
                    StatusCode::CONFLICT,
                    user,
                    None,
                    Some(why),
                )
                .await
            }
            None => not_found().await,
        },
        Err(e) => failure(&e.to_string()),
    }
}
