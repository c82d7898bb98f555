//! Changes people make to tickets through the API: edits of the title and
//! metadata, and stakeholders. Each is one commit with its log rows, each
//! checked against the policy (`policy.rs`) and the caller's part in the
//! ticket first.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use thiserror::Error;

use super::Engine;
use super::commit::log;
use super::policy::{self, Involvement};
use crate::model::{Actor, Status, Ticket, TicketId};
use crate::store::{
    Commit, NewStakeholder, Principal, Stakeholder, StakeholderUpdate, StoreError, TicketUpdate,
    User,
};

#[derive(Debug, Error)]
pub enum ChangeError {
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    /// The metadata, merged, breaks the type's schema or its bounds.
    #[error("{0}")]
    InvalidMetadata(String),
    /// A stakeholder named as the caller's is not theirs.
    #[error("{0}")]
    NotYours(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The version the caller based the change on is no longer current.
    #[error("{0}")]
    Precondition(String),
    /// The ticket changed (a bot committed) between the read and the
    /// write of a change the caller did not pin to a version.
    #[error("ticket {0} changed while the request ran; read it again and retry")]
    Raced(TicketId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub const CONNECTIONS: [&str; 3] = ["assigned", "cc", "bcc"];

/// Tries of a person's change that bots' commits keep racing: people's
/// changes are guarded by the ticket's version, but a bot committing in
/// between is no reason to fail the request.
const RACE_RETRIES: usize = 3;
pub const ROLES: [&str; 2] = ["requester", "actioner"];

/// An edit of a ticket by a person: `PATCH /tickets/{id}`.
#[derive(Debug, Clone, Default)]
pub struct Edit {
    pub title: Option<String>,
    /// A JSON merge patch (RFC 7396) for the metadata.
    pub metadata: Option<Value>,
    /// The version the caller read; the edit fails if it moved.
    pub version: Option<i64>,
    pub acting_stakeholder: Option<i64>,
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

/// Marks every log row of a person's commit with the stakeholder they
/// acted for.
pub(super) fn acting_for(commit: &mut Commit, stakeholder: Option<i64>) {
    for l in &mut commit.logs {
        l.acting_stakeholder = stakeholder;
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
            user_id: user.id,
            rows,
        })
    }

    /// Changes the title and/or merges into the metadata, as the policy
    /// allows the caller, validated against the type's schema and bounds,
    /// logging old and new values. The ticket must be open and, if the
    /// caller names a version, still at it.
    pub async fn patch_ticket(
        &self,
        ticket: &Ticket,
        who: &Involvement,
        edit: Edit,
    ) -> Result<(), ChangeError> {
        policy::ensure_open(ticket)?;
        let moved = || {
            ChangeError::Precondition(format!(
                "ticket {} is no longer at the version you read; read it again",
                ticket.id
            ))
        };
        if edit.version.is_some_and(|v| v != ticket.version) {
            return Err(moved());
        }
        let acting = who.acting(edit.acting_stakeholder)?;
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
        let mut update = touch(ticket);
        if let Some(title) = edit.title {
            edit_title(ticket, who, title, &mut commit, &mut update)?;
        }
        if let Some(patch) = edit.metadata {
            edit_metadata(ticket, who, tt, &patch, &mut commit, &mut update)?;
        }
        if commit.logs.is_empty() {
            return Ok(());
        }
        acting_for(&mut commit, acting);
        commit.updates.push(update);
        match self.commit(&commit, self.clock.now()).await {
            // 412 answers a precondition the caller named; without one,
            // a change that raced another is a conflict to retry.
            Err(StoreError::Conflict(_)) if edit.version.is_some() => Err(moved()),
            Err(StoreError::Conflict(_)) => Err(ChangeError::Conflict(format!(
                "ticket {} changed while the request ran; read it again and retry",
                ticket.id
            ))),
            other => other.map(drop).map_err(ChangeError::from),
        }
    }

    /// Adds a stakeholder, as the policy allows the caller; tried again on
    /// the ticket as it is now when a bot's commit landed in between.
    pub async fn add_stakeholder(
        &self,
        ticket: &Ticket,
        who: &Involvement,
        new: NewStakeholder,
        acting_stakeholder: Option<i64>,
    ) -> Result<i64, ChangeError> {
        let mut current = ticket.clone();
        for _ in 0..RACE_RETRIES {
            match self
                .add_stakeholder_once(&current, who, new.clone(), acting_stakeholder)
                .await
            {
                Err(ChangeError::Raced(id)) => current = self.reread(id).await?,
                other => return other,
            }
        }
        Err(ChangeError::Raced(ticket.id))
    }

    async fn add_stakeholder_once(
        &self,
        ticket: &Ticket,
        who: &Involvement,
        new: NewStakeholder,
        acting_stakeholder: Option<i64>,
    ) -> Result<i64, ChangeError> {
        policy::ensure_open(ticket)?;
        let acting = who.acting(acting_stakeholder)?;
        let rows = self.store.stakeholders(ticket.id).await?;
        policy::check_addition(who, &rows, &new)?;
        if let Principal::User(id) = new.principal
            && self.store.user(id).await?.is_none()
        {
            return Err(ChangeError::Invalid(format!("there is no user {id}")));
        }
        if let Principal::Group(name) = &new.principal
            && self.store.group(name).await?.is_none()
        {
            return Err(ChangeError::Invalid(format!("there is no group {name:?}")));
        }
        let who_text = match &new.principal {
            Principal::User(id) => format!("user {id}"),
            Principal::Group(name) => format!("group {name}"),
        };
        let (connection, role) = (new.connection, new.role);
        let mut commit = Commit::default();
        // The version guard: two additions racing cannot both pass the
        // duplicate and count checks.
        commit.updates.push(touch(ticket));
        commit.stakeholders.push((ticket.id, new));
        commit.logs.push(log(
            ticket.id,
            &Actor::User(who.user_id),
            "stakeholder_added",
            None,
            None,
            format!("{who_text} added as {connection} {role}"),
            Some(json!({"connection": connection, "role": role})),
        ));
        acting_for(&mut commit, acting);
        let committed = self.commit_or_moved(&commit, ticket).await?;
        committed
            .stakeholder_ids
            .first()
            .copied()
            .ok_or_else(|| ChangeError::NotFound("the new stakeholder".into()))
    }

    /// Changes a stakeholder row's connection or activity, as the policy
    /// allows the caller; tried again when a bot's commit landed between.
    pub async fn update_stakeholder(
        &self,
        ticket: &Ticket,
        who: &Involvement,
        current: &Stakeholder,
        change: (Option<&'static str>, Option<bool>),
        acting_stakeholder: Option<i64>,
    ) -> Result<(), ChangeError> {
        let mut now = ticket.clone();
        for _ in 0..RACE_RETRIES {
            match self
                .update_stakeholder_once(&now, who, current, change, acting_stakeholder)
                .await
            {
                Err(ChangeError::Raced(id)) => now = self.reread(id).await?,
                other => return other,
            }
        }
        Err(ChangeError::Raced(ticket.id))
    }

    async fn update_stakeholder_once(
        &self,
        ticket: &Ticket,
        who: &Involvement,
        current: &Stakeholder,
        change: (Option<&'static str>, Option<bool>),
        acting_stakeholder: Option<i64>,
    ) -> Result<(), ChangeError> {
        let (connection, is_active) = change;
        policy::ensure_open(ticket)?;
        let acting = who.acting(acting_stakeholder)?;
        let rows = self.store.stakeholders(ticket.id).await?;
        policy::check_update(who, &rows, current, connection, is_active)?;
        let mut commit = Commit::default();
        commit.updates.push(touch(ticket));
        commit.stakeholder_updates.push(StakeholderUpdate {
            id: current.id,
            ticket_id: ticket.id,
            connection,
            is_active,
        });
        commit.logs.push(log(ticket.id, &Actor::User(who.user_id), "stakeholder_changed", None, None,
            format!("stakeholder {} changed", current.id),
            Some(json!({
                "stakeholder_id": current.id,
                "old": {"connection": current.connection, "is_active": current.is_active},
                "new": {"connection": connection.unwrap_or(&current.connection), "is_active": is_active.unwrap_or(current.is_active)},
            }))));
        acting_for(&mut commit, acting);
        self.commit_or_moved(&commit, ticket).await?;
        Ok(())
    }

    /// The ticket as it is now, for a change tried again after a race.
    async fn reread(&self, id: TicketId) -> Result<Ticket, ChangeError> {
        self.store
            .ticket(id)
            .await?
            .ok_or_else(|| ChangeError::NotFound(format!("ticket {id}")))
    }

    /// Commits a person's change guarded by the ticket's version; a
    /// version that moved meanwhile is [`ChangeError::Raced`].
    pub(super) async fn commit_or_moved(
        &self,
        commit: &Commit,
        ticket: &Ticket,
    ) -> Result<crate::store::Committed, ChangeError> {
        match self.commit(commit, self.clock.now()).await {
            Err(StoreError::Conflict(_)) => Err(ChangeError::Raced(ticket.id)),
            other => Ok(other?),
        }
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

/// A new title, if it differs and the caller may set it.
fn edit_title(
    ticket: &Ticket,
    who: &Involvement,
    title: String,
    commit: &mut Commit,
    update: &mut TicketUpdate,
) -> Result<(), ChangeError> {
    let title = crate::model::ticket::title(&title).map_err(ChangeError::Invalid)?;
    if title == ticket.title {
        return Ok(());
    }
    if !who.can_edit_title() {
        return Err(ChangeError::Forbidden(
            "only the assigned, the requester and admins change the title".into(),
        ));
    }
    commit.logs.push(log(
        ticket.id,
        &Actor::User(who.user_id),
        "title_changed",
        None,
        None,
        format!("title changed to {title:?}"),
        Some(json!({"old": ticket.title, "new": title})),
    ));
    update.title = Some(title);
    Ok(())
}

/// A merge patch of the metadata: the fields it changes must be the
/// caller's to change here, and the result within the schema and bounds.
fn edit_metadata(
    ticket: &Ticket,
    who: &Involvement,
    tt: &crate::model::TicketType,
    patch: &Value,
    commit: &mut Commit,
    update: &mut TicketUpdate,
) -> Result<(), ChangeError> {
    let old = ticket
        .metadata
        .to_value()
        .map_err(|e| StoreError::Corrupt(format!("metadata of ticket {}: {e}", ticket.id)))?;
    let mut metadata = old.clone();
    merge_patch(&mut metadata, patch);
    let fields = policy::changed_fields(&old, &metadata);
    policy::check_fields(who, tt, ticket.state_code, &fields)?;
    crate::model::document::check(&metadata)
        .and_then(|()| tt.validate_metadata(&metadata))
        .map_err(|e| {
            ChangeError::InvalidMetadata(format!(
                "metadata does not match the schema of {}: {e}",
                tt.name
            ))
        })?;
    if fields.is_empty() {
        return Ok(());
    }
    commit.logs.push(log(
        ticket.id,
        &Actor::User(who.user_id),
        "metadata_changed",
        None,
        None,
        format!("metadata changed: {}", join(&fields)),
        Some(json!({"fields": fields, "old": old, "new": metadata})),
    ));
    update.metadata = Some(metadata.into());
    Ok(())
}

/// A version bump with no other change: the guard that serialises
/// changes to a ticket's people.
pub(super) fn touch(ticket: &Ticket) -> TicketUpdate {
    TicketUpdate {
        id: ticket.id,
        expected_version: ticket.version,
        title: None,
        state: None,
        metadata: None,
    }
}

fn join(fields: &BTreeSet<String>) -> String {
    fields.iter().cloned().collect::<Vec<_>>().join(", ")
}

pub(super) fn preview(text: &str) -> String {
    let short: String = text.chars().take(140).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}
