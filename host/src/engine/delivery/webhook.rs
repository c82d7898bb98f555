//! Webhooks: a JSON POST per delivery, signed so that the receiver knows
//! it comes from Baton and is fresh.
//!
//! `Baton-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
//! The receiver recomputes the HMAC over the timestamp, a dot and the raw
//! body, compares in constant time, and refuses a timestamp more than a
//! few minutes old (a replay). `docs/webhooks.md` has a verifier.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::{WebhookConfig, ticket_link};
use crate::store::Delivery;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "Baton-Signature";

/// `t=…,v1=…` for `body` sent at `unix_seconds`.
pub fn sign(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

pub(super) struct Sender {
    client: reqwest::Client,
}

impl Sender {
    pub(super) fn new(timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A webhook answers; it does not send us elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("baton/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Sender { client }
    }

    /// One POST; any 2xx is delivered, anything else an error to retry.
    pub(super) async fn send(
        &self,
        hook: &WebhookConfig,
        delivery: &Delivery,
        public_url: &str,
    ) -> Result<(), String> {
        let n = &delivery.notification;
        let body = json!({
            "delivery": delivery.id,
            "webhook": hook.name,
            "notification": {
                "id": n.id,
                "kind": n.kind,
                "text": n.text,
                "user_id": n.user_id,
                "ticket_id": n.ticket_id,
                "created_at": crate::model::rfc3339(n.created_at),
            },
            "ticket": delivery.ticket.as_ref().map(|(title, metaservice)| json!({
                "id": n.ticket_id,
                "title": title,
                "metaservice": metaservice,
                "url": ticket_link(public_url, delivery),
            })),
        });
        let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let now = chrono::Utc::now().timestamp();
        let response = self
            .client
            .post(&hook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Baton-Delivery", delivery.id.to_string())
            .header(SIGNATURE_HEADER, sign(&hook.secret, now, &body))
            .body(body)
            .send()
            .await
            .map_err(|e| format!("POST {}: {}", hook.url, describe(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("POST {} answered {status}", hook.url))
        }
    }
}

/// The error and its causes, on one line.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
