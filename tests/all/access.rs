//! Who may do what: tokens, people, and the permission matrix over every
//! route (admin, member of the assigned group, requester, stranger,
//! revoked token, no token).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{ADMIN_TOKEN, Person, Server, copy_dir, example_bots};

async fn wca() -> Server {
    Server::start(|bots| copy_dir(&example_bots(), bots)).await
}

#[tokio::test]
async fn tokens_are_shown_once_hashed_and_revocable() {
    let server = wca().await;
    let alice = server.person("alice").await;
    let (status, me) = server.as_(&alice, "GET", "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["login"].as_str(), me["is_admin"].as_bool()),
        (Some("alice"), Some(false))
    );

    // Only the hash is stored.
    let store = server.store().await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_all(store.pool())
        .await
        .expect("tokens");
    assert!(stored.iter().all(|h| h.len() == 64 && *h != alice.token));
    let used: Option<i64> =
        sqlx::query_scalar("SELECT last_used_at FROM api_tokens WHERE user_id = ?")
            .bind(alice.id)
            .fetch_one(store.pool())
            .await
            .expect("last use");
    assert!(used.is_some(), "the last use is recorded");

    let (_, token) = server
        .post(
            &format!("/api/v1/users/{}/tokens", alice.id),
            &json!({"name": "second"}),
        )
        .await;
    let second = token["token"].as_str().expect("token").to_string();
    let token_id = token["id"].as_i64().expect("id");
    assert_eq!(
        server
            .call(
                "DELETE",
                &format!("/api/v1/tokens/{token_id}"),
                None,
                Some(ADMIN_TOKEN)
            )
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (status, problem) = server.call("GET", "/api/v1/me", None, Some(&second)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem["type"], "urn:baton:problem:unauthorized");
    assert_eq!(
        server
            .call(
                "DELETE",
                &format!("/api/v1/tokens/{token_id}"),
                None,
                Some(ADMIN_TOKEN)
            )
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    // The first token still works.
    assert_eq!(
        server.as_(&alice, "GET", "/api/v1/me", None).await.0,
        StatusCode::OK
    );

    for (login, expected) in [
        ("alice", StatusCode::CONFLICT),
        ("Bad Login", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (status, body) = server
            .post("/api/v1/users", &json!({"login": login, "name": "x"}))
            .await;
        assert_eq!(status, expected, "{login}: {body}");
    }
    let (status, _) = server
        .call("GET", "/api/v1/me", None, Some("bt_not-a-real-token"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Everyone the matrix asks about, and the ticket they are asked about.
struct Cast {
    member: Person,
    requester: Person,
    stranger: Person,
    revoked: Person,
    ticket: i64,
    stakeholder: i64,
}

async fn cast(server: &Server) -> Cast {
    let member = server.person("member").await;
    let requester = server.person("requester").await;
    let stranger = server.person("stranger").await;
    let revoked = server.person("revoked").await;
    server.group("wrt", &[&member]).await;
    let ticket = server.ticket_for_wrt(&requester).await;
    let ticket_id = ticket["id"].as_i64().expect("id");
    let stakeholder = ticket["stakeholders"][1]["id"]
        .as_i64()
        .expect("the group's row");
    // Revoke the last person's only token.
    let store = server.store().await;
    sqlx::query("UPDATE api_tokens SET revoked_at = 1 WHERE user_id = ?")
        .bind(revoked.id)
        .execute(store.pool())
        .await
        .expect("revoke");
    Cast {
        member,
        requester,
        stranger,
        revoked,
        ticket: ticket_id,
        stakeholder,
    }
}

#[tokio::test]
async fn the_permission_matrix_holds_on_every_route() {
    let server = wca().await;
    let c = cast(&server).await;
    let t = c.ticket;
    let s = c.stakeholder;
    let new_ticket = json!({"metaservice": "wca", "ticket_type": "edit_person", "title": "x",
        "metadata": {"wca_id": "2012SMIT01", "changes": {"gender": {"old": "m", "new": "f"}}}});
    let mut with_stakeholder = new_ticket.clone();
    with_stakeholder["stakeholders"] =
        json!([{"group": "wrt", "connection": "cc", "role": "requester"}]);
    use StatusCode as S;
    const OK: S = S::OK;
    const CREATED: S = S::CREATED;
    const NO: S = S::FORBIDDEN;
    const HIDDEN: S = S::NOT_FOUND;
    const BAD: S = S::UNPROCESSABLE_ENTITY;
    // (method, path, body, [admin, member, requester, stranger]); revoked and
    // no token are always 401.
    let rows: Vec<(&str, String, Option<Value>, [S; 4])> = vec![
        (
            "GET",
            format!("/api/v1/tickets/{t}"),
            None,
            [OK, OK, OK, HIDDEN],
        ),
        (
            "GET",
            format!("/api/v1/tickets/{t}/logs"),
            None,
            [OK, OK, OK, HIDDEN],
        ),
        (
            "GET",
            format!("/api/v1/tickets/{t}/comments"),
            None,
            [OK, OK, OK, HIDDEN],
        ),
        (
            "GET",
            format!("/api/v1/tickets/{t}/stakeholders"),
            None,
            [OK, OK, OK, HIDDEN],
        ),
        (
            "POST",
            format!("/api/v1/tickets/{t}/comments"),
            Some(json!({"body": "hi"})),
            [CREATED, CREATED, CREATED, HIDDEN],
        ),
        (
            "PATCH",
            format!("/api/v1/tickets/{t}"),
            Some(json!({"title": "My birthday!"})),
            [OK, OK, OK, HIDDEN],
        ),
        // Metadata by role and state: in review, the request is the
        // assigned's (the group's member) and admins', not the requester's.
        (
            "PATCH",
            format!("/api/v1/tickets/{t}"),
            Some(json!({"metadata": {"changes": {"dob": {"new": "1990-01-05"}}}})),
            [OK, OK, NO, HIDDEN],
        ),
        // A version that moved is 412 for everyone who may see the ticket.
        (
            "PATCH",
            format!("/api/v1/tickets/{t}"),
            Some(json!({"title": "stale", "version": 0})),
            [
                S::PRECONDITION_FAILED,
                S::PRECONDITION_FAILED,
                S::PRECONDITION_FAILED,
                HIDDEN,
            ],
        ),
        // Only admins name stakeholders: a row's role grants or takes
        // rights.
        (
            "POST",
            format!("/api/v1/tickets/{t}/stakeholders"),
            Some(json!({"group": "wrt", "connection": "cc", "role": "actioner"})),
            [CREATED, NO, NO, HIDDEN],
        ),
        // The assigned row changes hands through accept, handover and
        // release; only an admin edits it directly.
        (
            "PATCH",
            format!("/api/v1/tickets/{t}/stakeholders/{s}"),
            Some(json!({"is_active": true})),
            [OK, NO, NO, HIDDEN],
        ),
        // Allowed callers reach the payload check (reject needs a reason).
        (
            "POST",
            format!("/api/v1/tickets/{t}/actions/reject"),
            Some(json!({"payload": {}})),
            [BAD, BAD, NO, HIDDEN],
        ),
        ("GET", "/api/v1/tickets".into(), None, [OK, OK, OK, OK]),
        (
            "POST",
            "/api/v1/tickets".into(),
            Some(new_ticket),
            [CREATED, CREATED, CREATED, CREATED],
        ),
        // Naming stakeholders at creation is for admins.
        (
            "POST",
            "/api/v1/tickets".into(),
            Some(with_stakeholder),
            [CREATED, NO, NO, NO],
        ),
        // Acting rights: pressing a button needs an active assigned or
        // actioner row; the group's members have it until one accepts.
        (
            "POST",
            format!("/api/v1/tickets/{t}/handover"),
            Some(json!({"user_id": c.member.id})),
            [S::CONFLICT, S::CONFLICT, S::CONFLICT, HIDDEN],
        ),
        (
            "POST",
            format!("/api/v1/tickets/{t}/release"),
            None,
            [S::CONFLICT, S::CONFLICT, S::CONFLICT, HIDDEN],
        ),
        (
            "GET",
            "/api/v1/notifications".into(),
            None,
            [OK, OK, OK, OK],
        ),
        ("GET", "/api/v1/me".into(), None, [OK, OK, OK, OK]),
        ("GET", "/api/v1/metaservices".into(), None, [OK, OK, OK, OK]),
        (
            "GET",
            "/api/v1/metaservices/wca/ticket-types".into(),
            None,
            [OK, OK, OK, OK],
        ),
        ("GET", "/api/v1/bots".into(), None, [OK, OK, OK, OK]),
        ("GET", "/api/v1/users".into(), None, [OK, NO, NO, NO]),
        (
            "POST",
            "/api/v1/users".into(),
            Some(json!({"login": "new", "name": "n"})),
            [CREATED, NO, NO, NO],
        ),
        (
            "POST",
            format!("/api/v1/users/{}/tokens", c.stranger.id),
            Some(json!({"name": "x"})),
            [CREATED, NO, NO, NO],
        ),
        (
            "DELETE",
            "/api/v1/tokens/999999".into(),
            None,
            [HIDDEN, NO, NO, NO],
        ),
        ("GET", "/api/v1/groups".into(), None, [OK, NO, NO, NO]),
        (
            "POST",
            "/api/v1/groups".into(),
            Some(json!({"name": "new_group"})),
            [CREATED, NO, NO, NO],
        ),
        (
            "PUT",
            format!("/api/v1/groups/wrt/members/{}", c.requester.id),
            None,
            [S::NO_CONTENT, NO, NO, NO],
        ),
        (
            "DELETE",
            format!("/api/v1/groups/wrt/members/{}", c.requester.id),
            None,
            [S::NO_CONTENT, NO, NO, NO],
        ),
        (
            "PATCH",
            "/api/v1/metaservices/wca/ticket-types/edit_person/settings".into(),
            Some(json!({"notify_repeats": 4})),
            [OK, NO, NO, NO],
        ),
        (
            "POST",
            "/api/v1/bots/wca-edit_person-1-open/restart".into(),
            None,
            [OK, NO, NO, NO],
        ),
    ];
    let who: [(&str, Option<&str>); 4] = [
        ("admin", Some(ADMIN_TOKEN)),
        ("member", Some(&c.member.token)),
        ("requester", Some(&c.requester.token)),
        ("stranger", Some(&c.stranger.token)),
    ];
    for (method, path, body, expected) in &rows {
        // Non-admins first, so that the admin's writes (a new user, a new
        // group) do not change what the others get.
        for i in [1, 2, 3, 0] {
            let (name, token) = who[i];
            let body = match (method, path.as_str(), name) {
                // Fresh names for each creating caller.
                (&"POST", "/api/v1/users", _) => {
                    Some(json!({"login": format!("new_{name}"), "name": "n"}))
                }
                (&"POST", "/api/v1/groups", _) => Some(json!({"name": format!("group_{name}")})),
                // A change of its own for each caller, so none is a no-op.
                (&"PATCH", _, _) if body.as_ref().is_some_and(|b| b.get("metadata").is_some()) => {
                    Some(
                        json!({"metadata": {"changes": {"dob": {"new": format!("1990-02-{:02}", i + 1)}}}}),
                    )
                }
                _ => body.clone(),
            };
            let (status, got) = server.call(method, path, body.as_ref(), token).await;
            assert_eq!(status, expected[i], "{name} {method} {path}: {got}");
            if status.is_client_error() {
                assert!(
                    got["type"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("urn:baton:problem:")),
                    "{got}"
                );
            }
        }
        for (name, token) in [
            ("revoked", Some(c.revoked.token.as_str())),
            ("nobody", None),
        ] {
            let (status, got) = server.call(method, path, body.as_ref(), token).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{name} {method} {path}: {got}"
            );
        }
    }

    // Listing applies visibility: the stranger sees only their own ticket.
    let (_, page) = server
        .as_(&c.stranger, "GET", "/api/v1/tickets", None)
        .await;
    let ids: Vec<i64> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_i64())
        .collect();
    assert!(!ids.contains(&t), "{ids:?}");
    assert_eq!(ids.len(), 1);
    let (_, page) = server.as_(&c.member, "GET", "/api/v1/tickets", None).await;
    assert!(
        page["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|x| x["id"] == t))
    );
}
