//! Installing what the commands need, idempotently: the Wasm target, the
//! OpenAPI validator the contract test runs, and pinned Python virtual
//! environments (the validator's; `langs.rs` makes the bots' with it).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Adds the `wasm32-wasip2` target with rustup unless it is installed.
pub fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (it installs the wasm32-wasip2 target)")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    eprintln!("+ rustup target add {WASM_TARGET}");
    let status = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .status()
        .context("running rustup target add")?;
    if !status.success() {
        bail!("rustup target add {WASM_TARGET} failed ({status})");
    }
    Ok(())
}

/// `openapi-spec-validator` and everything it imports, pinned: the
/// contract test checks the served OpenAPI document with it.
const VALIDATOR_PACKAGES: &[&str] = &[
    "openapi-spec-validator==0.9.0",
    "openapi-schema-validator==0.9.0",
    "annotated-types==0.8.0",
    "attrs==26.1.0",
    "jsonschema==4.26.0",
    "jsonschema-path==0.5.0",
    "jsonschema-specifications==2025.9.1",
    "lazy-object-proxy==1.13.0",
    "pathable==0.6.0",
    "pydantic==2.14.4",
    "pydantic-settings==2.16.3",
    "pydantic_core==2.50.5",
    "python-dotenv==1.2.4",
    "PyYAML==6.0.4",
    "referencing==0.37.0",
    "rfc3339-validator==0.1.4",
    "rpds-py==2026.9.1",
    "six==1.17.0",
    "typing-inspection==0.4.5",
    "typing_extensions==4.16.0",
];

/// Installs the OpenAPI validator into a virtual environment under
/// `target/tools/` unless the same pinned set is there already, and
/// returns the path of its command.
pub fn ensure_openapi_validator(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join("target/tools/openapi-spec-validator");
    let bin = ensure_venv(root, &venv, VALIDATOR_PACKAGES, "openapi-spec-validator")
        .context("installing openapi-spec-validator from PyPI")?;
    Ok(bin.join("openapi-spec-validator"))
}

/// A Python virtual environment at `venv` holding exactly `packages`
/// (pinned, each with its dependencies listed: installed `--no-deps`),
/// made unless it exists with the same list and its `command`. Returns
/// its `bin/` directory.
pub fn ensure_venv(
    root: &Path,
    venv: &Path,
    packages: &[&str],
    command: &str,
) -> anyhow::Result<PathBuf> {
    let bin = venv.join("bin");
    let stamp = venv.join("baton-packages.txt");
    let wanted = packages.join("\n");
    if bin.join(command).is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(bin);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    crate::sh(root, &python, &["-m", "venv", &venv.display().to_string()])
        .context("making a virtual environment (python3 with its venv module)")?;
    let pip = bin.join("python").display().to_string();
    let mut args = vec![
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
    ];
    args.extend(packages);
    crate::sh(root, &pip, &args)?;
    std::fs::write(&stamp, wanted).context("writing the virtual environment's stamp")?;
    Ok(bin)
}
