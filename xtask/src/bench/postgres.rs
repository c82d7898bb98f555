//! `postgres`: Baton on PostgreSQL, read against `pgbench -N` on the same
//! throwaway cluster (fsync and synchronous_commit on, as deployed).
//!
//! - `pgbench_n_tps_1`, `_8`, `_32`: what the cluster does for 1, 8 and 32
//!   clients of pgbench's simple-update transaction: the floor every
//!   figure below is read against.

use std::path::Path;

use crate::postgres::Cluster;

pub(super) fn postgres(root: &Path, quick: bool) -> anyhow::Result<()> {
    let cluster = Cluster::start(&root.join("target/bench"))?;
    let seconds = if quick { 5 } else { 15 };
    for clients in [1, 8, 32] {
        let tps = cluster.pgbench(clients, seconds)?;
        println!("pgbench_n_tps_{clients}: {tps:.0} transactions/s");
    }
    Ok(())
}
