//! The `baton` command line.
//!
//! # Layout
//! - `mod.rs`: the commands and their options, the configuration they
//!   read, and `migrate`.
//! - `serve.rs`: `baton serve` until SIGINT or SIGTERM.
//! - `bots.rs`: `baton bots check|list`, offline.
//! - `scaffold.rs`: `baton bots new`, a new metaservice and its first bot.
//! - `admin.rs`: `baton admin create-user|set-password|create-token`.
//! - `tickets.rs`: `baton tickets show`.
//! - `health.rs`: `baton health`, the running server's `/readyz`.

mod admin;
mod bots;
mod health;
mod scaffold;
mod serve;
mod tickets;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};

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
    /// Users and tokens, written straight into the database.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Tickets, read straight from the database.
    Tickets {
        #[command(subcommand)]
        command: TicketsCommand,
    },
    /// Asks the running server whether it is ready (its `/readyz`): one
    /// line per check and an exit code (0 ready, 1 not ready, 2 no
    /// answer), for people, scripts and the Zabbix agent.
    Health {
        /// The server, e.g. http://127.0.0.1:8080; by default the `listen`
        /// address of the configuration (on loopback if it is a wildcard).
        #[arg(long)]
        url: Option<String>,
        /// Prints one value instead, for a Zabbix item: `status` (0 ready,
        /// 1 not ready, 2 no answer), or a check's number of problems
        /// (database, manifest, bot, queue, parked_events, timers).
        #[arg(long)]
        item: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Creates a user (with no token: see create-token).
    CreateUser {
        /// 1 to 64 of a-z, 0-9, '_', '.', '-'.
        login: String,
        /// The name shown to people.
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: Option<String>,
        /// Makes the user an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Sets a user's console password, read from the first line of
    /// standard input (at least 10 characters); ends their sessions.
    SetPassword { login: String },
    /// Creates an API token for a user and prints it, once.
    CreateToken {
        login: String,
        /// What the token is for, as its list shows it.
        #[arg(long, default_value = "created by baton admin")]
        name: String,
    },
}

#[derive(Subcommand)]
enum TicketsCommand {
    /// Prints a ticket: its fields, metadata, stakeholders and timeline.
    Show { id: i64 },
}

#[derive(Subcommand)]
enum BotsCommand {
    /// Validates a bot file against the manifests of the bots directory,
    /// exactly as `serve` would before loading it.
    Check { file: PathBuf },
    /// Lists the bots the manifests call for and which files are present.
    List,
    /// Makes a new metaservice NAME with one ticket type and the bot of
    /// its first state: a crate or package with a unit test, ready to
    /// build, in Rust, Python or JavaScript.
    New {
        name: String,
        #[arg(long, value_enum, default_value = "rust")]
        lang: scaffold::Lang,
        /// Where to create the NAME folder.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The language's SDK in Baton's source: its `sdk`, `sdk-python`
        /// or `sdk-js` folder (default: the one of the tree this binary
        /// was built from).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
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
        Ok(code) => code,
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
    // A variable that is not Unicode cannot name a setting: skipped.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let mut config = Config::load(&path, explicit, env)?;
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

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut config = config(&cli)?;
    match cli.command {
        Command::Health { url, item } => return health::health(&config, url, item).await,
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    login,
                    name,
                    email,
                    admin,
                },
        } => {
            let user = crate::store::NewUser {
                login,
                name,
                email,
                is_admin: admin,
            };
            admin::create_user(&config, user).await?
        }
        Command::Admin {
            command: AdminCommand::CreateToken { login, name },
        } => admin::create_token(&config, &login, &name).await?,
        Command::Admin {
            command: AdminCommand::SetPassword { login },
        } => admin::set_password(&config, &login).await?,
        Command::Tickets {
            command: TicketsCommand::Show { id },
        } => tickets::show(&config, id).await?,
        Command::Serve { listen, addr_file } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            init_tracing(config.log_format);
            serve::serve(config, addr_file).await?
        }
        Command::Migrate {
            from: Some(from),
            to: Some(to),
        } => copy_installation(&from, &to).await?,
        Command::Migrate { .. } => {
            drop(crate::store::connect(&config.database_url).await?);
            println!(
                "database {} is up to date",
                crate::store::redact(&config.database_url)
            );
        }
        Command::Bots {
            command: BotsCommand::Check { file },
        } => bots::check_bot(&config, &file).await?,
        Command::Bots {
            command: BotsCommand::List,
        } => bots::list_bots(&config)?,
        Command::Bots {
            command:
                BotsCommand::New {
                    name,
                    lang,
                    dir,
                    sdk,
                },
        } => scaffold::new_bot(&name, lang, &dir, sdk)?,
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
        }
        Command::Openapi => {
            println!("{}", crate::api::openapi().to_pretty_json()?);
        }
    }
    Ok(ExitCode::SUCCESS)
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
