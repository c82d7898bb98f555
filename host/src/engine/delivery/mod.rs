//! Delivery: notifications that leave Baton. The outbox rows a commit
//! writes (one per channel: a webhook of the ticket's metaservice, the
//! recipient's e-mail) are claimed here with a lease, sent, and settled:
//! sent; retried with exponential backoff; or, after `max_attempts`,
//! failed until an admin resends them. A receiver that is down for hours
//! loses nothing; one that answers slowly holds one slot of
//! `concurrency`, for `timeout_ms` at most.
//!
//! Delivery is at least once: a node that dies after sending and before
//! settling sends again once the lease runs out. Webhook receivers
//! deduplicate by the `Baton-Delivery` header.
//!
//! # Layout
//! - `mod.rs`: the configuration, the routes for the commit path, the loop.
//! - `webhook.rs`: signed HTTP POSTs.
//! - `email.rs`: SMTP through `lettre`.

mod email;
mod webhook;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::store::{Attempt, Delivery, Outbox, WebhookRoute};

pub use webhook::{SIGNATURE_HEADER, sign};

/// `[delivery]` in `baton.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// How often the outbox is looked at when no commit wakes the sender.
    pub poll_interval_ms: u64,
    /// How long a claimed delivery is reserved for one attempt.
    pub lease_ms: i64,
    /// One attempt's limit: connecting, sending, the answer.
    pub timeout_ms: u64,
    /// Deliveries sent at once by this node.
    pub concurrency: u32,
    /// The first retry's delay, doubling up to `retry_max_ms`.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// Attempts before a delivery is marked failed (it waits for a resend).
    pub max_attempts: u32,
    /// Where people reach Baton: links in e-mails and webhook bodies.
    pub public_url: String,
    pub email: EmailConfig,
    pub webhooks: Vec<WebhookConfig>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            poll_interval_ms: 1_000,
            lease_ms: 60_000,
            timeout_ms: 10_000,
            concurrency: 8,
            // 1 s doubling to 10 min, 25 attempts: about two and a half
            // hours of retries, so a receiver down for an hour loses nothing.
            retry_base_ms: 1_000,
            retry_max_ms: 600_000,
            max_attempts: 25,
            public_url: "http://127.0.0.1:8080".into(),
            email: EmailConfig::default(),
            webhooks: Vec::new(),
        }
    }
}

/// `[delivery.email]`: SMTP. No `smtp_url`, no e-mail.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// `smtp://[user:password@]host[:port]` (STARTTLS when the server
    /// offers it), `smtp://…?tls=required` (STARTTLS or nothing), or
    /// `smtps://…` (TLS from the first byte).
    pub smtp_url: String,
    /// The sender, e.g. `Baton <baton@example.org>`.
    pub from: String,
}

/// One `[[delivery.webhooks]]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Names it in the outbox and the API.
    pub name: String,
    /// Notifications about tickets of this metaservice go to it.
    pub metaservice: String,
    pub url: String,
    /// The HMAC-SHA256 key of the signature (`docs/webhooks.md`).
    pub secret: String,
    /// Notification kinds it wants; every kind when empty.
    #[serde(default)]
    pub kinds: Vec<String>,
}

impl DeliveryConfig {
    /// What the configuration makes of each commit's notifications.
    pub fn outbox(&self) -> Outbox {
        Outbox {
            email: !self.email.smtp_url.is_empty(),
            webhooks: self
                .webhooks
                .iter()
                .map(|w| WebhookRoute {
                    name: w.name.clone(),
                    metaservice: w.metaservice.clone(),
                    kinds: w.kinds.clone(),
                })
                .collect(),
        }
    }

    /// Checks what the types cannot, naming the setting.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.concurrency > 0,
            "delivery.concurrency must be at least 1"
        );
        anyhow::ensure!(
            self.max_attempts > 0,
            "delivery.max_attempts must be at least 1"
        );
        anyhow::ensure!(
            self.lease_ms > self.timeout_ms as i64,
            "delivery.lease_ms must be longer than delivery.timeout_ms"
        );
        if !self.email.smtp_url.is_empty() {
            email::Mailer::new(&self.email, Duration::from_millis(self.timeout_ms))?;
        }
        let mut names = std::collections::BTreeSet::new();
        for w in &self.webhooks {
            anyhow::ensure!(
                names.insert(&w.name),
                "delivery.webhooks: the name {:?} is used twice",
                w.name
            );
            anyhow::ensure!(
                w.url.starts_with("http://") || w.url.starts_with("https://"),
                "delivery.webhooks {:?}: url must start with http:// or https://",
                w.name
            );
            anyhow::ensure!(
                w.secret.len() >= 16,
                "delivery.webhooks {:?}: secret must have at least 16 characters",
                w.name
            );
        }
        Ok(())
    }

    fn backoff_ms(&self, attempts: u32) -> u64 {
        let factor = 1u64 << attempts.min(30);
        self.retry_base_ms
            .saturating_mul(factor)
            .min(self.retry_max_ms)
    }
}

/// The channels, ready to send.
struct Channels {
    config: DeliveryConfig,
    webhooks: webhook::Sender,
    mailer: Option<email::Mailer>,
}

impl Engine {
    /// Sends the outbox until `shutdown` completes (the deliveries being
    /// sent then are finished first).
    pub async fn deliver(
        self: Arc<Self>,
        config: DeliveryConfig,
        shutdown: impl Future<Output = ()>,
    ) {
        let timeout = Duration::from_millis(config.timeout_ms);
        let mailer = match config.email.smtp_url.is_empty() {
            true => None,
            false => match email::Mailer::new(&config.email, timeout) {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::error!("e-mail is off: {e:#}");
                    None
                }
            },
        };
        let channels = Channels {
            webhooks: webhook::Sender::new(timeout),
            mailer,
            config,
        };
        let poll = Duration::from_millis(channels.config.poll_interval_ms.max(1));
        tokio::pin!(shutdown);
        loop {
            let sent = self.deliver_due(&channels).await;
            if sent > 0 {
                continue;
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.outbox_wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
        tracing::info!("delivery stopped");
    }

    /// One round: claims what is due (up to `concurrency`), sends it all
    /// at once, settles each; how many were claimed.
    async fn deliver_due(&self, channels: &Channels) -> usize {
        let c = &channels.config;
        let now = self.clock.now();
        let claimed = match self
            .store
            .claim_deliveries(now, c.lease_ms, c.concurrency)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!("claiming deliveries: {e}");
                return 0;
            }
        };
        let n = claimed.len();
        let sends = claimed.into_iter().map(|d| self.deliver_one(channels, d));
        futures::future::join_all(sends).await;
        n
    }

    async fn deliver_one(&self, channels: &Channels, delivery: Delivery) {
        let c = &channels.config;
        let span = tracing::info_span!("delivery", id = delivery.id, channel = %delivery.channel, notification = delivery.notification.id);
        let _entered = span.enter();
        let result = match delivery.channel.as_str() {
            "webhook" => match c.webhooks.iter().find(|w| w.name == delivery.target) {
                Some(hook) => channels.webhooks.send(hook, &delivery, &c.public_url).await,
                None => Err(format!(
                    "no webhook {:?} in the configuration",
                    delivery.target
                )),
            },
            "email" => match &channels.mailer {
                Some(mailer) => mailer.send(&delivery, &c.public_url).await,
                None => Err("e-mail is not set up (delivery.email.smtp_url)".into()),
            },
            other => Err(format!("unknown channel {other:?}")),
        };
        let now = self.clock.now();
        let channel: &'static str = if delivery.channel == "email" {
            "email"
        } else {
            "webhook"
        };
        let attempt = match result {
            Ok(()) => Attempt::Sent,
            Err(error) if delivery.attempts + 1 >= c.max_attempts => Attempt::GaveUp { error },
            Err(error) => Attempt::Retry {
                at: now + c.backoff_ms(delivery.attempts) as i64,
                error,
            },
        };
        let state = match &attempt {
            Attempt::Sent => "sent",
            Attempt::Retry { error, .. } => {
                tracing::warn!(target_name = %delivery.target, attempts = delivery.attempts + 1, "delivery failed, will retry: {error}");
                "retrying"
            }
            Attempt::GaveUp { error } => {
                tracing::error!(target_name = %delivery.target, attempts = delivery.attempts + 1, "delivery failed for good (an admin can resend it): {error}");
                "failed"
            }
        };
        self.metrics.notified(channel, state, 1);
        if let Err(e) = self.store.settle_delivery(delivery.id, &attempt, now).await {
            // The lease runs out and the delivery is tried again.
            tracing::error!("settling delivery {}: {e}", delivery.id);
        }
    }
}

/// A delivery's body and link: what both channels say.
fn ticket_link(public_url: &str, delivery: &Delivery) -> Option<String> {
    delivery
        .notification
        .ticket_id
        .map(|id| format!("{}/api/v1/tickets/{id}", public_url.trim_end_matches('/')))
}
