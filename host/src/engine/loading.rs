//! Reading the bots directory: every `*.metaservice.toml` into the catalog
//! (synced to the database), then every `*.wasm` into the registry.
//!
//! A refused manifest or bot file is logged with its reason and skipped;
//! the rest of the directory still loads, so one team's mistake does not
//! stop another team's bots.

use std::path::{Path, PathBuf};

use super::Engine;
use crate::model::manifest::{self, MANIFEST_SUFFIX, ManifestError};
use crate::model::{BotName, Catalog, Metaservice};
use crate::runtime::{LoadError, loader_bot_name_of};
use crate::store::BotRecord;

/// What a directory scan found.
#[derive(Debug, Default)]
pub struct ScanReport {
    pub metaservices: Vec<String>,
    pub manifest_errors: Vec<ManifestError>,
    pub loaded: Vec<BotName>,
    pub refused: Vec<(PathBuf, LoadError)>,
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

impl Engine {
    /// Loads the manifests and the bots of the bots directory.
    pub async fn scan_bots_dir(&self) -> anyhow::Result<ScanReport> {
        let mut report = ScanReport::default();
        let dir = self.bots_dir.clone();
        let mut metaservices = Vec::new();
        for path in files_with_suffix(&dir, MANIFEST_SUFFIX)? {
            match read_manifest(&path) {
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
        let catalog = Catalog::new(metaservices);
        self.store.sync_catalog(&catalog, self.clock.now()).await?;
        self.registry.expect(catalog.expected_bots());
        self.set_catalog(catalog);

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
    /// its state, and its waiting events are woken.
    pub async fn load_bot_file(&self, path: &Path) -> Result<BotName, LoadError> {
        let name = match loader_bot_name_of(path) {
            Ok(name) => name,
            Err(e) => {
                tracing::error!(file = %path.display(), "bot file refused: {e}");
                return Err(e);
            }
        };
        let now = self.clock.now();
        let result = match tokio::fs::read(path).await {
            Ok(bytes) => {
                self.runtime
                    .load(name.clone(), bytes, &self.catalog())
                    .await
            }
            Err(e) => Err(LoadError::Read(e.to_string())),
        };
        match result {
            Ok(bot) => {
                tracing::info!(bot = %name, sha256 = %bot.sha256, bytes = bot.size, sdk = %bot.sdk_version, "bot loaded");
                let record = BotRecord {
                    name: name.to_string(),
                    sha256: Some(bot.sha256.clone()),
                    status: "running".into(),
                    restarts: 0,
                    loaded_at: Some(now),
                    last_error: None,
                    updated_at: now,
                };
                self.registry.install(bot, now);
                self.record(&record).await;
                match self.store.wake_events(&name, now).await {
                    Ok(_) => self.poke(),
                    Err(e) => tracing::error!(bot = %name, "waking its events failed: {e}"),
                }
                Ok(name)
            }
            Err(e) => {
                tracing::error!(file = %path.display(), bot = %name, "bot file refused: {e}");
                self.registry.refuse(&name, e.to_string());
                let record = BotRecord {
                    name: name.to_string(),
                    sha256: None,
                    status: "refused".into(),
                    restarts: 0,
                    loaded_at: None,
                    last_error: Some(e.to_string()),
                    updated_at: now,
                };
                self.record(&record).await;
                Err(e)
            }
        }
    }

    async fn record(&self, record: &BotRecord) {
        if let Err(e) = self.store.record_bot(record).await {
            tracing::error!(bot = %record.name, "recording the bot's status failed: {e}");
        }
    }
}
