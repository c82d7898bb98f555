//! Real objects for the fuzzer to aim at: people, groups, tickets in
//! several states, stakeholders, comments, notifications, spare tokens and
//! the bots; and the values path parameters and body properties take from
//! them.

use serde_json::{Value, json};

use super::generate::Hints;
use crate::support::{ADMIN_TOKEN, Person, Server};

/// What exists on the server before fuzzing starts.
pub struct Seeded {
    /// In `wrt` with `colleague`, who is in nothing else.
    pub member: Person,
    pub colleague: Person,
    pub outsider: Person,
    /// In review (assigned to `wrt`, `member` is its requester), closed,
    /// and one of the outsider's.
    pub tickets: Vec<i64>,
    /// Another ticket in review, for the actions alone: `approve` and
    /// `reject` close their ticket, and the others must stay open for the
    /// rest of the run, whatever order the generator picks.
    pub actionable: i64,
    pub stakeholders: Vec<i64>,
    pub notifications: Vec<i64>,
    /// Failed webhook deliveries, for the resend.
    pub deliveries: Vec<i64>,
    /// Tokens nobody uses: the only ones the fuzzer may revoke.
    pub spare_tokens: Vec<i64>,
    pub bots: Vec<String>,
    pub archived: i64,
}

fn items(body: &Value, key: &str) -> Vec<Value> {
    body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| i[key].clone())
        .collect()
}

async fn ok(
    server: &Server,
    who: Option<&Person>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    let token = who.map_or(ADMIN_TOKEN, |p| p.token.as_str());
    let (status, answer) = server.call(method, path, body.as_ref(), Some(token)).await;
    assert!(
        status.is_success(),
        "seeding: {method} {path}: {status} {answer}"
    );
    answer
}

async fn ticket(server: &Server, who: &Person, changes: Value) -> i64 {
    let body = json!({"metaservice": "wca", "ticket_type": "edit_person", "title": "Seeded",
        "metadata": {"wca_id": "2012SMIT01", "changes": changes}});
    let created = ok(server, Some(who), "POST", "/api/v1/tickets", Some(body)).await;
    created["id"].as_i64().expect("an id")
}

/// Tickets: one in review with a comment and an extra stakeholder, one
/// closed, one of the outsider's.
async fn tickets(server: &Server, member: &Person, outsider: &Person) -> Vec<i64> {
    let review = ticket(
        server,
        member,
        json!({"dob": {"old": "1990-01-01", "new": "1990-01-02"}}),
    )
    .await;
    let closed = ticket(
        server,
        member,
        json!({"name": {"old": "john smith", "new": "John Smith"}}),
    )
    .await;
    let other = ticket(
        server,
        outsider,
        json!({"gender": {"old": "m", "new": "f"}}),
    )
    .await;
    server
        .wait_for_ticket(review, "in review", |t| t["state"]["code"] == 2)
        .await;
    server
        .wait_for_ticket(closed, "closed", |t| t["status"] == "closed")
        .await;
    let path = format!("/api/v1/tickets/{review}");
    let cc = json!({"user_id": outsider.id, "connection": "cc", "role": "actioner"});
    ok(
        server,
        None,
        "POST",
        &format!("{path}/stakeholders"),
        Some(cc),
    )
    .await;
    ok(
        server,
        Some(member),
        "POST",
        &format!("{path}/comments"),
        Some(json!({"body": "seeded"})),
    )
    .await;
    vec![review, closed, other]
}

async fn spare_tokens(server: &Server, owner: &Person) -> Vec<i64> {
    let mut spare_tokens = Vec::new();
    for _ in 0..3 {
        let token = ok(
            server,
            None,
            "POST",
            &format!("/api/v1/users/{}/tokens", owner.id),
            Some(json!({"name": "spare"})),
        )
        .await;
        spare_tokens.push(token["id"].as_i64().expect("token id"));
    }
    spare_tokens
}

/// A ticket retention archived: closed, then the clock moved past its
/// type's retention (365 days) by restarting the server. The server must
/// sweep retention often (`retention_every_ms`).
async fn archived(server: &mut Server, who: &Person) -> i64 {
    let id = ticket(server, who, json!({"name": {"old": "a b", "new": "A B"}})).await;
    server
        .wait_for_ticket(id, "closed", |t| t["status"] == "closed")
        .await;
    server.restart_with(&[("BATON_CLOCK_OFFSET", "400d")]).await;
    let start = std::time::Instant::now();
    let path = format!("/api/v1/archive/{id}");
    while !server.get(&path).await.0.is_success() {
        assert!(
            start.elapsed().as_secs() < 30,
            "ticket {id} was never archived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    id
}

/// The member's notifications' webhook deliveries, once they failed.
async fn failed_deliveries(server: &Server, member: &Person) -> Vec<i64> {
    let start = std::time::Instant::now();
    loop {
        let inbox = ok(server, Some(member), "GET", "/api/v1/notifications", None).await;
        let failed: Vec<i64> = inbox["items"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|n| n["deliveries"].as_array().cloned().unwrap_or_default())
            .filter(|d| d["state"] == "failed")
            .filter_map(|d| d["id"].as_i64())
            .collect();
        if !failed.is_empty() {
            return failed;
        }
        assert!(
            start.elapsed().as_secs() < 30,
            "seeding: no failed delivery: {inbox}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

pub async fn seed(server: &mut Server) -> Seeded {
    let member = server.person("member").await;
    let outsider = server.person("outsider").await;
    let colleague = server.person("colleague").await;
    server.group("wrt", &[&member, &colleague]).await;
    server.group("fuzzers", &[&outsider]).await;
    let archived = archived(server, &member).await;
    let tickets = tickets(server, &member, &outsider).await;
    let actionable = ticket(
        server,
        &member,
        json!({"dob": {"old": "1990-01-01", "new": "1990-01-03"}}),
    )
    .await;
    server
        .wait_for_ticket(actionable, "in review", |t| t["state"]["code"] == 2)
        .await;
    let path = format!("/api/v1/tickets/{}", tickets[0]);
    let ticket = ok(server, None, "GET", &path, None).await;
    let stakeholders = ticket["stakeholders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_i64())
        .collect();
    let inbox = ok(server, Some(&member), "GET", "/api/v1/notifications", None).await;
    let notifications: Vec<i64> = items(&inbox, "id")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    assert!(
        !notifications.is_empty(),
        "the member was asked to accept: {inbox}"
    );
    let deliveries = failed_deliveries(server, &member).await;
    let spare_tokens = spare_tokens(server, &outsider).await;
    let bots = ok(server, None, "GET", "/api/v1/bots", None).await;
    let bots = items(&bots, "name")
        .iter()
        .filter_map(|n| n.as_str().map(String::from))
        .collect();
    Seeded {
        member,
        colleague,
        outsider,
        tickets,
        actionable,
        stakeholders,
        notifications,
        deliveries,
        spare_tokens,
        bots,
        archived,
    }
}

fn texts<T: ToString>(values: &[T]) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}

impl Seeded {
    pub fn token(&self, who: &str) -> &str {
        match who {
            "member" => &self.member.token,
            "outsider" => &self.outsider.token,
            _ => ADMIN_TOKEN,
        }
    }

    /// Values for path parameter `name` of the operation at `path`: real
    /// ones, and a few that name nothing.
    pub fn path_values(&self, path: &str, name: &str) -> Vec<String> {
        let (member, outsider) = (self.member.id, self.outsider.id);
        let mut values = match (name, path) {
            ("sid", _) => texts(&self.stakeholders),
            ("id", p) if p.contains("/actions/") => {
                texts(&[self.actionable, self.actionable, self.tickets[1]])
            }
            ("name", p) if p.starts_with("/bots") => self.bots.clone(),
            ("name", p) if p.starts_with("/groups") => {
                texts(&["fuzzers", "fuzzers", "nosuchgroup"])
            }
            ("name", _) => texts(&["approve", "reject", "anonymize_account", "nosuchaction"]),
            ("ms", _) => texts(&["wca", "wca", "wca", "nosuchservice"]),
            ("tt", _) => texts(&["edit_person", "edit_person", "anonymization", "nosuchtype"]),
            ("user_id", _) => texts(&[outsider, outsider, member]),
            (_, p) if p.starts_with("/tokens") => texts(&self.spare_tokens),
            (_, p) if p.starts_with("/archive") => texts(&[self.archived, self.tickets[0]]),
            (_, p) if p.starts_with("/notifications") => texts(&self.notifications),
            (_, p) if p.starts_with("/deliveries") => texts(&self.deliveries),
            (_, p) if p.starts_with("/users") => texts(&[member, outsider, outsider]),
            _ => texts(&self.tickets),
        };
        // And one that names nothing.
        values.push("999999".into());
        values
    }

    /// Real values for body and query properties, by name.
    pub fn hints(&self) -> Hints {
        let review = self.tickets[0];
        let mut hints = Hints::new();
        hints.insert("metaservice", vec![json!("wca"), json!("nosuchservice")]);
        hints.insert(
            "ticket_type",
            vec![json!("edit_person"), json!("anonymization")],
        );
        hints.insert("metadata", vec![
            json!({"wca_id": "2012SMIT01", "changes": {"name": {"old": "a b", "new": "A B"}}}),
            json!({"wca_id": "2012SMIT01", "changes": {"dob": {"old": "1990-01-01", "new": "1991-01-01"}}}),
            json!({"changes": {"gender": {"old": "m", "new": "f"}}}),
            json!({"user_id": 7, "scope": "account_only"}),
        ]);
        hints.insert(
            "user_id",
            vec![
                json!(self.member.id),
                json!(self.colleague.id),
                json!(self.outsider.id),
                json!(1),
                json!(999_999),
            ],
        );
        hints.insert("stakeholder_user", vec![json!(self.member.id)]);
        hints.insert(
            "group",
            vec![json!("wrt"), json!("fuzzers"), json!("nosuchgroup")],
        );
        hints.insert("stakeholder_group", vec![json!("wrt")]);
        hints.insert(
            "acting_stakeholder_id",
            self.stakeholders.iter().map(|s| json!(s)).collect(),
        );
        hints.insert("payload", vec![json!({}), json!({"reason": "fuzzed"})]);
        hints.insert(
            "If-Match",
            vec![
                json!("\"1\""),
                json!("\"50\""),
                json!("W/\"1\""),
                json!("*"),
            ],
        );
        hints.insert("version", vec![json!(1), json!(2), json!(50)]);
        hints.insert("lifetime", vec![json!("14d"), json!("2d"), json!(null)]);
        hints.insert("notify_every", vec![json!("1d"), json!(null)]);
        hints.insert("retention", vec![json!("365d"), json!(null)]);
        hints.insert("email", vec![json!("fz@example.org")]);
        hints.insert("is_admin", vec![json!(false)]);
        hints.insert("ticket_id", vec![json!(review)]);
        hints
    }
}
