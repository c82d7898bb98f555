//! `api`: reads over 100,000 tickets, driven by `wrk`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::json;

use super::{Server, TOKEN, copy_files, scratch};
use crate::http::request;

const SEED: &str = r#"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n, alice, others = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
meta = json.dumps({"wca_id": "2012SMIT01", "changes": {"dob": {"old": "1990-01-01", "new": "1990-01-02"}}})
start = db.execute("SELECT next_value FROM id_sequences WHERE name = 'tickets'").fetchone()[0]
with db:
    for i in range(n):
        tid = start + i
        owner = alice if i % 100 == 0 else others
        db.execute("INSERT INTO tickets (id, metaservice, ticket_type, title, state_code, status, metadata, "
                   "created_by_kind, created_by_user, created_at, updated_at, version) "
                   "VALUES (?, 'wca', 'edit_person', ?, 2, 'open', ?, 'user', ?, ?, ?, 1)",
                   (tid, f"ticket {tid}", meta, owner, 1700000000000 + i, 1700000000000 + i))
        db.execute("INSERT INTO ticket_stakeholders (ticket_id, principal_kind, user_id, connection, role, "
                   "is_active, created_at) VALUES (?, 'user', ?, 'cc', 'requester', 1, 0)", (tid, owner))
        # On its state's proceeded list, so that the bot's sweep on load
        # does not queue 100,000 invocations that would run beside wrk.
        db.execute("INSERT INTO proceeded (ticket_id, state_code, at) VALUES (?, 2, 0)", (tid,))
    db.execute("UPDATE id_sequences SET next_value = ? WHERE name = 'tickets'", (start + n,))
"#;

const RANDOM_TICKET: &str = r#"
local token = os.getenv("BENCH_TOKEN")
request = function()
  return wrk.format("GET", "/api/v1/tickets/" .. math.random(1, 100000), { ["Authorization"] = "Bearer " .. token })
end
"#;

fn ensure_wrk() -> anyhow::Result<()> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    for args in [&["update"][..], &["install", "-y", "wrk"][..]] {
        let status = Command::new("apt-get")
            .args(args)
            .status()
            .context("running apt-get (to install wrk)")?;
        if !status.success() {
            bail!("apt-get {} failed", args.join(" "));
        }
    }
    Ok(())
}

/// What one wrk run measures: the figure's name, a description, and how
/// long it runs.
struct Load<'a> {
    name: &'a str,
    label: &'a str,
    seconds: u32,
}

fn wrk(addr: &str, token: &str, target: &[&str], load: &Load) -> anyhow::Result<()> {
    let duration = format!("{}s", load.seconds);
    let out = Command::new("wrk")
        .args([
            "--threads",
            "2",
            "--connections",
            "32",
            "--duration",
            &duration,
            "--latency",
        ])
        .args(target)
        .env("BENCH_TOKEN", token)
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let pick = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .map(str::trim)
            .unwrap_or("?")
            .to_string()
    };
    let rps = pick("Requests/sec:");
    println!(
        "{} (wrk, 2 threads, 32 connections, {} s, {addr}): {rps} | p50 {} | p99 {} | non-2xx: {}",
        load.label,
        load.seconds,
        pick("50%"),
        pick("99%"),
        pick("Non-2xx")
            .trim_start_matches("Non-2xx or 3xx responses:")
            .trim()
    );
    let value = rps.trim_start_matches("Requests/sec:").trim();
    println!("{}: {value} req/s", load.name);
    Ok(())
}

pub(super) fn api(root: &Path, examples: &Path, quick: bool) -> anyhow::Result<()> {
    let seconds = if quick { 5 } else { 15 };
    ensure_wrk()?;
    let dir = scratch(root, "api")?;
    copy_files(examples, &dir.join("bots"))?;
    let token = TOKEN;
    let server = Server::start(root, &dir, "")?;
    let (_, alice) = request(
        &server.addr,
        TOKEN,
        "POST",
        "/api/v1/users",
        Some(&json!({"login": "alice", "name": "Alice"})),
    )?;
    let (_, bob) = request(
        &server.addr,
        TOKEN,
        "POST",
        "/api/v1/users",
        Some(&json!({"login": "bob", "name": "Bob"})),
    )?;
    let alice_id = alice["id"].as_i64().context("alice")?;
    let (_, alice_token) = request(
        &server.addr,
        TOKEN,
        "POST",
        &format!("/api/v1/users/{alice_id}/tokens"),
        Some(&json!({"name": "bench"})),
    )?;
    let alice_token = alice_token["token"]
        .as_str()
        .context("alice's token")?
        .to_string();
    drop(server);

    let seeded = Instant::now();
    let status = Command::new("python3")
        .args(["-c", SEED])
        .arg(dir.join("baton.db"))
        .args([
            "100000",
            &alice_id.to_string(),
            &bob["id"].as_i64().unwrap_or(2).to_string(),
        ])
        .status()
        .context("running python3 to seed the database")?;
    if !status.success() {
        bail!("seeding failed");
    }
    println!(
        "seeded 100000 tickets (1000 of them alice's) in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );

    let server = Server::start(root, &dir, "")?;
    let script = dir.join("random-ticket.lua");
    std::fs::write(&script, RANDOM_TICKET)?;
    let base = format!("http://{}", server.addr);
    wrk(
        &server.addr,
        token,
        &["--script", &script.display().to_string(), &base],
        &Load {
            name: "get_ticket_rps",
            label: "GET /api/v1/tickets/{random id} as admin",
            seconds,
        },
    )?;
    let mine = format!("{base}/api/v1/tickets?mine=true");
    let header = format!("Authorization: Bearer {alice_token}");
    wrk(
        &server.addr,
        &alice_token,
        &["--header", &header, &mine],
        &Load {
            name: "list_mine_rps",
            label: "GET /api/v1/tickets?mine=true as alice (50 of her 1000)",
            seconds,
        },
    )?;
    Ok(())
}
