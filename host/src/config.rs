//! Configuration: `baton.toml`, then `BATON_*` environment variables and
//! command-line flags, each overriding the one before.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::engine::EngineConfig;
use crate::runtime::Limits;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Deserialize)]
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
        }
    }
}

impl Config {
    /// Reads `path`; a missing file is an error only if it was named
    /// explicitly (`explicit`), since the default `baton.toml` is optional.
    pub fn load(path: &Path, explicit: bool) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                Ok(Config::default())
            }
            Err(e) => Err(e).with_context(|| format!("config file {}", path.display())),
        }
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
        Ok(())
    }
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

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("listn = \"127.0.0.1:1\"").is_err());
        assert!(toml::from_str::<Config>("[engine]\nconcurrency = 2\nspeed = 3").is_err());
    }
}
