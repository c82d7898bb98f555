//! `cargo xtask bench hostile`: each mode of the hostile fixture bot let
//! loose on its own release server beside the well-behaved `wca` bots.
//! For each: whether it was contained (the server answered throughout,
//! every good ticket closed, every hostile ticket settled — closed or
//! parked), the server's resident memory before, at its peak during, and
//! after the attack, and the good bot's median time from `POST` to the
//! terminal state before and during it (server clock).
//!
//! `backlog` is not an attack on the sandbox but 2,000 queued tickets of
//! one bot: how long a good ticket waits behind them is the next issue's
//! (fair dispatch), measured here too.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Server, copy_files, name_fixes, percentile, scratch};

/// Each attack and how many hostile tickets carry it.
const ATTACKS: [(&str, usize); 16] = [
    ("loop", 8),
    ("bomb", 8),
    ("panic", 8),
    ("spam", 8),
    ("sandbox", 8),
    ("ssrf", 8),
    ("walk", 4),
    ("fanout", 20),
    ("chain", 4),
    ("echo", 4),
    ("waits", 8),
    ("big_json", 8),
    ("big_error", 8),
    ("wait_move", 8),
    ("exit", 8),
    ("backlog", 2000),
];

/// The metadata of one hostile ticket; `port` is the server's own, which
/// the SSRF attempt aims at through a listed name.
fn orders(attack: &str, port: &str) -> Value {
    match attack {
        "ssrf" => json!({"do": "http", "url": format!("http://localhost:{port}/api/v1/me")}),
        "walk" => json!({"do": "walk", "n": 200, "group": "wrt"}),
        "fanout" => json!({"do": "fanout", "n": 5}),
        "echo" => json!({"do": "echo", "n": 5000}),
        "waits" => json!({"do": "waits", "n": 5000}),
        "big_json" | "big_error" => json!({"do": attack, "n": 4_000_000}),
        "backlog" => json!({"do": "ok"}),
        other => json!({"do": other}),
    }
}

/// `BATON_BENCH_ONLY=loop` runs one attack; `BATON_BENCH_ENGINE` adds
/// lines to the servers' `[engine]` (e.g. `per_bot_concurrency = 2`), to
/// compare settings without a rebuild.
pub fn hostile(root: &Path, examples: &Path, fixtures: &Path) -> anyhow::Result<()> {
    println!("each attack on its own server; good bot = wca edit_person, 2 invocations");
    let only = std::env::var("BATON_BENCH_ONLY").ok();
    let extra = std::env::var("BATON_BENCH_ENGINE").unwrap_or_default();
    let engine = format!(
        "poll_interval_ms = 50\nmax_attempts = 3\nretry_base_ms = 50\nretry_max_ms = 200\n\
         crash_backoff_ms = 50\ncrash_backoff_max_ms = 200\n{extra}\n"
    );
    for (name, count) in ATTACKS {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let dir = scratch(root, &format!("hostile-{name}"))?;
        copy_files(examples, &dir.join("bots"))?;
        copy_files(fixtures, &dir.join("bots"))?;
        let server = Server::start(root, &dir, &engine)?;
        let port = server.addr.rsplit(':').next().unwrap_or("0").to_string();
        run_attack(&server, name, &orders(name, &port), count)?;
    }
    Ok(())
}

fn run_attack(server: &Server, name: &str, orders: &Value, count: usize) -> anyhow::Result<()> {
    let before = name_fixes(server, 5, Duration::from_secs(120))?;
    let rss_before = server.rss_kib()?;
    let mut hostile = Vec::new();
    for _ in 0..count {
        hostile.push(server.create("hostile", "job", orders.clone())?);
    }
    let mut peak = rss_before;
    let mut during = Vec::new();
    for _ in 0..5 {
        during.extend(name_fixes(server, 1, Duration::from_secs(120))?);
        peak = peak.max(server.rss_kib()?);
    }
    let started = Instant::now();
    let mut contained = true;
    for id in &hostile {
        loop {
            peak = peak.max(server.rss_kib()?);
            let t = server.ticket(*id)?;
            let parked = events_parked(server, *id);
            if t["status"] == "closed" || parked || waiting(name) {
                break;
            }
            if started.elapsed() > Duration::from_secs(120) {
                contained = false;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let rss_after = server.rss_kib()?;
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        percentile(&v, 50.0)
    };
    println!(
        "hostile_{name}: contained={} rss_kib before={rss_before} peak={peak} after={rss_after} \
         good_median_ms before={:.0} during={:.0} (x{:.2})",
        if contained { "yes" } else { "no" },
        med(before.clone()),
        med(during.clone()),
        med(during) / med(before).max(1.0),
    );
    Ok(())
}

/// Modes whose tickets stay open on purpose once contained.
fn waiting(name: &str) -> bool {
    matches!(name, "echo")
}

fn events_parked(server: &Server, id: i64) -> bool {
    let (_, logs) = crate::http::request(
        &server.addr,
        super::TOKEN,
        "GET",
        &format!("/api/v1/tickets/{id}/logs"),
        None,
    )
    .unwrap_or((0, Value::Null));
    logs["items"]
        .as_array()
        .is_some_and(|l| l.iter().any(|x| x["action"] == "error_filed"))
}
