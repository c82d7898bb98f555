//! `baton bots check|list`: bot files against the manifests, offline;
//! `check` also says what built a bot, the memory it needs to start and
//! how long it took to load.

use std::path::Path;

use anyhow::Context;

use crate::config::Config;
use crate::model::Catalog;
use crate::runtime::{Runtime, loader_bot_name_of};

/// Loads the manifests of `dir` for the offline commands, failing on any
/// refused manifest.
pub(super) fn catalog_of(dir: &Path) -> anyhow::Result<Catalog> {
    let mut metaservices = Vec::new();
    for path in crate::engine::manifest_files(dir)? {
        metaservices.push(crate::engine::read_manifest(&path)?);
    }
    Ok(Catalog::new(metaservices))
}

/// The `[limits]` of metaservice `name` (none: the defaults).
fn ms_limits(catalog: &Catalog, name: &str) -> crate::model::catalog::LimitOverrides {
    catalog
        .metaservice(name)
        .map(|ms| ms.limits.clone())
        .unwrap_or_default()
}

pub(super) async fn check_bot(config: &Config, file: &Path) -> anyhow::Result<()> {
    let catalog = catalog_of(&config.bots_dir)?;
    let runtime = Runtime::new(config.limits, 1, None)?;
    let name = loader_bot_name_of(file)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let bot = runtime
        .load(name, bytes, &catalog)
        .await
        .with_context(|| format!("{} refused", file.display()))?;
    let compiled = match bot.origin {
        crate::runtime::Origin::Compiled => "compiled",
        crate::runtime::Origin::Cache => "read from the compiled-code cache",
    };
    println!(
        "{}: ok, bot {} (sha256 {}, {} bytes)\n  toolchain: {}\n  memory at start: {:.1} MiB (limit {} MiB)\n  load: {:.0} ms ({compiled})",
        file.display(),
        bot.name,
        bot.sha256,
        bot.size,
        bot.toolchain,
        bot.memory_floor as f64 / f64::from(1 << 20),
        runtime
            .limits()
            .with(&ms_limits(&catalog, &bot.name.metaservice))
            .memory_mib,
        bot.load_us as f64 / 1000.0,
    );
    Ok(())
}

pub(super) fn list_bots(config: &Config) -> anyhow::Result<()> {
    let catalog = catalog_of(&config.bots_dir)?;
    for name in catalog.expected_bots() {
        let file = config.bots_dir.join(format!("{name}.wasm"));
        let present = if file.is_file() { "present" } else { "MISSING" };
        println!("{name}\t{present}");
    }
    Ok(())
}
