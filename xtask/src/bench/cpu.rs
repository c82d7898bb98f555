//! Where the machine's CPU went during a measured window, from `/proc`:
//! the Baton nodes, PostgreSQL (the postmaster and every backend it
//! forked, including the ones that exited meanwhile), everything else,
//! and idle. A throughput figure on one machine says little about a
//! second node unless one also knows whether any CPU was left for it.
//!
//! All counts are in the kernel's clock ticks (`USER_HZ`); a share is
//! turned into cores by dividing by the machine's total ticks over its
//! CPU count in the same window, so no tick rate is assumed.

use std::fs;

/// Cumulative CPU ticks at one instant.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sample {
    /// Every CPU's ticks, idle included (first line of `/proc/stat`).
    total: u64,
    /// Idle and I/O-wait ticks.
    idle: u64,
    nodes: u64,
    /// None: no PostgreSQL server is counted (SQLite).
    postgres: Option<u64>,
}

/// One window's shares, in cores.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shares {
    pub(super) cpus: f64,
    pub(super) nodes: f64,
    pub(super) postgres: f64,
    counted_postgres: bool,
    pub(super) other: f64,
    pub(super) idle: f64,
}

impl Sample {
    /// Now, for the nodes with process ids `nodes` and the PostgreSQL
    /// server whose postmaster is `postmaster` (none: nothing counted).
    pub(super) fn take(nodes: &[u32], postmaster: Option<u32>) -> Sample {
        let (total, idle) = machine().unwrap_or_default();
        let nodes = nodes.iter().filter_map(|pid| own_ticks(*pid)).sum();
        let postgres = postmaster.map(server_ticks);
        Sample {
            total,
            idle,
            nodes,
            postgres,
        }
    }

    /// What happened between `self` and the later sample `then`.
    pub(super) fn until(&self, then: &Sample) -> Shares {
        let cpus = cpu_count() as f64;
        let window = then.total.saturating_sub(self.total).max(1) as f64 / cpus;
        let cores = |a: u64, b: u64| b.saturating_sub(a) as f64 / window;
        let busy = cpus - cores(self.idle, then.idle);
        let nodes = cores(self.nodes, then.nodes);
        let postgres = match (self.postgres, then.postgres) {
            (Some(a), Some(b)) => cores(a, b),
            _ => 0.0,
        };
        Shares {
            cpus,
            nodes,
            postgres,
            counted_postgres: self.postgres.is_some(),
            other: (busy - nodes - postgres).max(0.0),
            idle: cpus - busy,
        }
    }
}

impl Shares {
    /// `nodes 0.71, PostgreSQL 1.22, other 0.04, idle 0.03 of 2 cores`
    /// (without PostgreSQL's part when none was counted).
    pub(super) fn describe(&self) -> String {
        let postgres = if self.counted_postgres {
            format!("PostgreSQL {:.2}, ", self.postgres)
        } else {
            String::new()
        };
        format!(
            "nodes {:.2}, {postgres}other {:.2}, idle {:.2} of {:.0} cores",
            self.nodes, self.other, self.idle, self.cpus
        )
    }
}

/// Total and idle (idle + iowait) ticks of every CPU.
fn machine() -> Option<(u64, u64)> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let idle = ticks.get(3)? + ticks.get(4).copied().unwrap_or(0);
    Some((ticks.iter().sum(), idle))
}

fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The fields of `/proc/PID/stat` after the command name, which may
/// itself hold spaces and parentheses: field 3 (state) is index 0.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn field(fields: &[String], number: usize) -> u64 {
    // `number` as proc(5) counts: field 3 is index 0.
    fields
        .get(number - 3)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of a process, all its threads.
fn own_ticks(pid: u32) -> Option<u64> {
    let f = stat_fields(pid)?;
    Some(field(&f, 14) + field(&f, 15))
}

/// A PostgreSQL server's ticks: the postmaster's own and those of the
/// children it has reaped (cutime, cstime: backends that exited, such as
/// a connection closed at the end of its lifetime), plus every live child.
/// The sum only grows, so the difference of two samples is the server's.
fn server_ticks(postmaster: u32) -> u64 {
    let Some(f) = stat_fields(postmaster) else {
        return 0;
    };
    let own = field(&f, 14) + field(&f, 15) + field(&f, 16) + field(&f, 17);
    let children: u64 = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(stat_fields)
        .filter(|f| field(f, 4) == u64::from(postmaster))
        .map(|f| field(&f, 14) + field(&f, 15))
        .sum();
    own + children
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_shows_in_its_process_share() {
        let me = std::process::id();
        let before = Sample::take(&[me], None);
        let until = std::time::Instant::now() + std::time::Duration::from_millis(300);
        let mut x = 0u64;
        while std::time::Instant::now() < until {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let shares = before.until(&Sample::take(&[me], None));
        assert!(shares.nodes > 0.5, "{shares:?}");
        assert!(shares.postgres == 0.0, "{shares:?}");
        let sum = shares.nodes + shares.postgres + shares.other + shares.idle;
        assert!((sum - shares.cpus).abs() < 0.2, "{shares:?}");
    }
}
