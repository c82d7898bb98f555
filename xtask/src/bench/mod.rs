//! `cargo xtask bench <WHICH|all> [--quick] [--no-build]`: figures from a
//! real release build on loopback, printed as `name: value unit`, never
//! asserted. `--quick` runs a reduced version of each.
//!
//! - `invocation`: one bot invocation's cost, and wasm against native
//!   (`invocation.rs`, by the release example `host/examples/invocation`).
//! - `throughput`: tickets streamed through the four-state `stepper`
//!   fixture, a reload under that load, and event-to-bot latency at half
//!   of it (`throughput.rs`).
//! - `sweep`: one sweep of 1,000 open tickets among 1,000,000 (`sweep.rs`).
//! - `postgres`: Baton on a throwaway PostgreSQL cluster beside `pgbench`
//!   on the same cluster (`postgres.rs`).
//!
//! - `e2e`: the time from `POST /tickets` to the terminal state of the
//!   example `edit_person` ticket, from the server's own timestamps.
//! - `reload`: the time from a new bot file landing (renamed into place)
//!   to the new version serving, over 20 swaps.
//! - `compile`: loading the example and fixture bots without and with the
//!   compiled-code cache.
//! - `memory`: the server's resident memory before and after 1,000
//!   memory-bomb invocations.
//! - `waits`: how late 10,000 waits that fall due at the same instant wake
//!   (median, p99), and the server's resident memory with 0 and with
//!   1,000,000 pending waits (seeded straight into the database).
//! - `floor`: what the disk allows: a plain SQLite loop doing the writes of
//!   a ticket step, one durable transaction each and 64 to a transaction;
//!   the figures every throughput is read against.
//! - `hostile`: every mode of the hostile fixture beside the good bots:
//!   contained or not, memory before, at peak and after, and the good
//!   bot's latency before and during.
//! - `api`: requests per second and latency of `GET /tickets/{id}` and
//!   `GET /tickets?mine` over 100,000 tickets, driven by `wrk` (Debian's
//!   package, installed if missing). The tickets are written straight into
//!   the SQLite file by `python3`'s `sqlite3` module, in one transaction,
//!   since 100,000 API calls would measure the seeding, not the reads.
//! - `langs`: the Python and JavaScript examples: component sizes, first
//!   and cached loads, POST to terminal by the bot and with a person
//!   (`langs.rs`).
//! - `console`: the console's ticket page: its weight (HTML, stylesheet,
//!   script) and its render time with 1,000 log rows (`console.rs`).
//!
//! # Layout
//! `mod.rs`: the server, the runner, `e2e`, `reload`, `compile` and
//! `memory`; one file for each of the others.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::bots::{self, Kind};
use crate::http::request;

mod api;
mod arrivals;
mod console;
mod cpu;
mod floor;
mod hostile;
mod invocation;
mod langs;
mod postgres;
mod sweep;
mod throughput;
mod waits;

use api::api;
use console::console;
use hostile::hostile;
use invocation::invocation;
use langs::langs;
use postgres::postgres;
use sweep::sweep;
use throughput::throughput;
use waits::waits;

/// The administrator token every benchmark server starts with.
pub(super) const TOKEN: &str = "bench-admin-token-0123456789";

/// A release `baton serve` in a scratch directory.
pub(super) struct Server {
    child: Child,
    pub(super) addr: String,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server's process id.
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown, leases left held.
    pub(super) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub(super) fn start(root: &Path, dir: &Path, engine: &str) -> anyhow::Result<Server> {
        let sqlite = format!("sqlite://{}/baton.db", dir.display());
        Server::start_on(root, dir, engine, &sqlite)
    }

    /// [`Server::start`] on the database at `database_url`.
    pub(super) fn start_on(
        root: &Path,
        dir: &Path,
        engine: &str,
        database_url: &str,
    ) -> anyhow::Result<Server> {
        let config = format!(
            "database_url = \"{database_url}\"\nbots_dir = \"{0}/bots\"\ncache_dir = \"{0}/cache\"\n[engine]\n{engine}",
            dir.display()
        );
        std::fs::write(dir.join("baton.toml"), config)?;
        let _ = std::fs::remove_file(dir.join("addr"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))?;
        let child = Command::new(root.join("target/release/baton"))
            .arg("--config")
            .arg(dir.join("baton.toml"))
            .args(["serve", "--listen", "127.0.0.1:0", "--addr-file"])
            .arg(dir.join("addr"))
            .env("BATON_LOG", "warn,baton_host::engine::loading=info")
            .env("BATON_ADMIN_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting target/release/baton")?;
        let started = Instant::now();
        let addr = loop {
            if let Ok(a) = std::fs::read_to_string(dir.join("addr"))
                && !a.is_empty()
            {
                break a;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "baton did not start; see {}",
                    dir.join("server.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Ok(Server {
            child,
            addr,
            dir: dir.to_path_buf(),
        })
    }

    pub(super) fn create(
        &self,
        metaservice: &str,
        ticket_type: &str,
        metadata: Value,
    ) -> anyhow::Result<i64> {
        let body = json!({"metaservice": metaservice, "ticket_type": ticket_type, "title": "bench", "metadata": metadata});
        let (status, ticket) = request(&self.addr, TOKEN, "POST", "/api/v1/tickets", Some(&body))?;
        if status != 201 {
            bail!("POST /tickets: {status} {ticket}");
        }
        ticket["id"].as_i64().context("no id")
    }

    pub(super) fn ticket(&self, id: i64) -> anyhow::Result<Value> {
        Ok(request(
            &self.addr,
            TOKEN,
            "GET",
            &format!("/api/v1/tickets/{id}"),
            None,
        )?
        .1)
    }

    fn bot(&self, name: &str) -> anyhow::Result<Value> {
        let (_, bots) = request(&self.addr, TOKEN, "GET", "/api/v1/bots", None)?;
        bots["items"]
            .as_array()
            .and_then(|b| b.iter().find(|b| b["name"] == name))
            .cloned()
            .with_context(|| format!("no bot {name}"))
    }

    pub(super) fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .context("no VmRSS")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

pub(super) fn scratch(root: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = root.join("target/bench").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bots"))?;
    Ok(dir)
}

pub(super) fn copy_files(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(from)?.flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summary(label: &str, mut values: Vec<f64>, unit: &str) {
    values.sort_by(f64::total_cmp);
    println!(
        "{label}: n={} median={:.1}{unit} p99={:.1}{unit} min={:.1}{unit} max={:.1}{unit}",
        values.len(),
        percentile(&values, 50.0),
        percentile(&values, 99.0),
        values.first().copied().unwrap_or(f64::NAN),
        values.last().copied().unwrap_or(f64::NAN),
    );
}

fn millis(v: &Value) -> Option<i64> {
    // "2026-11-22T11:24:28.564Z": whole seconds of the day are enough here,
    // since both times come from the same clock and day.
    let t = v.as_str()?;
    let time = t.split('T').nth(1)?.trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some((h * 3600 + m * 60) * 1000 + (s * 1000.0).round() as i64)
}

/// POST → closed (server clock) of `n` example tickets that only fix the
/// letter case of a name (two bot invocations), one after the other.
pub(super) fn name_fixes(server: &Server, n: usize, within: Duration) -> anyhow::Result<Vec<f64>> {
    let metadata = json!({"wca_id": "2012SMIT01", "changes": {"name": {"old": "john smith", "new": "John Smith"}}});
    let mut spans = Vec::new();
    for _ in 0..n {
        let id = server.create("wca", "edit_person", metadata.clone())?;
        let started = Instant::now();
        let ticket = loop {
            let t = server.ticket(id)?;
            if t["status"] == "closed" {
                break t;
            }
            if started.elapsed() > within {
                bail!("ticket {id} did not close within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        if let (Some(a), Some(b)) = (millis(&ticket["created_at"]), millis(&ticket["closed_at"])) {
            spans.push((b - a) as f64);
        }
    }
    Ok(spans)
}

/// Every benchmark, in the order `all` runs them.
const ALL: [&str; 14] = [
    "floor",
    "invocation",
    "throughput",
    "postgres",
    "waits",
    "sweep",
    "api",
    "console",
    "langs",
    "e2e",
    "reload",
    "compile",
    "memory",
    "hostile",
];

/// `build`: false reuses `target/release/baton` as it is. `quick`: a
/// reduced version of each, for a first look (the whole suite in a few
/// minutes once built).
pub fn run(root: &Path, which: &str, build: bool, quick: bool) -> anyhow::Result<()> {
    if which != "all" && !ALL.contains(&which) {
        bail!("unknown benchmark {which:?} ({}, all)", ALL.join(", "));
    }
    crate::toolchain::ensure_wasm_target()?;
    let examples = root.join("target/bench/bots");
    let fixtures = root.join("target/bench/fixtures");
    bots::build_and_deploy(root, Kind::Examples, &examples)?;
    bots::build_and_deploy(root, Kind::Fixtures, &fixtures)?;
    if build {
        let args = [
            "build",
            "--release",
            "--package",
            "baton-host",
            "--bin",
            "baton",
        ];
        crate::sh(root, &crate::cargo(), &args)?;
    }
    machine();
    for (name, size) in wasm_sizes(&examples)? {
        println!("bot file {name}: {size} bytes");
    }
    let bench = Bench {
        root,
        examples: &examples,
        fixtures: &fixtures,
        quick,
    };
    if which == "all" {
        for name in ALL {
            println!("== {name}");
            bench.one(name)?;
        }
        return Ok(());
    }
    bench.one(which)
}

/// Where the benchmarks run and how long.
struct Bench<'a> {
    root: &'a Path,
    examples: &'a Path,
    fixtures: &'a Path,
    quick: bool,
}

impl Bench<'_> {
    fn one(&self, name: &str) -> anyhow::Result<()> {
        let (root, examples, fixtures, quick) =
            (self.root, self.examples, self.fixtures, self.quick);
        match name {
            "floor" => floor::floor(root, if quick { 3.0 } else { 10.0 }).map(drop),
            "invocation" => invocation(root, fixtures, quick),
            "throughput" => throughput(root, fixtures, quick),
            "postgres" => postgres(root, fixtures, quick),
            "waits" => waits(root, fixtures, quick),
            "sweep" => sweep(root, quick),
            "api" => api(root, examples, quick),
            "console" => console(root, examples, quick),
            "langs" => langs(root, quick),
            "e2e" => e2e(root, examples, if quick { 50 } else { 200 }),
            "reload" => reload(root, fixtures, if quick { 6 } else { 20 }),
            "compile" => compile(root, examples, fixtures),
            "memory" => memory(root, fixtures, if quick { 200 } else { 1000 }),
            "hostile" => hostile(root, examples, fixtures),
            other => bail!("unknown benchmark {other:?}"),
        }
    }
}

/// The machine the figures come from, first in every run.
fn machine() {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or("unknown", |v| v.trim_start_matches([' ', '\t', ':']));
    println!("machine: {cores} cores ({cpu}), {mem_gib:.1} GiB");
}

fn wasm_sizes(dir: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".wasm") {
            out.push((name, entry.metadata()?.len()));
        }
    }
    out.sort();
    Ok(out)
}

fn e2e(root: &Path, examples: &Path, tickets: usize) -> anyhow::Result<()> {
    let dir = scratch(root, "e2e")?;
    copy_files(examples, &dir.join("bots"))?;
    let server = Server::start(root, &dir, "poll_interval_ms = 250\n")?;
    // One at a time: the latency of a single request through both bots.
    let spans = name_fixes(&server, tickets, Duration::from_secs(30))?;
    summary(
        "POST /tickets to approved (2 bot invocations, server clock)",
        spans,
        " ms",
    );
    Ok(())
}

fn reload(root: &Path, fixtures: &Path, swaps: usize) -> anyhow::Result<()> {
    let dir = scratch(root, "reload")?;
    copy_files(fixtures, &dir.join("bots"))?;
    let server = Server::start(root, &dir, "")?;
    let name = "relay-baton-1-start";
    let versions = [
        std::fs::read(fixtures.join("v2").join(format!("{name}.wasm")))?,
        std::fs::read(fixtures.join(format!("{name}.wasm")))?,
    ];
    let mut times = Vec::new();
    for i in 0..swaps {
        let before = server.bot(name)?["version"].clone();
        let tmp = dir.join("bots").join(".incoming");
        std::fs::write(&tmp, &versions[i % 2])?;
        let landed = Instant::now();
        std::fs::rename(&tmp, dir.join("bots").join(format!("{name}.wasm")))?;
        loop {
            if server.bot(name)?["version"] != before {
                break;
            }
            if landed.elapsed() > Duration::from_secs(30) {
                bail!("the new version never served");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        times.push(landed.elapsed().as_secs_f64() * 1000.0);
    }
    summary(
        "file landed to new version serving (reload_debounce_ms = 200, cached after the first two)",
        times,
        " ms",
    );
    Ok(())
}

fn load_times(log: &str) -> Vec<(String, String, f64)> {
    log.lines()
        .filter(|l| l.contains("bot loaded"))
        .filter_map(|l| {
            let field = |key: &str| {
                l.split(&format!("{key}="))
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
            };
            Some((
                field("bot")?.to_string(),
                field("compiled")?.to_string(),
                field("load_ms")?.parse().ok()?,
            ))
        })
        .collect()
}

fn compile(root: &Path, examples: &Path, fixtures: &Path) -> anyhow::Result<()> {
    let dir = scratch(root, "compile")?;
    copy_files(examples, &dir.join("bots"))?;
    copy_files(fixtures, &dir.join("bots"))?;
    for run in ["cold cache", "warm cache"] {
        let before = std::fs::read_to_string(dir.join("server.log"))
            .unwrap_or_default()
            .len();
        let server = Server::start(root, &dir, "")?;
        std::thread::sleep(Duration::from_millis(200));
        let log = server.log()[before..].to_string();
        let times = load_times(&log);
        for (bot, origin, ms) in &times {
            println!("load {run}: {bot} {origin} {ms:.1} ms");
        }
        summary(
            &format!("load per bot, {run}"),
            times.iter().map(|t| t.2).collect(),
            " ms",
        );
    }
    Ok(())
}

fn memory(root: &Path, fixtures: &Path, bombs: usize) -> anyhow::Result<()> {
    let dir = scratch(root, "memory")?;
    copy_files(fixtures, &dir.join("bots"))?;
    // One attempt per event, no crash backoff: 1,000 bombs, 1,000 invocations.
    let server = Server::start(
        root,
        &dir,
        "max_attempts = 1\ncrash_backoff_ms = 0\ncrash_backoff_max_ms = 0\npoll_interval_ms = 20\n",
    )?;
    let warm = server.create("hostile", "job", json!({"do": "ok"}))?;
    while server.ticket(warm)?["status"] != "closed" {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = server.rss_kib()?;
    let started = Instant::now();
    let mut last = 0;
    for _ in 0..bombs {
        last = server.create("hostile", "job", json!({"do": "bomb"}))?;
    }
    // The last bomb's error ticket is the sign that all have run.
    loop {
        let (_, logs) = request(
            &server.addr,
            TOKEN,
            "GET",
            &format!("/api/v1/tickets/{last}/logs"),
            None,
        )?;
        if logs["items"]
            .as_array()
            .is_some_and(|l| l.iter().any(|r| r["action"] == "error_filed"))
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the bombs did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = server.rss_kib()?;
    println!(
        "host RSS: {before} KiB before, {after} KiB after {bombs} memory-bomb invocations (16 MiB cap each), {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
