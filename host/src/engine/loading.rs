//! Reading the bots directory: every `*.metaservice.toml` into the catalog
//! (synced to the database), then every `*.wasm` into the registry.
//!
//! A refused manifest or bot file is logged with its reason and skipped;
//! the rest of the directory still loads, so one team's mistake does not
//! stop another team's bots.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Engine;
use super::errors::ErrorReport;
use crate::model::manifest::{self, MANIFEST_SUFFIX, ManifestError};
use crate::model::{BotName, Catalog, Metaservice};
use crate::runtime::{LoadError, loader_bot_name_of};
use crate::store::BotRecord;

/// Why a bot could not be restarted.
#[derive(Debug, thiserror::Error)]
pub enum RestartError {
    #[error("no such bot")]
    Unknown,
    #[error("there is no file {0}")]
    NoFile(String),
    #[error("the file was refused: {0}")]
    Refused(LoadError),
}

/// What a directory scan found.
#[derive(Debug, Default)]
pub struct ScanReport {
    pub metaservices: Vec<String>,
    pub manifest_errors: Vec<ManifestError>,
    pub loaded: Vec<BotName>,
    pub refused: Vec<(PathBuf, LoadError)>,
}

/// Settings as the admin API stores them (durations spelled as in manifests).
pub fn settings_from_json(v: &serde_json::Value) -> Result<crate::model::TypeSettings, String> {
    use crate::model::catalog::OnRetention;
    use crate::model::duration;
    let dur = |key: &str| -> Result<Option<std::time::Duration>, String> {
        match &v[key] {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(s) => duration::parse(s).map(Some),
            other => Err(format!("{key}: {other}")),
        }
    };
    Ok(crate::model::TypeSettings {
        lifetime: dur("lifetime")?,
        notify_every: dur("notify_every")?,
        notify_repeats: v["notify_repeats"].as_u64().unwrap_or(0) as u32,
        retention: dur("retention")?,
        on_retention: if v["on_retention"] == "delete" {
            OnRetention::Delete
        } else {
            OnRetention::Archive
        },
    })
}

/// Parses one manifest file, reading schema files next to it.
pub fn read_manifest(path: &Path) -> Result<Metaservice, ManifestError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
        file: file.clone(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let read_schema =
        |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| e.to_string());
    manifest::parse(&file, &text, &read_schema)
}

/// The manifests of a bots directory, sorted by name.
pub fn manifest_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    files_with_suffix(dir, MANIFEST_SUFFIX)
}

fn files_with_suffix(dir: &Path, suffix: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(suffix))
        })
        .collect();
    found.sort();
    Ok(found)
}

/// A deadline shorter than the lease, compared without wrapping.
fn deadline_fits(deadline_ms: u64, lease_ms: i64) -> bool {
    i64::try_from(deadline_ms).is_ok_and(|d| d < lease_ms)
}

impl Engine {
    /// A metaservice whose bots could run longer than an event's lease
    /// would have its events claimed again while they still run: refused.
    pub(super) fn fits_the_lease(
        &self,
        path: &Path,
        ms: Metaservice,
    ) -> Result<Metaservice, ManifestError> {
        match ms.limits.deadline_ms {
            Some(deadline) if !deadline_fits(deadline, self.config.lease_ms) => {
                Err(ManifestError {
                    file: path.display().to_string(),
                    line: 0,
                    message: format!(
                        "limits.deadline_ms ({deadline}) must be shorter than the engine's \
                     lease_ms ({}), or an event could run twice",
                        self.config.lease_ms
                    ),
                })
            }
            _ => Ok(ms),
        }
    }

    /// Loads the manifests and the bots of the bots directory.
    pub async fn scan_bots_dir(&self) -> anyhow::Result<ScanReport> {
        let mut report = ScanReport::default();
        let dir = self.bots_dir.clone();
        let mut metaservices = Vec::new();
        for path in files_with_suffix(&dir, MANIFEST_SUFFIX)? {
            match read_manifest(&path).and_then(|ms| self.fits_the_lease(&path, ms)) {
                Ok(ms) => {
                    tracing::info!(metaservice = %ms.name, file = %path.display(), "manifest loaded");
                    report.metaservices.push(ms.name.clone());
                    metaservices.push(ms);
                }
                Err(e) => {
                    tracing::error!("manifest refused: {e}");
                    report.manifest_errors.push(e);
                }
            }
        }
        let mut catalog = Catalog::new(metaservices);
        self.store.sync_catalog(&catalog, self.clock.now()).await?;
        // Settings changed through the admin API outlive restarts.
        self.stored_settings_into(&mut catalog).await?;
        self.registry.expect(catalog.expected_bots());
        self.set_catalog(catalog);
        self.recheck_manifests();

        for path in files_with_suffix(&dir, ".wasm")? {
            match self.load_bot_file(&path).await {
                Ok(name) => report.loaded.push(name),
                Err(e) => report.refused.push((path, e)),
            }
        }
        for slot in self.registry.snapshot() {
            if slot.loaded.is_none() {
                tracing::warn!(bot = %slot.name, status = slot.status.as_str(), "bot not running");
            }
        }
        Ok(report)
    }

    /// Loads one bot file; on success it serves every later invocation of
    /// its state (in-flight ones finish on the version they started with),
    /// and its waiting events are woken. A refused file leaves the running
    /// version in place and files an error ticket, once per file content.
    pub async fn load_bot_file(&self, path: &Path) -> Result<BotName, LoadError> {
        let name = match loader_bot_name_of(path) {
            Ok(name) => name,
            Err(e) => {
                tracing::error!(file = %path.display(), "bot file refused: {e}");
                return Err(e);
            }
        };
        let bytes = match tokio::fs::read(path).await {
            Ok(bytes) => bytes,
            Err(e) => {
                let e = LoadError::Read(e.to_string());
                tracing::error!(file = %path.display(), bot = %name, "bot file refused: {e}");
                return Err(e);
            }
        };
        let sha256 = hex::encode(Sha256::digest(&bytes));
        match self
            .runtime
            .load(name.clone(), bytes, &self.catalog())
            .await
        {
            Ok(bot) => {
                let now = self.clock.now();
                tracing::info!(bot = %name, sha256 = %bot.sha256, bytes = bot.size, toolchain = %bot.toolchain,
                    compiled = ?bot.origin, load_ms = bot.load_us as f64 / 1000.0, "bot loaded");
                if self.registry.install(bot, now) {
                    self.metrics.reloaded(&name.to_string());
                }
                self.record_slot(&name, None).await;
                // After a (re)load a bot's first work is one sweep.
                self.sweep(&name).await;
                match self.store.wake_events(&name, now, false).await {
                    Ok(_) => self.poke(),
                    Err(e) => tracing::error!(bot = %name, "waking its events failed: {e}"),
                }
                Ok(name)
            }
            Err(e) => {
                tracing::error!(file = %path.display(), bot = %name, "bot file refused: {e}");
                self.registry.refuse(&name, e.to_string());
                self.report_refusal(&name, &sha256, &e).await;
                Err(e)
            }
        }
    }

    /// The settings changed through the admin API, put into `catalog`.
    pub(super) async fn stored_settings_into(
        &self,
        catalog: &mut Catalog,
    ) -> Result<(), crate::store::StoreError> {
        for (ms, tt, value) in self.store.settings_overrides().await? {
            match settings_from_json(&value) {
                Ok(settings) => {
                    catalog.set_settings(&ms, &tt, settings);
                }
                Err(e) => {
                    tracing::error!(metaservice = %ms, ticket_type = %tt, "stored settings ignored: {e}")
                }
            }
        }
        Ok(())
    }

    /// Loads the bot's file again and clears its crash state, then makes
    /// all its pending events due now, those in backoff included; the
    /// other nodes that run it do the same.
    pub async fn restart_bot(&self, name: &BotName) -> Result<(), RestartError> {
        self.restart_bot_here(name).await?;
        self.store
            .announce(crate::store::Signal::RestartBot(name.to_string()));
        Ok(())
    }

    /// [`Engine::restart_bot`] on this node only.
    pub(super) async fn restart_bot_here(&self, name: &BotName) -> Result<(), RestartError> {
        if self.registry.slot_of(name).is_none() {
            return Err(RestartError::Unknown);
        }
        let path = self.bots_dir.join(format!("{name}.wasm"));
        if !path.is_file() {
            return Err(RestartError::NoFile(path.display().to_string()));
        }
        self.load_bot_file(&path)
            .await
            .map_err(RestartError::Refused)?;
        self.registry.reset(name);
        self.record_slot(name, None).await;
        if let Err(e) = self.store.wake_events(name, self.clock.now(), true).await {
            tracing::error!(bot = %name, "waking its events failed: {e}");
        }
        self.poke();
        tracing::info!(bot = %name, "bot restarted by hand");
        Ok(())
    }

    /// The file of a bot is gone: it stops, and its events wait for a new one.
    pub async fn unload_bot_file(&self, path: &Path) {
        let Ok(name) = loader_bot_name_of(path) else {
            return;
        };
        if self.registry.get(&name).is_some() {
            tracing::warn!(bot = %name, file = %path.display(), "bot file removed; the bot is stopped and its events wait");
        }
        self.registry.remove(&name);
        self.record_slot(&name, None).await;
    }

    /// Files an error ticket for a refused file, unless this very file was
    /// already reported.
    async fn report_refusal(&self, name: &BotName, sha256: &str, e: &LoadError) {
        let known = self.refused_before(name).await.as_deref() == Some(sha256);
        self.record_slot(name, Some(sha256.to_string())).await;
        if known {
            return;
        }
        let running = self.registry.get(name).map(|b| b.sha256.clone());
        let keeps = match &running {
            Some(v) => format!("; version {} keeps running", v.get(..12).unwrap_or(v)),
            None => String::new(),
        };
        let report = ErrorReport {
            metaservice: name.metaservice.clone(),
            failed_ticket: None,
            bot: Some(name.to_string()),
            bot_version: Some(sha256.to_string()),
            message: format!("bot file {name}.wasm (sha256 {sha256}) was refused: {e}{keeps}"),
            cause: None,
        };
        if let Err(err) = self.file_error(&report).await {
            tracing::error!(bot = %name, "filing the error ticket failed: {err}");
        }
    }

    /// The hash of the last file refused under this name, as recorded. A
    /// database error is logged and counts as "none": at worst one error
    /// ticket too many is filed.
    async fn refused_before(&self, name: &BotName) -> Option<String> {
        match self.store.bot_record(&name.to_string()).await {
            Ok(record) => record.and_then(|r| r.refused_sha256),
            Err(e) => {
                tracing::error!(bot = %name, "reading the bot's record failed: {e}");
                None
            }
        }
    }

    /// Writes the registry's view of one bot to the `bots` table.
    pub(crate) async fn record_slot(&self, name: &BotName, refused_sha256: Option<String>) {
        let Some(slot) = self.registry.slot_of(name) else {
            return;
        };
        let previous_refusal = match refused_sha256 {
            Some(sha) => Some(sha),
            None if slot.loaded.is_some() => None,
            None => self.refused_before(name).await,
        };
        let record = BotRecord {
            name: name.to_string(),
            sha256: slot.loaded.as_ref().map(|b| b.sha256.clone()),
            status: slot.status.as_str().into(),
            restarts: slot.restarts,
            loaded_at: slot.loaded_at,
            last_error: slot.last_error.clone(),
            refused_sha256: previous_refusal,
            updated_at: self.clock.now(),
        };
        if let Err(e) = self.store.record_bot(&record).await {
            tracing::error!(bot = %name, "recording the bot's status failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_deadline_must_be_shorter_than_the_lease_however_large() {
        assert!(super::deadline_fits(5_000, 60_000));
        assert!(!super::deadline_fits(60_000, 60_000));
        assert!(!super::deadline_fits(9_223_372_036_854_775_808, 60_000));
        assert!(!super::deadline_fits(u64::MAX, 60_000));
    }
}
