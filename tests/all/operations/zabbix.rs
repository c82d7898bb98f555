//! The Zabbix side: the real agent (`zabbix_agentd`, from Debian's
//! package) on loopback with the UserParameter of `deploy/zabbix`, asked as
//! the Zabbix server asks; and the template checked against the 6.0
//! export format.
//!
//! Debian does not package `zabbix_get`, so the test speaks the agent's
//! protocol itself (a `ZBXD` header, the key; the same header, the value).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::stepper_only;
use crate::support::Server;

/// The agent `cargo xtask test` unpacked, or unpacked now the same way.
fn agent_binary() -> PathBuf {
    if let Ok(path) = std::env::var("BATON_TEST_ZABBIX_AGENTD") {
        return PathBuf::from(path);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    crate::debian::ensure_zabbix_agent(&root).expect("the Zabbix agent")
}

/// A `zabbix_agentd` in the foreground on a free loopback port, with the
/// UserParameter line of `deploy/zabbix` pointed at this build and server.
struct Agent {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port the agent accepts: its `ListenPort` must be at
/// most 32767, below the kernel's ephemeral range where port 0 lands.
fn free_port() -> u16 {
    let seed = std::process::id() as u16;
    (0..2000u16)
        .map(|i| 20_000 + (seed.wrapping_add(i.wrapping_mul(7919))) % 12_000)
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port under 32768")
}

fn start_agent(server: &Server) -> Agent {
    let shipped = include_str!("../../../deploy/zabbix/userparameter_baton.conf");
    let line = shipped
        .lines()
        .find(|l| l.starts_with("UserParameter="))
        .expect("the UserParameter line");
    let config = server.dir.path().join("baton.toml");
    let line = line
        .replace("/usr/local/bin/baton", env!("CARGO_BIN_EXE_baton"))
        .replace("/etc/baton/baton.toml", &config.display().to_string())
        // The test server listens on a port of its own choosing.
        .replace(" health ", &format!(" health --url {} ", server.base));
    let port = free_port();
    let dir = server.dir.path();
    let conf = dir.join("zabbix_agentd.conf");
    std::fs::write(
        &conf,
        format!(
            "LogType=console\nListenIP=127.0.0.1\nListenPort={port}\nServer=127.0.0.1\n\
             StartAgents=2\nAllowRoot=1\nTimeout=10\nPidFile={}\n{line}\n",
            dir.join("zabbix_agentd.pid").display()
        ),
    )
    .expect("writing the agent's config");
    let child = Command::new(agent_binary())
        .arg("-f")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(agent_log(dir))
        .spawn()
        .expect("starting zabbix_agentd");
    Agent {
        child,
        port,
        log: dir.join("zabbix_agentd.log"),
    }
}

fn agent_log(dir: &Path) -> std::fs::File {
    std::fs::File::create(dir.join("zabbix_agentd.log")).expect("the agent's log")
}

/// One passive check, as the Zabbix server (or `zabbix_get`) asks it.
fn ask(port: u16, key: &str) -> std::io::Result<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    let mut request = b"ZBXD\x01".to_vec();
    request.extend((key.len() as u32).to_le_bytes());
    request.extend(0u32.to_le_bytes());
    request.extend(key.as_bytes());
    stream.write_all(&request)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    if answer.len() < 13 || &answer[..4] != b"ZBXD" {
        return Err(std::io::Error::other(format!(
            "not a Zabbix answer: {answer:?}"
        )));
    }
    Ok(String::from_utf8_lossy(&answer[13..]).trim().to_string())
}

/// Asks until the agent answers `want` (it starts, the server changes).
fn ask_until(agent: &Agent, key: &str, want: &str) {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(30) {
        match ask(agent.port, key) {
            Ok(value) if value == want => return,
            Ok(value) => last = value,
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(&agent.log).unwrap_or_default();
    panic!("{key}: the agent kept answering {last:?}, not {want:?}\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zabbix_agent_reads_baton_health() {
    let server = Server::start(stepper_only).await;
    super::readyz_until(&server, |status, _| status == 200).await;
    let agent = start_agent(&server);
    ask_until(&agent, "baton.health[status]", "0");
    ask_until(&agent, "baton.health[bot]", "0");
    std::fs::remove_file(server.bots_dir().join("stepper-flow-3-c.wasm")).expect("removing");
    ask_until(&agent, "baton.health[bot]", "1");
    ask_until(&agent, "baton.health[status]", "1");
}

/// Every key an item of the template has, and the parsed template.
fn template() -> (Value, Vec<Value>) {
    let text = include_str!("../../../deploy/zabbix/baton_template.yaml");
    let doc: Value = serde_yaml_ng::from_str(text).expect("the template is YAML");
    let items = doc["zabbix_export"]["templates"][0]["items"]
        .as_array()
        .cloned()
        .expect("items");
    (doc, items)
}

#[test]
fn the_zabbix_template_follows_the_6_0_export_format() {
    let (doc, items) = template();
    let export = &doc["zabbix_export"];
    assert_eq!(export["version"], "6.0");
    let template = &export["templates"][0];
    assert_eq!(template["template"], "Baton");
    let group = template["groups"][0]["name"].clone();
    assert!(
        export["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .any(|g| g["name"] == group),
        "the template's group is exported"
    );
    let mut uuids = BTreeSet::new();
    let mut keys = BTreeSet::new();
    let uuid_ok = |u: &Value| {
        u.as_str()
            .is_some_and(|u| u.len() == 32 && u.chars().all(|c| c.is_ascii_hexdigit()))
    };
    for thing in [&export["groups"][0], template] {
        assert!(uuid_ok(&thing["uuid"]));
        assert!(uuids.insert(thing["uuid"].to_string()));
    }
    let types = ["HTTP_AGENT", "DEPENDENT", "ZABBIX_PASSIVE"];
    let value_types = ["FLOAT", "CHAR", "LOG", "UNSIGNED", "TEXT"];
    for item in &items {
        assert!(uuid_ok(&item["uuid"]), "{item}");
        assert!(uuids.insert(item["uuid"].to_string()), "{item}: uuid twice");
        let key = item["key"].as_str().expect("a key").to_string();
        assert!(keys.insert(key.clone()), "{key} twice");
        let kind = item["type"].as_str().unwrap_or("ZABBIX_PASSIVE");
        assert!(types.contains(&kind), "{key}: type {kind}");
        let value_type = item["value_type"].as_str().unwrap_or("FLOAT");
        assert!(value_types.contains(&value_type), "{key}: {value_type}");
        assert!(item["name"].as_str().is_some_and(|n| !n.is_empty()));
        if kind == "HTTP_AGENT" {
            let url = item["url"].as_str().expect("a URL");
            assert!(url.starts_with("{$BATON.URL}/"), "{key}: {url}");
        }
    }
    for item in &items {
        let key = item["key"].as_str().unwrap_or_default();
        if item["type"] == "DEPENDENT" {
            let master = item["master_item"]["key"].as_str().expect("a master");
            assert!(keys.contains(master), "{key}: no master {master}");
        }
        for trigger in item["triggers"].as_array().into_iter().flatten() {
            assert!(uuid_ok(&trigger["uuid"]));
            assert!(uuids.insert(trigger["uuid"].to_string()));
            let expression = trigger["expression"].as_str().expect("an expression");
            // Every item an expression names is this template's.
            for part in expression.split("/Baton/").skip(1) {
                let named = &part[..part.find([')', ',']).unwrap_or(part.len())];
                assert!(keys.contains(named), "{expression}: no item {named}");
            }
            let priorities = ["INFO", "WARNING", "AVERAGE", "HIGH", "DISASTER"];
            assert!(priorities.contains(&trigger["priority"].as_str().unwrap_or("")));
        }
    }
    // Macros used are defined.
    let text = include_str!("../../../deploy/zabbix/baton_template.yaml");
    let defined: BTreeSet<String> = template["macros"]
        .as_array()
        .expect("macros")
        .iter()
        .map(|m| m["macro"].as_str().unwrap_or_default().to_string())
        .collect();
    for used in text.split("{$").skip(1) {
        let name = format!("{{${}", &used[..=used.find('}').expect("a closing brace")]);
        assert!(defined.contains(&name), "macro {name} is not defined");
    }
    // The agent items are what `baton health --item` answers.
    for key in keys.iter().filter(|k| k.starts_with("baton.health[")) {
        let item = &key["baton.health[".len()..key.len() - 1];
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["health", "--url", "http://127.0.0.1:9", "--item", item])
            .output()
            .expect("running baton health");
        assert!(out.status.success(), "--item {item}: {:?}", out);
    }
    // And their key is the UserParameter's.
    let conf = include_str!("../../../deploy/zabbix/userparameter_baton.conf");
    assert!(conf.contains("UserParameter=baton.health[*],"));
}
