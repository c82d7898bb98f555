//! `waits`: lateness of simultaneous waits (`wake_p50_late_ms`,
//! `wake_p99_late_ms`), and memory with a million pending ones
//! (`waits_1m_rss_mb`, over the same server's empty baseline).

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
print(f"{n} {late[n // 2]} {late[min(n - 1, int(n * 0.99))]} {late[-1]}")
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

pub(super) fn waits(root: &Path, fixtures: &Path, quick: bool) -> anyhow::Result<()> {
    let (storm, pending) = if quick {
        (2_000, 100_000)
    } else {
        (10_000, 1_000_000)
    };
    wake_storm(root, fixtures, storm)?;
    pending_memory(root, fixtures, pending)
}

/// `n` waits due at one instant: how late they wake.
fn wake_storm(root: &Path, fixtures: &Path, n: u32) -> anyhow::Result<()> {
    let dir = scratch(root, "waits")?;
    copy_files(fixtures, &dir.join("bots"))?;
    let server = Server::start(root, &dir, "")?;
    // Far enough ahead that every wait is set before it falls due.
    let due = now_ms() + i64::from(n) * 12 + 10_000;
    let started = Instant::now();
    for _ in 0..n {
        server.create("waiter", "job", json!({"mode": "until", "at": due}))?;
    }
    let set = started.elapsed().as_secs_f64();
    println!("{n} waits set in {set:.1} s (each a POST and a bot invocation)");
    if now_ms() >= due {
        println!("waits: WARNING: the waits were not all set before they fell due");
    }
    while now_ms() < due + 1_000 {
        std::thread::sleep(Duration::from_millis(200));
    }
    // Wait for the queue to drain: the last ticket closed.
    let db = dir.join("baton.db").display().to_string();
    let draining = Instant::now();
    loop {
        let open = python(&[
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT COUNT(*) FROM tickets WHERE metaservice = 'waiter' AND status = 'open'\").fetchone()[0])",
            &db,
        ])?;
        if open == "0" || draining.elapsed() > Duration::from_secs(300) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let figures = python(&["-c", LATENESS, &db, &due.to_string()])?;
    let parts: Vec<&str> = figures.split_whitespace().collect();
    let [woke, p50, p99, max] = parts[..] else {
        bail!("unexpected lateness figures {figures:?}");
    };
    println!("wake_count: {woke} of {n} waits due at one instant");
    println!("wake_p50_late_ms: {p50} ms");
    println!("wake_p99_late_ms: {p99} ms");
    println!("wake_max_late_ms: {max} ms");
    Ok(())
}

/// The server's resident memory with no pending wait and with `n`
/// (seeded straight into the database), after a few polls.
fn pending_memory(root: &Path, fixtures: &Path, n: u32) -> anyhow::Result<()> {
    let mut rss = Vec::new();
    for count in [0u32, n] {
        let dir = scratch(root, &format!("timers-{count}"))?;
        copy_files(fixtures, &dir.join("bots"))?;
        let server = Server::start(root, &dir, "")?;
        drop(server);
        if count > 0 {
            python(&[
                "-c",
                MANY_TIMERS,
                &dir.join("baton.db").display().to_string(),
                &count.to_string(),
            ])?;
        }
        let server = Server::start(root, &dir, "poll_interval_ms = 250\n")?;
        // Let it poll the timers a few times.
        std::thread::sleep(Duration::from_secs(5));
        let kib = server.rss_kib()?;
        println!("host RSS with {count} pending waits: {kib} KiB");
        rss.push(kib as f64);
    }
    let label = if n == 1_000_000 {
        "1m".to_string()
    } else {
        format!("{}k", n / 1_000)
    };
    println!(
        "waits_{label}_rss_mb: {:.1} MB over the empty baseline",
        (rss[1] - rss[0]) / 1024.0
    );
    Ok(())
}
