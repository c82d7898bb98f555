//! The outbox: rows written with their notifications as the commit routes
//! them, claimed once, settled, resent.

use std::sync::Arc;

use baton_host::store::{Attempt, Commit, NewNotification, NewUser, Outbox, WebhookRoute};

use super::{Db, create};

both!(
    notifications_are_routed_to_email_and_matching_webhooks_in_their_commit,
    a_delivery_is_claimed_once_settled_and_resent,
);

fn note(user_id: i64, ticket_id: Option<i64>, kind: &'static str) -> NewNotification {
    NewNotification {
        user_id,
        ticket_id,
        kind,
        text: format!("a {kind}"),
    }
}

fn routes() -> Outbox {
    Outbox {
        email: true,
        webhooks: Arc::from(vec![
            WebhookRoute {
                name: "all-shop".into(),
                metaservice: "shop".into(),
                kinds: vec![],
            },
            WebhookRoute {
                name: "closed-only".into(),
                metaservice: "shop".into(),
                kinds: vec!["closed".into()],
            },
            WebhookRoute {
                name: "other".into(),
                metaservice: "elsewhere".into(),
                kinds: vec![],
            },
        ]),
    }
}

async fn notifications_are_routed_to_email_and_matching_webhooks_in_their_commit(db: Db) {
    let ann = db.person("ann", false).await;
    let quiet = db.person("quiet", false).await;
    assert!(ann.email_notifications);
    assert!(
        db.set_email_notifications(quiet.id, false)
            .await
            .expect("off")
    );
    let no_address = db
        .create_user(
            &NewUser {
                login: "nomail".into(),
                name: "No Mail".into(),
                email: None,
                is_admin: false,
            },
            0,
        )
        .await
        .expect("user");
    let ticket = create(&*db, vec![]).await;
    let commit = Commit {
        notifications: vec![
            note(ann.id, Some(ticket), "closed"),
            note(quiet.id, Some(ticket), "comment"),
            note(no_address.id, None, "note"),
        ],
        outbox: routes(),
        ..Commit::default()
    };
    let committed = db.commit(&commit, 2_000).await.expect("commit");
    let ids: Vec<i64> = committed.notifications.iter().map(|n| n.id).collect();
    let rows = db.deliveries_of(&ids).await.expect("deliveries");
    let mut seen: Vec<(i64, String, String)> = rows
        .iter()
        .map(|d| (d.notification_id, d.channel.clone(), d.target.clone()))
        .collect();
    seen.sort();
    let mut want = vec![
        (ids[0], "email".to_string(), "ann@example.org".to_string()),
        (ids[0], "webhook".to_string(), "all-shop".to_string()),
        (ids[0], "webhook".to_string(), "closed-only".to_string()),
        (ids[1], "webhook".to_string(), "all-shop".to_string()),
    ];
    want.sort();
    assert_eq!(seen, want);
    assert!(
        rows.iter()
            .all(|d| d.state == "pending" && d.attempts == 0 && d.next_at == 2_000)
    );
    // Without routes, nothing goes out.
    let plain = Commit {
        notifications: vec![note(ann.id, Some(ticket), "closed")],
        ..Commit::default()
    };
    let committed = db.commit(&plain, 2_100).await.expect("commit");
    let none = db
        .deliveries_of(&[committed.notifications[0].id])
        .await
        .expect("deliveries");
    assert!(none.is_empty());
}

async fn a_delivery_is_claimed_once_settled_and_resent(db: Db) {
    let ann = db.person("ann", false).await;
    let ticket = create(&*db, vec![]).await;
    let commit = Commit {
        notifications: vec![note(ann.id, Some(ticket), "closed")],
        outbox: Outbox {
            email: true,
            webhooks: Arc::from(Vec::new()),
        },
        ..Commit::default()
    };
    let committed = db.commit(&commit, 1_000).await.expect("commit");
    let note_id = committed.notifications[0].id;

    let claimed = db.claim_deliveries(1_000, 60_000, 10).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    let d = &claimed[0];
    assert_eq!(
        (d.channel.as_str(), d.target.as_str()),
        ("email", "ann@example.org")
    );
    assert_eq!(d.notification.id, note_id);
    assert_eq!(d.notification.text, "a closed");
    assert_eq!(d.ticket.as_ref().map(|t| t.1.as_str()), Some("shop"));
    // Leased: not claimed again until the lease runs out.
    assert!(
        db.claim_deliveries(1_500, 60_000, 10)
            .await
            .expect("claim")
            .is_empty()
    );

    let retry = Attempt::Retry {
        error: "connection refused".into(),
        at: 5_000,
    };
    db.settle_delivery(d.id, &retry, 2_000)
        .await
        .expect("settle");
    assert!(
        db.claim_deliveries(4_999, 60_000, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let again = db.claim_deliveries(5_000, 60_000, 10).await.expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    let gave_up = Attempt::GaveUp {
        error: "550 no such user".into(),
    };
    db.settle_delivery(d.id, &gave_up, 6_000)
        .await
        .expect("settle");
    let state = &db.deliveries_of(&[note_id]).await.expect("state")[0];
    assert_eq!(state.state, "failed");
    assert_eq!(state.attempts, 2);
    assert_eq!(state.last_error.as_deref(), Some("550 no such user"));
    assert!(
        db.claim_deliveries(99_000, 60_000, 10)
            .await
            .expect("claim")
            .is_empty()
    );

    // An admin resends it: pending again, attempts reset.
    assert!(db.resend_delivery(d.id, 7_000).await.expect("resend"));
    assert!(
        !db.resend_delivery(d.id, 7_000)
            .await
            .expect("not failed now")
    );
    let third = db.claim_deliveries(7_000, 60_000, 10).await.expect("claim");
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].attempts, 0);
    db.settle_delivery(d.id, &Attempt::Sent, 7_100)
        .await
        .expect("sent");
    let state = &db.deliveries_of(&[note_id]).await.expect("state")[0];
    assert_eq!((state.state.as_str(), state.sent_at), ("sent", Some(7_100)));
    assert!(
        !db.resend_delivery(d.id, 8_000)
            .await
            .expect("a sent one stays sent")
    );
}
