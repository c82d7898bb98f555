//! E-mail over SMTP with `lettre`: one message per delivery, to the
//! address the outbox recorded, with a subject that names the ticket and a
//! link to it.

use std::time::Duration;

use anyhow::Context;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{EmailConfig, ticket_link};
use crate::store::Delivery;

pub(super) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// From `smtp_url`: `smtp://` uses STARTTLS when the server offers it
    /// (lettre's `tls=opportunistic` unless the URL says otherwise),
    /// `smtps://` TLS from the start.
    pub(super) fn new(config: &EmailConfig, timeout: Duration) -> anyhow::Result<Self> {
        let url = if config.smtp_url.starts_with("smtp://") && !config.smtp_url.contains("tls=") {
            let sep = if config.smtp_url.contains('?') {
                '&'
            } else {
                '?'
            };
            format!("{}{sep}tls=opportunistic", config.smtp_url)
        } else {
            config.smtp_url.clone()
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .context("delivery.email.smtp_url is not an SMTP URL (smtp://host:port or smtps://host:port)")?
            .timeout(Some(timeout))
            .build();
        let from: Mailbox = config
            .from
            .parse()
            .context("delivery.email.from is not an address (e.g. Baton <baton@example.org>)")?;
        Ok(Mailer { transport, from })
    }

    pub(super) async fn send(&self, delivery: &Delivery, public_url: &str) -> Result<(), String> {
        let to: Mailbox = delivery
            .target
            .parse()
            .map_err(|e| format!("{:?} is not an address: {e}", delivery.target))?;
        let n = &delivery.notification;
        let subject = match (&delivery.ticket, n.ticket_id) {
            (Some((title, _)), Some(id)) => format!("[Baton] Ticket #{id}: {title}"),
            (None, Some(id)) => format!("[Baton] Ticket #{id}"),
            _ => "[Baton] Notification".to_string(),
        };
        let mut body = format!("{}\n", n.text);
        if let Some(link) = ticket_link(public_url, delivery) {
            body.push_str(&format!("\nThe ticket: {link}\n"));
        }
        body.push_str(&format!(
            "\n(notification {}, {}; turn e-mails off with PATCH /api/v1/me)\n",
            n.id, n.kind
        ));
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("building the message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }
}
