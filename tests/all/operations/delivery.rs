//! Notifications that leave Baton: signed webhooks (one delivered after
//! its receiver comes back, one failed and resent by an admin) and an
//! e-mail that reaches a loopback SMTP server with the right recipient,
//! subject and link.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::stepper_only;
use crate::support::receivers::{Hooks, smtp_server};
use crate::support::{Server, ServerSetup};

const SECRET: &str = "a-webhook-secret-0123456789";

fn delivery_config(smtp: u16, hooks: u16) -> String {
    format!(
        r#"[delivery]
poll_interval_ms = 50
retry_base_ms = 100
retry_max_ms = 300
max_attempts = 4
public_url = "https://baton.example.org"

[delivery.email]
smtp_url = "smtp://127.0.0.1:{smtp}"
from = "Baton <baton@example.org>"

[[delivery.webhooks]]
name = "ops"
metaservice = "stepper"
url = "http://127.0.0.1:{hooks}/hook/ops"
secret = "{SECRET}"

[[delivery.webhooks]]
name = "flaky"
metaservice = "stepper"
url = "http://127.0.0.1:{hooks}/hook/flaky"
secret = "{SECRET}"
kinds = ["closed"]
"#
    )
}

/// Alice's notifications about ticket `id`, until `done` holds for one.
async fn notification_until(
    server: &Server,
    token: &str,
    id: i64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let (status, page) = server
            .call("GET", "/api/v1/notifications", None, Some(token))
            .await;
        assert_eq!(status, 200, "{page}");
        let found = page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["ticket_id"] == id && done(n))
            .cloned();
        if let Some(n) = found {
            return n;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no such notification: {page}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn delivery<'a>(n: &'a Value, target: &str) -> &'a Value {
    n["deliveries"]
        .as_array()
        .and_then(|all| all.iter().find(|d| d["target"] == target))
        .unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_leave_by_signed_webhooks_and_email_and_nothing_is_lost() {
    let (smtp, mails) = smtp_server().await;
    // The receiver's port, free and closed: it is down at first.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a port");
    let setup = ServerSetup {
        tables: delivery_config(smtp, port),
        ..ServerSetup::default()
    };
    let server = Server::start_with(setup, stepper_only).await;
    let (status, alice) = server
        .post(
            "/api/v1/users",
            &json!({"login": "alice", "name": "Alice", "email": "alice@example.org"}),
        )
        .await;
    assert_eq!(status, 201, "{alice}");
    let (_, token) = server
        .post(
            &format!("/api/v1/users/{}/tokens", alice["id"]),
            &json!({"name": "t"}),
        )
        .await;
    let token = token["token"].as_str().expect("a token").to_string();
    let ticket = json!({"metaservice": "stepper", "ticket_type": "flow",
        "title": "Move the sign", "metadata": {}});
    let (status, created) = server
        .call("POST", "/api/v1/tickets", Some(&ticket), Some(&token))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("an id");

    // The e-mail: to Alice, naming the ticket, with its link.
    let start = Instant::now();
    let mail = loop {
        if let Some(m) = mails.lock().expect("mails").first().cloned() {
            break m;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no e-mail\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(mail.to, vec!["<alice@example.org>".to_string()]);
    assert!(mail.from.contains("baton@example.org"), "{}", mail.from);
    assert!(
        mail.data
            .contains(&format!("Subject: [Baton] Ticket #{id}: Move the sign")),
        "{}",
        mail.data
    );
    assert!(
        mail.data
            .contains(&format!("https://baton.example.org/api/v1/tickets/{id}")),
        "{}",
        mail.data
    );
    let closed = notification_until(&server, &token, id, |n| {
        delivery(n, "alice@example.org")["state"] == "sent"
    })
    .await;
    assert_eq!(closed["kind"], "closed");

    // The webhooks are retried while the receiver is down...
    notification_until(&server, &token, id, |n| {
        delivery(n, "ops")["attempts"].as_u64() >= Some(2)
            && delivery(n, "ops")["state"] == "pending"
    })
    .await;
    // ... and "ops" is delivered once it is back; "flaky" answers 500.
    let hooks = Hooks::new(SECRET);
    hooks
        .failing
        .lock()
        .expect("failing")
        .insert("flaky".into());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the receiver's port");
    let _receiver = hooks.serve(listener);
    let n = notification_until(&server, &token, id, |n| {
        delivery(n, "ops")["state"] == "sent"
    })
    .await;
    let ops_id = delivery(&n, "ops")["id"].as_i64().expect("an id");
    let got = hooks.received();
    let ops = got.iter().find(|h| h.name == "ops").expect("ops received");
    assert!(ops.signed, "the signature holds");
    assert_eq!(ops.delivery, ops_id.to_string());
    assert_eq!(ops.body["notification"]["kind"], "closed");
    assert_eq!(ops.body["ticket"]["id"], id);
    assert_eq!(ops.body["ticket"]["title"], "Move the sign");

    // "flaky" gives up after four attempts, with the receiver's answer.
    let n = notification_until(&server, &token, id, |n| {
        delivery(n, "flaky")["state"] == "failed"
    })
    .await;
    let flaky = delivery(&n, "flaky");
    assert_eq!(flaky["attempts"], 4);
    assert!(
        flaky["last_error"].as_str().unwrap_or("").contains("500"),
        "{flaky}"
    );
    let flaky_id = flaky["id"].as_i64().expect("an id");
    // Only an admin resends, and only what failed.
    let path = format!("/api/v1/deliveries/{flaky_id}/resend");
    let (status, _) = server.call("POST", &path, None, Some(&token)).await;
    assert_eq!(status, 403);
    let (status, _) = server
        .post(&format!("/api/v1/deliveries/{ops_id}/resend"), &json!(null))
        .await;
    assert_eq!(status, 404);
    hooks.failing.lock().expect("failing").clear();
    let (status, _) = server.post(&path, &json!(null)).await;
    assert_eq!(status, 202);
    notification_until(&server, &token, id, |n| {
        delivery(n, "flaky")["state"] == "sent"
    })
    .await;
    assert!(
        hooks
            .received()
            .iter()
            .filter(|h| h.name == "flaky")
            .all(|h| h.signed)
    );

    // Alice turns e-mail off: her next ticket's notice goes to the hooks only.
    let (status, me) = server
        .call(
            "PATCH",
            "/api/v1/me",
            Some(&json!({"email_notifications": false})),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email_notifications"], false);
    let (_, second) = server
        .call("POST", "/api/v1/tickets", Some(&ticket), Some(&token))
        .await;
    let second = second["id"].as_i64().expect("an id");
    let n = notification_until(&server, &token, second, |n| {
        delivery(n, "ops")["state"] == "sent"
    })
    .await;
    assert!(delivery(&n, "alice@example.org").is_null(), "{n}");
    assert_eq!(mails.lock().expect("mails").len(), 1);
}

/// The verifier `docs/webhooks.md` gives, run as written against Baton's
/// own signatures: it accepts a good one and refuses tampering.
#[test]
fn the_documented_verifier_accepts_batons_signatures_only() {
    let doc = include_str!("../../../docs/webhooks.md");
    let code = doc
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a python block in docs/webhooks.md");
    let now = chrono::Utc::now().timestamp();
    let body = br#"{"delivery":1,"notification":{"kind":"closed"}}"#;
    let header = baton_host::engine::delivery::sign(SECRET, now, body);
    let stale = baton_host::engine::delivery::sign(SECRET, now - 3_600, body);
    let body_text = String::from_utf8_lossy(body);
    let script = format!(
        "{code}\nbody = {body_text:?}.encode()\n\
         assert verify({SECRET:?}, {header:?}, body)\n\
         assert not verify({SECRET:?}, {header:?}, body + b' ')\n\
         assert not verify('another-secret-0123456', {header:?}, body)\n\
         assert not verify({SECRET:?}, {stale:?}, body)\n\
         assert not verify({SECRET:?}, 'v1=00', body)\n\
         print('verified')\n"
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "{}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "verified");
}
