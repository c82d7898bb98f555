//! Configuration: `baton.toml`, then `BATON_*` environment variables, then
//! command-line flags, each overriding the one before. Every setting is
//! documented in `deploy/baton.example.toml` (a test keeps the two in
//! step); an unknown key or a bad value stops start-up with a message that
//! names it.
//!
//! Environment variables name a setting by its path, upper-cased, with
//! `__` between a section and its key: `BATON_DATABASE_URL`,
//! `BATON_ENGINE__CONCURRENCY`, `BATON_LIMITS__MEMORY_MIB`. Values are
//! read as TOML when they parse as such (`16`, `true`), as strings
//! otherwise. A few `BATON_*` variables are not settings (see
//! [`NOT_SETTINGS`]); the `BATON_TEST_`, `BATON_BENCH_` and `BATON_FUZZ_`
//! prefixes belong to the test tooling.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::engine::EngineConfig;
use crate::engine::delivery::DeliveryConfig;
use crate::runtime::Limits;

/// `BATON_*` variables that are not settings of `baton.toml`.
pub const NOT_SETTINGS: [&str; 4] = [
    // The config file itself.
    "BATON_CONFIG",
    // The first administrator's token on an empty database.
    "BATON_ADMIN_TOKEN",
    // The log filter, e.g. `info,baton_host=debug`.
    "BATON_LOG",
    // Moves this process's clock, for drills and tests.
    "BATON_CLOCK_OFFSET",
];

/// Prefixes of the test tooling's own variables.
const TOOLING: [&str; 3] = ["BATON_TEST_", "BATON_BENCH_", "BATON_FUZZ_"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the API listens. Loopback by default; any other address is
    /// allowed (every route needs a token), but put a TLS terminator in
    /// front: Baton speaks plain HTTP.
    pub listen: SocketAddr,
    /// `sqlite://PATH` (or a plain path) for the embedded database.
    pub database_url: String,
    /// The directory of `*.metaservice.toml` manifests and `*.wasm` bots.
    pub bots_dir: PathBuf,
    /// Compiled bots, cached by content hash so restarts do not recompile.
    pub cache_dir: PathBuf,
    pub log_format: LogFormat,
    pub engine: EngineConfig,
    pub limits: Limits,
    /// Notifications that leave Baton: webhooks and e-mail.
    pub delivery: DeliveryConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://baton.db".into(),
            bots_dir: PathBuf::from("bots"),
            cache_dir: PathBuf::from("baton-cache"),
            log_format: LogFormat::Text,
            engine: EngineConfig::default(),
            limits: Limits::default(),
            delivery: DeliveryConfig::default(),
        }
    }
}

impl Config {
    /// Reads `path`, then the `BATON_*` variables of `env`. A missing file
    /// is an error only if it was named explicitly (`explicit`), since the
    /// default `baton.toml` is optional.
    pub fn load(
        path: &Path,
        explicit: bool,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => String::new(),
            Err(e) => return Err(e).with_context(|| format!("config file {}", path.display())),
        };
        let context = || format!("config file {}", path.display());
        // Typed first, so that a bad key or value is reported with its
        // line in the file.
        toml::from_str::<Config>(&text).with_context(context)?;
        let mut table: toml::Table = toml::from_str(&text).with_context(context)?;
        for (name, value) in env {
            if let Some((path, value)) = setting_of(&name, &value)? {
                set(&mut table, &path, value);
                // Each variable checked on its own names the culprit.
                let mut alone = toml::Table::new();
                set(&mut alone, &path, table_value(&table, &path));
                toml::Value::Table(alone)
                    .try_into::<Config>()
                    .with_context(|| format!("{name}={}", value_of(&table, &path)))?;
            }
        }
        toml::Value::Table(table)
            .try_into::<Config>()
            .context("the configuration")
    }

    /// Checks what the types cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.engine.concurrency > 0,
            "engine.concurrency must be at least 1"
        );
        anyhow::ensure!(
            self.engine.max_attempts > 0,
            "engine.max_attempts must be at least 1"
        );
        anyhow::ensure!(
            self.engine.lease_ms > self.limits.deadline_ms as i64,
            "engine.lease_ms ({}) must be longer than limits.deadline_ms ({})",
            self.engine.lease_ms,
            self.limits.deadline_ms
        );
        anyhow::ensure!(
            self.limits.memory_mib > 0,
            "limits.memory_mib must be at least 1"
        );
        self.delivery.validate()
    }
}

/// The setting a `BATON_*` variable names, with its value; `None` for
/// other variables. An unknown setting is an error.
fn setting_of(name: &str, value: &str) -> anyhow::Result<Option<(Vec<String>, toml::Value)>> {
    let Some(rest) = name.strip_prefix("BATON_") else {
        return Ok(None);
    };
    if NOT_SETTINGS.contains(&name) || TOOLING.iter().any(|p| name.starts_with(p)) {
        return Ok(None);
    }
    let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
    let known = toml::Value::try_from(Config::default()).context("the default configuration")?;
    let Some(mut at) = known.as_table() else {
        bail!("the default configuration is not a table");
    };
    for (i, key) in path.iter().enumerate() {
        match at.get(key) {
            Some(toml::Value::Table(inner)) if i + 1 < path.len() => at = inner,
            Some(toml::Value::Table(_)) => {
                bail!("{name}: {key} is a section; name one of its settings, e.g. {name}__KEY")
            }
            Some(_) if i + 1 == path.len() => {}
            _ => bail!(
                "{name}: there is no setting {} (every setting is in deploy/baton.example.toml; \
                 sections are joined with __)",
                path.join(".")
            ),
        }
    }
    Ok(Some((path, parse_value(value))))
}

/// `16`, `true`, `[1, 2]` as TOML; anything else as a string.
fn parse_value(text: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("v = {text}")) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(text.into())),
        Err(_) => toml::Value::String(text.into()),
    }
}

fn set(table: &mut toml::Table, path: &[String], value: toml::Value) {
    let Some((last, sections)) = path.split_last() else {
        return;
    };
    let mut at = table;
    for key in sections {
        let entry = at
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(inner) = entry else {
            return;
        };
        at = inner;
    }
    at.insert(last.clone(), value);
}

fn table_value(table: &toml::Table, path: &[String]) -> toml::Value {
    let mut at = table;
    for (i, key) in path.iter().enumerate() {
        match at.get(key) {
            Some(toml::Value::Table(inner)) if i + 1 < path.len() => at = inner,
            Some(value) => return value.clone(),
            None => break,
        }
    }
    toml::Value::String(String::new())
}

fn value_of(table: &toml::Table, path: &[String]) -> String {
    table_value(table, path).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_loopback() {
        let c = Config::default();
        c.validate().unwrap();
        assert!(c.listen.ip().is_loopback());
    }

    #[test]
    fn a_public_address_is_allowed_now_that_every_route_needs_a_token() {
        let c: Config = toml::from_str("listen = \"0.0.0.0:8080\"").unwrap();
        c.validate().unwrap();
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(text: &str, vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("baton.toml");
        std::fs::write(&path, text).expect("writing");
        Config::load(&path, true, env(vars))
    }

    #[test]
    fn the_example_file_holds_every_setting_at_its_default() {
        let example = include_str!("../../deploy/baton.example.toml");
        let parsed: Config = toml::from_str(example).expect("the example parses");
        let as_value = |c: &Config| toml::Value::try_from(c).expect("serialises");
        assert_eq!(as_value(&parsed), as_value(&Config::default()));
        // Every key written out, not left to its default.
        let written: toml::Table = toml::from_str(example).expect("a table");
        let defaults = as_value(&Config::default());
        for (key, value) in defaults.as_table().expect("a table") {
            let there = written.get(key);
            assert!(there.is_some(), "{key} is not in the example");
            if let (toml::Value::Table(inner), Some(toml::Value::Table(shown))) = (value, there) {
                for k in inner.keys() {
                    assert!(shown.contains_key(k), "{key}.{k} is not in the example");
                }
            }
        }
    }

    #[test]
    fn environment_variables_override_the_file() {
        let c = load(
            "[engine]\nconcurrency = 4\n",
            &[
                ("BATON_ENGINE__CONCURRENCY", "9"),
                ("BATON_DATABASE_URL", "sqlite://elsewhere.db"),
                ("BATON_LIMITS__MEMORY_MIB", "128"),
                ("BATON_LOG", "debug"),
                ("BATON_TEST_BOTS", "/x"),
                ("HOME", "/root"),
            ],
        )
        .expect("loads");
        assert_eq!(c.engine.concurrency, 9);
        assert_eq!(c.database_url, "sqlite://elsewhere.db");
        assert_eq!(c.limits.memory_mib, 128);
    }

    #[test]
    fn an_unknown_variable_or_a_bad_value_is_named() {
        let e = load("", &[("BATON_ENGINE__SPEED", "3")]).expect_err("refused");
        assert!(format!("{e:#}").contains("BATON_ENGINE__SPEED"), "{e:#}");
        assert!(format!("{e:#}").contains("engine.speed"), "{e:#}");
        let e = load("", &[("BATON_ENGINE__CONCURRENCY", "many")]).expect_err("refused");
        assert!(
            format!("{e:#}").contains("BATON_ENGINE__CONCURRENCY"),
            "{e:#}"
        );
        let e = load("", &[("BATON_ENGINE", "3")]).expect_err("refused");
        assert!(format!("{e:#}").contains("section"), "{e:#}");
        let e = load("[engine]\nconcurrency = \"x\"\n", &[]).expect_err("refused");
        assert!(format!("{e:#}").contains("concurrency"), "{e:#}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("listn = \"127.0.0.1:1\"").is_err());
        assert!(toml::from_str::<Config>("[engine]\nconcurrency = 2\nspeed = 3").is_err());
    }
}
