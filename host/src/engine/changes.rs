//! Changes people make to tickets through the API: edits, stakeholders,
//! comments and actions. Each is one commit with its log rows (and, where
//! a bot should hear of it, its event), and each is checked against the
//! caller's part in the ticket first.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use thiserror::Error;

use super::Engine;
use super::commit::log;
use crate::model::{Actor, Status, Ticket, TicketId};
use crate::store::{
    Commit, EventKind, NewComment, NewEvent, NewNotification, NewStakeholder, Notification,
    Principal, Stakeholder, StakeholderUpdate, StoreError, TicketUpdate, User,
};

#[derive(Debug, Error)]
pub enum ChangeError {
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    /// A stakeholder named as the caller's is not theirs.
    #[error("{0}")]
    NotYours(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub const CONNECTIONS: [&str; 3] = ["assigned", "cc", "bcc"];
pub const ROLES: [&str; 2] = ["requester", "actioner"];

/// A user's part in one ticket.
#[derive(Debug, Clone)]
pub struct Involvement {
    pub admin: bool,
    /// Rows naming the user, and active rows of groups they belong to.
    pub rows: Vec<Stakeholder>,
}

impl Involvement {
    /// Holds an active row whose connection or role is `name`.
    pub fn holds(&self, name: &str) -> bool {
        self.rows
            .iter()
            .any(|s| s.is_active && (s.connection == name || s.role == name))
    }

    /// Admins, the assigned and the requester may edit a ticket.
    pub fn can_edit(&self) -> bool {
        self.admin || self.holds("assigned") || self.holds("requester")
    }

    /// Admins and the assigned manage its stakeholders.
    pub fn can_manage(&self) -> bool {
        self.admin || self.holds("assigned")
    }

    pub fn acts_for(&self, stakeholder: i64) -> bool {
        self.rows.iter().any(|s| s.id == stakeholder && s.is_active)
    }
}

/// RFC 7396 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(map) = target {
        for (key, value) in changes {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

impl Engine {
    pub async fn involvement(
        &self,
        user: &User,
        ticket: TicketId,
    ) -> Result<Involvement, StoreError> {
        let groups: BTreeSet<String> = self
            .store
            .groups_of(user.id)
            .await?
            .into_iter()
            .map(|g| g.name)
            .collect();
        let rows = self
            .store
            .stakeholders(ticket)
            .await?
            .into_iter()
            .filter(|s| {
                s.user_id == Some(user.id)
                    || (s.is_active && s.group.as_ref().is_some_and(|g| groups.contains(g)))
            })
            .collect();
        Ok(Involvement {
            admin: user.is_admin,
            rows,
        })
    }

    /// Changes the title and/or merges into the metadata (validated against
    /// the type's schema), logging old and new values.
    pub async fn patch_ticket(
        &self,
        ticket: &Ticket,
        title: Option<String>,
        patch: Option<Value>,
        actor: &Actor,
    ) -> Result<(), ChangeError> {
        let catalog = self.catalog();
        let tt = catalog
            .ticket_type(&ticket.metaservice, &ticket.ticket_type)
            .ok_or_else(|| {
                ChangeError::Conflict(format!(
                    "ticket type {} is no longer declared",
                    ticket.ticket_type
                ))
            })?;
        let mut commit = Commit::default();
        let mut update = TicketUpdate {
            id: ticket.id,
            expected_version: ticket.version,
            title: None,
            state: None,
            metadata: None,
        };
        if let Some(title) = title {
            let title = crate::model::ticket::title(&title).map_err(ChangeError::Invalid)?;
            if title != ticket.title {
                commit.logs.push(log(
                    ticket.id,
                    actor,
                    "title_changed",
                    None,
                    None,
                    format!("title changed to {title:?}"),
                    Some(json!({"old": ticket.title, "new": title})),
                ));
                update.title = Some(title);
            }
        }
        if let Some(patch) = patch {
            let mut metadata = ticket.metadata.clone();
            merge_patch(&mut metadata, &patch);
            tt.validate_metadata(&metadata).map_err(|e| {
                ChangeError::Invalid(format!(
                    "metadata does not match the schema of {}: {e}",
                    tt.name
                ))
            })?;
            if metadata != ticket.metadata {
                commit.logs.push(log(
                    ticket.id,
                    actor,
                    "metadata_changed",
                    None,
                    None,
                    "metadata changed".into(),
                    Some(json!({"old": ticket.metadata, "new": metadata})),
                ));
                update.metadata = Some(metadata);
            }
        }
        if commit.logs.is_empty() {
            return Ok(());
        }
        commit.updates.push(update);
        self.store.commit(&commit, self.clock.now()).await?;
        Ok(())
    }

    pub async fn add_stakeholder(
        &self,
        ticket: TicketId,
        principal: Principal,
        connection: &'static str,
        role: &'static str,
        actor: &Actor,
    ) -> Result<i64, ChangeError> {
        if let Principal::User(id) = principal
            && self.store.user(id).await?.is_none()
        {
            return Err(ChangeError::Invalid(format!("there is no user {id}")));
        }
        if let Principal::Group(name) = &principal
            && self.store.group(name).await?.is_none()
        {
            return Err(ChangeError::Invalid(format!("there is no group {name:?}")));
        }
        let who = match &principal {
            Principal::User(id) => format!("user {id}"),
            Principal::Group(name) => format!("group {name}"),
        };
        let mut commit = Commit::default();
        commit.stakeholders.push((
            ticket,
            NewStakeholder {
                principal,
                connection,
                role,
            },
        ));
        commit.logs.push(log(
            ticket,
            actor,
            "stakeholder_added",
            None,
            None,
            format!("{who} added as {connection} {role}"),
            Some(json!({"connection": connection, "role": role})),
        ));
        let committed = self.store.commit(&commit, self.clock.now()).await?;
        committed
            .stakeholder_ids
            .first()
            .copied()
            .ok_or_else(|| ChangeError::NotFound("the new stakeholder".into()))
    }

    pub async fn update_stakeholder(
        &self,
        ticket: TicketId,
        current: &Stakeholder,
        connection: Option<&'static str>,
        is_active: Option<bool>,
        actor: &Actor,
    ) -> Result<(), ChangeError> {
        let mut commit = Commit::default();
        commit.stakeholder_updates.push(StakeholderUpdate {
            id: current.id,
            ticket_id: ticket,
            connection,
            is_active,
        });
        commit.logs.push(log(ticket, actor, "stakeholder_changed", None, None,
            format!("stakeholder {} changed", current.id),
            Some(json!({
                "stakeholder_id": current.id,
                "old": {"connection": current.connection, "is_active": current.is_active},
                "new": {"connection": connection.unwrap_or(&current.connection), "is_active": is_active.unwrap_or(current.is_active)},
            }))));
        self.store.commit(&commit, self.clock.now()).await?;
        Ok(())
    }

    /// Writes a comment as `user` (for one of their stakeholders, if
    /// given), tells the current bot, and notifies the other stakeholders.
    pub async fn comment(
        &self,
        ticket: &Ticket,
        user: &User,
        involvement: &Involvement,
        body: String,
        acting_stakeholder: Option<i64>,
    ) -> Result<(i64, Vec<Notification>), ChangeError> {
        let body = body.trim().to_string();
        if body.is_empty() || body.chars().count() > 20_000 {
            return Err(ChangeError::Invalid(
                "a comment has 1 to 20000 characters".into(),
            ));
        }
        if let Some(sid) = acting_stakeholder
            && !involvement.acts_for(sid)
        {
            return Err(ChangeError::NotYours(format!(
                "stakeholder {sid} is not one of yours on this ticket"
            )));
        }
        let bot_state = self.bot_state_of(ticket);
        let mut commit = Commit::default();
        commit.comments.push(NewComment {
            ticket_id: ticket.id,
            body: body.clone(),
            acting_user_id: user.id,
            acting_stakeholder_id: acting_stakeholder,
            event_for_state: bot_state,
        });
        let actor = Actor::User(user.id);
        commit.logs.push(log(
            ticket.id,
            &actor,
            "commented",
            None,
            None,
            format!("{} commented", user.login),
            None,
        ));
        let text = format!(
            "{} commented on ticket {} ({}): {}",
            user.login,
            ticket.id,
            ticket.title,
            preview(&body)
        );
        for recipient in self.recipients(ticket.id, Some(user.id)).await? {
            commit.notifications.push(NewNotification {
                user_id: recipient,
                ticket_id: Some(ticket.id),
                kind: "comment",
                text: text.clone(),
            });
        }
        let committed = self.store.commit(&commit, self.clock.now()).await?;
        self.publish(&committed.notifications);
        self.poke();
        let id = committed
            .comment_ids
            .first()
            .copied()
            .ok_or_else(|| ChangeError::NotFound("the new comment".into()))?;
        Ok((id, committed.notifications))
    }

    /// Queues a human action for the current state's bot, after checking
    /// that the state accepts it, the payload fits, and the caller may.
    pub async fn act(
        &self,
        ticket: &Ticket,
        user: &User,
        involvement: &Involvement,
        name: &str,
        payload: Value,
    ) -> Result<(), ChangeError> {
        let catalog = self.catalog();
        let state = catalog
            .ticket_type(&ticket.metaservice, &ticket.ticket_type)
            .and_then(|tt| tt.state(ticket.state_code))
            .ok_or_else(|| {
                ChangeError::Conflict(format!("ticket {} is in an undeclared state", ticket.id))
            })?;
        if ticket.status == Status::Closed {
            return Err(ChangeError::Conflict(format!(
                "ticket {} is closed",
                ticket.id
            )));
        }
        let action = state.action(name).ok_or_else(|| {
            let known: Vec<&str> = state.actions.iter().map(|a| a.name.as_str()).collect();
            ChangeError::NotFound(format!(
                "state {} {} has no action {name:?} (it has {known:?})",
                state.code, state.name
            ))
        })?;
        if !involvement.admin && !action.allowed.iter().any(|a| involvement.holds(a)) {
            return Err(ChangeError::Forbidden(format!(
                "action {name:?} is for {:?}",
                action.allowed
            )));
        }
        action
            .validate_payload(&payload)
            .map_err(|e| ChangeError::Invalid(format!("payload of {name:?}: {e}")))?;
        if catalog
            .metaservice(&ticket.metaservice)
            .is_some_and(|ms| ms.builtin)
        {
            return self.resolve_error(ticket, user, name).await;
        }
        let now = self.clock.now();
        let actor = Actor::User(user.id);
        let commit = Commit {
            events: vec![NewEvent {
                ticket_id: ticket.id,
                state_code: ticket.state_code,
                kind: EventKind::Action,
                payload: json!({"name": name, "payload": payload, "user_id": user.id}),
                available_at: now,
            }],
            logs: vec![log(
                ticket.id,
                &actor,
                "action_requested",
                None,
                None,
                format!("{} pressed {name:?}", user.login),
                Some(json!({"action": name, "payload": payload})),
            )],
            ..Commit::default()
        };
        self.store.commit(&commit, now).await?;
        self.poke();
        Ok(())
    }

    /// The state whose bot hears of the ticket's events, if any.
    pub(super) fn bot_state_of(&self, ticket: &Ticket) -> Option<u32> {
        let catalog = self.catalog();
        let ms = catalog.metaservice(&ticket.metaservice)?;
        let state = ms
            .ticket_types
            .get(&ticket.ticket_type)?
            .state(ticket.state_code)?;
        (!ms.builtin && !state.terminal && ticket.status == Status::Open).then_some(state.code)
    }

    /// Users to notify about a ticket: active user stakeholders and the
    /// members of active group stakeholders, but not `except`.
    pub async fn recipients(
        &self,
        ticket: TicketId,
        except: Option<i64>,
    ) -> Result<BTreeSet<i64>, StoreError> {
        let mut users = BTreeSet::new();
        for s in self
            .store
            .stakeholders(ticket)
            .await?
            .into_iter()
            .filter(|s| s.is_active)
        {
            if let Some(id) = s.user_id {
                users.insert(id);
            }
            if let Some(group) = &s.group
                && let Some(g) = self.store.group(group).await?
            {
                users.extend(g.members);
            }
        }
        if let Some(id) = except {
            users.remove(&id);
        }
        Ok(users)
    }
}

fn preview(text: &str) -> String {
    let short: String = text.chars().take(140).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}
