//! `sweep`: one sweep of a state holding 1,000 open tickets among
//! 1,000,000 (target: 20 ms or less), and a second that finds nothing, by
//! `host/examples/sweep.rs` on a release build. Quick runs seed 100,000
//! tickets, and the figure is named for them (`sweep_1k_of_100k_ms`).

use std::path::Path;

use super::scratch;

pub(super) fn sweep(root: &Path, quick: bool) -> anyhow::Result<()> {
    let dir = scratch(root, "sweep")?;
    let tickets = if quick { "100000" } else { "1000000" };
    let db = dir.join("sweep.db").display().to_string();
    let args = [
        "run",
        "--release",
        "--package",
        "baton-host",
        "--example",
        "sweep",
        "--",
        "--tickets",
        tickets,
        "--open",
        "1000",
        "--db",
        &db,
    ];
    crate::sh(root, &crate::cargo(), &args)
}
