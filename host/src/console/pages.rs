//! Rendering, the pages every part shares (sign-in, messages, errors), and
//! signing in and out.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Console;
use super::session::{self, COOKIE, SESSION_HOURS, SIGN_IN_COOKIE, Signed};
use crate::store::NewSession;

/// The signed-in user as the layout shows them.
pub struct Me {
    pub name: String,
    pub is_admin: bool,
    pub csrf: String,
}

impl Me {
    pub fn of(signed: &Signed) -> Option<Me> {
        Some(Me {
            name: signed.user.name.clone(),
            is_admin: signed.user.is_admin,
            csrf: signed.csrf.clone(),
        })
    }
}

/// A template rendered, or a 500 page saying it could not be.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => failure(&format!("rendering the page: {e}")),
    }
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct Message<'a> {
    me: Option<Me>,
    heading: &'a str,
    text: &'a str,
}

/// A page with a heading and a sentence.
pub fn message(status: StatusCode, me: Option<Me>, heading: &str, text: &str) -> Response {
    let page = Message { me, heading, text };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, heading.to_string()).into_response(),
    }
}

/// The server failed; the reason goes to the log, not to the page.
pub fn failure(why: &str) -> Response {
    tracing::error!("console: {why}");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        "Something went wrong",
        "The server could not show this page. It has been logged; try again shortly.",
    )
}

pub async fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        None,
        "Not found",
        "There is no such page, or you may not see it.",
    )
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignIn {
    me: Option<Me>,
    error: Option<String>,
    login: String,
    next: String,
    csrf: String,
}

/// The sign-in page with a fresh form token, and its cookie.
fn sign_in_page(
    status: StatusCode,
    error: Option<String>,
    login: String,
    next: String,
) -> Response {
    let token = match session::random_token() {
        Ok(t) => t,
        Err(e) => return failure(&e),
    };
    let page = SignIn {
        me: None,
        error,
        login,
        next,
        csrf: token.clone(),
    };
    let cookie =
        format!("{SIGN_IN_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=3600");
    with_cookie(render(status, &page), &cookie)
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only a path of the console itself: never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console/") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_string()
        }
        _ => "/console/".to_string(),
    }
}

pub async fn sign_in_form(Query(q): Query<Next>) -> Response {
    sign_in_page(
        StatusCode::OK,
        None,
        String::new(),
        safe_next(q.next.as_deref()),
    )
}

#[derive(Deserialize)]
pub struct Credentials {
    login: String,
    password: String,
    next: Option<String>,
    #[serde(default)]
    csrf: String,
}

pub async fn sign_in(
    State(console): State<Console>,
    headers: axum::http::HeaderMap,
    Form(form): Form<Credentials>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let refuse = |status: StatusCode, error: &str| {
        sign_in_page(
            status,
            Some(error.to_string()),
            form.login.clone(),
            next.clone(),
        )
    };
    let expected = session::named_cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !session::same(&form.csrf, &expected) {
        return refuse(
            StatusCode::FORBIDDEN,
            "This form was not sent from Baton's sign-in page: sign in from this page.",
        );
    }
    if !console.limiter.allows(&form.login) {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts for this login: wait a quarter of an hour.",
        );
    }
    let engine = &console.engine;
    let found = match engine.store.password_of(&form.login).await {
        Ok(found) => found,
        Err(e) => return failure(&e.to_string()),
    };
    // The same answer, and about the same time, whether the login exists.
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, DUMMY_HASH.to_string()),
    };
    let password = form.password.clone();
    let matches = tokio::task::spawn_blocking(move || session::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| matches) else {
        console.limiter.failed(&form.login);
        return refuse(StatusCode::UNAUTHORIZED, "Wrong login or password.");
    };
    console.limiter.succeeded(&form.login);
    match open_session(&console, &user).await {
        Ok((cookie, _)) => {
            tracing::info!(user = user.id, "signed in to the console");
            with_cookie(Redirect::to(&next).into_response(), &cookie)
        }
        Err(page) => page,
    }
}

/// A new session for `user`: its `Set-Cookie` value and CSRF token.
async fn open_session(
    console: &Console,
    user: &crate::store::User,
) -> Result<(String, String), Response> {
    let (secret, csrf) = match (session::random_token(), session::random_token()) {
        (Ok(s), Ok(c)) => (s, c),
        (Err(e), _) | (_, Err(e)) => return Err(failure(&e)),
    };
    let engine = &console.engine;
    let now = engine.clock.now();
    let new = NewSession {
        id_hash: session::hash_secret(&secret),
        user_id: user.id,
        csrf: csrf.clone(),
        expires_at: now + SESSION_HOURS * 3_600_000,
    };
    if let Err(e) = engine.store.create_session(&new, now).await {
        return Err(failure(&e.to_string()));
    }
    let cookie = format!(
        "{COOKIE}={secret}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_HOURS * 3_600,
        if console.secure { "; Secure" } else { "" }
    );
    Ok((cookie, csrf))
}

/// After a password change (which ended every session): `page`, shown in
/// a new session of this browser.
pub async fn sign_in_again(
    console: &Console,
    user: &crate::store::User,
    mut page: impl AccountPage,
) -> Response {
    match open_session(console, user).await {
        Ok((cookie, csrf)) => {
            page.set_csrf(csrf);
            with_cookie(render(StatusCode::OK, &page), &cookie)
        }
        Err(failed) => failed,
    }
}

/// A page that carries the session's CSRF token in its forms.
pub trait AccountPage: Template {
    fn set_csrf(&mut self, csrf: String);
}

/// A hash of a password nobody has, verified when the login is unknown so
/// that the answer takes as long either way.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0CSvUW2DP8hPGPNU5BgmK1v0ZHQkgGVgo/0tEk2qDRo";

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

pub async fn sign_out(
    State(console): State<Console>,
    signed: Signed,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !session::same(&form.csrf, &signed.csrf) {
        return forbidden_form(&signed);
    }
    if let Err(e) = console.engine.store.end_session(&signed.id_hash).await {
        return failure(&e.to_string());
    }
    let cookie = format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    with_cookie(Redirect::to("/console/sign-in").into_response(), &cookie)
}

/// A form posted without its session's CSRF token.
pub fn forbidden_form(signed: &Signed) -> Response {
    message(
        StatusCode::FORBIDDEN,
        Me::of(signed),
        "Form refused",
        "This form was not sent from this session's page (its CSRF token is missing or wrong). \
         Open the page again and send it from there.",
    )
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
