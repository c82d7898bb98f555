//! `invocation`: what one bot invocation costs, and what running bots as
//! WebAssembly costs a whole workflow. Measured in-process by the release
//! example `host/examples/invocation` (its docs say how), on the fixture
//! bots that `bots::build_and_deploy(root, Kind::Fixtures, fixtures)` laid
//! out:
//!
//! - `invocation_median_us`, `invocation_p99_us`: `Runtime::invoke` with
//!   the pooling allocator (fresh instance + one `proceed-ticket` that
//!   makes one host call) of an SDK bot, over 100,000 invocations;
//!   `invocation_ondemand_*` with wasmtime's default allocator,
//!   `invocation_live_*` on one reused instance,
//!   `invocation_two_calls_*` for the stepper's two-call step, and
//!   `invocation_hostile_*` for the hostile fixture, which imports every
//!   WASI interface it can reach, and `invocation_wait_*` for one `wait`,
//!   a call that reads the database;
//! - `wasm_transitions_per_s`, `native_transitions_per_s` and their ratio
//!   `wasm_vs_native_ratio`: stepper tickets through their three bot steps
//!   onto a real SQLite store, 64 in flight, with the components and with
//!   the same bot logic compiled natively, in the same run.
//!
//! `quick` does a fifth of the work (20,000 invocations each, one run of
//! each workflow): well under a minute once built.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// Every figure the example prints, in its order.
const FIGURES: [&str; 15] = [
    "invocation_median_us",
    "invocation_p99_us",
    "invocation_ondemand_median_us",
    "invocation_ondemand_p99_us",
    "invocation_live_median_us",
    "invocation_live_p99_us",
    "invocation_two_calls_median_us",
    "invocation_two_calls_p99_us",
    "invocation_hostile_median_us",
    "invocation_hostile_p99_us",
    "invocation_wait_median_us",
    "invocation_wait_p99_us",
    "wasm_transitions_per_s",
    "native_transitions_per_s",
    "wasm_vs_native_ratio",
];

/// Builds and runs the example; prints each figure as `name: value unit`.
pub(super) fn invocation(root: &Path, fixtures: &Path, quick: bool) -> anyhow::Result<()> {
    let args = [
        "build",
        "--release",
        "--package",
        "baton-host",
        "--example",
        "invocation",
    ];
    crate::sh(root, &crate::cargo(), &args)?;
    let program = root.join("target/release/examples/invocation");
    let mut command = Command::new(&program);
    command
        .arg("--fixtures")
        .arg(fixtures)
        .current_dir(root)
        .stderr(Stdio::inherit());
    if quick {
        command.arg("--quick");
    }
    let out = command
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    if !out.status.success() {
        bail!("{} failed ({})", program.display(), out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut printed = Vec::new();
    for line in text.lines() {
        if let Some((name, _)) = line.split_once(": ") {
            printed.push(name.to_string());
            println!("{line}");
        }
    }
    for name in FIGURES {
        if !printed.iter().any(|p| p == name) {
            bail!("the invocation benchmark printed no {name}");
        }
    }
    Ok(())
}
