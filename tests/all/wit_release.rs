//! The bot contract's versions: a bot of the draft next version runs
//! beside bots of the released one.

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
