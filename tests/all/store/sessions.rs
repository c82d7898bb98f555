//! Passwords and console sessions: a session stands until it expires, is
//! ended, or its user's password changes.

use baton_host::store::NewSession;

use super::Db;

both!(sessions_last_until_they_expire_end_or_the_password_changes,);

fn session(id: &str, user: i64, expires_at: i64) -> NewSession {
    NewSession {
        id_hash: id.into(),
        user_id: user,
        csrf: format!("csrf-of-{id}"),
        expires_at,
    }
}

async fn sessions_last_until_they_expire_end_or_the_password_changes(db: Db) {
    let ann = db.person("ann", false).await;
    assert!(
        db.password_of("ann").await.expect("read").is_none(),
        "no password yet"
    );
    assert!(
        db.set_password(ann.id, Some("$argon2id$v=19$fake"))
            .await
            .expect("set")
    );
    assert!(!db.set_password(999_999, Some("x")).await.expect("nobody"));
    let (user, hash) = db
        .password_of("ann")
        .await
        .expect("read")
        .expect("a password");
    assert_eq!((user.id, hash.as_str()), (ann.id, "$argon2id$v=19$fake"));

    db.create_session(&session("a", ann.id, 5_000), 1_000)
        .await
        .expect("session");
    db.create_session(&session("b", ann.id, 9_000), 1_000)
        .await
        .expect("session");
    let (user, csrf) = db.session("a", 4_999).await.expect("read").expect("alive");
    assert_eq!((user.login.as_str(), csrf.as_str()), ("ann", "csrf-of-a"));
    assert!(
        db.session("a", 5_000).await.expect("read").is_none(),
        "expired"
    );
    assert!(db.session("nothing", 1_000).await.expect("read").is_none());
    db.end_session("b").await.expect("end");
    assert!(
        db.session("b", 2_000).await.expect("read").is_none(),
        "ended"
    );

    db.create_session(&session("c", ann.id, 9_000), 2_000)
        .await
        .expect("session");
    db.set_password(ann.id, Some("$argon2id$v=19$other"))
        .await
        .expect("change");
    assert!(
        db.session("c", 2_500).await.expect("read").is_none(),
        "signed out"
    );
    db.set_password(ann.id, None).await.expect("remove");
    assert!(db.password_of("ann").await.expect("read").is_none());
}
