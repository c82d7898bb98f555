//! `cargo xtask`: the project's own commands, in Rust so they run wherever
//! cargo does.
//!
//! - `cargo xtask up [--release] [--postgres]`: builds the bots and starts
//!   Baton with the example metaservice on a SQLite file under `var/` (or on
//!   a throwaway PostgreSQL cluster, gone when Baton stops).
//! - `cargo xtask test`: every check and every test, as CI runs them.
//! - `cargo xtask build-bots [--fixtures | --langs] [--out DIR]`: builds bot
//!   crates for `wasm32-wasip2` (or, with `--langs`, the Python and
//!   JavaScript bots of `bots/`) and lays them out as a bots directory.
//! - `cargo xtask bench <WHICH|all> [--quick] [--no-build]`: prints figures
//!   measured on a release build (benchmarks are not tests); see
//!   `bench/mod.rs` for the list.
//! - `cargo xtask openapi-validator`: installs the pinned
//!   `openapi-spec-validator` under `target/tools/` (once) and prints the
//!   path of its command.
//!
//! # Layout
//! - `bots.rs`: finding bot crates, building them, deploying the files.
//! - `langs.rs`: the same for Python and JavaScript bot projects, with
//!   their pinned toolchains under `target/tools/`; `lang_tests.rs`: their
//!   SDKs' and bots' unit tests (pytest, `node --test`).
//! - `toolchain.rs`: installing what the commands need (the Wasm target,
//!   the OpenAPI validator).
//! - `debian.rs`: Debian packages: `apt-get install` (PostgreSQL,
//!   Chromium and its WebDriver), and the Zabbix agent unpacked under
//!   `target/tools/`.
//! - `bench.rs` and `http.rs`: the benchmarks and their little HTTP client.
//! - `postgres.rs`: a throwaway PostgreSQL cluster on loopback, for the
//!   tests and `up --postgres`.
//! - `interrupt.rs`: Ctrl-C and SIGTERM passed on to the child, so that
//!   the cluster is still stopped.

mod bench;
mod bots;
mod debian;
mod http;
mod interrupt;
mod lang_tests;
mod langs;
mod postgres;
mod toolchain;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail};

const USAGE: &str = "usage: cargo xtask <up [--release] [--postgres] | test | build-bots [--fixtures | --langs] [--out DIR] \
     | openapi-validator | bench WHICH [--quick] [--no-build]>";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> anyhow::Result<()> {
    let root = workspace_root();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["up", rest @ ..] => {
            if let Some(bad) = rest
                .iter()
                .find(|f| !["--release", "--postgres"].contains(f))
            {
                bail!("unknown flag {bad:?}; {USAGE}");
            }
            up(
                &root,
                rest.contains(&"--release"),
                rest.contains(&"--postgres"),
            )
        }
        ["test"] => test(&root),
        ["openapi-validator"] => {
            let command = toolchain::ensure_openapi_validator(&root)?;
            println!("{}", command.display());
            Ok(())
        }
        ["bench", which, flags @ ..] => {
            if let Some(bad) = flags
                .iter()
                .find(|f| !["--quick", "--no-build"].contains(f))
            {
                bail!("unknown flag {bad:?}; {USAGE}");
            }
            let build = !flags.contains(&"--no-build");
            bench::run(&root, which, build, flags.contains(&"--quick"))
        }
        ["build-bots", rest @ ..] if rest.contains(&"--langs") => {
            let out = match rest.iter().position(|a| *a == "--out") {
                Some(i) => PathBuf::from(rest.get(i + 1).context("--out needs a directory")?),
                None => root.join("var/bots"),
            };
            let deployed = langs::build_and_deploy(&root, &root.join("bots"), &out)?;
            println!("{} bot file(s) in {}", deployed.len(), out.display());
            Ok(())
        }
        ["build-bots", rest @ ..] => {
            let fixtures = rest.contains(&"--fixtures");
            let out = match rest.iter().position(|a| *a == "--out") {
                Some(i) => PathBuf::from(rest.get(i + 1).context("--out needs a directory")?),
                None => root.join(if fixtures {
                    "target/test-bots/fixtures"
                } else {
                    "var/bots"
                }),
            };
            toolchain::ensure_wasm_target()?;
            let deployed =
                bots::build_and_deploy(&root, bots::Kind::from_fixtures(fixtures), &out)?;
            println!("{} bot file(s) in {}", deployed.len(), out.display());
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or(here)
}

/// Runs a command in the workspace root, failing on a non-zero exit.
pub fn sh(root: &Path, program: &str, args: &[&str]) -> anyhow::Result<()> {
    eprintln!("+ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root)
        .status()
        .with_context(|| format!("running {program}"))?;
    if !status.success() {
        bail!("{program} {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn up(root: &Path, release: bool, on_postgres: bool) -> anyhow::Result<()> {
    toolchain::ensure_wasm_target()?;
    let bots_dir = root.join("var/bots");
    bots::build_and_deploy(root, bots::Kind::Examples, &bots_dir)?;
    // The examples in Python and JavaScript, beside the Rust one.
    langs::build_and_deploy(root, &root.join("bots"), &bots_dir)?;
    // Kept until Baton stops: dropping it stops the cluster and deletes it.
    let cluster = match on_postgres {
        true => Some(postgres::Cluster::start(&root.join("target"))?),
        false => None,
    };
    let db_arg = match &cluster {
        Some(c) => c.url.clone(),
        None => format!("sqlite://{}", root.join("var/baton.db").display()),
    };
    let cache = root.join("var/cache").display().to_string();
    let mut args = vec!["run", "--package", "baton-host", "--bin", "baton"];
    if release {
        args.push("--release");
    }
    let bots_arg = bots_dir.display().to_string();
    args.extend([
        "--",
        "serve",
        "--bots-dir",
        &bots_arg,
        "--database-url",
        &db_arg,
        "--cache-dir",
        &cache,
    ]);
    let token = admin_token(root)?;
    eprintln!("starting Baton on http://127.0.0.1:8080 (Ctrl-C stops it); database {db_arg}");
    eprintln!("admin token (kept in var/admin-token): {token}");
    eprintln!(
        "  curl -H \"Authorization: Bearer $(cat var/admin-token)\" http://127.0.0.1:8080/api/v1/me"
    );
    // A Ctrl-C stops Baton, then the cluster (dropped on return).
    interrupt::catch();
    let mut child = Command::new(cargo())
        .args(&args)
        .env("BATON_ADMIN_TOKEN", &token)
        .current_dir(root)
        .spawn()
        .context("running baton")?;
    interrupt::pass_on(child.id());
    let status = child.wait().context("waiting for baton")?;
    if !status.success() && !interrupt::asked() {
        bail!("baton serve exited ({status})");
    }
    Ok(())
}

/// The development admin token: `BATON_ADMIN_TOKEN` if set, else one made
/// at random on the first `up` and kept in `var/admin-token`.
fn admin_token(root: &Path) -> anyhow::Result<String> {
    if let Ok(token) = std::env::var("BATON_ADMIN_TOKEN") {
        return Ok(token);
    }
    let file = root.join("var/admin-token");
    if let Ok(token) = std::fs::read_to_string(&file) {
        return Ok(token.trim().to_string());
    }
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom for the admin token")?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(root.join("var"))?;
    std::fs::write(&file, &token)?;
    Ok(token)
}

fn test(root: &Path) -> anyhow::Result<()> {
    toolchain::ensure_wasm_target()?;
    let cargo = cargo();
    sh(root, &cargo, &["fmt", "--all", "--check"])?;
    let fixtures = root.join("target/test-bots/fixtures");
    let examples = root.join("target/test-bots/bots");
    bots::build_and_deploy(root, bots::Kind::Examples, &examples)?;
    bots::build_and_deploy(root, bots::Kind::Fixtures, &fixtures)?;
    // Python and JavaScript: a directory of their own, since their
    // components take seconds to compile and most tests need only Rust's.
    langs::build_and_deploy(
        root,
        &root.join("bots"),
        &root.join("target/test-bots/langs"),
    )?;
    let lang_counts = lang_tests::run(root)?;
    let validator = toolchain::ensure_openapi_validator(root)?;
    let zabbix = debian::ensure_zabbix_agent(root)?;
    let (chromium, chromedriver) = debian::ensure_chromium()?;
    sh(
        root,
        &cargo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // The SDK is packaged on its own (its own copy of the contract, no
    // path outside the crate): a crate that cannot be packaged cannot be
    // published.
    sh(
        root,
        &cargo,
        &["package", "--package", "baton-sdk", "--allow-dirty"],
    )?;
    // One PostgreSQL server for the whole run; each test makes its own
    // database on it. Dropped (stopped and deleted) when this function
    // returns, whether the tests passed or not.
    let cluster = postgres::Cluster::start(&root.join("target"))?;
    // The end-to-end tests find the bots built above, the contract test
    // the validator, and the PostgreSQL tests the server, through these
    // variables.
    eprintln!(
        "+ BATON_TEST_BOTS=target/test-bots BATON_TEST_OPENAPI_VALIDATOR={} BATON_TEST_ZABBIX_AGENTD={} BATON_TEST_CHROMEDRIVER={} BATON_TEST_POSTGRES={} {cargo} test --workspace",
        validator.display(),
        zabbix.display(),
        chromedriver.display(),
        cluster.url
    );
    let mut child = Command::new(&cargo)
        .args(["test", "--workspace"])
        .env("BATON_TEST_BOTS", root.join("target/test-bots"))
        .env("BATON_TEST_OPENAPI_VALIDATOR", &validator)
        .env("BATON_TEST_ZABBIX_AGENTD", &zabbix)
        .env("BATON_TEST_CHROMIUM", &chromium)
        .env("BATON_TEST_CHROMEDRIVER", &chromedriver)
        .env("BATON_TEST_POSTGRES", &cluster.url)
        .current_dir(root)
        .stdout(Stdio::piped())
        .spawn()
        .context("running cargo test")?;
    // Interrupted, the cluster is still stopped (dropped on return).
    interrupt::catch();
    interrupt::pass_on(child.id());
    let totals = tally(child.stdout.take().context("cargo test's output")?)?;
    let status = child.wait().context("waiting for cargo test")?;
    // One closing line for the whole run: cargo prints one per test binary,
    // and the last of those is often a doc-test binary with nothing in it.
    println!(
        "xtask: {} passed, {} failed, {} skipped (of which Python and JavaScript: {} passed, {} skipped)",
        totals.passed + lang_counts.passed,
        totals.failed + lang_counts.failed,
        totals.ignored + lang_counts.skipped,
        lang_counts.passed,
        lang_counts.skipped,
    );
    if !status.success() {
        bail!("cargo test failed ({status})");
    }
    Ok(())
}

#[derive(Default)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
}

/// Echoes cargo test's output and adds up its `test result:` lines.
fn tally(output: impl Read) -> anyhow::Result<Totals> {
    let mut totals = Totals::default();
    for line in BufReader::new(output).lines() {
        let line = line.context("reading cargo test's output")?;
        println!("{line}");
        let Some(rest) = line.strip_prefix("test result: ") else {
            continue;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(word), Some(n)) = (words.next(), words.next()) else {
                continue;
            };
            let n: u64 = n.parse().unwrap_or(0);
            match word {
                "passed" => totals.passed += n,
                "failed" => totals.failed += n,
                "ignored" => totals.ignored += n,
                _ => {}
            }
        }
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tally_adds_up_every_binary() {
        let out = "running 2 tests\n\
                   test result: ok. 20 passed; 1 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.02s\n\
                   test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
                   test result: FAILED. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 1s\n";
        let t = super::tally(out.as_bytes()).unwrap();
        assert_eq!((t.passed, t.failed, t.ignored), (25, 1, 3));
    }
}
