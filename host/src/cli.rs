//! The `baton` command line: `serve`, `migrate`, `bots check|list`,
//! `manifest check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::sync::watch;

use crate::config::{Config, LogFormat};
use crate::engine::{Engine, SystemClock};
use crate::model::Catalog;
use crate::runtime::{Runtime, loader_bot_name_of};

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "A ticket lifecycle engine with WebAssembly bots"
)]
struct Cli {
    /// The config file; `baton.toml` in the working directory if present.
    #[arg(long, short, global = true, env = "BATON_CONFIG")]
    config: Option<PathBuf>,
    /// The database, e.g. `sqlite://baton.db`.
    #[arg(long, global = true, env = "BATON_DATABASE_URL")]
    database_url: Option<String>,
    /// The bots directory (manifests and `.wasm` files).
    #[arg(long, global = true, env = "BATON_BOTS_DIR")]
    bots_dir: Option<PathBuf>,
    /// Where compiled bots are cached.
    #[arg(long, global = true, env = "BATON_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    #[arg(long, global = true, env = "BATON_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the API and the engine until SIGINT or SIGTERM.
    ///
    /// With `BATON_ADMIN_TOKEN` set on a database that has no users yet,
    /// the first administrator (login `admin`) is created with that token.
    /// Beyond loopback Baton speaks plain HTTP: put a TLS terminator in front.
    /// `BATON_CLOCK_OFFSET` (e.g. `2h`, `-1d`) moves this process's clock,
    /// for drills and tests only.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free one).
        #[arg(long, env = "BATON_LISTEN")]
        listen: Option<std::net::SocketAddr>,
        /// Writes the address actually bound to this file once listening.
        #[arg(long)]
        addr_file: Option<PathBuf>,
    },
    /// Creates or upgrades the database schema, then exits. With `--from`
    /// and `--to`, copies a whole SQLite installation into a new
    /// PostgreSQL database instead, and checks every table's count.
    Migrate {
        /// The SQLite database to copy, e.g. `sqlite://baton.db`.
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// The new, empty PostgreSQL database, e.g. `postgres://baton@db/baton`.
        #[arg(long, requires = "from")]
        to: Option<String>,
    },
    /// Bot files.
    Bots {
        #[command(subcommand)]
        command: BotsCommand,
    },
    /// Metaservice manifests.
    Manifest {
        #[command(subcommand)]
        command: ManifestCommand,
    },
    /// Prints the OpenAPI 3.1 document of the REST API.
    Openapi,
}

#[derive(Subcommand)]
enum BotsCommand {
    /// Validates a bot file against the manifests of the bots directory,
    /// exactly as `serve` would before loading it.
    Check { file: PathBuf },
    /// Lists the bots the manifests call for and which files are present.
    List,
}

#[derive(Subcommand)]
enum ManifestCommand {
    /// Validates a `*.metaservice.toml` file.
    Check { file: PathBuf },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn config(cli: &Cli) -> anyhow::Result<Config> {
    let (path, explicit) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("baton.toml"), false),
    };
    let mut config = Config::load(&path, explicit)?;
    if let Some(url) = &cli.database_url {
        config.database_url = url.clone();
    }
    if let Some(dir) = &cli.bots_dir {
        config.bots_dir = dir.clone();
    }
    if let Some(dir) = &cli.cache_dir {
        config.cache_dir = dir.clone();
    }
    if let Some(format) = cli.log_format {
        config.log_format = format;
    }
    Ok(config)
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BATON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = config(&cli)?;
    match cli.command {
        Command::Serve { listen, addr_file } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            init_tracing(config.log_format);
            serve(config, addr_file).await
        }
        Command::Migrate {
            from: Some(from),
            to: Some(to),
        } => copy_installation(&from, &to).await,
        Command::Migrate { .. } => {
            drop(crate::store::connect(&config.database_url).await?);
            println!(
                "database {} is up to date",
                crate::store::redact(&config.database_url)
            );
            Ok(())
        }
        Command::Bots {
            command: BotsCommand::Check { file },
        } => check_bot(&config, &file).await,
        Command::Bots {
            command: BotsCommand::List,
        } => list_bots(&config),
        Command::Manifest {
            command: ManifestCommand::Check { file },
        } => {
            let ms = crate::engine::read_manifest(&file)?;
            println!(
                "{}: metaservice {} with {} ticket type(s)",
                file.display(),
                ms.name,
                ms.ticket_types.len()
            );
            Ok(())
        }
        Command::Openapi => {
            println!("{}", crate::api::openapi().to_pretty_json()?);
            Ok(())
        }
    }
}

/// `baton migrate --from sqlite://… --to postgres://…`.
async fn copy_installation(from: &str, to: &str) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let copied = crate::store::sqlite_to_postgres(from, to)
        .await
        .with_context(|| format!("copying {from} into {}", crate::store::redact(to)))?;
    for (table, rows) in &copied {
        println!("{table}: {rows} rows copied, counts match");
    }
    println!(
        "copied {from} into {} in {:.1} s; start `baton serve` with database_url set to it",
        crate::store::redact(to),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Loads the manifests of `dir` for the offline commands, failing on any
/// refused manifest.
fn catalog_of(dir: &Path) -> anyhow::Result<Catalog> {
    let mut metaservices = Vec::new();
    for path in crate::engine::manifest_files(dir)? {
        metaservices.push(crate::engine::read_manifest(&path)?);
    }
    Ok(Catalog::new(metaservices))
}

async fn check_bot(config: &Config, file: &Path) -> anyhow::Result<()> {
    let catalog = catalog_of(&config.bots_dir)?;
    let runtime = Runtime::new(config.limits, 1, None)?;
    let name = loader_bot_name_of(file)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let bot = runtime
        .load(name, bytes, &catalog)
        .await
        .with_context(|| format!("{} refused", file.display()))?;
    println!(
        "{}: ok, bot {} (sha256 {}, {} bytes, SDK {})",
        file.display(),
        bot.name,
        bot.sha256,
        bot.size,
        bot.sdk_version
    );
    Ok(())
}

fn list_bots(config: &Config) -> anyhow::Result<()> {
    let catalog = catalog_of(&config.bots_dir)?;
    for name in catalog.expected_bots() {
        let file = config.bots_dir.join(format!("{name}.wasm"));
        let present = if file.is_file() { "present" } else { "MISSING" };
        println!("{name}\t{present}");
    }
    Ok(())
}

/// The system clock, or, with `BATON_CLOCK_OFFSET` (a duration such as
/// `2h`, `-1d` for the past), the system clock moved by it: for drills and
/// for tests that must move a real process's time.
fn clock() -> anyhow::Result<Arc<dyn crate::engine::Clock>> {
    let Ok(text) = std::env::var("BATON_CLOCK_OFFSET") else {
        return Ok(Arc::new(SystemClock));
    };
    let (sign, magnitude) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.as_str()),
    };
    let offset = crate::model::duration::parse(magnitude)
        .map_err(|e| anyhow::anyhow!("BATON_CLOCK_OFFSET={text:?}: {e}"))?;
    let offset_ms = sign * i64::try_from(offset.as_millis()).unwrap_or(i64::MAX);
    tracing::warn!(offset = %text, "BATON_CLOCK_OFFSET is set: this process's clock is moved; never do this in production");
    Ok(Arc::new(crate::engine::OffsetClock { offset_ms }))
}

async fn serve(config: Config, addr_file: Option<PathBuf>) -> anyhow::Result<()> {
    config.validate()?;
    let store = crate::store::connect(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "opening the database {}",
                crate::store::redact(&config.database_url)
            )
        })?;
    let runtime = Runtime::new(
        config.limits,
        config.engine.concurrency,
        Some(config.cache_dir.clone()),
    )?;
    let engine = Engine::new(
        store,
        runtime,
        clock()?,
        config.engine.clone(),
        config.bots_dir.clone(),
    );
    let watch = engine
        .watch_bots_dir()
        .with_context(|| format!("watching {}", config.bots_dir.display()))?;
    let report = engine
        .scan_bots_dir()
        .await
        .with_context(|| format!("reading the bots directory {}", config.bots_dir.display()))?;
    tracing::info!(
        metaservices = report.metaservices.len(),
        bots = report.loaded.len(),
        refused = report.refused.len() + report.manifest_errors.len(),
        "bots directory loaded"
    );

    bootstrap_admin(&engine).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let local = listener.local_addr()?;
    if local.ip().is_loopback() {
        tracing::info!("listening on http://{local}");
    } else {
        tracing::warn!(
            "listening on http://{local}, beyond loopback, in plain HTTP: put a TLS terminator \
             (a reverse proxy) in front, or tokens travel in the clear"
        );
    }
    if let Some(path) = addr_file {
        std::fs::write(&path, local.to_string())
            .with_context(|| format!("writing {}", path.display()))?;
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let dispatcher = tokio::spawn(engine.clone().run(stopped(stop_rx.clone())));
    let watcher = tokio::spawn(watch.run(engine.clone(), stopped(stop_rx.clone())));
    let signals = tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing requests and invocations in flight");
        let _ = stop_tx.send(true);
    });
    axum::serve(listener, crate::api::app(engine))
        .with_graceful_shutdown(stopped(stop_rx))
        .await?;
    dispatcher.await?;
    watcher.await?;
    signals.abort();
    Ok(())
}

/// `BATON_ADMIN_TOKEN` creates the first administrator on an empty
/// database, with that token, so a fresh install can be used at once. On a
/// database with users it is ignored.
async fn bootstrap_admin(engine: &Engine) -> anyhow::Result<()> {
    let Ok(token) = std::env::var("BATON_ADMIN_TOKEN") else {
        return Ok(());
    };
    anyhow::ensure!(
        token.len() >= 16,
        "BATON_ADMIN_TOKEN must have at least 16 characters"
    );
    let store = &engine.store;
    if store.count_users().await? > 0 {
        tracing::info!("BATON_ADMIN_TOKEN ignored: the database already has users");
        return Ok(());
    }
    let now = engine.clock.now();
    let admin = crate::store::NewUser {
        login: "admin".into(),
        name: "Administrator".into(),
        email: None,
        is_admin: true,
    };
    let user = store.create_user(&admin, now).await?;
    store
        .create_token(
            user.id,
            "BATON_ADMIN_TOKEN",
            &crate::api::auth::hash_token(&token),
            now,
        )
        .await?;
    tracing::info!(
        user = user.id,
        "created the first administrator, login \"admin\", with BATON_ADMIN_TOKEN"
    );
    Ok(())
}

/// Completes once the shutdown flag is set.
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!("cannot listen for SIGTERM: {e}");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
