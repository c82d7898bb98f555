//! What one bot invocation costs, and what running bots as WebAssembly
//! costs a whole workflow: `cargo xtask bench` runs this in release.
//!
//! ```sh
//! cargo run --release -p baton-host --example invocation -- \
//!     --fixtures target/bench/fixtures [--quick] [latency|ratio|all|pooling]
//! ```
//!
//! `--fixtures` is a bots directory with the fixture bots and manifests
//! (`cargo xtask build-bots --fixtures --out DIR` lays one out). Figures
//! go to stdout, one a line, `name: value unit`; notes go to stderr.
//! `--quick` does a fifth of the work (20,000 iterations per latency).
//! `pooling` measures the headline figure alone, for profilers.
//!
//! - `latency.rs`: `invocation_*_us`, the time of `Runtime::invoke` (fresh
//!   instance + one `proceed-ticket` with one host call) with the pooling
//!   allocator, with the on-demand one, and on a live instance.
//! - `ratio.rs`: `wasm_vs_native_ratio`, tickets of the stepper workflow
//!   driven through their three bot steps onto a real SQLite store, once
//!   with the components and once with the same bot logic compiled in.
//! - `adapter.rs`: the SDK's `Host` seam over the host's imports, called
//!   natively (`baton_host::runtime::bench::NativeCalls`).
//! - `steps.rs`: what one step does: invoke, build the commit, commit.
//! - `setup.rs`: manifests, bot files, stores and tickets.

mod adapter;
mod latency;
mod ratio;
mod setup;
mod steps;

use std::path::PathBuf;

use anyhow::{Context, bail};

const USAGE: &str = "usage: invocation --fixtures DIR [--quick] [latency|ratio|all|pooling]";

struct Args {
    fixtures: PathBuf,
    quick: bool,
    which: String,
}

fn args() -> anyhow::Result<Args> {
    let mut fixtures = None;
    let mut quick = false;
    let mut which = "all".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--fixtures" => fixtures = Some(PathBuf::from(args.next().context(USAGE)?)),
            "--quick" => quick = true,
            "latency" | "ratio" | "all" | "pooling" => which = arg,
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Ok(Args {
        fixtures: fixtures.context(USAGE)?,
        quick,
        which,
    })
}

/// One figure, as `cargo xtask bench` prints them: `name: value unit`,
/// with fewer decimals the larger the value.
pub fn figure(name: &str, value: f64, unit: &str) {
    let decimals = match value.abs() {
        v if v >= 1_000.0 => 0,
        v if v >= 10.0 => 1,
        _ => 2,
    };
    println!("{name}: {value:.decimals$} {unit}");
}

/// The allocator `baton serve` runs with (`host/src/main.rs` says why), so
/// that what is measured here is what the server pays.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// A multi-threaded runtime on every core, as `baton serve` runs.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let scale = if args.quick { 5 } else { 1 };
    if matches!(args.which.as_str(), "latency" | "all" | "pooling") {
        let only_pooling = args.which == "pooling";
        latency::run(&args.fixtures, 100_000 / scale, only_pooling).await?;
    }
    if matches!(args.which.as_str(), "ratio" | "all") {
        ratio::run(
            &args.fixtures,
            6_000 / scale,
            if args.quick { 1 } else { 3 },
        )
        .await?;
    }
    Ok(())
}
