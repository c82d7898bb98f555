//! A `baton serve` process on a free loopback port, with its own
//! temporary database and bots directory; killed when dropped, its log
//! printed if the test failed.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baton_host::store::{QueuedEvent, SqliteStore, Store};
use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

/// How a test's server is set up.
pub struct ServerSetup {
    /// Lines appended to the `[engine]` section of `baton.toml`.
    pub engine: String,
    /// The database; a SQLite file in the server's directory if `None`.
    pub database_url: Option<String>,
    /// More of `baton.toml`, after `[engine]`: whole tables (`[delivery]`).
    pub tables: String,
    /// The compiled-code cache; the server's own if `None`. Servers that
    /// load the same large components share one to compile them once.
    pub cache_dir: Option<std::path::PathBuf>,
}

impl Default for ServerSetup {
    fn default() -> Self {
        // Short intervals so that retries and waits take milliseconds; a
        // short lease (just over the 5 s deadline) so that an event a killed
        // server held comes back within seconds, not a minute.
        ServerSetup {
            engine: "poll_interval_ms = 20\nmax_attempts = 3\nretry_base_ms = 20\n\
                     retry_max_ms = 100\nmissing_bot_retry_ms = 100\ncrash_backoff_ms = 50\n\
                     crash_backoff_max_ms = 200\nreload_debounce_ms = 100\nlease_ms = 6000\n"
                .into(),
            database_url: None,
            tables: String::new(),
            cache_dir: None,
        }
    }
}

/// The first administrator's token, created from `BATON_ADMIN_TOKEN`.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub struct Server {
    child: Child,
    pub base: String,
    pub dir: TempDir,
    client: reqwest::Client,
    /// Sent with every request of `get`, `post`…; the admin's by default.
    token: Option<String>,
}

/// Copies every file of `from` into `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from)
        .expect("reading a bots directory")
        .flatten()
    {
        let path = entry.path();
        if path.is_file() {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copying a bot file");
        }
    }
}

/// Starts `baton serve` with the config of `dir` and these extra
/// environment variables, logging to `server.log` (appended to across
/// restarts).
fn spawn(dir: &Path, env: &[(&str, &str)]) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .expect("opening the log");
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("--config")
        .arg(dir.join("baton.toml"))
        .args(["serve", "--listen", "127.0.0.1:0", "--addr-file"])
        .arg(dir.join("addr"))
        .env("BATON_LOG", "info,baton_host=debug")
        .env("BATON_ADMIN_TOKEN", ADMIN_TOKEN)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("starting baton serve")
}

impl Server {
    /// Starts a server whose bots directory holds what `fill` puts there.
    pub async fn start(fill: impl FnOnce(&Path)) -> Server {
        Server::start_with(ServerSetup::default(), fill).await
    }

    pub async fn start_with(setup: ServerSetup, fill: impl FnOnce(&Path)) -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let bots = dir.path().join("bots");
        std::fs::create_dir(&bots).expect("creating the bots directory");
        fill(&bots);
        let database = setup
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("baton.db").display()));
        let config = format!(
            "database_url = \"{}\"\nbots_dir = \"{}\"\ncache_dir = \"{}\"\n[engine]\n{}\n{}",
            database,
            bots.display(),
            setup
                .cache_dir
                .clone()
                .unwrap_or_else(|| dir.path().join("cache"))
                .display(),
            setup.engine,
            setup.tables
        );
        std::fs::write(dir.path().join("baton.toml"), config).expect("writing baton.toml");
        let child = spawn(dir.path(), &[]);
        let mut server = Server {
            child,
            base: String::new(),
            dir,
            client: reqwest::Client::new(),
            token: Some(ADMIN_TOKEN.to_string()),
        };
        server.base = format!("http://{}", server.wait_for_addr().await);
        server
    }

    /// Kills the process (as `kill -9` would) and starts it again on the
    /// same database, bots directory and cache.
    pub async fn restart(&mut self) {
        self.restart_with(&[]).await;
    }

    /// `restart` with extra environment variables for the new process
    /// (`BATON_CLOCK_OFFSET` moves its clock).
    pub async fn restart_with(&mut self, env: &[(&str, &str)]) {
        self.kill();
        self.revive(env).await;
    }

    /// SIGKILL: no shutdown, no last commit, leases left held.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(self.dir.path().join("addr"));
    }

    /// SIGTERM, then waits for the process to exit (a minute at most);
    /// its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("running kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for baton") {
                let _ = std::fs::remove_file(self.dir.path().join("addr"));
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "baton serve did not stop within 60 s of SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs the `baton` command with this server's configuration.
    pub fn baton(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("--config")
            .arg(self.dir.path().join("baton.toml"))
            .args(args)
            .env_remove("BATON_ADMIN_TOKEN")
            .output()
            .expect("running baton")
    }

    /// Runs the `baton` command with this server's configuration and
    /// `input` on its standard input.
    pub fn baton_with_input(&self, args: &[&str], input: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("--config")
            .arg(self.dir.path().join("baton.toml"))
            .args(args)
            .env_remove("BATON_ADMIN_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running baton");
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.as_bytes()).expect("writing stdin");
        }
        child.wait_with_output().expect("baton's output")
    }

    /// Starts the process again after [`Server::kill`], on the same
    /// database, bots directory and cache.
    pub async fn revive(&mut self, env: &[(&str, &str)]) {
        self.child = spawn(self.dir.path(), env);
        self.base = format!("http://{}", self.wait_for_addr().await);
    }

    async fn wait_for_addr(&mut self) -> String {
        let file = self.dir.path().join("addr");
        let start = Instant::now();
        loop {
            if let Ok(addr) = std::fs::read_to_string(&file)
                && !addr.is_empty()
            {
                return addr;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("baton serve exited with {status}:\n{}", self.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "baton serve did not start:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn bots_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("bots")
    }

    /// Creates a ticket and returns its id.
    pub async fn create(&self, metaservice: &str, ticket_type: &str, metadata: Value) -> i64 {
        let body = serde_json::json!({"metaservice": metaservice, "ticket_type": ticket_type,
            "title": "a test ticket", "metadata": metadata});
        let (status, ticket) = self.post("/api/v1/tickets", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        ticket["id"].as_i64().expect("an id")
    }

    /// The `/api/v1/bots` entry of `name`.
    pub async fn bot(&self, name: &str) -> Value {
        let (_, bots) = self.get("/api/v1/bots").await;
        bots["items"]
            .as_array()
            .and_then(|items| items.iter().find(|b| b["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("{name} is not listed in {bots}"))
    }

    /// Polls until `done` holds for the bot's `/api/v1/bots` entry.
    pub async fn wait_for_bot(
        &self,
        name: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let bot = self.bot(name).await;
            if done(&bot) {
                return bot;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "bot {name} never became {what}: {bot}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The server's database, opened alongside it (WAL allows readers).
    pub async fn store(&self) -> SqliteStore {
        let url = format!("sqlite://{}", self.dir.path().join("baton.db").display());
        SqliteStore::open(&url)
            .await
            .expect("opening the server's database")
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call("GET", path, None, self.token.as_deref()).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.call("POST", path, Some(body), self.token.as_deref())
            .await
    }

    /// Any request, with the given token (or none).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        decode(self.send(method, path, body, token).await).await
    }

    /// Any request with the admin's token, its response as it came (for
    /// headers).
    pub async fn raw(&self, method: &str, path: &str, body: Option<&Value>) -> reqwest::Response {
        self.send(method, path, body, self.token.as_deref()).await
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("a response")
    }

    /// Posts raw bytes with the given content type.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Option<String>, Value) {
        // A fresh connection: the server closes one whose body it refused
        // (413), which must not break the next request on a pooled one.
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.expect("POST");
        let ct = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let (status, body) = decode(response).await;
        (status, ct, body)
    }

    /// Polls ticket `id` until `done` holds for it.
    pub async fn wait_for_ticket(
        &self,
        id: i64,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        self.wait_for_ticket_within(Duration::from_secs(30), id, what, done)
            .await
    }

    /// [`Server::wait_for_ticket`] with a deadline of its own (a first load
    /// that compiles a large component takes longer than the usual 30 s
    /// allows under the whole suite's load).
    pub async fn wait_for_ticket_within(
        &self,
        deadline: Duration,
        id: i64,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let (status, ticket) = self.get(&format!("/api/v1/tickets/{id}")).await;
            if status == StatusCode::OK && done(&ticket) {
                return ticket;
            }
            assert!(
                start.elapsed() < deadline,
                "ticket {id} never became {what}; last seen: {ticket}\nserver log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Polls ticket `id`'s log until a line contains `text`; returns that row.
    pub async fn wait_for_log(&self, id: i64, text: &str) -> Value {
        let start = Instant::now();
        loop {
            let logs = self.logs(id).await;
            if let Some(row) = logs
                .iter()
                .find(|l| l["message"].as_str().is_some_and(|m| m.contains(text)))
            {
                return row.clone();
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "ticket {id} never logged {text:?}: {logs:?}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until ticket `id`'s event is parked, and returns it.
    pub async fn parked(&self, id: i64) -> QueuedEvent {
        let store = self.store().await;
        let start = Instant::now();
        loop {
            let events = store.events_of(id).await.expect("events");
            if let Some(e) = events.iter().find(|e| e.parked) {
                return e.clone();
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "ticket {id} never parked: {events:?}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The kinds of the timers ticket `id` has, polled until `done` holds
    /// for them.
    pub async fn timers_until(&self, id: i64, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let store = self.store().await;
        let start = Instant::now();
        loop {
            let kinds: Vec<String> = store
                .timers_of(id)
                .await
                .expect("timers")
                .into_iter()
                .map(|t| t.kind)
                .collect();
            if done(&kinds) {
                return kinds;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "ticket {id} never had the timers expected: {kinds:?}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The log rows of ticket `id`.
    pub async fn logs(&self, id: i64) -> Vec<Value> {
        let (status, body) = self.get(&format!("/api/v1/tickets/{id}/logs")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }
}

async fn decode(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("a response body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- baton serve log ---\n{}", self.log());
        }
    }
}
