//! The people imports through a real bot (the `waiter` fixture's "people"
//! mode): assigning only members of the assigned group, refusing unknown
//! people, and what reaches the database and the inboxes.

use baton_host::engine::CreateTicket;
use baton_host::model::Actor;
use serde_json::json;

use crate::support::engine::{person, setup, start, until_logged};

#[tokio::test]
async fn a_bot_assigns_members_only_and_its_changes_are_stored() {
    let (dir, clock) = setup();
    let r = start(dir.path(), clock).await;
    let e = &r.engine;
    let creator = person(e, "creator").await;
    let member = person(e, "member").await;
    let outsider = person(e, "outsider").await;
    let crew = e.store.create_group("crew", 0).await.expect("group");
    e.store
        .set_member(crew.id, member.id, true)
        .await
        .expect("member");
    let job = |user: i64| CreateTicket {
        metaservice: "waiter".into(),
        ticket_type: "job".into(),
        title: "people".into(),
        metadata: json!({"mode": "people", "user": user, "group": "crew"}),
        stakeholders: Vec::new(),
        by_admin: false,
    };

    // A member: assigned directly; the group request it replaced is
    // withdrawn, so nobody is asked to accept.
    let id = e
        .create_ticket(job(member.id), Actor::User(creator.id))
        .await
        .expect("created")
        .id;
    until_logged(e, id, "assigned user now").await;
    let lines: Vec<String> = e
        .store
        .logs(id)
        .await
        .expect("logs")
        .into_iter()
        .map(|l| l.message)
        .collect();
    for expected in [
        "settings: lifetime Some(86400s), notify_repeats 0; config {\"purpose\":\"tests\"}"
            .to_string(),
        format!("assign user {}: ok", member.id),
        "add user 999999: host refused: not found: user 999999".to_string(),
        format!("assigned user now: Some({})", member.id),
        format!("assigned to user {} of group crew", member.id),
        "group crew added as cc actioner".to_string(),
    ] {
        assert!(lines.contains(&expected), "{expected:?} not in {lines:#?}");
    }
    let rows = e.store.stakeholders(id).await.expect("rows");
    let assigned: Vec<_> = rows
        .iter()
        .filter(|s| s.is_active && s.connection == "assigned")
        .map(|s| (s.user_id, s.group.clone()))
        .collect();
    assert_eq!(assigned, vec![(Some(member.id), None)], "{rows:?}");
    assert!(
        rows.iter()
            .any(|s| s.group.as_deref() == Some("crew") && s.connection == "cc")
    );
    let inbox = e
        .store
        .notifications(member.id, None, 10)
        .await
        .expect("inbox");
    let mut kinds: Vec<(&str, &str)> = inbox
        .iter()
        .map(|n| (n.kind.as_str(), n.text.as_str()))
        .collect();
    kinds.sort();
    assert_eq!(kinds.len(), 2, "{inbox:?}");
    assert_eq!(kinds[0].0, "assigned", "{inbox:?}");
    // The bot's notification to the group reached its one member.
    assert_eq!(kinds[1], ("bot", "a word for the group"), "{inbox:?}");
    let outsiders = e
        .store
        .notifications(outsider.id, None, 10)
        .await
        .expect("inbox");
    assert!(outsiders.is_empty(), "{outsiders:?}");

    // Not a member: refused; the group keeps the ticket and is asked.
    let id = e
        .create_ticket(job(outsider.id), Actor::User(creator.id))
        .await
        .expect("created")
        .id;
    until_logged(e, id, "assigned user now: None").await;
    let logs = e.store.logs(id).await.expect("logs");
    // The refusal names no login: the same words for any user id.
    let refusal = format!(
        "assign user {}: host refused: not allowed: user {} is not a member of group crew",
        outsider.id, outsider.id
    );
    assert!(
        logs.iter().any(|l| l.message.starts_with(&refusal)),
        "{logs:#?}"
    );
    let rows = e.store.stakeholders(id).await.expect("rows");
    assert!(
        rows.iter().any(|s| s.is_active
            && s.connection == "assigned"
            && s.group.as_deref() == Some("crew"))
    );
    let inbox = e
        .store
        .notifications(member.id, None, 10)
        .await
        .expect("inbox");
    assert!(
        inbox
            .iter()
            .any(|n| n.kind == "acceptance" && n.ticket_id == Some(id)),
        "{inbox:?}"
    );
    // The creator of a ticket, though a member of the group, is not
    // assigned her own request by a bot either.
    e.store
        .set_member(crew.id, creator.id, true)
        .await
        .expect("member");
    let id = e
        .create_ticket(job(creator.id), Actor::User(creator.id))
        .await
        .expect("created")
        .id;
    until_logged(e, id, "assigned user now: None").await;
    let logs = e.store.logs(id).await.expect("logs");
    let refusal = format!(
        "assign user {}: host refused: not allowed: user {} asked for ticket {id}: a requester is not assigned her own request",
        creator.id, creator.id
    );
    assert!(logs.iter().any(|l| l.message == refusal), "{logs:#?}");
    r.dispatcher.abort();
}
