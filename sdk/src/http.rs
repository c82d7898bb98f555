//! Outgoing HTTP: the seed's "Metaservice Web API or other APIs".
//!
//! Only the hosts in the metaservice manifest's `egress` list can be
//! reached; any other request fails with [`HostErrorKind::NotAllowed`].
//!
//! **At least once.** Unlike ticket changes, a request is not undone when
//! the invocation later fails, and the retried invocation sends it again.
//! Make requests idempotent (a request id the other side deduplicates on,
//! a `PUT` of a whole resource) or check before acting.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{HostError, HostErrorKind, Result};

/// The largest response body a bot reads, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// A request to send with [`crate::Ctx::http`].
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: Method,
    /// `http://` or `https://` URL.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn get(url: impl Into<String>) -> Self {
        Request::new(Method::Get, url)
    }

    pub fn post(url: impl Into<String>) -> Self {
        Request::new(Method::Post, url)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// A JSON body, with its content type.
    pub fn json<T: Serialize>(mut self, body: &T) -> Result<Self> {
        self.body = serde_json::to_vec(body)?;
        Ok(self.header("content-type", "application/json"))
    }
}

/// A response, read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        Ok(serde_json::from_slice(&self.body)?)
    }
}

/// The parts of an `http(s)://authority/path?query` URL.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) struct Url<'a> {
    pub https: bool,
    pub authority: &'a str,
    pub path_and_query: &'a str,
}

pub(crate) fn split_url(url: &str) -> Result<Url<'_>, HostError> {
    let invalid = || {
        HostError::new(
            HostErrorKind::Invalid,
            format!("{url:?} is not an http(s) URL"),
        )
    };
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(invalid());
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.is_empty() || authority.contains('@') {
        return Err(invalid());
    }
    let path_and_query = if path.is_empty() { "/" } else { path };
    Ok(Url {
        https,
        authority,
        path_and_query,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_their_parts() {
        let u = split_url("https://api.example.org:8443/v1/x?y=1").unwrap();
        assert!(u.https);
        assert_eq!(
            (u.authority, u.path_and_query),
            ("api.example.org:8443", "/v1/x?y=1")
        );
        let u = split_url("http://127.0.0.1:9").unwrap();
        assert_eq!((u.authority, u.path_and_query), ("127.0.0.1:9", "/"));
        for bad in ["ftp://x", "http://", "https://user@host/", "example.org"] {
            assert!(split_url(bad).is_err(), "{bad}");
        }
    }
}
