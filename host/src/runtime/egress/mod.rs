//! Outgoing HTTP for bots (WASI HTTP), allowed only as their metaservice's
//! `egress` rules say (`model::egress`): the URL's host and port must be
//! listed, and every address the name resolves to is checked before one
//! is connected to — that very address, with no second resolution — so a
//! listed name that points at a loopback or private address reaches
//! nothing. A refused request fails in the bot (`HTTP-request-denied`, or
//! `destination-IP-prohibited` for an address), and the host logs it.
//!
//! Outgoing HTTP is the one effect that is not transactional: a request
//! made by an invocation that later fails has still been made.
//!
//! # Layout
//! - `mod.rs`: the hooks, the rules applied to a request, resolution.
//! - `send.rs`: the connection to a checked address, TLS, HTTP/1.1.

mod send;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::uri::Scheme;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::model::egress::{EgressRule, address_allowed, canonical_host};

/// The hooks of one instance.
pub struct Egress {
    bot: Arc<str>,
    rules: Arc<[EgressRule]>,
}

/// Where a request may go: the rules that cover its host and port.
struct Target {
    host: String,
    port: u16,
    tls: bool,
    rules: Vec<EgressRule>,
}

impl Egress {
    pub fn new(bot: Arc<str>, rules: Arc<[EgressRule]>) -> Self {
        Egress { bot, rules }
    }

    /// The request's host and port, if some rule covers them.
    fn target(&self, uri: &http::Uri) -> Result<Target, String> {
        let host = uri.host().unwrap_or_default();
        let tls = uri.scheme() == Some(&Scheme::HTTPS);
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let rules: Vec<EgressRule> = self
            .rules
            .iter()
            .filter(|r| r.covers(host, port))
            .cloned()
            .collect();
        if rules.is_empty() {
            return Err(format!(
                "{host}:{port} is not in the metaservice's egress list"
            ));
        }
        Ok(Target {
            host: canonical_host(host),
            port,
            tls,
            rules,
        })
    }
}

/// The first address of `target` that its rules allow; the others are
/// skipped, and none is a refusal naming the first.
async fn resolve(target: &Target) -> Result<SocketAddr, String> {
    let candidates: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, target.port)],
        Err(_) => tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|e| format!("{} does not resolve: {e}", target.host))?
            .collect(),
    };
    let rules: Vec<&EgressRule> = target.rules.iter().collect();
    let mut refusal = format!("{} resolves to no address", target.host);
    for addr in candidates {
        match address_allowed(addr.ip(), &rules) {
            Ok(()) => return Ok(addr),
            Err(why) => refusal = format!("{} leads to {why}", target.host),
        }
    }
    Err(refusal)
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
        let bot = self.bot.clone();
        let uri = request.uri().clone();
        let target = match self.target(&uri) {
            Ok(t) => t,
            Err(why) => {
                tracing::warn!(bot = %bot, uri = %uri, "outgoing HTTP refused: {why}");
                return Box::new(async { Err(HttpError::HttpRequestDenied) });
            }
        };
        Box::new(async move {
            let addr = match resolve(&target).await {
                Ok(addr) => addr,
                Err(why) => {
                    tracing::warn!(bot = %bot, uri = %uri, "outgoing HTTP refused: {why}");
                    return Err(HttpError::DestinationIpProhibited);
                }
            };
            tracing::info!(bot = %bot, method = %request.method(), uri = %uri, %addr, "outgoing HTTP");
            send::send(request, addr, &target.host, target.tls, options).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn egress(rules: &[&str]) -> Egress {
        let rules: Vec<EgressRule> = rules
            .iter()
            .map(|r| EgressRule::parse(r).unwrap())
            .collect();
        Egress::new("b".into(), rules.into())
    }

    #[test]
    fn only_listed_hosts_and_ports_are_targets() {
        let e = egress(&["api.example.org", "[::1]:*"]);
        let uri = |u: &str| u.parse::<http::Uri>().unwrap();
        assert!(e.target(&uri("https://API.example.org/x")).is_ok());
        assert!(
            e.target(&uri("http://api.example.org/x")).is_err(),
            "port 80"
        );
        assert!(e.target(&uri("https://api.example.org:8443/")).is_err());
        assert!(e.target(&uri("http://[::1]:9/")).is_ok());
        assert!(e.target(&uri("https://example.org/")).is_err());
        assert!(e.target(&uri("https://api.example.org.evil.net/")).is_err());
    }

    #[tokio::test]
    async fn a_listed_name_that_leads_to_loopback_is_refused() {
        let e = egress(&["localhost:*", "127.0.0.1:8080"]);
        let uri = "http://localhost:8080/".parse::<http::Uri>().unwrap();
        let why = resolve(&e.target(&uri).unwrap()).await.unwrap_err();
        assert!(why.contains("loopback"), "{why}");
        let uri = "http://127.0.0.1:8080/".parse::<http::Uri>().unwrap();
        let addr = resolve(&e.target(&uri).unwrap()).await.unwrap();
        assert_eq!(addr, "127.0.0.1:8080".parse().unwrap());
    }
}
