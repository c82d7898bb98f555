//! Where the machine's CPU went during a measured window, from `/proc`:
//! the Baton nodes, PostgreSQL (the postmaster and every backend it
//! forked, including the ones that exited meanwhile), the bench's own
//! process (its client posting tickets, in the half-load phases),
//! everything else (the kernel's threads among it), and idle. A
//! throughput figure on one machine says little about a second node
//! unless one also knows whether any CPU was left for it.
//!
//! All counts are in the kernel's clock ticks (`USER_HZ`); a share is
//! turned into cores by dividing by the machine's total ticks over its
//! CPU count (the `cpuN` lines of `/proc/stat`, every online CPU, which
//! is what the total sums) in the same window, so no tick rate is
//! assumed. Time the hypervisor gave to other guests (`steal`) is shown
//! apart: on a shared virtual machine it is a neighbour, not Baton.

use std::fs;

/// Cumulative CPU ticks at one instant.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sample {
    /// Every CPU's ticks, idle included (first line of `/proc/stat`).
    total: u64,
    /// Idle and I/O-wait ticks.
    idle: u64,
    /// Ticks stolen by the hypervisor.
    steal: u64,
    /// Online CPUs.
    cpus: usize,
    nodes: u64,
    /// None: no PostgreSQL server is counted (SQLite).
    postgres: Option<u64>,
    /// This process, every thread of it.
    client: u64,
}

/// One window's shares, in cores.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shares {
    pub(super) cpus: f64,
    pub(super) nodes: f64,
    pub(super) postgres: f64,
    counted_postgres: bool,
    pub(super) client: f64,
    pub(super) other: f64,
    pub(super) stolen: f64,
    pub(super) idle: f64,
}

impl Sample {
    /// Now, for the nodes with process ids `nodes` and the PostgreSQL
    /// server whose postmaster is `postmaster` (none: nothing counted).
    pub(super) fn take(nodes: &[u32], postmaster: Option<u32>) -> Sample {
        let Machine {
            total,
            idle,
            steal,
            cpus,
        } = machine().unwrap_or_default();
        let nodes = nodes.iter().filter_map(|pid| own_ticks(*pid)).sum();
        let postgres = postmaster.map(server_ticks);
        Sample {
            total,
            idle,
            steal,
            cpus,
            nodes,
            postgres,
            client: own_ticks(std::process::id()).unwrap_or(0),
        }
    }

    /// What happened between `self` and the later sample `then`.
    pub(super) fn until(&self, then: &Sample) -> Shares {
        let cpus = then.cpus.max(1) as f64;
        let window = then.total.saturating_sub(self.total).max(1) as f64 / cpus;
        let cores = |a: u64, b: u64| b.saturating_sub(a) as f64 / window;
        let stolen = cores(self.steal, then.steal);
        let busy = cpus - cores(self.idle, then.idle) - stolen;
        let nodes = cores(self.nodes, then.nodes);
        let postgres = match (self.postgres, then.postgres) {
            (Some(a), Some(b)) => cores(a, b),
            _ => 0.0,
        };
        let client = cores(self.client, then.client);
        Shares {
            cpus,
            nodes,
            postgres,
            counted_postgres: self.postgres.is_some(),
            client,
            other: (busy - nodes - postgres - client).max(0.0),
            stolen,
            idle: cpus - busy - stolen,
        }
    }
}

impl Shares {
    /// `nodes 0.71, PostgreSQL 1.22, client 0.01, other 0.04, stolen 0.00,
    /// idle 0.03 of 2 cores` (without PostgreSQL's part when none was
    /// counted).
    pub(super) fn describe(&self) -> String {
        let postgres = if self.counted_postgres {
            format!("PostgreSQL {:.2}, ", self.postgres)
        } else {
            String::new()
        };
        format!(
            "nodes {:.2}, {postgres}client {:.2}, other {:.2}, stolen {:.2}, idle {:.2} of {:.0} cores",
            self.nodes, self.client, self.other, self.stolen, self.idle, self.cpus
        )
    }
}

/// The first line of `/proc/stat`, and how many CPUs it sums.
#[derive(Debug, Clone, Copy, Default)]
struct Machine {
    total: u64,
    idle: u64,
    steal: u64,
    cpus: usize,
}

/// user, nice, system, idle, iowait, irq, softirq and steal: the times
/// that add up to the wall clock (guest time is already inside user).
fn machine() -> Option<Machine> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|t| t.parse().ok())
        .collect();
    let cpus = text
        .lines()
        .filter(|l| l.starts_with("cpu") && l[3..].starts_with(|c: char| c.is_ascii_digit()))
        .count();
    Some(Machine {
        total: ticks.iter().sum(),
        idle: ticks.get(3)? + ticks.get(4).copied().unwrap_or(0),
        steal: ticks.get(7).copied().unwrap_or(0),
        cpus,
    })
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

    /// A process that spins shows about one core (one thread can use no
    /// more), and a sleeping one none; the spinning test process is also
    /// the client. Waits for the spinner's own ticks,
    /// not for a time, so a loaded machine makes it slower, not wrong.
    #[test]
    fn a_spinning_process_shows_its_core_and_a_sleeping_one_none() {
        let mut sleeper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("starting sleep");
        let me = std::process::id();
        let before = (
            Sample::take(&[me], None),
            Sample::take(&[sleeper.id()], None),
        );
        let start = own_ticks(me).expect("our own ticks");
        let mut x = 0u64;
        while own_ticks(me).unwrap_or(start) < start + 30 {
            for _ in 0..100_000 {
                x = x.wrapping_mul(31).wrapping_add(7);
            }
        }
        std::hint::black_box(x);
        let spinning = before.0.until(&Sample::take(&[me], None));
        let sleeping = before.1.until(&Sample::take(&[sleeper.id()], None));
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        assert!(
            spinning.nodes > 0.0 && spinning.nodes <= 1.1,
            "{spinning:?}"
        );
        assert!(sleeping.nodes < 0.05, "{sleeping:?}");
        // This process spun meanwhile: it is the client's part.
        assert!(sleeping.client > 0.0, "{sleeping:?}");
        assert!(spinning.cpus >= 1.0, "{spinning:?}");
    }
}
