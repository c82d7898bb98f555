//! `waits`: lateness of simultaneous waits, and memory with a million
//! pending ones.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use super::{Server, copy_files, scratch};

const LATENESS: &str = r#"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
due = int(sys.argv[2])
late = sorted(r[0] - due for r in db.execute(
    "SELECT MIN(created_at) FROM ticket_logs WHERE message = 'woke after the wait' GROUP BY ticket_id"))
n = len(late)
if n == 0:
    print("no wake-ups"); sys.exit(1)
print(f"{n} wake-ups; lateness median {late[n // 2]} ms, p99 {late[min(n - 1, int(n * 0.99))]} ms, max {late[-1]} ms")
"#;

const MANY_TIMERS: &str = r#"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = int(sys.argv[2])
start = db.execute("SELECT next_value FROM id_sequences WHERE name = 'tickets'").fetchone()[0]
far = 4102444800000  # 2100-01-01
with db:
    db.executemany("INSERT INTO tickets (id, metaservice, ticket_type, title, state_code, status, metadata, "
                   "created_by_kind, created_at, updated_at) VALUES (?, 'waiter', 'job', 't', 1, 'open', "
                   "'{\"mode\": \"sleep\"}', 'host', 0, 0)", ((start + i,) for i in range(n)))
    db.executemany("INSERT INTO proceeded (ticket_id, state_code, at) VALUES (?, 1, 0)", ((start + i,) for i in range(n)))
    db.executemany("INSERT INTO timers (ticket_id, state_code, kind, due_at, base_at, created_at) "
                   "VALUES (?, 1, 'wait', ?, 0, 0)", ((start + i, far) for i in range(n)))
    db.execute("UPDATE id_sequences SET next_value = ? WHERE name = 'tickets'", (start + n,))
"#;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

pub(super) fn python(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("python3")
        .args(args)
        .output()
        .context("running python3")?;
    if !out.status.success() {
        bail!("python3: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub(super) fn waits(root: &Path, fixtures: &Path) -> anyhow::Result<()> {
    // 10,000 waits due at one instant.
    let dir = scratch(root, "waits")?;
    copy_files(fixtures, &dir.join("bots"))?;
    let server = Server::start(root, &dir, "")?;
    let due = now_ms() + 120_000;
    let started = Instant::now();
    for _ in 0..10_000 {
        server.create("waiter", "job", json!({"mode": "until", "at": due}))?;
    }
    println!(
        "10000 waits set in {:.1} s (each a POST and a bot invocation)",
        started.elapsed().as_secs_f64()
    );
    while now_ms() < due + 1_000 {
        std::thread::sleep(Duration::from_millis(200));
    }
    // Wait for the queue to drain: the last ticket closed.
    let last_started = Instant::now();
    loop {
        let db = dir.join("baton.db").display().to_string();
        let open = python(&[
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT COUNT(*) FROM tickets WHERE metaservice = 'waiter' AND status = 'open'\").fetchone()[0])",
            &db,
        ])?;
        if open == "0" || last_started.elapsed() > Duration::from_secs(300) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let db = dir.join("baton.db").display().to_string();
    println!(
        "10000 waits due at the same instant (poll_interval_ms = 250): {}",
        python(&["-c", LATENESS, &db, &due.to_string()])?
    );
    drop(server);

    // Memory with 0 and with 1,000,000 pending waits.
    for n in [0u32, 1_000_000] {
        let dir = scratch(root, &format!("timers-{n}"))?;
        copy_files(fixtures, &dir.join("bots"))?;
        let server = Server::start(root, &dir, "")?;
        drop(server);
        if n > 0 {
            python(&[
                "-c",
                MANY_TIMERS,
                &dir.join("baton.db").display().to_string(),
                &n.to_string(),
            ])?;
        }
        let server = Server::start(root, &dir, "poll_interval_ms = 250\n")?;
        // Let it poll the timers a few times.
        std::thread::sleep(Duration::from_secs(5));
        println!("host RSS with {n} pending waits: {} KiB", server.rss_kib()?);
    }
    Ok(())
}
