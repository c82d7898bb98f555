//! People: users, tokens, groups and membership; settings overrides; the
//! catalog sync; bot records.

use baton_host::store::{BotRecord, NewUser, SettingsChange, StoreError};
use serde_json::json;

use super::{Db, catalog};

both!(
    users_are_read_back_and_logins_are_unique,
    a_token_authenticates_until_revoked_and_its_use_is_recorded_once_a_minute,
    groups_have_members_and_names_are_unique,
    settings_overrides_are_kept_with_their_history,
    the_catalog_syncs_again_and_bots_are_recorded,
);

async fn users_are_read_back_and_logins_are_unique(db: Db) {
    assert_eq!(db.count_users().await.expect("count"), 0);
    let ann = db.person("ann", true).await;
    let bob = db.person("bob", false).await;
    assert_eq!(db.user(ann.id).await.expect("read"), Some(ann.clone()));
    assert_eq!(
        db.users().await.expect("users"),
        vec![ann.clone(), bob.clone()]
    );
    assert_eq!(db.count_users().await.expect("count"), 2);
    assert!(db.user(bob.id + 100).await.expect("read").is_none());
    let again = NewUser {
        login: "ann".into(),
        name: "Another Ann".into(),
        email: None,
        is_admin: false,
    };
    let got = db.create_user(&again, 5).await;
    assert!(matches!(got, Err(StoreError::Duplicate(_))), "{got:?}");
    assert_eq!(db.count_users().await.expect("count"), 2);
}

async fn a_token_authenticates_until_revoked_and_its_use_is_recorded_once_a_minute(db: Db) {
    let ann = db.person("ann", false).await;
    let token = db
        .create_token(ann.id, "cli", "hash-1", 100)
        .await
        .expect("token");
    assert_eq!(
        (token.user_id, token.name.as_str(), token.last_used_at),
        (ann.id, "cli", None)
    );
    let last_used = format!(
        "SELECT last_used_at FROM api_tokens WHERE id = {}",
        token.id
    );

    let who = db.authenticate("hash-1", 1_000).await.expect("auth");
    let who = who.expect("a live token");
    assert_eq!((who.user, who.token_id), (ann.clone(), token.id));
    assert_eq!(db.scalar(&last_used).await, Some(1_000));
    // Within a minute the use is not written again; after it, it is.
    db.authenticate("hash-1", 50_000).await.expect("auth");
    assert_eq!(db.scalar(&last_used).await, Some(1_000));
    db.authenticate("hash-1", 70_000).await.expect("auth");
    assert_eq!(db.scalar(&last_used).await, Some(70_000));

    assert!(db.authenticate("hash-2", 0).await.expect("auth").is_none());
    let got = db.create_token(ann.id, "again", "hash-1", 200).await;
    assert!(matches!(got, Err(StoreError::Duplicate(_))), "{got:?}");
    let got = db.create_token(4_242, "nobody", "hash-3", 200).await;
    assert!(matches!(got, Err(StoreError::NotFound(_))), "{got:?}");

    let other = db
        .create_token(ann.id, "ci", "hash-4", 300)
        .await
        .expect("token");
    assert!(db.revoke_token(token.id, 80_000).await.expect("revoke"));
    // A user's tokens, newest first, revoked ones included.
    let listed: Vec<_> = db
        .tokens_of(ann.id)
        .await
        .expect("tokens")
        .into_iter()
        .map(|t| (t.id, t.name, t.revoked_at, t.last_used_at))
        .collect();
    assert_eq!(
        listed,
        vec![
            (other.id, "ci".to_string(), None, None),
            (token.id, "cli".to_string(), Some(80_000), Some(70_000)),
        ]
    );
    assert!(!db.revoke_token(token.id, 90_000).await.expect("revoke"));
    assert!(
        db.authenticate("hash-1", 80_001)
            .await
            .expect("auth")
            .is_none()
    );
}

async fn groups_have_members_and_names_are_unique(db: Db) {
    let ann = db.person("ann", false).await;
    let bob = db.person("bob", false).await;
    let crew = db.create_group("crew", 10).await.expect("group");
    assert_eq!(
        (crew.name.as_str(), crew.members.clone(), crew.created_at),
        ("crew", vec![], 10)
    );
    let got = db.create_group("crew", 11).await;
    assert!(matches!(got, Err(StoreError::Duplicate(_))), "{got:?}");

    assert!(db.set_member(crew.id, bob.id, true).await.expect("add"));
    assert!(db.set_member(crew.id, ann.id, true).await.expect("add"));
    assert!(!db.set_member(crew.id, ann.id, true).await.expect("again"));
    let got = db.set_member(crew.id, 4_242, true).await;
    assert!(matches!(got, Err(StoreError::NotFound(_))), "{got:?}");
    let read = db.group("crew").await.expect("read").expect("group");
    assert_eq!(read.members, vec![ann.id, bob.id], "members by id");
    assert!(db.group("nobody").await.expect("read").is_none());

    let alpha = db.create_group("alpha", 12).await.expect("group");
    db.set_member(alpha.id, ann.id, true).await.expect("add");
    // Every group by name: "admins" and "ops" are the catalog's error
    // groups (Baton's own metaservice's and the shop's).
    let names: Vec<String> = db
        .groups()
        .await
        .expect("groups")
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, vec!["admins", "alpha", "crew", "ops"]);
    let of_ann: Vec<String> = db
        .groups_of(ann.id)
        .await
        .expect("groups")
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(of_ann, vec!["alpha", "crew"]);

    assert!(db.set_member(crew.id, ann.id, false).await.expect("remove"));
    assert!(!db.set_member(crew.id, ann.id, false).await.expect("again"));
    let read = db.group("crew").await.expect("read").expect("group");
    assert_eq!(read.members, vec![bob.id]);
}

async fn settings_overrides_are_kept_with_their_history(db: Db) {
    let admin = db.person("root", true).await;
    assert!(db.settings_overrides().await.expect("read").is_empty());
    let change = SettingsChange {
        metaservice: "shop".into(),
        ticket_type: "order".into(),
        user_id: admin.id,
        old: json!({}),
        new: json!({"lifetime": "2h", "notify_repeats": 3}),
    };
    db.set_settings(&change, 100).await.expect("set");
    let newer = SettingsChange {
        old: change.new.clone(),
        new: json!({"lifetime": "3h"}),
        ..change.clone()
    };
    db.set_settings(&newer, 200).await.expect("set");
    assert_eq!(
        db.settings_overrides().await.expect("read"),
        vec![("shop".into(), "order".into(), json!({"lifetime": "3h"}))]
    );
    assert_eq!(db.count("settings_changes").await, 2);
    // Read back newest first, each with who, when, before and after.
    let history = db.settings_history(10).await.expect("history");
    let seen: Vec<_> = history
        .iter()
        .map(|r| {
            (
                r.at,
                r.change.user_id,
                r.change.old.clone(),
                r.change.new.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (200, admin.id, newer.old.clone(), newer.new.clone()),
            (100, admin.id, change.old.clone(), change.new.clone()),
        ]
    );
    assert_eq!(history[0].change.ticket_type, "order");
    assert_eq!(db.settings_history(1).await.expect("history").len(), 1);
    let missing = SettingsChange {
        ticket_type: "nothing".into(),
        ..change
    };
    let got = db.set_settings(&missing, 300).await;
    assert!(matches!(got, Err(StoreError::NotFound(_))), "{got:?}");
    assert_eq!(db.count("settings_changes").await, 2);
}

async fn the_catalog_syncs_again_and_bots_are_recorded(db: Db) {
    // A second sync (a restart) replaces the states and transitions:
    // the shop's and those of Baton's own error tickets.
    db.sync_catalog(&catalog(), 50).await.expect("sync");
    assert_eq!(db.count("ticket_states").await, 5 + 2);
    assert_eq!(db.count("ticket_transitions").await, 3 + 1);
    assert_eq!(db.count("metaservices").await, 2);

    assert!(
        db.bot_record("shop-order-1-new")
            .await
            .expect("read")
            .is_none()
    );
    let mut record = BotRecord {
        name: "shop-order-1-new".into(),
        sha256: Some("abc".into()),
        status: "running".into(),
        restarts: 0,
        loaded_at: Some(10),
        last_error: None,
        refused_sha256: None,
        updated_at: 10,
    };
    db.record_bot(&record).await.expect("record");
    record.status = "crashing".into();
    record.restarts = 3;
    record.last_error = Some("trap".into());
    record.refused_sha256 = Some("def".into());
    record.updated_at = 20;
    db.record_bot(&record).await.expect("record");
    let read = db
        .bot_record("shop-order-1-new")
        .await
        .expect("read")
        .expect("record");
    assert_eq!(
        (
            read.status.as_str(),
            read.restarts,
            read.sha256.as_deref(),
            read.loaded_at,
            read.last_error.as_deref(),
            read.refused_sha256.as_deref(),
            read.updated_at
        ),
        (
            "crashing",
            3,
            Some("abc"),
            Some(10),
            Some("trap"),
            Some("def"),
            20
        )
    );
}
