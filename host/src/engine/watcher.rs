//! Hot reload: the bots directory is watched, and a `.wasm` file that
//! appears, changes or disappears is loaded, swapped or stopped once the
//! directory has been quiet for `reload_debounce_ms`.
//!
//! Deploy by writing the file elsewhere and renaming it into place; a file
//! still being written when the quiet period ends is refused like any
//! invalid file (the running version stays) and loaded when the write
//! completes and the directory changes again.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::Engine;
use crate::model::manifest::MANIFEST_SUFFIX;
use crate::runtime::loader_bot_name_of;

/// A registered watch on the bots directory; changes queue up until
/// [`DirWatch::run`] handles them.
pub struct DirWatch {
    watcher: notify::RecommendedWatcher,
    events: mpsc::UnboundedReceiver<notify::Result<notify::Event>>,
}

impl Engine {
    /// Starts watching the bots directory. Call it before the first scan,
    /// so that no change between the scan and the watch is missed.
    pub fn watch_bots_dir(&self) -> anyhow::Result<DirWatch> {
        let (tx, events) = mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            // The receiver is gone only when the engine is stopping.
            let _ = tx.send(event);
        })?;
        watcher.watch(&self.bots_dir, RecursiveMode::NonRecursive)?;
        tracing::info!(dir = %self.bots_dir.display(), "watching the bots directory");
        Ok(DirWatch { watcher, events })
    }
}

impl DirWatch {
    /// Applies changes until `shutdown` completes.
    pub async fn run(mut self, engine: Arc<Engine>, shutdown: impl Future<Output = ()>) {
        let quiet = Duration::from_millis(engine.config.reload_debounce_ms.max(1));
        let mut pending: BTreeSet<PathBuf> = BTreeSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                message = self.events.recv() => match message {
                    // Reads (access events, ours included) change nothing.
                    Some(Ok(event)) if !event.kind.is_access() && !event.kind.is_other() => {
                        pending.extend(event.paths)
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => tracing::error!("watching the bots directory: {e}"),
                    None => break,
                },
                // Re-armed by every event: fires once the directory is quiet.
                _ = tokio::time::sleep(quiet), if !pending.is_empty() => {
                    for path in std::mem::take(&mut pending) {
                        engine.apply_change(&path).await;
                    }
                }
            }
        }
        drop(self.watcher);
    }
}

impl Engine {
    async fn apply_change(&self, path: &Path) {
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default();
        if file.ends_with(MANIFEST_SUFFIX) || file.ends_with(".schema.json") {
            tracing::warn!(file = %path.display(), "manifest changed; manifests are read at start: restart Baton to apply it");
            // `/readyz` tells whether the next start would refuse it.
            self.recheck_manifests();
            return;
        }
        if !file.ends_with(".wasm") {
            return;
        }
        if !path.is_file() {
            self.unload_bot_file(path).await;
            return;
        }
        // An event that did not change the content (a touch, a copy of the
        // same build) does not reload.
        if let (Ok(name), Ok(bytes)) = (loader_bot_name_of(path), tokio::fs::read(path).await) {
            let sha = hex::encode(Sha256::digest(&bytes));
            if self
                .registry
                .get(&name)
                .is_some_and(|bot| bot.sha256 == sha)
            {
                return;
            }
        }
        tracing::info!(file = %path.display(), "bot file changed; loading it");
        // A refusal is logged, recorded and reported by the loader.
        let _ = self.load_bot_file(path).await;
    }
}
