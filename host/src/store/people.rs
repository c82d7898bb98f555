//! The people side of the store's data: users, groups, tokens,
//! notifications, and what a listing asks for.

use serde_json::Value;

use crate::model::{Status, TicketId, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    pub is_admin: bool,
    /// Whether notifications also go to `email` (when e-mail is set up).
    pub email_notifications: bool,
    pub created_at: Timestamp,
}

/// A console session: the SHA-256 of its cookie's secret (the secret
/// itself is never stored), its user, the CSRF token of its forms.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    pub is_admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub members: Vec<i64>,
    pub created_at: Timestamp,
}

/// Who a live token belongs to, and which token it is (so that what it
/// opened, such as an event stream, can end when it is revoked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub user: User,
    pub token_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// Who is looking: admins see every ticket, users what they are involved in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Admin,
    User(i64),
}

/// `GET /tickets` filters. Results come newest first; `before` is the
/// cursor (the last id of the previous page).
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub metaservice: Option<String>,
    pub ticket_type: Option<String>,
    pub state: Option<u32>,
    pub status: Option<Status>,
    /// Only tickets this user created or is a stakeholder of (directly or
    /// through an active group).
    pub mine: Option<i64>,
    pub stakeholder_user: Option<i64>,
    pub stakeholder_group: Option<String>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub before: Option<TicketId>,
    pub limit: u32,
    /// Only tickets whose title contains this, ignoring ASCII case.
    pub title_contains: Option<String>,
    /// Only tickets a group this user belongs to is an active
    /// stakeholder of.
    pub my_groups: Option<i64>,
    /// Only open tickets waiting for this user: assigned to them, or to a
    /// group of theirs that no member has accepted yet.
    pub waiting_for: Option<i64>,
}

/// How many tickets of a listing are in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCount {
    pub metaservice: String,
    pub ticket_type: String,
    pub state_code: u32,
    pub count: i64,
}

/// A change to a stakeholder row; the row is never deleted (history).
#[derive(Debug, Clone)]
pub struct StakeholderUpdate {
    pub id: i64,
    pub ticket_id: TicketId,
    pub connection: Option<&'static str>,
    pub is_active: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct NewComment {
    pub ticket_id: TicketId,
    pub body: String,
    pub acting_user_id: i64,
    pub acting_stakeholder_id: Option<i64>,
    /// Queue a `comment` event for the bot of this state, carrying the new
    /// comment's id, in the same transaction.
    pub event_for_state: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: i64,
    pub ticket_id: TicketId,
    pub body: String,
    pub acting_user_id: i64,
    pub acting_stakeholder_id: Option<i64>,
    pub created_at: Timestamp,
}

/// A notification for one user.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub user_id: i64,
    pub ticket_id: Option<TicketId>,
    pub kind: &'static str,
    pub text: String,
}

impl NewNotification {
    /// The notification as written, with the id the store gave it.
    pub fn stored(&self, id: i64, created_at: Timestamp) -> Notification {
        Notification {
            id,
            user_id: self.user_id,
            ticket_id: self.ticket_id,
            kind: self.kind.to_string(),
            text: self.text.clone(),
            read_at: None,
            created_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub user_id: i64,
    pub ticket_id: Option<TicketId>,
    pub kind: String,
    pub text: String,
    pub read_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A settings change as kept in the history, newest first.
#[derive(Debug, Clone)]
pub struct SettingsRecord {
    pub id: i64,
    pub change: SettingsChange,
    pub at: Timestamp,
}

/// A settings override and who made it.
#[derive(Debug, Clone)]
pub struct SettingsChange {
    pub metaservice: String,
    pub ticket_type: String,
    pub user_id: i64,
    pub old: Value,
    pub new: Value,
}
