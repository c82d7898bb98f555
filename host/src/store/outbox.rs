//! The outbox: notifications on their way out of Baton (webhooks, e-mail).
//! Rows are written in the commit of their notification, as
//! [`Commit::outbox`](super::Commit) routes them, then claimed with a lease,
//! sent, and settled: sent, retried later, or failed.

use std::sync::Arc;

use crate::model::{TicketId, Timestamp};

/// Where a commit's notifications go besides the inbox. Filled by the
/// engine's one commit path from the configuration; empty by default.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    /// An e-mail to each recipient with an address who has not turned
    /// e-mail off.
    pub email: bool,
    pub webhooks: Arc<[WebhookRoute]>,
}

impl Outbox {
    pub fn is_empty(&self) -> bool {
        !self.email && self.webhooks.is_empty()
    }

    /// The webhooks a notification of `kind` about a ticket of
    /// `metaservice` goes to.
    pub fn webhooks_for<'a>(
        &'a self,
        metaservice: &'a str,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a WebhookRoute> + 'a {
        self.webhooks.iter().filter(move |w| {
            w.metaservice == metaservice
                && (w.kinds.is_empty() || w.kinds.iter().any(|k| k == kind))
        })
    }
}

/// A webhook as the outbox routes to it: by name (its URL and secret stay
/// in the configuration, read when it is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRoute {
    pub name: String,
    pub metaservice: String,
    /// Notification kinds it wants; all when empty.
    pub kinds: Vec<String>,
}

/// A delivery claimed for sending, with what it delivers.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub channel: String,
    pub target: String,
    /// Attempts made before this one.
    pub attempts: u32,
    pub notification: super::Notification,
    /// The ticket's title and metaservice, if it still exists.
    pub ticket: Option<(String, String)>,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Sent,
    /// Failed; tried again at this time.
    Retry {
        error: String,
        at: Timestamp,
    },
    /// Failed for the last time: it waits for an admin's resend.
    GaveUp {
        error: String,
    },
}

/// A delivery's state, for the notification's view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    pub id: i64,
    pub notification_id: i64,
    pub channel: String,
    pub target: String,
    /// `pending`, `sent` or `failed`.
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// The columns [`DeliveryState`] is read from, in both backends.
pub(super) const STATE_COLUMNS: &str =
    "id, notification_id, channel, target, state, attempts, last_error, next_at, sent_at";

/// [`STATE_COLUMNS`]' row.
pub(super) type StateRow = (
    i64,
    i64,
    String,
    String,
    String,
    i64,
    Option<String>,
    i64,
    Option<i64>,
);

impl From<StateRow> for DeliveryState {
    fn from(r: StateRow) -> Self {
        DeliveryState {
            id: r.0,
            notification_id: r.1,
            channel: r.2,
            target: r.3,
            state: r.4,
            attempts: r.5.clamp(0, i64::from(u32::MAX)) as u32,
            last_error: r.6,
            next_at: r.7,
            sent_at: r.8,
        }
    }
}

/// The columns a claimed [`Delivery`] is read from (`d` deliveries, `n`
/// notifications, `t` tickets), in both backends.
pub(super) const CLAIMED_COLUMNS: &str = "d.id, d.channel, d.target, d.attempts, n.id, n.user_id, \
     n.ticket_id, n.kind, n.text, n.read_at, n.created_at, t.title, t.metaservice";

/// [`CLAIMED_COLUMNS`]' row.
pub(super) type ClaimedRow = (
    i64,
    String,
    String,
    i64,
    i64,
    i64,
    Option<TicketId>,
    String,
    String,
    Option<i64>,
    i64,
    Option<String>,
    Option<String>,
);

impl From<ClaimedRow> for Delivery {
    fn from(r: ClaimedRow) -> Self {
        Delivery {
            id: r.0,
            channel: r.1,
            target: r.2,
            attempts: r.3.clamp(0, i64::from(u32::MAX)) as u32,
            notification: super::Notification {
                id: r.4,
                user_id: r.5,
                ticket_id: r.6,
                kind: r.7,
                text: r.8,
                read_at: r.9,
                created_at: r.10,
            },
            ticket: r.11.zip(r.12),
        }
    }
}
