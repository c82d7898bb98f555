//! The bot contract's versions: released texts kept byte for byte (the CI
//! check), each SDK's copy of the newest, and a bot of the draft next
//! version running beside bots of the released one.

/// A bot of the draft next version (`wit/next`, baton:bot@0.2.0: the
/// released world plus a `clock` import) loads and runs beside 0.1.0 bots.
#[tokio::test]
async fn a_bot_of_the_next_version_runs_beside_released_ones() {
    use crate::support::{Server, fixture_bots};
    let server = Server::start(|bots| {
        for entry in std::fs::read_dir(fixture_bots()).expect("the fixture bots") {
            let path = entry.expect("an entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            if (name.starts_with("stepper") || name.starts_with("draft")) && path.is_file() {
                std::fs::copy(&path, bots.join(&name)).expect("copying a fixture");
            }
        }
    })
    .await;
    let draft = server.create("draft", "job", serde_json::json!({})).await;
    let released = server
        .create("stepper", "flow", serde_json::json!({}))
        .await;
    for (id, last) in [(draft, "done"), (released, "done")] {
        server
            .wait_for_ticket(id, last, |t| t["state"]["name"] == last)
            .await;
    }
    let logs = server.logs(draft).await;
    assert!(
        logs.iter().any(|l| l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("the host's clock says 1"))),
        "{logs:?}"
    );
    let bot = server.bot("draft-job-1-waiting").await;
    assert_eq!(
        bot["toolchain"], "wit-bindgen (baton:bot@0.2.0 draft)",
        "{bot}"
    );
}

/// `wit/RELEASED`: one line per released version, `VERSION SHA256 PATH`.
fn released() -> Vec<(String, String, std::path::PathBuf)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let list = std::fs::read_to_string(root.join("wit/RELEASED")).expect("wit/RELEASED");
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(
                parts.len(),
                3,
                "wit/RELEASED: {l:?} is not `VERSION SHA256 PATH`"
            );
            (
                parts[0].to_string(),
                parts[1].to_string(),
                root.join(parts[2]),
            )
        })
        .collect()
}

fn sha256_of(path: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    hex::encode(Sha256::digest(bytes))
}

/// A released version is never edited: its text is byte for byte the one
/// whose hash was recorded when it was released.
#[test]
fn released_versions_of_the_contract_are_kept_byte_for_byte() {
    let versions = released();
    assert!(
        versions.iter().any(|(v, _, _)| v == "0.1.0"),
        "baton:bot@0.1.0 is released"
    );
    for (version, sha, path) in &versions {
        assert_eq!(
            &sha256_of(path),
            sha,
            "{} is baton:bot@{version} as released: a released version is never \
             edited; put the change into a new version beside it (see docs/bots.md)",
            path.display()
        );
        let text = std::fs::read_to_string(path).expect("the contract");
        assert!(
            text.contains(&format!("package baton:bot@{version};")),
            "{} declares another version",
            path.display()
        );
    }
}

/// Each SDK carries its own copy of the newest released contract (so that
/// it can be packaged alone), and that copy is the released text.
#[test]
fn every_sdk_carries_the_newest_released_contract() {
    let versions = released();
    let (version, sha, _) = versions.last().expect("a released version");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for copy in [
        "sdk/wit/bot.wit",
        "sdk-python/src/baton_sdk/wit/bot.wit",
        "sdk-js/wit/bot.wit",
    ] {
        assert_eq!(
            &sha256_of(&root.join(copy)),
            sha,
            "{copy} is not baton:bot@{version} as released (copy wit/bot.wit there)"
        );
    }
}
