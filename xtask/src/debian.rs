//! Debian packages the tests need, installed idempotently: `apt-get install`
//! for libraries and servers the tests start themselves (PostgreSQL), and
//! for the Zabbix agent a package unpacked into `target/tools/` (installing
//! it would start an agent service on the machine).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The agent version unpacked: Debian 12's.
const ZABBIX_AGENT: &str = "zabbix-agent=1:6.0.14+dfsg-1+b1";

/// Whether this process runs as root (apt-get needs it): its effective
/// uid, read from `/proc/self/status` (the tests include this file too).
pub fn is_root() -> anyhow::Result<bool> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let uids = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .context("no Uid: line in /proc/self/status")?;
    // Real, effective, saved, filesystem.
    let effective = uids
        .split_whitespace()
        .nth(1)
        .context("no effective uid in /proc/self/status")?;
    Ok(effective == "0")
}

/// `apt-get update` then `apt-get install -y PACKAGES`, as root.
pub fn apt_install(packages: &[&str], why: &str) -> anyhow::Result<()> {
    if !is_root()? {
        bail!(
            "{why} needs {}; install it with: sudo apt-get update && sudo apt-get install -y {}",
            packages.join(" "),
            packages.join(" ")
        );
    }
    let install: Vec<&str> = ["install", "-y"]
        .into_iter()
        .chain(packages.iter().copied())
        .collect();
    for args in [&["update"][..], &install[..]] {
        eprintln!("+ apt-get {}", args.join(" "));
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .with_context(|| format!("running apt-get (for {why})"))?;
        if !status.success() {
            bail!("apt-get {} failed ({status})", args.join(" "));
        }
    }
    Ok(())
}

/// `zabbix_agentd`, unpacked from Debian's package into
/// `target/tools/zabbix` (with its one library that a fresh machine lacks,
/// `libmodbus5`, installed) unless it answers there already.
pub fn ensure_zabbix_agent(root: &Path) -> anyhow::Result<PathBuf> {
    let dir = root.join("target/tools/zabbix");
    let agent = dir.join("usr/sbin/zabbix_agentd");
    if runs(&agent) {
        return Ok(agent);
    }
    if agent.is_file() {
        // Unpacked, but a library is missing.
        apt_install(&["libmodbus5"], "the Zabbix agent")?;
        if runs(&agent) {
            return Ok(agent);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!("+ apt-get download {ZABBIX_AGENT}");
    let mut fetched = Command::new("apt-get")
        .args(["download", ZABBIX_AGENT])
        .current_dir(&dir)
        .status()
        .context("running apt-get download")?;
    if !fetched.success() {
        // The package lists may be missing on a fresh machine.
        apt_install(&["libmodbus5"], "the Zabbix agent")?;
        fetched = Command::new("apt-get")
            .args(["download", ZABBIX_AGENT])
            .current_dir(&dir)
            .status()
            .context("running apt-get download")?;
    }
    if !fetched.success() {
        bail!("apt-get download {ZABBIX_AGENT} failed ({fetched})");
    }
    let deb = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .context("apt-get download left no .deb")?;
    let status = Command::new("dpkg")
        .arg("-x")
        .arg(&deb)
        .arg(&dir)
        .status()
        .context("running dpkg -x")?;
    if !status.success() {
        bail!("dpkg -x {} failed ({status})", deb.display());
    }
    if !runs(&agent) {
        apt_install(&["libmodbus5"], "the Zabbix agent")?;
    }
    if !runs(&agent) {
        bail!("{} does not run (zabbix_agentd -V failed)", agent.display());
    }
    Ok(agent)
}

/// Chromium and its WebDriver (`chromedriver`) for the console's browser
/// tests, from Debian's `chromium` and `chromium-driver` when missing.
pub fn ensure_chromium() -> anyhow::Result<(PathBuf, PathBuf)> {
    let browser = PathBuf::from("/usr/bin/chromium");
    let driver = PathBuf::from("/usr/bin/chromedriver");
    // `chromedriver -V` would start a server: it answers `--version`.
    let answers = || {
        Command::new(&driver)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !browser.is_file() || !answers() {
        apt_install(
            &["chromium", "chromium-driver"],
            "the console's browser tests",
        )?;
    }
    if !answers() {
        bail!(
            "{} does not run (chromedriver --version failed)",
            driver.display()
        );
    }
    Ok((browser, driver))
}

fn runs(agent: &Path) -> bool {
    Command::new(agent)
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}
