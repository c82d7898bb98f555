//! The unit tests of the Python and JavaScript SDKs and of the bots
//! written with them: pytest and `node --test`, native, no Wasm build.
//! Each runner's output is echoed and its counts added to the run's. Then
//! both SDKs are packaged (a wheel; `npm pack --dry-run`) and each package
//! checked to carry its copy of the contract: a package that cannot be
//! built, or that would need `../wit`, cannot be published.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::langs::{self, Lang};

/// What the runners counted.
#[derive(Default)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

/// Runs the SDKs' tests and every bot project's under `bots/`, failing
/// after all of them ran if any failed.
pub fn run(root: &Path) -> anyhow::Result<Counts> {
    let python_bin = langs::ensure_python(root)?;
    let stubs = binding_stubs(root, &python_bin)?;
    let mut counts = Counts::default();
    let mut failed = Vec::new();
    for (label, mut command) in runners(root, &python_bin, &stubs)? {
        eprintln!("+ ({label}) {command:?}");
        let out = command
            .output()
            .with_context(|| format!("running the tests of {label}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        print!("{text}");
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        let (p, f, s) = count(&text);
        counts.passed += p;
        counts.failed += f;
        counts.skipped += s;
        if !out.status.success() {
            failed.push(label);
        }
    }
    if !failed.is_empty() {
        bail!("the unit tests of {} failed", failed.join(", "));
    }
    package_python(root, &python_bin)?;
    package_js(root)?;
    Ok(counts)
}

/// componentize-py's binding stubs, for the Python SDK's conversion tests
/// (generated afresh under `target/`, never kept in the source tree).
fn binding_stubs(root: &Path, python_bin: &Path) -> anyhow::Result<PathBuf> {
    let stubs = root.join("target/python/stubs");
    // componentize-py refuses to write into a directory that exists.
    if stubs.exists() {
        std::fs::remove_dir_all(&stubs)
            .with_context(|| format!("removing the old {}", stubs.display()))?;
    }
    let wit = root.join("wit").display().to_string();
    let stubs_arg = stubs.display().to_string();
    crate::sh(
        root,
        &python_bin.join("componentize-py").display().to_string(),
        &["-d", &wit, "-w", "bot", "bindings", &stubs_arg],
    )?;
    Ok(stubs)
}

/// Every test run, labelled: the Python SDK's and Python bots' with
/// pytest, then the JavaScript SDK's and JavaScript bots' with node.
fn runners(root: &Path, python_bin: &Path, stubs: &Path) -> anyhow::Result<Vec<(String, Command)>> {
    let pytest = python_bin.join("pytest");
    let python = |dir: &Path, extra_path: Option<&Path>| {
        let mut c = Command::new(&pytest);
        c.current_dir(dir).env("PYTHONDONTWRITEBYTECODE", "1");
        if let Some(p) = extra_path {
            c.env("PYTHONPATH", p);
        }
        c
    };
    // No path after `--test`: given a directory, Node 21 and later take it
    // for a file; without one, every version finds `test/**` itself.
    let node = |dir: &Path, register: Option<&Path>| {
        let mut c = Command::new("node");
        if let Some(hook) = register {
            c.arg("--import").arg(hook);
        }
        c.arg("--test").current_dir(dir);
        c
    };
    let register = root.join("sdk-js/tools/register.js");
    let mut runs = vec![(
        "sdk-python".to_string(),
        python(&root.join("sdk-python"), Some(stubs)),
    )];
    let mut js_runs = vec![("sdk-js".to_string(), node(&root.join("sdk-js"), None))];
    for project in langs::projects(&root.join("bots"))? {
        let label = project.name.clone();
        match project.lang {
            Lang::Python => runs.push((label, python(&project.dir, None))),
            Lang::Js => js_runs.push((label, node(&project.dir, Some(&register)))),
        }
    }
    runs.append(&mut js_runs);
    Ok(runs)
}

/// Builds the Python SDK's wheel (offline: the pinned build backend is in
/// the toolchain) and checks that it holds the contract.
fn package_python(root: &Path, bin: &Path) -> anyhow::Result<()> {
    let dist = root.join("target/python/dist");
    let _ = std::fs::remove_dir_all(&dist);
    let python = bin.join("python").display().to_string();
    let dist_arg = dist.display().to_string();
    let args = [
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        &dist_arg,
        // A path, not a name to look up on an index.
        "./sdk-python",
    ];
    crate::sh(root, &python, &args)?;
    let wheel = std::fs::read_dir(&dist)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .context("pip wheel made no wheel")?;
    let listing = Command::new(&python)
        .args(["-m", "zipfile", "-l"])
        .arg(&wheel)
        .output()
        .context("listing the wheel")?;
    let listing = String::from_utf8_lossy(&listing.stdout);
    for file in ["baton_sdk/wit/bot.wit", "baton_sdk/testing/host.py"] {
        if !listing.contains(file) {
            bail!("{} lacks {file}", wheel.display());
        }
    }
    eprintln!("  packaged {}", wheel.display());
    Ok(())
}

/// `npm pack --dry-run` of the JavaScript SDK: what the package would hold,
/// checked to include the contract and the sources.
fn package_js(root: &Path) -> anyhow::Result<()> {
    let out = Command::new("npm")
        .args(["pack", "--dry-run", "--json"])
        .current_dir(root.join("sdk-js"))
        .output()
        .context("running npm pack")?;
    if !out.status.success() {
        bail!("npm pack failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let packed: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading npm pack's JSON")?;
    let files: Vec<&str> = packed[0]["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["path"].as_str())
        .collect();
    for file in ["wit/bot.wit", "src/index.js", "tools/build.js"] {
        if !files.contains(&file) {
            bail!("the npm package of sdk-js lacks {file} (it holds {files:?})");
        }
    }
    eprintln!(
        "  packaged {} ({} files)",
        packed[0]["filename"].as_str().unwrap_or("sdk-js"),
        files.len()
    );
    Ok(())
}

/// The counts in pytest's summary line (`3 passed, 1 skipped in 0.2s`) or
/// node's TAP trailer (`# pass 3`, `# fail 0`, `# skipped 1`).
fn count(output: &str) -> (u64, u64, u64) {
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for line in output.lines() {
        let line = line.trim().trim_matches('=').trim();
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.split_whitespace();
            if let (Some(word), Some(Ok(n))) = (words.next(), words.next().map(str::parse::<u64>)) {
                match word {
                    "pass" => passed += n,
                    "fail" => failed += n,
                    "skipped" => skipped += n,
                    _ => {}
                }
            }
            continue;
        }
        if !line.contains(" in ") || !(line.contains("passed") || line.contains("failed")) {
            continue;
        }
        for part in line.split(" in ").next().unwrap_or_default().split(',') {
            let mut words = part.split_whitespace();
            if let (Some(Ok(n)), Some(word)) = (words.next().map(str::parse::<u64>), words.next()) {
                match word {
                    "passed" => passed += n,
                    "failed" | "error" | "errors" => failed += n,
                    "skipped" => skipped += n,
                    _ => {}
                }
            }
        }
    }
    (passed, failed, skipped)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_pytest_and_node_summaries() {
        let pytest = "......s\n22 passed, 1 skipped in 0.22s\n";
        assert_eq!(super::count(pytest), (22, 0, 1));
        let failing = "=== 1 failed, 9 passed in 0.30s ===\n";
        assert_eq!(super::count(failing), (9, 1, 0));
        let node = "1..9\n# tests 9\n# suites 0\n# pass 8\n# fail 1\n# skipped 0\n";
        assert_eq!(super::count(node), (8, 1, 0));
    }
}
