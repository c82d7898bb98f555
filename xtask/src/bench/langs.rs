//! `langs`: the example bots written in Python (`feedback`, componentize-py)
//! and JavaScript (`leave`, componentize-js): each component's size, its
//! first load (compiled) and its load from the compiled-code cache, and
//! the time from `POST /tickets` to the terminal state, by the bot alone
//! (one invocation: a request the bot turns down) and with a person
//! (the bot hands it over; the person accepts and decides: three
//! invocations and three API calls).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::{Server, TOKEN, load_times, millis, scratch, summary};
use crate::http::request;

/// One example: its metaservice, ticket type, a ticket the bot turns down
/// by itself, a ticket that goes to a group, the group, and the action a
/// member then presses.
struct Example {
    language: &'static str,
    metaservice: &'static str,
    ticket_type: &'static str,
    turned_down: fn() -> Value,
    handed_over: fn() -> Value,
    group: &'static str,
    action: &'static str,
}

const EXAMPLES: [Example; 2] = [
    Example {
        language: "python",
        metaservice: "feedback",
        ticket_type: "suggestion",
        turned_down: || json!({"text": " ", "area": "ui"}),
        handed_over: || json!({"text": "Dark mode, please", "area": "ui"}),
        group: "triage",
        action: "implement",
    },
    Example {
        language: "js",
        metaservice: "leave",
        ticket_type: "request",
        turned_down: || json!({"from": "2026-02-30", "to": "2026-03-02", "days": 2}),
        handed_over: || json!({"from": "2026-07-06", "to": "2026-07-10", "days": 5}),
        group: "managers",
        action: "approve",
    },
];

pub(super) fn langs(root: &Path, quick: bool) -> anyhow::Result<()> {
    let built = root.join("target/bench/langs");
    crate::langs::build_and_deploy(root, &root.join("bots"), &built)?;
    let tickets = if quick { 20 } else { 100 };
    for example in &EXAMPLES {
        one(root, &built, example, tickets)?;
    }
    Ok(())
}

fn one(root: &Path, built: &Path, ex: &Example, tickets: usize) -> anyhow::Result<()> {
    let lang = ex.language;
    let dir = scratch(root, &format!("langs-{}", ex.metaservice))?;
    let mut size = 0;
    for entry in std::fs::read_dir(built)?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let ours = name.starts_with(&format!("{}.", ex.metaservice))
            || name.starts_with(&format!("{}-", ex.metaservice))
            || name.ends_with(".schema.json");
        if ours {
            std::fs::copy(entry.path(), dir.join("bots").join(&name))?;
            if name.ends_with(".wasm") {
                size = entry.metadata()?.len();
            }
        }
    }
    println!(
        "{lang}_wasm_bytes: {size} bytes ({:.1} MiB)",
        size as f64 / 1048576.0
    );
    for run in ["first", "cached"] {
        let before = std::fs::read_to_string(dir.join("server.log")).map_or(0, |l| l.len());
        let server = Server::start(root, &dir, "poll_interval_ms = 250\n")?;
        running(&server)?;
        let times = load_times(&server.log()[before..]);
        for (bot, origin, ms) in &times {
            println!("{lang}_{run}_load_ms: {ms:.0} ms ({bot}, {origin})");
        }
    }
    let server = Server::start(root, &dir, "poll_interval_ms = 250\n")?;
    running(&server)?;
    let mut alone = Vec::new();
    for _ in 0..tickets {
        let id = server.create(ex.metaservice, ex.ticket_type, (ex.turned_down)())?;
        let closed = until_closed(&server, id)?;
        if let (Some(a), Some(b)) = (millis(&closed["created_at"]), millis(&closed["closed_at"])) {
            alone.push((b - a) as f64);
        }
    }
    summary(
        &format!("{lang}_post_to_terminal_by_the_bot (1 invocation, server clock)"),
        alone,
        " ms",
    );
    let me = join_group(&server, ex.group)?;
    let mut with_person = Vec::new();
    for _ in 0..tickets.min(50) {
        let started = Instant::now();
        let id = server.create(ex.metaservice, ex.ticket_type, (ex.handed_over)())?;
        handed_to(&server, id, ex.group)?;
        call(
            &server,
            "POST",
            &format!("/api/v1/tickets/{id}/accept"),
            None,
            200,
        )?;
        let action = format!("/api/v1/tickets/{id}/actions/{}", ex.action);
        call(&server, "POST", &action, Some(&json!({})), 202)?;
        until_closed(&server, id)?;
        with_person.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    summary(
        &format!(
            "{lang}_post_to_terminal_with_a_person (3 invocations, user {me} accepts and acts at once, client clock)"
        ),
        with_person,
        " ms",
    );
    Ok(())
}

/// Waits until every bot of the server runs (the first load compiles).
fn running(server: &Server) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let (_, bots) = request(&server.addr, TOKEN, "GET", "/api/v1/bots", None)?;
        let items = bots["items"].as_array().cloned().unwrap_or_default();
        if !items.is_empty() && items.iter().all(|b| b["status"] == "running") {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!("the bots never all ran: {bots}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn until_closed(server: &Server, id: i64) -> anyhow::Result<Value> {
    let started = Instant::now();
    loop {
        let ticket = server.ticket(id)?;
        if ticket["status"] == "closed" {
            return Ok(ticket);
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("ticket {id} did not close: {ticket}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until the bot asked `group` to accept ticket `id`.
fn handed_to(server: &Server, id: i64, group: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let ticket = server.ticket(id)?;
        let asked = ticket["stakeholders"].as_array().is_some_and(|rows| {
            rows.iter()
                .any(|r| r["principal"]["name"] == group && r["connection"] == "assigned")
        });
        if asked {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("ticket {id} was never handed to {group}: {ticket}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Makes `group` with the administrator in it; returns the administrator's id.
fn join_group(server: &Server, group: &str) -> anyhow::Result<i64> {
    let (_, me) = request(&server.addr, TOKEN, "GET", "/api/v1/me", None)?;
    let id = me["id"].as_i64().context("no id in /me")?;
    call(
        server,
        "POST",
        "/api/v1/groups",
        Some(&json!({"name": group})),
        201,
    )?;
    call(
        server,
        "PUT",
        &format!("/api/v1/groups/{group}/members/{id}"),
        None,
        204,
    )?;
    Ok(id)
}

fn call(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<&Value>,
    want: u16,
) -> anyhow::Result<()> {
    let (status, answer) = request(&server.addr, TOKEN, method, path, body)?;
    if status != want {
        bail!("{method} {path}: {status} {answer}");
    }
    Ok(())
}
