//! Bot files that must be refused at load, each with its reason, and
//! events that wait while a state has no bot.

use std::path::Path;

use baton_host::store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Server, copy_dir, example_bots, fixture_bots};

fn bot<'a>(bots: &'a Value, name: &str) -> &'a Value {
    bots["items"]
        .as_array()
        .and_then(|items| items.iter().find(|b| b["name"] == name))
        .unwrap_or_else(|| panic!("{name} is not listed in {bots}"))
}

/// The wca manifests, with bad files in place of the bots.
fn bad_files(dir: &Path) {
    copy_dir(&example_bots(), dir);
    // Not Wasm at all.
    std::fs::write(
        dir.join("wca-edit_person-1-open.wasm"),
        b"#!/bin/sh\necho hi\n",
    )
    .expect("write");
    // A real component, but it describes itself as fixture/doomed.
    std::fs::copy(
        fixture_bots().join("fixture-doomed-1-start.wasm"),
        dir.join("wca-edit_person-2-in_review.wasm"),
    )
    .expect("copy");
    // A state the manifest does not have.
    std::fs::write(dir.join("wca-edit_person-9-limbo.wasm"), b"\0asm\x01\0\0\0").expect("write");
    // A name that is not metaservice-ticket_type-code-state.
    std::fs::write(dir.join("wca-edit-person.wasm"), b"\0asm\x01\0\0\0").expect("write");
}

#[tokio::test]
async fn bad_bot_files_are_refused_with_their_reason() {
    let server = Server::start(bad_files).await;
    let (status, bots) = server.get("/api/v1/bots").await;
    assert_eq!(status, StatusCode::OK);

    let open = bot(&bots, "wca-edit_person-1-open");
    assert_eq!(open["status"], "refused");
    assert_eq!(open["last_error"], "not a WebAssembly file");
    assert!(open["version"].is_null());

    let review = bot(&bots, "wca-edit_person-2-in_review");
    assert_eq!(review["status"], "refused");
    let why = review["last_error"].as_str().unwrap_or_default();
    assert!(
        why.contains("describe() disagrees: it serves fixture/doomed"),
        "{why}"
    );

    let limbo = bot(&bots, "wca-edit_person-9-limbo");
    assert_eq!(limbo["status"], "refused");
    assert!(
        limbo["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("has no state 9")
    );

    let log = server.log();
    assert!(
        log.contains("wca-edit-person.wasm") && log.contains("bad file name"),
        "{log}"
    );
    assert!(log.contains("bot file refused"), "{log}");
}

#[tokio::test]
async fn a_core_module_is_refused_as_such() {
    let server = Server::start(|dir| {
        copy_dir(&example_bots(), dir);
        std::fs::write(dir.join("wca-edit_person-1-open.wasm"), b"\0asm\x01\0\0\0").expect("write");
    })
    .await;
    let (_, bots) = server.get("/api/v1/bots").await;
    let open = bot(&bots, "wca-edit_person-1-open");
    assert_eq!(open["status"], "refused");
    assert!(
        open["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("core WebAssembly module")
    );
    // The other bot loaded normally.
    assert_eq!(
        bot(&bots, "wca-edit_person-2-in_review")["status"],
        "running"
    );
}

#[tokio::test]
async fn events_wait_while_their_state_has_no_bot() {
    let server = Server::start(|dir| {
        for entry in std::fs::read_dir(example_bots()).expect("read").flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name != "wca-edit_person-1-open.wasm" {
                std::fs::copy(entry.path(), dir.join(&name)).expect("copy");
            }
        }
    })
    .await;
    let (_, bots) = server.get("/api/v1/bots").await;
    assert_eq!(bot(&bots, "wca-edit_person-1-open")["status"], "missing");

    let body = json!({"metaservice": "wca", "ticket_type": "edit_person", "title": "t",
        "metadata": {"wca_id": "2012SMIT01", "changes": {"gender": {"old": "m", "new": "f"}}}});
    let (status, created) = server.post("/api/v1/tickets", &body).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_i64().expect("id");

    // Several retry intervals (100 ms in tests) later, the event is still
    // there, never counted as a failed attempt.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let events = server.store().await.events_of(id).await.expect("events");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0].attempts, events[0].parked), (0, false));
    let (_, ticket) = server.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(ticket["state"]["code"], 1);
}

#[tokio::test]
async fn a_component_of_another_world_is_refused_and_the_running_version_stays() {
    let server = Server::start(|dir| copy_dir(&example_bots(), dir)).await;
    let running = server.bot("wca-edit_person-1-open").await["version"].clone();
    let wrong = fixture_bots()
        .join("wrong")
        .join("wca-edit_person-1-open.wasm");
    let tmp = server.bots_dir().join(".incoming");
    std::fs::copy(&wrong, &tmp).expect("copy");
    std::fs::rename(&tmp, server.bots_dir().join("wca-edit_person-1-open.wasm")).expect("rename");

    let bot = server
        .wait_for_bot("wca-edit_person-1-open", "told of the refusal", |b| {
            b["last_error"].is_string()
        })
        .await;
    let why = bot["last_error"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("not a component of the world baton:bot/bot"),
        "{why}"
    );
    assert_eq!(bot["status"], "running");
    assert_eq!(
        bot["version"], running,
        "the previous version keeps running"
    );
    // And it still serves tickets.
    let id = server
        .create(
            "wca",
            "edit_person",
            json!({"wca_id": "2012SMIT01", "changes": {"gender": {"old": "m", "new": "f"}}}),
        )
        .await;
    server
        .wait_for_ticket(id, "in review", |t| t["state"]["code"] == 2)
        .await;
}
