//! `console`: the weight of the console's ticket page (HTML, stylesheet,
//! script) and the time to render it for a ticket with 1,000 log rows,
//! beside the API's JSON of the same ticket in the same run.
//!
//! The ticket is made through the API (the example `edit_person`, left
//! waiting for the WRT); its 1,000 extra log rows are written straight
//! into the SQLite file by `python3`'s `sqlite3` module while the server is
//! stopped, since 1,000 edits through the API would measure the edits.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use super::{Server, TOKEN, copy_files, scratch};
use crate::http::request;

const PASSWORD: &str = "bench password 0123";

const SEED_LOGS: &str = r#"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ticket, n = int(sys.argv[2]), int(sys.argv[3])
with db:
    for i in range(n):
        db.execute("INSERT INTO ticket_logs (ticket_id, actor_kind, actor_bot, action, message, data, created_at) "
                   "VALUES (?, 'bot', 'wca-edit_person-2-in_review', 'log', ?, ?, ?)",
                   (ticket, f"checked source {i} of the requested change", '{"field": "dob"}', 1700000000000 + i))
"#;

/// One `GET` with a cookie (`Connection: close`): the status line, the
/// body's length in bytes, and the time to the last byte.
fn get(addr: &str, path: &str, cookie: &str) -> anyhow::Result<(String, usize, Duration)> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    );
    stream.write_all(head.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").context("no HTTP response")?;
    let status = head.lines().next().unwrap_or("").to_string();
    Ok((status, body.len(), took))
}

/// Signs `admin` in through the form with `curl` (its cookie jar keeps
/// the sign-in form's cookie); the session cookie as `name=value`.
fn sign_in(addr: &str, dir: &Path) -> anyhow::Result<String> {
    let jar = dir.join("cookies.txt");
    let form = Command::new("curl")
        .args(["-s", "-c"])
        .arg(&jar)
        .arg(format!("http://{addr}/console/sign-in"))
        .output()
        .context("running curl")?;
    let html = String::from_utf8_lossy(&form.stdout);
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("no CSRF token on the sign-in form")?;
    let posted = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-b"])
        .arg(&jar)
        .arg("-c")
        .arg(&jar)
        .args(["--data-urlencode", "login=admin"])
        .args(["--data-urlencode", &format!("password={PASSWORD}")])
        .args(["--data-urlencode", &format!("csrf={csrf}")])
        .args(["--data-urlencode", "next=/console/"])
        .arg(format!("http://{addr}/console/sign-in"))
        .status()?;
    if !posted.success() {
        bail!("signing in failed");
    }
    let cookies = std::fs::read_to_string(&jar)?;
    let value = cookies
        .lines()
        .find(|l| l.contains("baton_session"))
        .and_then(|l| l.split('\t').next_back())
        .context("no session cookie after signing in")?;
    Ok(format!("baton_session={value}"))
}

/// Median and 90th percentile of `n` timed `GET`s, in ms.
fn timed(addr: &str, path: &str, cookie: &str, n: usize) -> anyhow::Result<(f64, f64, usize)> {
    let mut ms = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let (status, len, took) = get(addr, path, cookie)?;
        if !status.contains(" 200 ") {
            bail!("{path}: {status}");
        }
        bytes = len;
        ms.push(took.as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    Ok((ms[n / 2], ms[n * 9 / 10], bytes))
}

pub(super) fn console(root: &Path, examples: &Path, quick: bool) -> anyhow::Result<()> {
    let rounds = if quick { 20 } else { 100 };
    let dir = scratch(root, "console")?;
    copy_files(examples, &dir.join("bots"))?;
    let server = Server::start(root, &dir, "")?;
    let body = json!({"metaservice": "wca", "ticket_type": "edit_person", "title": "My birthday",
        "metadata": {"wca_id": "2012SMIT01", "changes": {"dob": {"old": "1990-01-01", "new": "1990-01-02"}}}});
    let (status, ticket) = request(&server.addr, TOKEN, "POST", "/api/v1/tickets", Some(&body))?;
    if status != 201 {
        bail!("creating the ticket: {status} {ticket}");
    }
    let id = ticket["id"].as_i64().context("the ticket's id")?;
    // Until its bots have moved it to the review.
    let started = Instant::now();
    loop {
        let (_, t) = request(
            &server.addr,
            TOKEN,
            "GET",
            &format!("/api/v1/tickets/{id}"),
            None,
        )?;
        if t["state"]["name"] == "in_review" {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the ticket never reached in_review: {t}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(server);
    let mut child = Command::new(root.join("target/release/baton"))
        .arg("--config")
        .arg(dir.join("baton.toml"))
        .args(["admin", "set-password", "admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("running baton admin set-password")?;
    child
        .stdin
        .take()
        .context("its stdin")?
        .write_all(format!("{PASSWORD}\n").as_bytes())?;
    if !child.wait()?.success() {
        bail!("baton admin set-password failed");
    }

    let server = Server::start(root, &dir, "")?;
    let addr = server.addr.clone();
    let cookie = sign_in(&addr, &dir)?;
    let page = format!("/console/tickets/{id}");
    let (small_ms, _, small_bytes) = timed(&addr, &page, &cookie, rounds)?;
    let (_, _, css) = timed(&addr, "/console/assets/console.css", &cookie, 1)?;
    let (_, _, js) = timed(&addr, "/console/assets/console.js", &cookie, 1)?;
    drop(server);

    let status = Command::new("python3")
        .args(["-c", SEED_LOGS])
        .arg(dir.join("baton.db"))
        .args([&id.to_string(), "1000"])
        .status()
        .context("running python3 to seed the log")?;
    if !status.success() {
        bail!("seeding the log failed");
    }
    let server = Server::start(root, &dir, "")?;
    let addr = server.addr.clone();
    let cookie = sign_in(&addr, &dir)?;
    let (p50, p90, big_bytes) = timed(&addr, &page, &cookie, rounds)?;
    let (api50, _, api_bytes) = timed(&addr, &format!("/api/v1/tickets/{id}"), &cookie, rounds)?;

    let kb = |b: usize| b as f64 / 1024.0;
    println!(
        "ticket page weight (HTML {:.1} KB + CSS {:.1} KB + JS {:.1} KB, uncompressed, a fresh ticket): {:.1} KB",
        kb(small_bytes),
        kb(css),
        kb(js),
        kb(small_bytes + css + js)
    );
    println!(
        "console_ticket_page_kb: {:.1} KB",
        kb(small_bytes + css + js)
    );
    println!(
        "ticket page with 1,000 more log rows: HTML {:.1} KB; GET median {p50:.1} ms, p90 {p90:.1} ms over {rounds} (a fresh ticket's: {small_ms:.1} ms; the API's JSON of the same ticket, {:.1} KB: {api50:.1} ms)",
        kb(big_bytes),
        kb(api_bytes)
    );
    println!("console_ticket_1k_logs_ms: {p50:.1} ms");
    Ok(())
}
