//! Loading a bot file: the name, the bytes, the world, and `describe()`,
//! each checked before the bot may serve a single ticket.

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use thiserror::Error;
use wasmtime::component::Component;

use super::bindings::{Bot, BotPre};
use super::{BotState, Origin, Runtime};
use crate::model::{BotName, Catalog};

/// A bot that passed every check, ready to instantiate.
pub struct LoadedBot {
    pub name: BotName,
    /// Hex SHA-256 of the file: the bot's version.
    pub sha256: String,
    /// What built the bot (`describe()`'s `toolchain`).
    pub toolchain: String,
    pub size: usize,
    /// Whether the compiled code came from the on-disk cache.
    pub origin: Origin,
    /// Time to compile (or read from the cache) and check, in microseconds.
    pub load_us: u64,
    /// The linear memory it held after `describe()`: what it needs just to
    /// start, in bytes.
    pub memory_floor: usize,
    /// `name` as text, made once: every invocation's output streams label
    /// their lines with it (formatted per invocation, it was 1 % of the
    /// samples in `perf` of the invocation benchmark).
    pub(super) label: Arc<str>,
    pub(super) pre: BotPre<BotState>,
}

/// Why a bot file was refused. The message names the reason; callers add
/// the file.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum LoadError {
    #[error("bad file name: {0}")]
    Name(String),
    #[error("the manifests do not call for this bot: {0}")]
    NotInCatalog(String),
    #[error("cannot read the file: {0}")]
    Read(String),
    #[error("not a WebAssembly file")]
    NotWasm,
    #[error("a core WebAssembly module, not a component: build it for wasm32-wasip2")]
    CoreModule,
    #[error("not a valid component: {0}")]
    Compile(String),
    #[error("not a component of the world baton:bot/bot: {0}")]
    WrongWorld(String),
    #[error("describe() failed: {0}")]
    Describe(String),
    #[error("describe() disagrees: {0}")]
    Mismatch(String),
}

/// The bot name a file stands for: its name without `.wasm`.
pub fn bot_name_of(path: &Path) -> Result<BotName, LoadError> {
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| LoadError::Name(format!("{}", path.display())))?;
    let stem = file
        .strip_suffix(".wasm")
        .ok_or_else(|| LoadError::Name(format!("{file:?} does not end in .wasm")))?;
    BotName::parse(stem).map_err(LoadError::Name)
}

/// Checks that the catalog has a non-terminal state of this name.
pub fn check_in_catalog(name: &BotName, catalog: &Catalog) -> Result<(), LoadError> {
    let tt = catalog
        .ticket_type(&name.metaservice, &name.ticket_type)
        .ok_or_else(|| {
            LoadError::NotInCatalog(format!(
                "no ticket type {} in metaservice {}",
                name.ticket_type, name.metaservice
            ))
        })?;
    let state = tt.state(name.state_code).ok_or_else(|| {
        LoadError::NotInCatalog(format!(
            "{} has no state {}",
            name.ticket_type, name.state_code
        ))
    })?;
    if state.name != name.state_name {
        return Err(LoadError::NotInCatalog(format!(
            "state {} of {} is named {:?}, not {:?}",
            state.code, name.ticket_type, state.name, name.state_name
        )));
    }
    if state.terminal {
        return Err(LoadError::NotInCatalog(format!(
            "state {} {} is terminal; terminal states have no bot",
            state.code, state.name
        )));
    }
    Ok(())
}

/// The first eight bytes tell a component from a core module.
fn check_header(bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm);
    }
    // Bytes 6..8 are the layer: 0 for core modules, 1 for components.
    if bytes[6..8] == [0, 0] {
        return Err(LoadError::CoreModule);
    }
    Ok(())
}

impl Runtime {
    /// Compiles and checks a bot. Compilation runs on a blocking thread:
    /// it takes tens of milliseconds and must not stall the dispatcher.
    pub async fn load(
        &self,
        name: BotName,
        bytes: Vec<u8>,
        catalog: &Catalog,
    ) -> Result<LoadedBot, LoadError> {
        let started = std::time::Instant::now();
        check_in_catalog(&name, catalog)?;
        check_header(&bytes)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let size = bytes.len();
        let (component, origin) = self.compile(sha256.clone(), bytes).await?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        let pre = BotPre::new(pre).map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        let mut bot = LoadedBot {
            label: Arc::from(name.to_string()),
            name,
            sha256,
            toolchain: String::new(),
            size,
            origin,
            load_us: 0,
            memory_floor: 0,
            pre,
        };
        // `describe()` runs under the limits the bot will run under.
        let limits = match catalog.metaservice(&bot.name.metaservice) {
            Some(ms) => self.limits.with(&ms.limits),
            None => self.limits,
        };
        (bot.toolchain, bot.memory_floor) = self.check_describe(&bot, limits).await?;
        bot.load_us = started.elapsed().as_micros() as u64;
        Ok(bot)
    }

    /// Compiles on a blocking thread, through the cache when there is one.
    async fn compile(
        &self,
        sha256: String,
        bytes: Vec<u8>,
    ) -> Result<(Component, Origin), LoadError> {
        let engine = self.engine.clone();
        let cache = self.cache.clone();
        tokio::task::spawn_blocking(move || match cache {
            Some(cache) => cache.component(&engine, &sha256, &bytes),
            None => Component::new(&engine, &bytes).map(|c| (c, Origin::Compiled)),
        })
        .await
        .map_err(|e| LoadError::Compile(e.to_string()))?
        .map_err(|e| LoadError::Compile(format!("{e:#}")))
    }

    /// Calls `describe()` and compares it with the name; returns the
    /// toolchain it reports and the memory it held.
    async fn check_describe(
        &self,
        bot: &LoadedBot,
        limits: super::Limits,
    ) -> Result<(String, usize), LoadError> {
        let (mut store, _) = self.new_store(bot, None, limits);
        let deadline = std::time::Duration::from_millis(self.limits.deadline_ms);
        let call = async {
            let instance: Bot = bot.pre.instantiate_async(&mut store).await?;
            instance.call_describe(&mut store).await
        };
        let info = tokio::time::timeout(deadline, call)
            .await
            .map_err(|_| {
                LoadError::Describe(format!(
                    "it ran past the deadline of {} ms",
                    self.limits.deadline_ms
                ))
            })?
            .map_err(|e| match store.data().limits.refused {
                Some(wanted) => LoadError::Describe(format!(
                    "it needs {:.1} MiB of memory to start, above its metaservice's \
                     memory limit of {} MiB (`[limits] memory_mib`)",
                    wanted as f64 / f64::from(1 << 20),
                    limits.memory_mib
                )),
                None => LoadError::Describe(format!("{e:#}")),
            })?;
        let floor = store.data().limits.peak;
        let name = &bot.name;
        if info.metaservice != name.metaservice || info.ticket_type != name.ticket_type {
            return Err(LoadError::Mismatch(format!(
                "it serves {}/{}, the file name says {}/{}",
                info.metaservice, info.ticket_type, name.metaservice, name.ticket_type
            )));
        }
        if !info.states.contains(&name.state_code) {
            return Err(LoadError::Mismatch(format!(
                "it serves states {:?}, the file name says state {}",
                info.states, name.state_code
            )));
        }
        Ok((info.toolchain, floor))
    }
}
