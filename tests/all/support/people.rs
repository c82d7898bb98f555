//! A cast for API tests: users with tokens, in the roles a ticket gives
//! them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::Server;

/// A user and their token.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: i64,
    pub token: String,
}

impl Server {
    /// Creates a user (as the admin) with one token.
    pub async fn person(&self, login: &str) -> Person {
        let (status, user) = self
            .post("/api/v1/users", &json!({"login": login, "name": login}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        let id = user["id"].as_i64().expect("id");
        let (status, token) = self
            .post(
                &format!("/api/v1/users/{id}/tokens"),
                &json!({"name": "tests"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{token}");
        Person {
            id,
            token: token["token"].as_str().expect("token").to_string(),
        }
    }

    /// Creates a group (as the admin) with these members.
    pub async fn group(&self, name: &str, members: &[&Person]) {
        let (status, body) = self.post("/api/v1/groups", &json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        for p in members {
            let (status, body) = self
                .call(
                    "PUT",
                    &format!("/api/v1/groups/{name}/members/{}", p.id),
                    None,
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
            let (status, body) = self
                .call(
                    "PUT",
                    &format!("/api/v1/groups/{name}/members/{}", p.id),
                    None,
                    Some(super::server::ADMIN_TOKEN),
                )
                .await;
            assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        }
    }

    /// As `who`.
    pub async fn as_(
        &self,
        who: &Person,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        self.call(method, path, body, Some(&who.token)).await
    }
}

impl Server {
    /// A wca `edit_person` ticket by `requester` whose change needs a
    /// person's review: the bot of `in_review` assigns it to the group
    /// `wrt` (which must exist). Returned once that row is there.
    pub async fn ticket_for_wrt(&self, requester: &Person) -> Value {
        let body = json!({"metaservice": "wca", "ticket_type": "edit_person", "title": "My birthday",
            "metadata": {"wca_id": "2012SMIT01", "changes": {"dob": {"old": "1990-01-01", "new": "1990-01-02"}}}});
        let (status, ticket) = self
            .as_(requester, "POST", "/api/v1/tickets", Some(&body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        let id = ticket["id"].as_i64().expect("id");
        self.wait_for_ticket(id, "in review, assigned to wrt", |t| {
            t["state"]["code"] == 2
                && t["stakeholders"].as_array().is_some_and(|rows| {
                    rows.iter()
                        .any(|r| r["principal"]["name"] == "wrt" && r["connection"] == "assigned")
                })
        })
        .await
    }
}
