//! A throwaway PostgreSQL cluster for the tests and `cargo xtask up
//! --postgres`: the PostgreSQL store must pass the same suite as SQLite's,
//! against a real server, without anyone setting one up by hand.
//!
//! - Throwaway: each [`Cluster`] is a fresh `initdb` in its own directory,
//!   deleted with its server when the value is dropped (also when a test
//!   fails or panics). Clusters left by a process that was killed are
//!   reaped by the next [`Cluster::start`].
//! - Loopback only: the server listens on 127.0.0.1, on a free port, with
//!   its Unix socket in the cluster's directory, so it never collides with
//!   a system PostgreSQL and nobody else can reach its `trust` logins.
//! - As the `postgres` user when root: the server refuses to run as root,
//!   so `initdb` and `pg_ctl` run through `runuser -u postgres`, in a
//!   directory given to that user.
//! - Durable defaults: fsync and synchronous_commit stay on, so the figures
//!   measured against it are those of a real deployment.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use anyhow::{Context, bail};

/// Where Debian's packages put each major version (`<version>/bin`).
const PG_ROOT: &str = "/usr/lib/postgresql";
/// The OS user the server runs as when we are root.
const OS_USER: &str = "postgres";
/// The database the cluster is created with, named in [`Cluster::url`].
const DATABASE: &str = "baton";
/// Where [`Cluster::pgbench`] puts its tables, away from Baton's.
const PGBENCH_DATABASE: &str = "pgbench";
/// Attempts at a free port: another process may take the one we picked
/// between our probe and the server's bind.
const PORT_ATTEMPTS: u32 = 3;

/// Returns PostgreSQL's bin directory (`/usr/lib/postgresql/<newest>/bin`),
/// installing Debian's `postgresql` package first if no version is there.
/// Installing needs root; otherwise this fails with the command to run.
pub fn ensure_installed() -> anyhow::Result<PathBuf> {
    if let Some(bin) = find_bin() {
        return Ok(bin);
    }
    crate::debian::apt_install(&["postgresql"], "PostgreSQL for the tests")?;
    find_bin().with_context(|| {
        format!(
            "apt-get installed postgresql, but {PG_ROOT}/<version>/bin has no initdb and pg_ctl"
        )
    })
}

/// The bin directory of the newest major version that has initdb and pg_ctl.
fn find_bin() -> Option<PathBuf> {
    let entries = fs::read_dir(PG_ROOT).ok()?;
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            // "15", or "9.6" before version 10: compare as numbers.
            let mut parts = name.split('.').map(str::parse::<u32>);
            let major = parts.next()?.ok()?;
            let minor = match parts.next() {
                Some(p) => p.ok()?,
                None => 0,
            };
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
                .then_some(((major, minor), bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
}

/// A PostgreSQL server of its own, on loopback, with a database `baton`.
/// Dropping it stops the server and deletes its directory.
pub struct Cluster {
    /// `postgres://postgres@127.0.0.1:PORT/baton`: the superuser, no
    /// password (`trust`, reachable only from this machine).
    pub url: String,
    /// The TCP port on 127.0.0.1; it stays the same across
    /// [`Cluster::stop`] and [`Cluster::start_again`].
    pub port: u16,
    /// The cluster's directory: `data/`, `log` and the Unix socket.
    dir: PathBuf,
    /// PostgreSQL's bin directory.
    bin: PathBuf,
    /// Whether the server programs run as the `postgres` user (we are root).
    as_postgres: bool,
    /// Whether `pgbench -i` has run on this cluster.
    pgbench_ready: AtomicBool,
}

impl Cluster {
    /// Creates and starts a fresh cluster in a new directory under
    /// `scratch/pg` (e.g. `target/pg/<pid>-<n>`), installing PostgreSQL if
    /// needed. When the `postgres` user cannot reach `scratch` (a parent is
    /// private to root), the directory goes under the system's temporary
    /// directory instead.
    pub fn start(scratch: &Path) -> anyhow::Result<Cluster> {
        let bin = ensure_installed()?;
        let as_postgres = crate::debian::is_root()?;
        let parent = cluster_parent(scratch, as_postgres)?;
        reap_stale(&parent, &bin, as_postgres);
        let dir = claim_dir(&parent)?;
        let mut cluster = Cluster {
            url: String::new(),
            port: 0,
            dir,
            bin,
            as_postgres,
            pgbench_ready: AtomicBool::new(false),
        };
        // From here on, a failure drops `cluster`, which cleans up.
        if as_postgres {
            run(Command::new("chown")
                .arg(format!("{OS_USER}:"))
                .arg(&cluster.dir))?;
        }
        let data = cluster.data();
        run(cluster.server_command("initdb").arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]))?;
        cluster.start_on_free_port()?;
        cluster.url = format!("postgres://postgres@127.0.0.1:{}/{DATABASE}", cluster.port);
        cluster.createdb(DATABASE)?;
        Ok(cluster)
    }

    /// Picks a free loopback port, writes it to postgresql.conf and starts
    /// the server; tries another port if that one was taken meanwhile.
    fn start_on_free_port(&mut self) -> anyhow::Result<()> {
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            self.port = free_port()?;
            self.configure()?;
            match self.start_again() {
                Ok(()) => return Ok(()),
                Err(e) => last_error = Some(e),
            }
        }
        match last_error {
            Some(e) => Err(e.context(format!("starting PostgreSQL in {}", self.dir.display()))),
            None => bail!("no attempt to start PostgreSQL"),
        }
    }

    /// Appends this cluster's settings to postgresql.conf (a later line
    /// wins over an earlier one, so a retry on another port just appends).
    fn configure(&self) -> anyhow::Result<()> {
        let socket_dir = self.dir.to_str().with_context(|| {
            format!("the cluster directory {} is not UTF-8", self.dir.display())
        })?;
        let settings = format!(
            "\n# Baton's throwaway cluster (xtask/src/postgres.rs)\n\
             listen_addresses = '127.0.0.1'\n\
             port = {port}\n\
             unix_socket_directories = '{socket}'\n\
             max_connections = 200\n",
            port = self.port,
            socket = socket_dir.replace('\'', "''"),
        );
        let conf = self.data().join("postgresql.conf");
        let mut text =
            fs::read_to_string(&conf).with_context(|| format!("reading {}", conf.display()))?;
        text.push_str(&settings);
        fs::write(&conf, text).with_context(|| format!("writing {}", conf.display()))
    }

    /// Loads `pg_stat_statements` (a restart), so that a benchmark can
    /// count the statements Baton sends: a count does not move with the
    /// machine's speed, as timings do.
    pub fn count_statements(&self) -> anyhow::Result<()> {
        let conf = self.data().join("postgresql.conf");
        let mut text =
            fs::read_to_string(&conf).with_context(|| format!("reading {}", conf.display()))?;
        text.push_str(
            "shared_preload_libraries = 'pg_stat_statements'\n\
             log_autovacuum_min_duration = 0\nlog_checkpoints = on\n",
        );
        fs::write(&conf, text).with_context(|| format!("writing {}", conf.display()))?;
        self.stop()?;
        self.start_again()?;
        // In the template too, so that every database created later has it.
        for db in ["template1", DATABASE] {
            self.psql(db, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")?;
        }
        Ok(())
    }

    /// The server's log from byte `from` on: what it did in the background
    /// (with [`Cluster::count_statements`], its checkpoints and every
    /// autovacuum) while a benchmark ran.
    pub fn log_since(&self, from: u64) -> String {
        let text = fs::read(self.dir.join("log")).unwrap_or_default();
        let from = (from as usize).min(text.len());
        String::from_utf8_lossy(&text[from..]).into_owned()
    }

    /// The length of the server's log now, for [`Cluster::log_since`].
    pub fn log_len(&self) -> u64 {
        fs::metadata(self.dir.join("log"))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Stops the server (`pg_ctl stop -m fast`: open sessions are cut), for
    /// tests of a database outage. The data stays; see
    /// [`Cluster::start_again`].
    pub fn stop(&self) -> anyhow::Result<()> {
        run(self
            .server_command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["stop", "-m", "fast", "-w"]))?;
        Ok(())
    }

    /// Starts the server again on the same data and port, after
    /// [`Cluster::stop`]. Fails if another process took the port meanwhile.
    pub fn start_again(&self) -> anyhow::Result<()> {
        let log = self.dir.join("log");
        let started = run(self
            .server_command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-w", "start"]));
        if let Err(e) = started {
            let tail = fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(10).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(e.context(format!(
                "PostgreSQL did not start on port {}; its log ends:\n{}",
                self.port,
                tail.join("\n")
            )));
        }
        Ok(())
    }

    /// Runs `pgbench -i` (once per cluster, in a database of its own), then
    /// `pgbench -N -c CLIENTS -j 2 -T SECONDS`, and returns the TPS it
    /// printed: the floor a store on this server is compared with.
    pub fn pgbench(&self, clients: u32, seconds: u32) -> anyhow::Result<f64> {
        if clients == 0 || seconds == 0 {
            bail!("pgbench needs at least one client and one second");
        }
        if !self.pgbench_ready.load(Ordering::Acquire) {
            self.createdb(PGBENCH_DATABASE)?;
            run(self
                .client_command("pgbench")
                .args(["-i", "-q", PGBENCH_DATABASE]))?;
            self.pgbench_ready.store(true, Ordering::Release);
        }
        // pgbench refuses more threads than clients.
        let threads = clients.min(2);
        let out = run(self.client_command("pgbench").args([
            "-N",
            "-c",
            &clients.to_string(),
            "-j",
            &threads.to_string(),
            "-T",
            &seconds.to_string(),
            PGBENCH_DATABASE,
        ]))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        // "tps = 2087.46 (without initial connection time)"; older versions
        // print two lines, the last one excluding connection time.
        stdout
            .lines()
            .filter_map(|l| l.trim().strip_prefix("tps = "))
            .filter_map(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
            .next_back()
            .with_context(|| format!("no \"tps = \" line in pgbench's output:\n{stdout}"))
    }

    /// Runs `sql` in database `db` with `psql`, and returns what it printed
    /// (unaligned, tuples only: one row per line, columns split by `|`).
    pub fn psql(&self, db: &str, sql: &str) -> anyhow::Result<String> {
        let out = run(self.client_command("psql").args([
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            db,
            "-c",
            sql,
        ]))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// `url` with the database `db` instead of `baton`.
    pub fn url_of(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a database owned by `postgres`.
    pub fn createdb(&self, name: &str) -> anyhow::Result<()> {
        run(self.client_command("createdb").arg(name))?;
        Ok(())
    }

    /// The postmaster's process id, from `postmaster.pid`; none while the
    /// server is stopped.
    pub fn postmaster_pid(&self) -> Option<u32> {
        let text = fs::read_to_string(self.data().join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A server program (initdb, pg_ctl): as the `postgres` user when we
    /// are root, since PostgreSQL refuses to run as root.
    fn server_command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", OS_USER, "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        // The postgres user may not be allowed into our working directory.
        command.current_dir(&self.dir);
        command
    }

    /// A client program (createdb, pgbench) connected over TCP as the
    /// `postgres` database user; it runs as whoever we are.
    fn client_command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .current_dir(&self.dir);
        command
    }
}

impl Drop for Cluster {
    /// Stops the server (fast, else immediate) and deletes the directory.
    /// Errors are reported, not raised: this also runs while a failed test
    /// unwinds.
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let stopped = self.stop().or_else(|_| {
                run(self
                    .server_command("pg_ctl")
                    .arg("-D")
                    .arg(self.data())
                    .args(["stop", "-m", "immediate", "-w"]))
                .map(|_| ())
            });
            if let Err(e) = stopped {
                eprintln!(
                    "warning: stopping PostgreSQL in {}: {e:#}",
                    self.dir.display()
                );
            }
        }
        eprintln!("+ rm -rf {}", self.dir.display());
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("warning: removing {}: {e}", self.dir.display());
        }
    }
}

/// Runs a command, printing it with a `+ ` prefix; returns its output, or
/// an error quoting its stderr when it fails.
fn run(command: &mut Command) -> anyhow::Result<Output> {
    let program = command.get_program().to_string_lossy().into_owned();
    let args: Vec<String> = command
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let line = format!("{program} {}", args.join(" "));
    eprintln!("+ {line}");
    // pg_ctl -l sends the server's output to the log, so capturing pg_ctl's
    // own output does not wait for the server to exit.
    let out = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!(
            "{line} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener
        .local_addr()
        .context("reading the bound address")?
        .port())
}

/// `scratch/pg`, created; or, when we are root and the `postgres` user
/// cannot reach it, `<temp>/baton-pg`, open to everyone like /tmp.
fn cluster_parent(scratch: &Path, as_postgres: bool) -> anyhow::Result<PathBuf> {
    let parent = scratch.join("pg");
    fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    if !as_postgres || postgres_can_enter(&parent) {
        return Ok(parent);
    }
    let fallback = std::env::temp_dir().join("baton-pg");
    eprintln!(
        "note: the postgres user cannot enter {}; the cluster goes under {}",
        parent.display(),
        fallback.display()
    );
    fs::create_dir_all(&fallback).with_context(|| format!("creating {}", fallback.display()))?;
    Ok(fallback)
}

/// Whether the `postgres` user can search `dir` and so everything above it.
fn postgres_can_enter(dir: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", OS_USER, "--", "test", "-x"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Creates `<parent>/<pid>-<n>` for the first `n` not taken. Creating the
/// last component (not create_dir_all) is what claims it.
fn claim_dir(parent: &Path) -> anyhow::Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let pid = std::process::id();
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!("{pid}-{n}"));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
}

/// Stops the servers and deletes the directories of clusters whose process
/// is gone (killed before its `Drop` ran). A directory whose pid is alive
/// is left alone, even if that pid now belongs to another program.
fn reap_stale(parent: &Path, bin: &Path, as_postgres: bool) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.split('-').next()) else {
            continue;
        };
        if pid.parse::<u32>().is_err() || Path::new("/proc").join(pid).exists() {
            continue;
        }
        // Dropping a Cluster stops its server and deletes its directory.
        drop(Cluster {
            url: String::new(),
            port: 0,
            dir: entry.path(),
            bin: bin.to_path_buf(),
            as_postgres,
            pgbench_ready: AtomicBool::new(false),
        });
    }
}
