//! `baton health`: the running server's `/readyz`, for people and for
//! Zabbix (`deploy/zabbix/`).
//!
//! Without `--item`: one line per check (`bot: ok`, `queue: PROBLEM ...`),
//! the warnings, then `status: ready|not_ready`; exit code 0 when ready,
//! 1 when not, 2 when the server cannot be asked. With `--item NAME`: one
//! value for an agent item, exit code 0: `status` is 0 (ready), 1 (not
//! ready) or 2 (unreachable); a check's name gives its number of problems.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use serde_json::Value;
use wasmtime_wasi_http::io::TokioIo;

use crate::config::Config;

/// The checks of `engine/supervisor.rs`, in the order they print.
const CHECKS: [&str; 6] = [
    "database",
    "manifest",
    "bot",
    "queue",
    "parked_events",
    "timers",
];

/// A probe that hangs is a failed probe.
const TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn health(
    config: &Config,
    url: Option<String>,
    item: Option<String>,
) -> anyhow::Result<ExitCode> {
    if let Some(item) = &item
        && item != "status"
        && !CHECKS.contains(&item.as_str())
    {
        bail!(
            "unknown item {item:?}: status, or one of {}",
            CHECKS.join(", ")
        );
    }
    let base = url.unwrap_or_else(|| default_url(config));
    let answer = tokio::time::timeout(TIMEOUT, readyz(&base)).await;
    let body = match answer {
        Ok(Ok(body)) => body,
        Ok(Err(e)) => return Ok(unreachable(&base, &format!("{e:#}"), item.as_deref())),
        Err(_) => return Ok(unreachable(&base, "no answer in 5 s", item.as_deref())),
    };
    let problems = body["problems"].as_array().cloned().unwrap_or_default();
    let ready = body["status"] == "ready";
    if let Some(item) = item {
        let value = match item.as_str() {
            "status" => u64::from(!ready),
            check => problems.iter().filter(|p| p["check"] == check).count() as u64,
        };
        println!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", lines(&body));
    Ok(if ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The report as lines: each check, then the warnings, then the status.
fn lines(body: &Value) -> String {
    let empty = Vec::new();
    let problems = body["problems"].as_array().unwrap_or(&empty);
    let mut out = String::new();
    for check in CHECKS {
        let mine: Vec<_> = problems.iter().filter(|p| p["check"] == check).collect();
        if mine.is_empty() {
            out += &format!("{check}: ok\n");
        }
        for p in mine {
            out += &format!("{check}: PROBLEM {}\n", describe(p));
        }
    }
    for w in body["warnings"].as_array().unwrap_or(&empty) {
        let check = w["check"].as_str().unwrap_or("other");
        out += &format!("{check}: WARNING {}\n", describe(w));
    }
    let status = body["status"].as_str().unwrap_or("unknown");
    let node = body["node"].as_str().unwrap_or("?");
    out += &format!("status: {status} (node {node})\n");
    out
}

fn describe(problem: &Value) -> String {
    let detail = problem["detail"].as_str().unwrap_or("");
    match problem["subject"].as_str() {
        Some(subject) => format!("{subject}: {detail}"),
        None => detail.to_string(),
    }
}

fn unreachable(base: &str, why: &str, item: Option<&str>) -> ExitCode {
    match item {
        Some("status") => println!("2"),
        // A check cannot be counted: no number rather than a false 0.
        Some(_) => println!("ZBX_NOTSUPPORTED: the server at {base} does not answer"),
        None => println!("status: unreachable: {base}/readyz: {why}"),
    }
    if item.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// The configured listen address, on loopback when it is a wildcard.
fn default_url(config: &Config) -> String {
    let mut addr = config.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}")
}

/// GET `{base}/readyz` over plain HTTP/1.1; its JSON body, whatever the
/// status (503 carries the problems).
async fn readyz(base: &str) -> anyhow::Result<Value> {
    let authority = base
        .strip_prefix("http://")
        .context("the URL must start with http:// (run `baton health` beside the server)")?
        .trim_end_matches('/');
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {authority}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let request = http::Request::get("/readyz")
        .header(http::header::HOST, authority)
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    serde_json::from_slice(&body)
        .with_context(|| format!("/readyz answered {status} without a JSON report"))
}
