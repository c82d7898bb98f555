//! `throughput`: tickets streamed through the four-state `stepper` fixture
//! (three bot steps, each a log row and a move, every commit durable),
//! read against the SQLite floor of the same run.
//!
//! - `sqlite_transitions_per_s`: a backlog seeded into the SQLite file
//!   while the server is stopped (enough for 25,000 transitions/s), drained;
//!   counted afterwards from the `state_changed` rows' timestamps (server
//!   clock) after a warm-up. `sqlite_transitions_vs_floor`: that rate over
//!   `sqlite_floor_grouped64_per_s`.
//! - `reload_median_ms`, `reload_dip_pct`: during the same drain,
//!   `stepper-flow-2-b.wasm` is replaced five times by new bytes (a custom
//!   section appended: same behaviour, a cold compile): rename to new sha256
//!   in `GET /api/v1/bots`, and how much lower the rate was from a second
//!   before the rename to a second after serving than the steady rate.
//! - `event_to_bot_p50_ms`, `event_to_bot_p99_ms`: a fresh server, tickets
//!   posted at half the load (rate ÷ 6 tickets/s, three transitions
//!   each) by one polling thread on kept-alive connections (`arrivals.rs`;
//!   until 2026-12-07 a connection per ticket, then 32 blocked threads;
//!   BENCHMARKS.md has all three); per bot step, from its ticket entering
//!   the state (the `created` or `state_changed` row) to the step's log
//!   row; also the p99 of each of the three steps apart (the first's
//!   event comes from the API's commit). `BATON_BENCH_TICKETS_PER_S` sets
//!   the load instead, to compare builds at one load.
//!
//! `BATON_BENCH_ENGINE` adds lines to both servers' `[engine]` (e.g.
//! `per_bot_concurrency = 32`), to compare settings without a rebuild.
//!
//! Each run ends by checking that every ticket has exactly the step logs and
//! moves of the states it passed, and none is left without its event.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use super::arrivals::{self, MAX_CONNECTIONS, arrivals};
use super::waits::python;
use super::{Server, cpu, floor, percentile, scratch};

/// Extra `[engine]` lines from `BATON_BENCH_ENGINE` (see the module docs).
fn engine() -> String {
    std::env::var("BATON_BENCH_ENGINE").unwrap_or_default()
}

/// The fixture's files: its manifest and one bot per non-terminal state.
pub(super) const STEPPER: [&str; 4] = [
    "stepper.metaservice.toml",
    "stepper-flow-1-a.wasm",
    "stepper-flow-2-b.wasm",
    "stepper-flow-3-c.wasm",
];
/// The bot replaced under load.
const SWAPPED: &str = "stepper-flow-2-b";
/// The highest rate the backlog is sized for, in transitions per second.
const MAX_RATE: f64 = 25_000.0;
const RELOADS: usize = 5;

/// What a created ticket has: its row, its requester, its `created` log and
/// its `entered` event (whose `bot` key the migration's trigger fills).
const SEED: &str = r#"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
n, now = int(sys.argv[2]), int(sys.argv[3])
admin = db.execute("SELECT id FROM users WHERE is_admin = 1 ORDER BY id LIMIT 1").fetchone()[0]
start = db.execute("SELECT next_value FROM id_sequences WHERE name = 'tickets'").fetchone()[0]
ids = (start, start + n)
db.execute("BEGIN")
db.execute("WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?) "
           "INSERT INTO tickets (id, metaservice, ticket_type, title, state_code, status, metadata, "
           "created_by_kind, created_by_user, created_at, updated_at, version) "
           "SELECT ? + i, 'stepper', 'flow', 'backlog', 1, 'open', '{}', 'user', ?, ?, ?, 1 FROM s",
           (n, start, admin, now, now))
db.execute("INSERT INTO ticket_stakeholders (ticket_id, principal_kind, user_id, connection, role, "
           "is_active, created_at) SELECT id, 'user', ?, 'cc', 'requester', 1, ? FROM tickets "
           "WHERE id >= ? AND id < ?", (admin, now) + ids)
db.execute("INSERT INTO ticket_logs (ticket_id, actor_kind, actor_user, action, to_state, message, "
           "created_at) SELECT id, 'user', ?, 'created', 1, 'created by user ' || ? || ' in state 1 a', ? "
           "FROM tickets WHERE id >= ? AND id < ?", (admin, admin, now) + ids)
db.execute("INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at) "
           "SELECT id, 1, 'entered', '{}', ?, ? FROM tickets WHERE id >= ? AND id < ? ORDER BY id",
           (now, now) + ids)
db.execute("UPDATE id_sequences SET next_value = ? WHERE name = 'tickets'", (start + n,))
db.execute("COMMIT")
unkeyed = db.execute("SELECT COUNT(*) FROM events WHERE bot IS NULL").fetchone()[0]
if unkeyed: sys.exit(f"{unkeyed} events have no bot key")
print(start)
"#;

/// Transitions per second in `[t0, t1)` (mean, slowest and fastest whole
/// second), then in each window `from,to` widened by a second either side.
const RATES: &str = r#"
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
t0, t1 = int(sys.argv[2]), int(sys.argv[3])
b = dict(db.execute("SELECT created_at / 100, COUNT(*) FROM ticket_logs "
                    "WHERE action = 'state_changed' AND created_at >= ? GROUP BY 1", (t0,)))
def rate(a, z): return sum(b.get(k, 0) for k in range(a // 100, z // 100)) * 1000 / max(z - a, 1)
secs = [rate(t, t + 1000) for t in range(t0, t1 - 999, 1000)] or [0]
print(f"{rate(t0, t1):.1f} {min(secs):.1f} {max(secs):.1f}")
for w in sys.argv[4:]:
    a, z = map(int, w.split(","))
    print(f"{rate(a - 1000, z + 1000):.1f}")
"#;

/// Every stepper ticket against its state: finished, moving, untouched,
/// then parked events, other tickets (error tickets), open tickets with no
/// event, closed ones with events left, and the inconsistent ones.
const CHECK: &str = r#"
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
counts, bad = [0, 0, 0], []
for tid, state, status, steps, distinct, moves in db.execute(
        "SELECT t.id, t.state_code, t.status, SUM(l.action = 'log' AND l.message LIKE 'step %'), "
        "COUNT(DISTINCT CASE WHEN l.action = 'log' THEN l.message END), SUM(l.action = 'state_changed') "
        "FROM tickets t JOIN ticket_logs l ON l.ticket_id = t.id WHERE t.metaservice = 'stepper' GROUP BY t.id"):
    want = state - 1
    if steps != want or distinct != want or moves != want or (state == 4) != (status == 'closed'):
        bad.append(tid)
    else:
        counts[0 if state == 4 else 2 if state == 1 else 1] += 1
one = lambda sql: db.execute(sql).fetchone()[0]
parked = one("SELECT COUNT(*) FROM events WHERE status = 'parked'")
others = one("SELECT COUNT(*) FROM tickets WHERE metaservice <> 'stepper'")
stranded = one("SELECT COUNT(*) FROM tickets t WHERE t.status = 'open' AND t.metaservice = 'stepper' "
               "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = t.id)")
leftover = one("SELECT COUNT(*) FROM events e JOIN tickets t ON t.id = e.ticket_id WHERE t.status = 'closed'")
print(*counts, parked, others, stranded, leftover, len(bad), *bad[:10])
"#;

/// For each bot step of the tickets created from `since` on: the time from
/// its ticket entering the state to the step; count, p50, p99, max.
const DELAYS: &str = r#"
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
due, d, by_step, steps, since = {}, [], ([], [], []), [], int(sys.argv[2])
for tid, action, msg, at in db.execute(
        "SELECT l.ticket_id, l.action, l.message, l.created_at FROM ticket_logs l JOIN tickets t "
        "ON t.id = l.ticket_id WHERE t.metaservice = 'stepper' AND t.created_at >= ? "
        "ORDER BY l.ticket_id, l.id", (int(sys.argv[2]),)):
    if action in ('created', 'state_changed'):
        due[tid] = (at, 0 if action == 'created' else due.get(tid, (0, 2))[1] + 1)
    elif action == 'log' and msg.startswith('step ') and tid in due:
        d.append(at - due[tid][0])
        steps.append((due[tid][0], at - due[tid][0]))
        if due[tid][1] < 3: by_step[due[tid][1]].append(at - due[tid][0])
def p99(v):
    v.sort()
    return v[min(len(v) - 1, int(len(v) * 0.99))] if v else -1
d.sort()
n = len(d)
print(n, *(d[min(n - 1, int(n * p))] for p in (0.5, 0.99, 1.0)) if n else (-1, -1, -1), *(p99(v) for v in by_step))
secs = {}
for entered, delay in steps:
    secs.setdefault((entered - since) // 1000, []).append((entered, delay))
worst = max(secs, key=lambda k: p99([x[1] for x in secs[k]]), default=None)
if worst is not None:
    print("p99 by second:", ", ".join(f"{k} {p99([x[1] for x in secs[k]])}" for k in sorted(secs)))
    tenths = {}
    for entered, delay in secs[worst]:
        tenths.setdefault((entered - since) // 100 % 10, []).append(delay)
    print(f"second {worst} by 100 ms of entering (tenth, steps, p50, max):", "; ".join(
        f"{t} {len(v)} {sorted(v)[len(v) // 2]} {max(v)}" for t, v in sorted(tenths.items())))
"#;

const OPEN: &str = "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT COUNT(*) FROM tickets WHERE metaservice = 'stepper' AND status = 'open'\").fetchone()[0])";

const SHA256: &str =
    "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())";

/// How long each phase runs.
struct Plan {
    floor_s: f64,
    warmup: Duration,
    steady: Duration,
    /// Between reloads, and after the last.
    gap: Duration,
    arrivals: Duration,
    /// Tickets created this early in the latency run are not counted.
    arrivals_warmup: Duration,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        let s = Duration::from_secs;
        let (floor_s, warmup, steady, gap, arrivals, arrivals_warmup) = if quick {
            (3.0, s(3), s(10), s(3), s(8), s(1))
        } else {
            (10.0, s(10), s(60), s(5), s(30), s(2))
        };
        Plan {
            floor_s,
            warmup,
            steady,
            gap,
            arrivals,
            arrivals_warmup,
        }
    }

    /// Tickets enough for the whole drain at [`MAX_RATE`], three
    /// transitions each (a reload is counted as a second, plus slack).
    fn backlog(&self) -> u64 {
        let reloads = (self.gap + Duration::from_secs(1)) * RELOADS as u32 + self.gap;
        let secs = (self.warmup + self.steady + reloads).as_secs_f64() + 10.0;
        (MAX_RATE * secs / 3.0).ceil() as u64
    }
}

pub(super) fn throughput(root: &Path, fixtures: &Path, quick: bool) -> anyhow::Result<()> {
    let plan = Plan::new(quick);
    let (_, grouped) = floor::floor(root, plan.floor_s)?;
    let rate = drain(root, fixtures, &plan, grouped)?;
    latency(root, fixtures, &plan, rate)
}

pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A scratch directory with the stepper fixture only.
pub(super) fn deploy(
    root: &Path,
    fixtures: &Path,
    name: &str,
) -> anyhow::Result<std::path::PathBuf> {
    let dir = scratch(root, name)?;
    for file in STEPPER {
        std::fs::copy(fixtures.join(file), dir.join("bots").join(file))
            .with_context(|| format!("copying {file}"))?;
    }
    Ok(dir)
}

fn numbers(text: &str) -> Vec<f64> {
    text.split_whitespace()
        .map(|v| v.parse().unwrap_or(f64::NAN))
        .collect()
}

/// The backlog drained: returns the steady rate in transitions/s.
fn drain(root: &Path, fixtures: &Path, plan: &Plan, grouped: f64) -> anyhow::Result<f64> {
    let dir = deploy(root, fixtures, "throughput")?;
    let db = dir.join("baton.db").display().to_string();
    // The schema, the catalog and the administrator.
    drop(Server::start(root, &dir, "")?);
    let n = plan.backlog();
    let seeding = Instant::now();
    let seeded = python(&["-c", SEED, &db, &n.to_string(), &now_ms().to_string()])?;
    let first: i64 = seeded.parse().context("the seed's first ticket")?;
    println!(
        "throughput: seeded {n} stepper tickets in state 1 (enough for 25000 transitions/s) in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let server = Server::start(root, &dir, &engine())?;
    let started = Instant::now();
    while server.ticket(first)?["state"]["code"].as_i64().unwrap_or(1) <= 1 {
        if started.elapsed() > Duration::from_secs(120) {
            bail!("the first backlog ticket did not move within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let first_move = started.elapsed().as_secs_f64();
    std::thread::sleep(plan.warmup);
    let t0 = now_ms();
    std::thread::sleep(plan.steady);
    let t1 = now_ms();
    let reloads = reloads(&server, fixtures, &dir, plan)?;
    let log = server.log();
    drop(server);

    let windows: Vec<String> = reloads.iter().map(|r| format!("{},{}", r.0, r.1)).collect();
    let mut args = vec!["-c", RATES, &db];
    let (t0, t1) = (t0.to_string(), t1.to_string());
    args.extend([t0.as_str(), t1.as_str()]);
    args.extend(windows.iter().map(String::as_str));
    let rates = numbers(&python(&args)?);
    if rates.len() != 3 + reloads.len() {
        bail!("the rate analysis printed {rates:?}");
    }
    let (steady, slowest, fastest) = (rates[0], rates[1], rates[2]);
    println!("sqlite_transitions_per_s: {steady:.0} transitions/s");
    println!("sqlite_transitions_vs_floor: {:.3} x", steady / grouped);
    println!(
        "throughput: {:.0} s steady after a {:.0} s warm-up (first move {first_move:.1} s after start); whole seconds from {slowest:.0} to {fastest:.0} transitions/s",
        plan.steady.as_secs_f64(),
        plan.warmup.as_secs_f64()
    );
    report_reloads(&reloads, &rates[3..], steady);
    check(&db, true)?;
    server_log(&log);
    Ok(steady)
}

/// Landed and served (server-clock ms) and the time between, per reload.
type Reload = (i64, i64, f64);

fn report_reloads(reloads: &[Reload], around: &[f64], steady: f64) {
    let mut times: Vec<f64> = reloads.iter().map(|r| r.2).collect();
    times.sort_by(f64::total_cmp);
    let dips: Vec<f64> = around.iter().map(|r| (1.0 - r / steady) * 100.0).collect();
    let mean = dips.iter().sum::<f64>() / dips.len().max(1) as f64;
    println!("reload_median_ms: {:.0} ms", percentile(&times, 50.0));
    println!("reload_dip_pct: {mean:.1} %");
    let each: Vec<String> = times.iter().map(|t| format!("{t:.0}")).collect();
    let dip_each: Vec<String> = dips.iter().map(|d| format!("{d:.1}")).collect();
    println!(
        "reload: {SWAPPED} replaced {} times under load; ms each (sorted): {}; dip % each (from 1 s before the rename to 1 s after serving, vs steady): {}",
        reloads.len(),
        each.join(", "),
        dip_each.join(", ")
    );
}

/// Appends a custom section (id 0): valid anywhere in a component, and
/// without effect on what it does.
fn with_custom_section(wasm: &[u8], name: &str, payload: &[u8]) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut body = Vec::new();
    leb128(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    let mut out = wasm.to_vec();
    out.push(0);
    leb128(body.len(), &mut out);
    out.extend(body);
    out
}

/// Replaces [`SWAPPED`] [`RELOADS`] times, each with new bytes, waiting
/// for the new version (its sha256) to serve.
fn reloads(
    server: &Server,
    fixtures: &Path,
    dir: &Path,
    plan: &Plan,
) -> anyhow::Result<Vec<Reload>> {
    let original = std::fs::read(fixtures.join(format!("{SWAPPED}.wasm")))?;
    let tmp = dir.join("bots").join(".incoming");
    let target = dir.join("bots").join(format!("{SWAPPED}.wasm"));
    let mut out = Vec::new();
    for i in 0..RELOADS {
        let payload = format!("bench reload {i} at {}", now_ms());
        std::fs::write(
            &tmp,
            with_custom_section(&original, "baton-bench", payload.as_bytes()),
        )?;
        let sha = python(&["-c", SHA256, &tmp.display().to_string()])?;
        std::thread::sleep(plan.gap);
        let (landed, landed_ms) = (Instant::now(), now_ms());
        std::fs::rename(&tmp, &target)?;
        loop {
            let bot = server.bot(SWAPPED)?;
            if bot["version"] == sha.as_str() {
                if bot["status"] != "running" {
                    println!(
                        "reload: WARNING: version {i} serves with status {}",
                        bot["status"]
                    );
                }
                break;
            }
            if bot["status"] == "refused" || landed.elapsed() > Duration::from_secs(30) {
                bail!("version {i} of {SWAPPED} did not serve: {bot}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        out.push((landed_ms, now_ms(), landed.elapsed().as_secs_f64() * 1000.0));
    }
    std::thread::sleep(plan.gap);
    Ok(out)
}

/// Every ticket has exactly the steps and moves of the states it passed;
/// `backlog`: some should be left in state 1.
fn check(db: &str, backlog: bool) -> anyhow::Result<()> {
    let c = numbers(&python(&["-c", CHECK, db])?);
    let label = if backlog {
        "throughput"
    } else {
        "event_to_bot"
    };
    if c.len() < 8 {
        bail!("the ticket check printed {c:?}");
    }
    println!(
        "{label}: tickets finished {}, between states {}, still in state 1 {}; parked events {}, other tickets {}, open tickets without an event {}, closed with events {}",
        c[0], c[1], c[2], c[3], c[4], c[5], c[6]
    );
    if c[7] > 0.0 {
        println!(
            "{label}: WARNING: {} tickets do not have exactly one step log and one move per state passed (first: {:?})",
            c[7],
            c[8..].iter().map(|v| *v as i64).collect::<Vec<_>>()
        );
    }
    if backlog && c[2] == 0.0 {
        println!("throughput: WARNING: the backlog ran out before the end; the rate may be low");
    }
    if c[3] + c[4] + c[5] + c[6] > 0.0 {
        println!("{label}: WARNING: parked events, error tickets or stranded tickets (above)");
    }
    Ok(())
}

/// Warnings and errors the server logged, counted, with the first few.
fn server_log(log: &str) {
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    println!("server log: {} warning or error lines", bad.len());
    for line in bad.iter().take(5) {
        println!("  {}", line.chars().take(300).collect::<String>());
    }
}

/// Half the measured load on a fresh server, through the API.
fn latency(root: &Path, fixtures: &Path, plan: &Plan, rate: f64) -> anyhow::Result<()> {
    let measured = rate.is_finite() && rate > 0.0;
    // Half the transitions, three to a ticket; builds are compared at one
    // load with `BATON_BENCH_TICKETS_PER_S`, since half of each build's own
    // drain rate is a different load each time.
    let fixed = arrivals::rate_from_env("BATON_BENCH_TICKETS_PER_S")?;
    let target = match fixed {
        Some(per_s) => per_s,
        None if measured => rate / 6.0,
        None => 100.0,
    };
    if !measured && fixed.is_none() {
        println!("event_to_bot: no rate was measured; posting 100 tickets/s instead");
    }
    let dir = deploy(root, fixtures, "latency")?;
    let db = dir.join("baton.db").display().to_string();
    let server = Server::start(root, &dir, &engine())?;
    // The bots loaded and compiled: one ticket through.
    let first = server.create("stepper", "flow", json!({}))?;
    let started = Instant::now();
    while server.ticket(first)?["status"] != "closed" {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the first ticket did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let since = now_ms() + plan.arrivals_warmup.as_millis() as i64;
    let cpu0 = cpu::Sample::take(&[server.pid()], None);
    let (sent, failed, secs) = arrivals(&server.addr, target, plan.arrivals);
    let cpu = cpu0.until(&cpu::Sample::take(&[server.pid()], None));
    let achieved = sent as f64 / secs;
    let drained = Instant::now();
    while python(&["-c", OPEN, &db])? != "0" {
        if drained.elapsed() > Duration::from_secs(120) {
            println!("event_to_bot: WARNING: tickets still open 120 s after the last arrival");
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let log = server.log();
    drop(server);
    let delays = python(&["-c", DELAYS, &db, &since.to_string()])?;
    let mut lines = delays.lines();
    let d = numbers(lines.next().unwrap_or_default());
    if d.len() < 4 {
        bail!("the delay analysis printed {d:?}");
    }
    println!("event_to_bot_arrival_per_s: {achieved:.0} tickets/s");
    println!("event_to_bot_p50_ms: {:.0} ms", d[1]);
    println!("event_to_bot_p99_ms: {:.0} ms", d[2]);
    // "nodes" is the server; "client" this process (its posting thread).
    println!("event_to_bot_cpu: {}", cpu.describe());
    // The first step's event comes from the API's commit, the others from
    // the step before: their tails have differed (BENCHMARKS.md).
    if let [first, second, third] = d[4..] {
        println!(
            "event_to_bot: p99 by step: first {first:.0} ms, second {second:.0} ms, third {third:.0} ms"
        );
    }
    // By the second in which the steps' tickets entered their state, and
    // the slowest second by the tenth: one stall, or a queue.
    for line in lines {
        println!("event_to_bot: {line}");
    }
    let how = match fixed {
        Some(_) => "set by BATON_BENCH_TICKETS_PER_S".to_string(),
        None => format!("half of {rate:.0} transitions/s, 3 per ticket"),
    };
    println!(
        "event_to_bot: target {target:.0} tickets/s ({how}), one client thread with up to {MAX_CONNECTIONS} connections, {:.0} s; {} bot steps of the tickets created after the first {:.0} s; max {:.0} ms; {failed} POSTs failed",
        plan.arrivals.as_secs_f64(),
        d[0],
        plan.arrivals_warmup.as_secs_f64(),
        d[3]
    );
    if achieved < target * 0.95 {
        println!(
            "event_to_bot: the client reached only {achieved:.0} of the {target:.0} tickets/s asked for"
        );
    }
    check(&db, false)?;
    server_log(&log);
    Ok(())
}
