//! Who is signed in: passwords (argon2), the session cookie, CSRF tokens,
//! and the sign-in rate limit.
//!
//! The cookie `baton_session` holds 256 random bits; the database keeps
//! only their SHA-256, so a copy of the database signs nobody in. It is
//! `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's
//! page sends it), `Secure` when `delivery.public_url` is `https://`, and
//! expires after [`SESSION_HOURS`]. Every form carries the session's CSRF
//! token, checked on every POST.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

use super::Console;
use crate::store::User;

/// The cookie's name.
pub const COOKIE: &str = "baton_session";

/// The sign-in form's own CSRF cookie: the form carries the same random
/// value, so another site cannot post the form (and sign a browser into
/// an account of its choosing).
pub const SIGN_IN_COOKIE: &str = "baton_sign_in";

/// A working day and then some: people sign in once a day.
pub const SESSION_HOURS: i64 = 12;

/// Failed sign-ins per login in [`WINDOW`] before more are refused: enough
/// for typos, far too few to guess a password.
const MAX_FAILURES: u32 = 5;
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Passwords shorter than this are refused.
pub const MIN_PASSWORD: usize = 10;

/// An argon2id hash (PHC string) of `password`.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    let salt = SaltString::encode_b64(&bytes).map_err(|e| format!("a salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing the password: {e}"))
}

/// Whether `password` matches `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random token, hex: session secrets and CSRF tokens.
pub fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Equal in constant time (CSRF tokens).
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Sign-in failures per login, in this process.
#[derive(Default)]
pub struct Limiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Limiter {
    /// Whether `login` may try now.
    pub fn allows(&self, login: &str) -> bool {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(login) {
            Some((n, since)) => *n < MAX_FAILURES || since.elapsed() > WINDOW,
            None => true,
        }
    }

    pub fn failed(&self, login: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(login.to_string()).or_insert((0, Instant::now()));
        if entry.1.elapsed() > WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
        // Bounded: logins nobody tried for a window are forgotten.
        if map.len() > 10_000 {
            map.retain(|_, (_, since)| since.elapsed() <= WINDOW);
        }
    }

    pub fn succeeded(&self, login: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(login);
    }
}

/// The signed-in user of a request, with their session's CSRF token. A
/// request without a live session is sent to the sign-in page.
pub struct Signed {
    pub user: User,
    pub csrf: String,
    pub id_hash: String,
}

/// The session cookie's value, if the request has one.
pub fn cookie_of(parts: &Parts) -> Option<String> {
    named_cookie(&parts.headers, COOKIE)
}

/// The value of cookie `name`, if the request has one.
pub fn named_cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<Console> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        let to_sign_in = || {
            let next = parts
                .uri
                .path_and_query()
                .map_or("/console/", |p| p.as_str());
            let next: String = url_escape(next);
            Redirect::to(&format!("/console/sign-in?next={next}")).into_response()
        };
        let Some(secret) = cookie_of(parts) else {
            return Err(to_sign_in());
        };
        let id_hash = hash_secret(&secret);
        let now = console.engine.clock.now();
        match console.engine.store.session(&id_hash, now).await {
            Ok(Some((user, csrf))) => Ok(Signed {
                user,
                csrf,
                id_hash,
            }),
            Ok(None) => Err(to_sign_in()),
            Err(e) => Err(super::pages::failure(&e.to_string())),
        }
    }
}

/// `s` for a query string value.
pub fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
