//! `floor`: what the disk allows, measured in the same run as Baton so that
//! every throughput figure can be read as a ratio (absolute numbers on
//! shared machines move from run to run). A plain SQLite loop in WAL mode
//! with `synchronous = FULL` does the four writes of one ticket step —
//! move the ticket (state and version), write its log row, delete the
//! event it consumed, insert the next one — one durable transaction per
//! step, and in groups of 64 steps per transaction.
//!
//! The loop is Python's `sqlite3` module (the same SQLite library a C loop
//! would call); `executemany` keeps the interpreter's share small in the
//! grouped case, and in the single case the fsync dominates.

use std::path::Path;

use super::scratch;
use super::waits::python;

const FLOOR: &str = r#"
import sqlite3, sys, time
path, seconds, group = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA synchronous = FULL")
db.executescript("""
CREATE TABLE tickets (id INTEGER PRIMARY KEY, state_code INTEGER, version INTEGER, updated_at INTEGER);
CREATE TABLE logs (id INTEGER PRIMARY KEY, ticket_id INTEGER, message TEXT, created_at INTEGER);
CREATE TABLE events (id INTEGER PRIMARY KEY, ticket_id INTEGER, state_code INTEGER, payload TEXT);
CREATE INDEX logs_by_ticket ON logs (ticket_id, id);
CREATE INDEX events_by_ticket ON events (ticket_id);
""")
n = 10000
db.execute("BEGIN")
db.executemany("INSERT INTO tickets VALUES (?, 1, 1, 0)", ((i,) for i in range(n)))
db.executemany("INSERT INTO events (ticket_id, state_code, payload) VALUES (?, 1, '{}')", ((i,) for i in range(n)))
db.execute("COMMIT")
steps, start, t = 0, time.perf_counter(), 0
while time.perf_counter() - start < seconds:
    batch = [(t + k) % n for k in range(group)]
    t += group
    db.execute("BEGIN IMMEDIATE")
    db.executemany("UPDATE tickets SET state_code = state_code + 1, version = version + 1, updated_at = 1 WHERE id = ?", ((i,) for i in batch))
    db.executemany("INSERT INTO logs (ticket_id, message, created_at) VALUES (?, 'moved', 1)", ((i,) for i in batch))
    db.executemany("DELETE FROM events WHERE id = (SELECT MIN(id) FROM events WHERE ticket_id = ?)", ((i,) for i in batch))
    db.executemany("INSERT INTO events (ticket_id, state_code, payload) VALUES (?, 2, '{}')", ((i,) for i in batch))
    db.execute("COMMIT")
    steps += group
print(f"{steps / (time.perf_counter() - start):.0f}")
"#;

/// Prints the two floors; `seconds` each.
pub(super) fn floor(root: &Path, seconds: f64) -> anyhow::Result<(f64, f64)> {
    let dir = scratch(root, "floor")?;
    let mut rates = Vec::new();
    for group in [1, 64] {
        let db = dir.join(format!("floor-{group}.db"));
        let _ = std::fs::remove_file(&db);
        let rate: f64 = python(&[
            "-c",
            FLOOR,
            &db.display().to_string(),
            &seconds.to_string(),
            &group.to_string(),
        ])?
        .parse()
        .unwrap_or(f64::NAN);
        rates.push(rate);
    }
    println!("sqlite_floor_single_per_s: {:.0} steps/s", rates[0]);
    println!("sqlite_floor_grouped64_per_s: {:.0} steps/s", rates[1]);
    Ok((rates[0], rates[1]))
}
