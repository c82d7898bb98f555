//! `postgres`: Baton on PostgreSQL, read against `pgbench -N` on the same
//! throwaway cluster (fsync and synchronous_commit on, as deployed).
//!
//! - `pgbench_n_tps_1`, `_8`, `_32`: what the cluster does for 1, 8 and 32
//!   clients of pgbench's simple-update transaction: the floor every
//!   figure below is read against.
//! - `postgres_transitions_per_s_1node`, `_2nodes`, `_3nodes`: a backlog
//!   of stepper tickets (four states, three bot steps, each a log row and
//!   a move) seeded into a fresh database, drained by that many release
//!   `baton serve` processes on it; counted from the `state_changed` rows'
//!   timestamps after a warm-up.
//! - `postgres_failover_s`: during the three-node drain, one node is
//!   killed with SIGKILL; the time until every event it held is consumed
//!   or leased by another node.
//! - `postgres_event_to_bot_p50_ms`, `_p99_ms`: one node, tickets posted
//!   through the API at half its measured rate (or at
//!   `BATON_BENCH_PG_TICKETS_PER_S`, to compare builds at one load); per
//!   bot step, from its ticket entering the state to the step's log row.
//!   `BATON_BENCH_PG_ONLY=latency` runs this phase alone (at the rate
//!   set, else 100 tickets/s), to compare builds in a minute or two.
//!
//! - `postgres_statements_per_transition_1node` (and per node count), and
//!   `postgres_statements_per_ticket` at half load: the statements Baton
//!   sent in the measured window (`pg_stat_statements`, `BEGIN` and
//!   `COMMIT` included), with the most frequent of them; a count, so it
//!   compares across runs where timings move with the machine.
//!
//! - `postgres_cpu_1node` (and per node count, and `_half_load`): where
//!   the machine's cores went in the measured window (the nodes,
//!   PostgreSQL, the rest, idle; `cpu.rs`), and each part per transition:
//!   whether a second node had any CPU left to add.
//!
//! Each drain ends by checking every ticket's logs: its steps and moves
//! exactly once each.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use super::arrivals::{self, arrivals};
use super::throughput::{deploy, now_ms};
use super::{Server, cpu};
use crate::postgres::Cluster;

/// The backlog is sized for this many transitions per second.
const MAX_RATE: f64 = 12_000.0;

/// A backlog of `n` stepper tickets in state 1, each with its requester,
/// its `created` log and its `entered` event (the trigger fills `bot`).
fn seed_sql(n: u64, now: i64) -> String {
    format!(
        "BEGIN; \
         CREATE TEMP TABLE seeded AS SELECT nextval('ticket_ids') AS id FROM generate_series(1, {n}); \
         INSERT INTO tickets (id, metaservice, ticket_type, title, state_code, status, metadata, \
           created_by_kind, created_by_user, created_at, updated_at, version) \
           SELECT id, 'stepper', 'flow', 'backlog', 1, 'open', '{{}}', 'user', \
             (SELECT min(id) FROM users WHERE is_admin), {now}, {now}, 1 FROM seeded; \
         INSERT INTO ticket_stakeholders (ticket_id, principal_kind, user_id, connection, role, \
           is_active, created_at) SELECT id, 'user', (SELECT min(id) FROM users WHERE is_admin), \
           'cc', 'requester', true, {now} FROM seeded; \
         INSERT INTO ticket_logs (ticket_id, actor_kind, actor_user, action, to_state, message, \
           created_at) SELECT id, 'user', (SELECT min(id) FROM users WHERE is_admin), 'created', 1, \
           'created in state 1 a', {now} FROM seeded; \
         INSERT INTO events (ticket_id, state_code, kind, payload, available_at, created_at) \
           SELECT id, 1, 'entered', '{{}}', {now}, {now} FROM seeded ORDER BY id; \
         COMMIT; ANALYZE; SELECT min(id) FROM tickets WHERE metaservice = 'stepper';"
    )
}

/// `n` stepper tickets that went the whole way before the run (closed in
/// state 4, each with its requester and its logs: created, three steps,
/// three moves), then `ANALYZE`: the half-load phase measures a database
/// in use, whose planner statistics describe its tables, not an empty one
/// whose plans were made for no rows and slow down as the tables fill.
fn history_sql(n: u64, now: i64) -> String {
    let admin = "(SELECT min(id) FROM users WHERE is_admin)";
    format!(
        "BEGIN; \
         CREATE TEMP TABLE history AS SELECT nextval('ticket_ids') AS id FROM generate_series(1, {n}); \
         INSERT INTO tickets (id, metaservice, ticket_type, title, state_code, status, metadata, \
           created_by_kind, created_by_user, created_at, updated_at, closed_at, version) \
           SELECT id, 'stepper', 'flow', 'history', 4, 'closed', '{{}}', 'user', {admin}, \
             {now}, {now}, {now}, 4 FROM history; \
         INSERT INTO ticket_stakeholders (ticket_id, principal_kind, user_id, connection, role, \
           is_active, created_at) SELECT id, 'user', {admin}, 'cc', 'requester', true, {now} \
           FROM history; \
         INSERT INTO ticket_logs (ticket_id, actor_kind, actor_user, action, to_state, message, \
           created_at) SELECT id, 'user', {admin}, 'created', 1, 'created in state 1 a', {now} \
           FROM history; \
         INSERT INTO ticket_logs (ticket_id, actor_kind, actor_bot, action, from_state, to_state, \
           message, created_at) \
           SELECT h.id, 'bot', 'stepper', a.action, CASE WHEN a.action = 'state_changed' THEN s END, \
             CASE WHEN a.action = 'state_changed' THEN s + 1 END, \
             CASE WHEN a.action = 'log' THEN 'step ' || s ELSE 'moved' END, {now} \
           FROM history h, generate_series(1, 3) s, (VALUES ('log'), ('state_changed')) a(action) \
           ORDER BY h.id, s, a.action; \
         COMMIT; ANALYZE;"
    )
}

/// Per ticket: its step logs, the distinct ones, and its moves, against
/// its state; prints finished, bad, and events left on closed tickets.
const CHECK: &str = "WITH per AS (SELECT t.id, t.state_code, t.status, \
       count(*) FILTER (WHERE l.action = 'log' AND l.message LIKE 'step %') AS steps, \
       count(DISTINCT l.message) FILTER (WHERE l.action = 'log') AS distinct_steps, \
       count(*) FILTER (WHERE l.action = 'state_changed') AS moves \
     FROM tickets t JOIN ticket_logs l ON l.ticket_id = t.id \
     WHERE t.metaservice = 'stepper' GROUP BY t.id) \
   SELECT count(*) FILTER (WHERE state_code = 4), \
     count(*) FILTER (WHERE steps <> state_code - 1 OR distinct_steps <> state_code - 1 \
       OR moves <> state_code - 1 OR (state_code = 4) <> (status = 'closed')), \
     (SELECT count(*) FROM events e JOIN tickets t ON t.id = e.ticket_id WHERE t.status = 'closed') \
   FROM per";

/// The bot steps of the tickets created from `since` on, each with its
/// delay (`created_at - prev_at`: from its ticket entering the state to
/// the step's log row), as `FROM l WHERE <steps>`; `{select}` picks what
/// is read of them and `{rest}` groups it.
fn steps_sql(since: i64, select: &str, rest: &str) -> String {
    format!(
        "WITH l AS (SELECT l.action, l.message, l.created_at, \
           lag(l.created_at) OVER w AS prev_at, lag(l.action) OVER w AS prev \
         FROM ticket_logs l JOIN tickets t ON t.id = l.ticket_id \
         WHERE t.metaservice = 'stepper' AND t.created_at >= {since} \
         WINDOW w AS (PARTITION BY l.ticket_id ORDER BY l.id)) \
         SELECT {select} FROM l WHERE action = 'log' AND message LIKE 'step %' \
           AND prev IN ('created', 'state_changed') {rest}"
    )
}

/// The step delays' count, p50, p99 and max.
const DELAYS: &str = "count(*), \
     percentile_disc(0.5) WITHIN GROUP (ORDER BY created_at - prev_at), \
     percentile_disc(0.99) WITHIN GROUP (ORDER BY created_at - prev_at), \
     max(created_at - prev_at)";

/// Step delays of the tickets created from `since` on: count, p50, p99, max.
fn delays_sql(since: i64) -> String {
    steps_sql(since, DELAYS, "")
}

/// The same by the second of the run the steps were logged in. Where a
/// p99 comes from when it is far above the p50: a queue growing, or a
/// stall.
fn delays_by_second_sql(since: i64) -> String {
    let select = format!("(created_at - {since}) / 1000, {DELAYS}");
    steps_sql(since, &select, "GROUP BY 1 ORDER BY 1")
}

/// The steps whose ticket entered its state in second `second` of the
/// run, by the 100 ms in which it did: whether a slow second's tail is one
/// stall (the steps of a few tenths all late) or a queue. (By the second
/// they were logged in instead, the first tenths would hold the slow steps
/// that entered before and the last would lack those that spilled over.)
fn delays_by_tenth_sql(since: i64, second: i64) -> String {
    let select = format!(
        "(prev_at - {since}) / 100, count(*), \
         percentile_disc(0.5) WITHIN GROUP (ORDER BY created_at - prev_at), \
         max(created_at - prev_at)"
    );
    let rest = format!("AND (prev_at - {since}) / 1000 = {second} GROUP BY 1 ORDER BY 1");
    steps_sql(since, &select, &rest)
}

/// What PostgreSQL did in the background since `from` in its log
/// (checkpoints, autovacuum), each line with the second of the arrivals
/// (which began at `arrived`, ms) it was logged in: a slow second of the
/// steps may be one of these.
fn background(cluster: &Cluster, from: u64, arrived: i64) {
    for line in cluster.log_since(from).lines() {
        let wanted = ["checkpoint starting", "checkpoint complete", "automatic"];
        if !wanted.iter().any(|w| line.contains(w)) {
            continue;
        }
        // "2026-12-07 13:48:01.123 UTC [pid] LOG: ..."
        let second = line
            .get(11..23)
            .and_then(|t| {
                let mut parts = t.split([':', '.']);
                let h: i64 = parts.next()?.parse().ok()?;
                let m: i64 = parts.next()?.parse().ok()?;
                let s: i64 = parts.next()?.parse().ok()?;
                let ms: i64 = parts.next()?.parse().ok()?;
                Some(((h * 3600 + m * 60 + s) * 1000 + ms - arrived.rem_euclid(86_400_000)) / 1000)
            })
            .map_or("?".to_string(), |s| s.to_string());
        let what: String = line
            .split("LOG:")
            .nth(1)
            .unwrap_or(line)
            .chars()
            .take(110)
            .collect();
        println!("postgres: background, second {second} of the arrivals:{what}");
    }
}

/// Forgets the statements counted so far, in every database.
fn reset_statements(cluster: &Cluster, db: &str) -> anyhow::Result<()> {
    cluster.psql(db, "SELECT pg_stat_statements_reset()")?;
    Ok(())
}

/// Prints the statements sent to `db` since the last reset, per `unit`
/// (`per` of them), with the five most frequent; returns the total.
fn print_statements(cluster: &Cluster, db: &str, name: &str, per: f64) -> anyhow::Result<()> {
    let of_db = format!(
        "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '{db}')"
    );
    let total: f64 = cluster
        .psql(db, &format!("SELECT coalesce(sum(calls), 0) {of_db}"))?
        .parse()
        .context("a count of statements")?;
    println!("{name}: {:.2} statements", total / per.max(1.0));
    let top = cluster.psql(
        db,
        &format!(
            "SELECT sum(calls), left(regexp_replace(query, '\\s+', ' ', 'g'), 60) {of_db} \
             GROUP BY 2 ORDER BY 1 DESC LIMIT 5"
        ),
    )?;
    for line in top.lines() {
        if let Some((calls, query)) = line.split_once('|') {
            let calls: f64 = calls.trim().parse().unwrap_or(f64::NAN);
            println!("{name}: {:.2} of {query}", calls / per.max(1.0));
        }
    }
    // Where PostgreSQL's time went: the statements of most time in all.
    let costly = cluster.psql(
        db,
        &format!(
            "SELECT round(total_exec_time::numeric), round(mean_exec_time::numeric, 3), calls, \
               left(regexp_replace(query, '\\s+', ' ', 'g'), 60) {of_db} \
             ORDER BY total_exec_time DESC LIMIT 4"
        ),
    )?;
    for line in costly.lines() {
        let mut parts = line.splitn(4, '|');
        if let (Some(total), Some(mean), Some(calls), Some(query)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        {
            println!("{name}: {total} ms in all, {mean} ms each of {calls}, {query}");
        }
    }
    // The longest single runs: a statement that now and then holds up
    // the others (a lock, a bad plan) shows here, not in the counts.
    let slowest = cluster.psql(
        db,
        &format!(
            "SELECT round(max_exec_time::numeric, 1), calls, \
               left(regexp_replace(query, '\\s+', ' ', 'g'), 60) {of_db} \
             ORDER BY max_exec_time DESC LIMIT 3"
        ),
    )?;
    for line in slowest.lines() {
        let mut parts = line.splitn(3, '|');
        if let (Some(max), Some(calls), Some(query)) = (parts.next(), parts.next(), parts.next()) {
            println!("{name}: slowest run {max} ms (of {calls}) of {query}");
        }
    }
    Ok(())
}

fn numbers(text: &str) -> Vec<f64> {
    text.split(['|', '\n'])
        .map(|v| v.trim().parse().unwrap_or(f64::NAN))
        .collect()
}

struct Plan {
    warmup: Duration,
    steady: Duration,
    arrivals: Duration,
    pgbench_s: u32,
}

pub(super) fn postgres(root: &Path, fixtures: &Path, quick: bool) -> anyhow::Result<()> {
    let s = Duration::from_secs;
    let plan = if quick {
        Plan {
            warmup: s(3),
            steady: s(8),
            arrivals: s(8),
            pgbench_s: 5,
        }
    } else {
        Plan {
            warmup: s(8),
            steady: s(30),
            arrivals: s(20),
            pgbench_s: 15,
        }
    };
    let cluster = Cluster::start(&root.join("target/bench"))?;
    cluster.count_statements()?;
    match std::env::var("BATON_BENCH_PG_ONLY") {
        Ok(only) if only == "latency" => {
            // Comparing builds' latency at one load: the drains' minutes
            // add nothing to that. The rate comes from the setting, or is 100.
            println!("postgres: only the half-load phase (BATON_BENCH_PG_ONLY=latency)");
            return latency(root, fixtures, &cluster, &plan, 0.0);
        }
        Ok(only) => {
            bail!("BATON_BENCH_PG_ONLY={only:?}: the one phase that runs alone is `latency`")
        }
        Err(std::env::VarError::NotPresent) => {}
        Err(e) => bail!("BATON_BENCH_PG_ONLY: {e}"),
    }
    for clients in [1, 8, 32] {
        let tps = cluster.pgbench(clients, plan.pgbench_s)?;
        println!("pgbench_n_tps_{clients}: {tps:.0} transactions/s");
    }
    let mut one = 0.0;
    for nodes in 1..=3 {
        let rate = drain(root, fixtures, &cluster, &plan, nodes)?;
        if nodes == 1 {
            one = rate;
        }
    }
    latency(root, fixtures, &cluster, &plan, one)
}

/// A fresh database with the schema, the catalog and the administrator
/// (one node started and stopped), and `nodes` deployed directories.
fn prepare(
    root: &Path,
    fixtures: &Path,
    cluster: &Cluster,
    name: &str,
    nodes: usize,
) -> anyhow::Result<(String, Vec<PathBuf>)> {
    cluster.createdb(name)?;
    let url = cluster.url_of(name);
    let dirs = (0..nodes)
        .map(|n| deploy(root, fixtures, &format!("{name}-{n}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    drop(Server::start_on(root, &dirs[0], "", &url)?);
    Ok((name.to_string(), dirs))
}

fn drain(
    root: &Path,
    fixtures: &Path,
    cluster: &Cluster,
    plan: &Plan,
    nodes: usize,
) -> anyhow::Result<f64> {
    let (db, dirs) = prepare(root, fixtures, cluster, &format!("drain{nodes}"), nodes)?;
    let url = cluster.url_of(&db);
    let failover = nodes == 3;
    let extra = if failover { 10.0 } else { 0.0 };
    let secs = (plan.warmup + plan.steady).as_secs_f64() + 10.0 + extra;
    let n = (MAX_RATE * secs / 3.0).ceil() as u64;
    let seeding = Instant::now();
    let first: i64 = cluster
        .psql(&db, &seed_sql(n, now_ms()))?
        .lines()
        .last()
        .unwrap_or_default()
        .parse()
        .context("the seed's first ticket")?;
    println!(
        "postgres: seeded {n} stepper tickets in {:.1} s for {nodes} node(s)",
        seeding.elapsed().as_secs_f64()
    );
    let mut servers = dirs
        .iter()
        .map(|dir| Server::start_on(root, dir, "", &url))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let started = Instant::now();
    while servers[0].ticket(first)?["state"]["code"]
        .as_i64()
        .unwrap_or(1)
        <= 1
    {
        if started.elapsed() > Duration::from_secs(120) {
            bail!("the first backlog ticket did not move within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(plan.warmup);
    reset_statements(cluster, &db)?;
    let pids: Vec<u32> = servers.iter().map(Server::pid).collect();
    let cpu0 = cpu::Sample::take(&pids, cluster.postmaster_pid());
    let t0 = now_ms();
    std::thread::sleep(plan.steady);
    let t1 = now_ms();
    let cpu = cpu0.until(&cpu::Sample::take(&pids, cluster.postmaster_pid()));
    let counted = cluster.psql(
        &db,
        &format!(
            "SELECT count(*) FROM ticket_logs WHERE action = 'state_changed' \
             AND created_at >= {t0}"
        ),
    )?;
    if failover {
        fail_over(cluster, &db, &mut servers)?;
    }
    drop(servers);
    let moved: f64 = cluster
        .psql(
            &db,
            &format!(
                "SELECT count(*) FROM ticket_logs WHERE action = 'state_changed' \
                 AND created_at >= {t0} AND created_at < {t1}"
            ),
        )?
        .parse()
        .context("a count")?;
    let rate = moved * 1000.0 / (t1 - t0) as f64;
    let plural = if nodes == 1 { "node" } else { "nodes" };
    println!("postgres_transitions_per_s_{nodes}{plural}: {rate:.0} transitions/s");
    print_cpu(&format!("postgres_cpu_{nodes}{plural}"), &cpu, rate);
    let counted: f64 = counted.parse().context("a count")?;
    let name = format!("postgres_statements_per_transition_{nodes}{plural}");
    print_statements(cluster, &db, &name, counted)?;
    check(cluster, &db)?;
    Ok(rate)
}

/// Kills the second node and times until every event it held is consumed
/// or leased by another node.
fn fail_over(cluster: &Cluster, db: &str, servers: &mut [Server]) -> anyhow::Result<()> {
    let (_, ready) = crate::http::request(&servers[1].addr, "", "GET", "/readyz", None)?;
    let victim = ready["node"].as_str().context("a node id")?.to_string();
    servers[1].kill();
    let killed = Instant::now();
    let held = cluster.psql(
        db,
        &format!("SELECT string_agg(id::text, ',') FROM events WHERE lease_owner = '{victim}'"),
    )?;
    if held.is_empty() {
        println!("postgres_failover: the killed node held no event; nothing to time");
        return Ok(());
    }
    let count = format!(
        "SELECT count(*) FROM events WHERE id IN ({held}) \
         AND (lease_owner IS NULL OR lease_owner = '{victim}')"
    );
    loop {
        if cluster.psql(db, &count)? == "0" {
            break;
        }
        if killed.elapsed() > Duration::from_secs(120) {
            bail!("the killed node's events were not taken over within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "postgres_failover_s: {:.2} s",
        killed.elapsed().as_secs_f64()
    );
    println!(
        "postgres_failover: {} events held by the killed node, each consumed or leased elsewhere",
        held.split(',').count()
    );
    Ok(())
}

/// The window's CPU by part, and each part's CPU per transition at
/// `rate` transitions a second (`other` is mostly the bench's own client).
fn print_cpu(name: &str, cpu: &cpu::Shares, rate: f64) {
    println!("{name}: {}", cpu.describe());
    let us = |cores: f64| cores * 1e6 / rate.max(1.0);
    println!(
        "{name}_per_transition: nodes {:.0} us, PostgreSQL {:.0} us, client {:.0} us, other {:.0} us",
        us(cpu.nodes),
        us(cpu.postgres),
        us(cpu.client),
        us(cpu.other)
    );
}

fn check(cluster: &Cluster, db: &str) -> anyhow::Result<()> {
    let c = numbers(&cluster.psql(db, CHECK)?);
    if c.len() != 3 || c[1] != 0.0 || c[2] != 0.0 {
        bail!("postgres: tickets whose steps are not each once (finished, bad, leftover): {c:?}");
    }
    println!(
        "postgres: check: {} tickets finished; every ticket's steps and moves exactly once",
        c[0]
    );
    Ok(())
}

fn latency(
    root: &Path,
    fixtures: &Path,
    cluster: &Cluster,
    plan: &Plan,
    rate: f64,
) -> anyhow::Result<()> {
    // Builds are compared at one load with `BATON_BENCH_PG_TICKETS_PER_S`:
    // half of each build's own drain rate is a different load each time.
    let fixed = arrivals::rate_from_env("BATON_BENCH_PG_TICKETS_PER_S")?;
    let target = match fixed {
        Some(per_s) => per_s,
        None if rate > 0.0 => rate / 6.0,
        None => 100.0,
    };
    let (db, dirs) = prepare(root, fixtures, cluster, "latency", 1)?;
    let history = (target * 30.0).ceil() as u64;
    cluster.psql(&db, &history_sql(history, now_ms()))?;
    println!("postgres: {history} finished stepper tickets written before the half-load phase");
    let server = Server::start_on(root, &dirs[0], "", &cluster.url_of(&db))?;
    let first = server.create("stepper", "flow", json!({}))?;
    let started = Instant::now();
    while server.ticket(first)?["status"] != "closed" {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the first ticket did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let since = now_ms() + 1000;
    reset_statements(cluster, &db)?;
    let log_from = cluster.log_len();
    let arrived = now_ms();
    let postmaster = cluster.postmaster_pid();
    let cpu0 = cpu::Sample::take(&[server.pid()], postmaster);
    let (sent, failed, secs) = arrivals(&server.addr, target, plan.arrivals);
    let cpu = cpu0.until(&cpu::Sample::take(&[server.pid()], postmaster));
    let open = "SELECT count(*) FROM tickets WHERE metaservice = 'stepper' AND status = 'open'";
    let drained = Instant::now();
    while cluster.psql(&db, open)? != "0" {
        if drained.elapsed() > Duration::from_secs(120) {
            println!("postgres_event_to_bot: WARNING: tickets open 120 s after the last arrival");
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    drop(server);
    background(cluster, log_from, arrived);
    // Every statement the tickets cost, their creation and their steps.
    print_cpu("postgres_cpu_half_load", &cpu, 3.0 * sent as f64 / secs);
    print_statements(cluster, &db, "postgres_statements_per_ticket", sent as f64)?;
    let d = numbers(&cluster.psql(&db, &delays_sql(since))?);
    if d.len() != 4 {
        bail!("the delay analysis printed {d:?}");
    }
    println!("postgres_event_to_bot_p50_ms: {:.0} ms", d[1]);
    println!("postgres_event_to_bot_p99_ms: {:.0} ms", d[2]);
    let mut slowest = (0.0, f64::MIN);
    for line in cluster.psql(&db, &delays_by_second_sql(since))?.lines() {
        if let [second, count, p50, p99, max] = numbers(line)[..] {
            println!(
                "postgres_event_to_bot: second {second:.0}: {count:.0} steps, p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms"
            );
            if p99 > slowest.1 {
                slowest = (second, p99);
            }
        }
    }
    let tenths = cluster.psql(&db, &delays_by_tenth_sql(since, slowest.0 as i64))?;
    let tenths: Vec<String> = tenths.lines().map(|l| l.replace('|', " ")).collect();
    println!(
        "postgres_event_to_bot: second {:.0} by 100 ms of entering (tenth, steps, p50, max): {}",
        slowest.0,
        tenths.join("; ")
    );
    println!(
        "postgres_event_to_bot: {:.0} tickets/s asked (the one-node drain did {rate:.0} transitions/s), {:.0} achieved, {} steps, max {:.0} ms, {failed} POSTs failed",
        target,
        sent as f64 / secs,
        d[0],
        d[3]
    );
    check(cluster, &db)
}
