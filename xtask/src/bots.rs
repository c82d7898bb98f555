//! Bot crates: found through `cargo metadata` by their
//! `[package.metadata.baton] deploy = [...]` list, built with the `bot`
//! profile, and copied into a bots directory under each deployed name,
//! next to the manifests (and schema files) of their folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::toolchain::WASM_TARGET;

/// Which bot crates.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `bots/`: the example metaservices.
    Examples,
    /// `tests/fixtures/bots/`: bots that misbehave on purpose.
    Fixtures,
}

impl Kind {
    pub fn from_fixtures(fixtures: bool) -> Self {
        if fixtures {
            Kind::Fixtures
        } else {
            Kind::Examples
        }
    }

    fn folder(self) -> &'static str {
        match self {
            Kind::Examples => "bots",
            Kind::Fixtures => "tests/fixtures/bots",
        }
    }
}

struct BotCrate {
    package: String,
    /// The library's file name stem (`-` becomes `_`).
    lib: String,
    dir: PathBuf,
    deploy: Vec<String>,
}

fn bot_crates(root: &Path, kind: Kind) -> anyhow::Result<Vec<BotCrate>> {
    let out = Command::new(crate::cargo())
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: Value = serde_json::from_slice(&out.stdout).context("reading cargo metadata")?;
    let folder = root.join(kind.folder());
    let mut crates = Vec::new();
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        let Some(deploy) = pkg["metadata"]["baton"]["deploy"].as_array() else {
            continue;
        };
        let manifest = PathBuf::from(pkg["manifest_path"].as_str().unwrap_or_default());
        let Some(dir) = manifest.parent() else {
            continue;
        };
        if !dir.starts_with(&folder) {
            continue;
        }
        let package = pkg["name"].as_str().unwrap_or_default().to_string();
        crates.push(BotCrate {
            lib: package.replace('-', "_"),
            package,
            dir: dir.to_path_buf(),
            deploy: deploy
                .iter()
                .filter_map(|d| d.as_str().map(String::from))
                .collect(),
        });
    }
    if crates.is_empty() {
        bail!("no bot crates under {}", folder.display());
    }
    Ok(crates)
}

/// Builds every bot crate of `kind` and fills `out` with its deployed files
/// and the manifests beside it. Returns the files written.
pub fn build_and_deploy(root: &Path, kind: Kind, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let crates = bot_crates(root, kind)?;
    let mut args = vec!["build", "--target", WASM_TARGET, "--profile", "bot"];
    for c in &crates {
        args.extend(["--package", c.package.as_str()]);
    }
    crate::sh(root, &crate::cargo(), &args)?;

    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let built = root.join("target").join(WASM_TARGET).join("bot");
    let mut written = Vec::new();
    for c in &crates {
        let wasm = built.join(format!("{}.wasm", c.lib));
        for name in &c.deploy {
            // A name may sit in a subfolder (`v2/…`), which Baton does not
            // read: tests copy such variants into place themselves.
            let dest = out.join(format!("{name}.wasm"));
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(&wasm, &dest)
                .with_context(|| format!("copying {} to {}", wasm.display(), dest.display()))?;
            written.push(dest);
        }
        // The crate's folder holds the manifest(s) it belongs to, one level up
        // for examples (`bots/wca/edit_person` → `bots/wca`).
        for folder in [
            c.dir.clone(),
            c.dir.parent().map(Path::to_path_buf).unwrap_or_default(),
        ] {
            copy_manifests(&folder, out)?;
        }
    }
    Ok(written)
}

pub fn copy_manifests(from: &Path, out: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if path.is_file() && (name.ends_with(".metaservice.toml") || name.ends_with(".schema.json"))
        {
            std::fs::copy(&path, out.join(&name))
                .with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}
