//! Bots in Python and JavaScript: their projects found under a folder of
//! bots, their pinned toolchains installed under `target/tools/`, built
//! with their SDK's own build command, and unit-tested with their
//! language's runner.
//!
//! A Python project is a directory with a `pyproject.toml` holding a
//! `[tool.baton]` table (`app`, `deploy`); a JavaScript project is one with
//! a `package.json` holding `"baton": {"deploy": [...]}`. Both sit one level
//! below the folder of their manifest (`bots/feedback/suggestion`), like the
//! Rust bot crates.
//!
//! A build is skipped when nothing it reads changed since the last one
//! (sizes and modification times of the project, the SDK and `wit/`, and
//! the toolchain's version): componentize-py and componentize-js take
//! 10–20 s per component on these machines.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::sh;

/// The Python packages of the toolchain, pinned with everything they
/// import: the component build, the test runner, and the build backend
/// that packages the SDK as a wheel.
const PYTHON_PACKAGES: &[&str] = &[
    "componentize-py==0.25.1",
    "pytest==9.2.0",
    "iniconfig==2.3.1",
    "packaging==26.4",
    "pluggy==1.7.0",
    "Pygments==2.21.0",
    "hatchling==1.33.0",
    "pathspec==1.1.1",
    "trove-classifiers==2026.9.21.13",
];

/// The language of a bot project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Python,
    Js,
}

/// A bot project in another language than Rust.
pub struct Project {
    pub lang: Lang,
    pub dir: PathBuf,
    /// The project's name (its package name), for its build directory.
    pub name: String,
}

/// The projects one level below each metaservice folder of `folder`.
pub fn projects(folder: &Path) -> anyhow::Result<Vec<Project>> {
    let mut found = Vec::new();
    for metaservice in sorted_dirs(folder)? {
        for dir in sorted_dirs(&metaservice)? {
            if let Some(project) = project_at(&dir)? {
                found.push(project);
            }
        }
    }
    Ok(found)
}

fn sorted_dirs(folder: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Ok(Vec::new());
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn project_at(dir: &Path) -> anyhow::Result<Option<Project>> {
    let pyproject = dir.join("pyproject.toml");
    if pyproject.is_file() {
        let text = std::fs::read_to_string(&pyproject)?;
        let doc: toml::Table =
            toml::from_str(&text).with_context(|| format!("reading {}", pyproject.display()))?;
        let baton = doc.get("tool").and_then(|t| t.get("baton"));
        if baton.is_some() {
            let name = doc
                .get("project")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .with_context(|| format!("{}: no [project] name", pyproject.display()))?;
            return Ok(Some(Project {
                lang: Lang::Python,
                dir: dir.to_path_buf(),
                name: name.to_string(),
            }));
        }
    }
    let package = dir.join("package.json");
    if package.is_file() {
        let text = std::fs::read_to_string(&package)?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("reading {}", package.display()))?;
        if doc.get("baton").is_some() {
            let name = doc["name"]
                .as_str()
                .with_context(|| format!("{}: no \"name\"", package.display()))?;
            return Ok(Some(Project {
                lang: Lang::Js,
                dir: dir.to_path_buf(),
                name: name.to_string(),
            }));
        }
    }
    Ok(None)
}

/// The virtual environment with componentize-py and pytest, pinned, made
/// under `target/tools/python` unless the same set is there already.
/// Returns its `bin/` directory.
pub fn ensure_python(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join("target/tools/python");
    crate::toolchain::ensure_venv(root, &venv, PYTHON_PACKAGES, "componentize-py")
        .context("installing componentize-py and pytest from PyPI (Python bots need python3 3.11+)")
}

/// componentize-js and what it needs at run time, from the SDK's lockfile
/// (`sdk-js/tools/toolchain/`), installed with `npm ci` under
/// `target/tools/js` unless that lockfile is installed there already.
/// Returns that directory.
pub fn ensure_js(root: &Path) -> anyhow::Result<PathBuf> {
    let tools = root.join("target/tools/js");
    let source = root.join("sdk-js/tools/toolchain");
    let lock = std::fs::read_to_string(source.join("package-lock.json"))
        .context("reading sdk-js/tools/toolchain/package-lock.json")?;
    let stamp = tools.join("baton-lock.json");
    let installed = tools.join("node_modules/.bin/componentize-js");
    if installed.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == lock) {
        return Ok(tools);
    }
    ensure_node()?;
    std::fs::create_dir_all(&tools)?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), tools.join(file))
            .with_context(|| format!("copying {file} into {}", tools.display()))?;
    }
    sh(&tools, "npm", &["ci", "--no-audit", "--no-fund"]).context(
        "installing componentize-js from npm (JavaScript bots need Node.js 20.6+ and npm)",
    )?;
    std::fs::write(&stamp, lock)?;
    Ok(tools)
}

/// The oldest Node.js the SDK runs on: `module.register` (the test
/// hook) arrived in 20.6.
const NODE_AT_LEAST: (u32, u32) = (20, 6);

/// Node.js (20.6 or later) and npm: from Debian's packages when the
/// machine has none, refused with a clear reason when too old.
fn ensure_node() -> anyhow::Result<()> {
    let version = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if version("node").is_none() || version("npm").is_none() {
        crate::debian::apt_install(&["nodejs", "npm"], "building JavaScript bots")?;
    }
    let found = version("node").context("node is not on the PATH")?;
    let mut parts = found.trim_start_matches('v').split('.');
    let mut number = || {
        parts
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let (major, minor) = (number(), number());
    if (major, minor) < NODE_AT_LEAST {
        bail!(
            "JavaScript bots need Node.js {}.{} or later; this machine has {found} \
             (Debian 12's package is 18): install a newer Node.js",
            NODE_AT_LEAST.0,
            NODE_AT_LEAST.1
        );
    }
    Ok(())
}

/// Builds every project under `folder` (installing the toolchains it
/// needs) and fills `out` with the deployed files and the manifests of
/// their metaservices. Returns the files written.
pub fn build_and_deploy(root: &Path, folder: &Path, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let projects = projects(folder)?;
    if projects.is_empty() {
        bail!(
            "no Python or JavaScript bot projects under {}",
            folder.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut written = Vec::new();
    for project in &projects {
        let built = build(root, project)?;
        for file in std::fs::read_dir(&built)?.flatten() {
            let dest = out.join(file.file_name());
            std::fs::copy(file.path(), &dest)
                .with_context(|| format!("copying {}", file.path().display()))?;
            written.push(dest);
        }
        if let Some(metaservice) = project.dir.parent() {
            crate::bots::copy_manifests(metaservice, out)?;
        }
    }
    Ok(written)
}

/// Builds one project unless its inputs are unchanged; returns the
/// directory of its deployed files.
fn build(root: &Path, project: &Project) -> anyhow::Result<PathBuf> {
    // The toolchain's pins, the SDK (with its build tools) and the
    // contract are inputs as much as the project's own files.
    let (build_dir, sdk, tools) = match project.lang {
        Lang::Python => (
            root.join("target/python").join(&project.name),
            "sdk-python/src",
            PYTHON_PACKAGES.join("\n"),
        ),
        Lang::Js => (
            root.join("target/js").join(&project.name),
            "sdk-js",
            std::fs::read_to_string(root.join("sdk-js/tools/toolchain/package-lock.json"))
                .context("reading sdk-js/tools/toolchain/package-lock.json")?,
        ),
    };
    let deployed = build_dir.join("bots");
    let fingerprint = format!(
        "{tools}\n{}{}{}",
        listing(&project.dir)?,
        listing(&root.join(sdk))?,
        listing(&root.join("wit"))?
    );
    let stamp = build_dir.join("baton-inputs.txt");
    if deployed.is_dir() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == fingerprint) {
        eprintln!("  {} is up to date ({})", project.name, deployed.display());
        return Ok(deployed);
    }
    // Gone until this build succeeds: an interrupted one is not taken for
    // an up-to-date one next time.
    let _ = std::fs::remove_file(&stamp);
    let out = build_dir.display().to_string();
    let dir = project.dir.display().to_string();
    let wit = root.join("wit").display().to_string();
    match project.lang {
        Lang::Python => {
            let bin = ensure_python(root)?;
            let python = bin.join("python").display().to_string();
            let command = Command::new(&python)
                .args(["-m", "baton_sdk.build", &dir, "--wit", &wit, "--out", &out])
                .env("PYTHONPATH", root.join("sdk-python/src"))
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .current_dir(root)
                .status()
                .context("running baton_sdk.build")?;
            if !command.success() {
                bail!(
                    "building the Python bot {} failed ({command})",
                    project.name
                );
            }
        }
        Lang::Js => {
            let tools = ensure_js(root)?.display().to_string();
            let args = [
                "sdk-js/tools/build.js",
                &dir,
                "--wit",
                &wit,
                "--out",
                &out,
                "--tools",
                &tools,
            ];
            sh(root, "node", &args)?;
        }
    }
    std::fs::write(&stamp, fingerprint)?;
    Ok(deployed)
}

/// Every file under `dir` (tests, caches, `node_modules` and a `build/`
/// left by a build by hand aside) with
/// its size and modification time: what a build reads.
fn listing(dir: &Path) -> anyhow::Result<String> {
    let mut lines = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(here) = stack.pop() {
        let top = here == dir;
        for entry in std::fs::read_dir(&here)
            .with_context(|| format!("reading {}", here.display()))?
            .flatten()
        {
            let path = entry.path();
            let name = entry.file_name();
            let skipped = match name.to_str() {
                Some("node_modules" | "__pycache__" | ".pytest_cache") => true,
                // The project's tests and a build by hand; a folder of the
                // same name deeper down is part of the bot.
                Some("tests" | "test" | "build") => top,
                _ => false,
            };
            if skipped {
                continue;
            }
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            lines.push(format!("{} {} {modified}\n", path.display(), meta.len()));
        }
    }
    lines.sort();
    Ok(lines.concat())
}
