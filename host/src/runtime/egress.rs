//! Outgoing HTTP for bots (WASI HTTP), allowed only to the hosts in their
//! metaservice's `egress` list. A refused request fails in the bot with
//! `HTTP-request-denied`, and the host logs it.
//!
//! Outgoing HTTP is the one effect that is not transactional: a request
//! made by an invocation that later fails has still been made.

use std::future::Future;
use std::sync::Arc;

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// The hooks of one instance.
pub struct Egress {
    bot: Arc<str>,
    allowed: Arc<[String]>,
}

impl Egress {
    pub fn new(bot: Arc<str>, allowed: Arc<[String]>) -> Self {
        Egress { bot, allowed }
    }

    /// Exact, case-insensitive host match; IPv6 literals without brackets.
    fn allows(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        self.allowed
            .iter()
            .any(|a| a.trim_start_matches('[').trim_end_matches(']') == host)
    }
}

type Sent = Box<dyn Future<Output = Result<(), HttpError>> + Send>;

impl WasiHttpHooks for Egress {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Sent,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, Sent), HttpError>> + Send> {
        drop(fut);
        let host = request.uri().host().unwrap_or_default().to_string();
        if !self.allows(&host) {
            tracing::warn!(bot = %self.bot, host = %host, uri = %request.uri(),
                "outgoing HTTP refused: the host is not in the metaservice's egress list");
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        tracing::info!(bot = %self.bot, method = %request.method(), uri = %request.uri(), "outgoing HTTP");
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as Sent))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_hosts_are_allowed() {
        let e = Egress::new(
            "b".into(),
            vec!["api.example.org".to_string(), "::1".to_string()].into(),
        );
        assert!(e.allows("API.example.org"));
        assert!(e.allows("[::1]"));
        assert!(!e.allows("example.org"));
        assert!(!e.allows("api.example.org.evil.net"));
        assert!(!e.allows(""));
    }
}
