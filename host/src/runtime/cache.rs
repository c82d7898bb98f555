//! Compiled bots cached on disk by content hash, so that a restart does
//! not recompile unchanged bots.
//!
//! An entry is `<sha256 of the .wasm>.cwasm` plus `.cwasm.sum`, the SHA-256
//! of the compiled bytes, in a folder named for the engine's compatibility
//! hash. Deserializing compiled code runs it without validation, so an
//! entry is used only when its checksum matches; anything else (corrupt,
//! truncated, from another wasmtime or another configuration) is ignored
//! and rebuilt.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

pub struct CompiledCache {
    dir: PathBuf,
}

/// Where a component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Cache,
    Compiled,
}

impl CompiledCache {
    /// The cache for `engine` under `root`.
    pub fn new(root: &Path, engine: &Engine) -> Self {
        let mut h = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        CompiledCache {
            dir: root.join(format!("{:016x}", h.finish())),
        }
    }

    fn paths(&self, sha256: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{sha256}.cwasm")),
            self.dir.join(format!("{sha256}.cwasm.sum")),
        )
    }

    /// The component for `bytes` (whose hash is `sha256`): from the cache
    /// when a sound entry exists, else compiled and stored. Blocking.
    pub fn component(
        &self,
        engine: &Engine,
        sha256: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, Origin)> {
        let (code, sum) = self.paths(sha256);
        if let Some(component) = self.read(engine, &code, &sum) {
            return Ok((component, Origin::Cache));
        }
        let compiled = engine.precompile_component(bytes)?;
        // SAFETY: these bytes were produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        if let Err(e) = self.write(&code, &sum, &compiled) {
            tracing::warn!(cache = %self.dir.display(), "could not store compiled code: {e}");
        }
        Ok((component, Origin::Compiled))
    }

    fn read(&self, engine: &Engine, code: &Path, sum: &Path) -> Option<Component> {
        let bytes = std::fs::read(code).ok()?;
        let expected = std::fs::read_to_string(sum).ok()?;
        if hex::encode(Sha256::digest(&bytes)) != expected.trim() {
            tracing::warn!(entry = %code.display(), "compiled-code cache entry does not match its checksum; recompiling");
            return None;
        }
        // SAFETY: the bytes are exactly what this process family wrote (the
        // checksum matches), and wasmtime refuses code from an incompatible
        // engine or configuration.
        match unsafe { Component::deserialize(engine, &bytes) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(entry = %code.display(), "compiled-code cache entry refused ({e}); recompiling");
                None
            }
        }
    }

    /// Writes through temporary files and renames, so a crash leaves no
    /// half-written entry under the final name.
    fn write(&self, code: &Path, sum: &Path, compiled: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = code.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, compiled)?;
        std::fs::rename(&tmp, code)?;
        let tmp = sum.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, hex::encode(Sha256::digest(compiled)))?;
        std::fs::rename(&tmp, sum)
    }
}
