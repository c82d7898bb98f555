//! Creating tickets on behalf of people and systems (the API).

use serde_json::Value;
use thiserror::Error;

use super::Engine;
use super::changes::ChangeError;
use super::commit::{entered, log};
use super::policy;
use crate::model::{Actor, Status, Ticket};
use crate::store::{Commit, NewStakeholder, NewTicket, Principal, StoreError};

/// A request to create a ticket.
#[derive(Debug, Clone)]
pub struct CreateTicket {
    pub metaservice: String,
    pub ticket_type: String,
    pub title: String,
    pub metadata: Value,
    /// Stakeholders besides the creator (who becomes the requester);
    /// only admins may name any (see `policy.rs`).
    pub stakeholders: Vec<NewStakeholder>,
    /// Whether the creator is an admin.
    pub by_admin: bool,
}

#[derive(Debug, Error)]
pub enum CreateError {
    #[error("unknown metaservice {0:?}")]
    UnknownMetaservice(String),
    #[error("metaservice {0:?} has no ticket type {1:?}")]
    UnknownTicketType(String, String),
    #[error("tickets of {0} are filed by Baton itself")]
    Builtin(String),
    #[error("{0}")]
    InvalidTitle(String),
    #[error("{0}")]
    InvalidMetadata(String),
    #[error("{0}")]
    InvalidStakeholder(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Engine {
    /// Validates and creates a ticket in its type's initial state, logs
    /// who created it, and queues the first bot.
    pub async fn create_ticket(
        &self,
        req: CreateTicket,
        actor: Actor,
    ) -> Result<Ticket, CreateError> {
        let catalog = self.catalog();
        let ms = catalog
            .metaservice(&req.metaservice)
            .ok_or_else(|| CreateError::UnknownMetaservice(req.metaservice.clone()))?;
        if ms.builtin {
            return Err(CreateError::Builtin(ms.name.clone()));
        }
        let tt = ms.ticket_types.get(&req.ticket_type).ok_or_else(|| {
            CreateError::UnknownTicketType(req.metaservice.clone(), req.ticket_type.clone())
        })?;
        policy::check_creation(req.by_admin, &req.stakeholders).map_err(|e| match e {
            ChangeError::Forbidden(m) => CreateError::Forbidden(m),
            other => CreateError::InvalidStakeholder(other.to_string()),
        })?;
        let title = crate::model::ticket::title(&req.title).map_err(CreateError::InvalidTitle)?;
        crate::model::document::check(&req.metadata)
            .and_then(|()| tt.validate_metadata(&req.metadata))
            .map_err(|e| {
                CreateError::InvalidMetadata(format!(
                    "metadata does not match the schema of {}: {e}",
                    tt.name
                ))
            })?;

        let id = self.store.next_ticket_id().await?;
        let now = self.clock.now();
        for s in &req.stakeholders {
            match &s.principal {
                Principal::User(id) if self.store.user(*id).await?.is_none() => {
                    return Err(CreateError::InvalidStakeholder(format!(
                        "there is no user {id}"
                    )));
                }
                Principal::Group(name) if self.store.group(name).await?.is_none() => {
                    return Err(CreateError::InvalidStakeholder(format!(
                        "there is no group {name:?}"
                    )));
                }
                _ => {}
            }
        }
        let mut stakeholders = match actor {
            Actor::User(user) => vec![NewStakeholder {
                principal: Principal::User(user),
                connection: "cc",
                role: "requester",
            }],
            _ => Vec::new(),
        };
        stakeholders.extend(req.stakeholders.iter().cloned());
        let ticket = Ticket {
            id,
            metaservice: ms.name.clone(),
            ticket_type: tt.name.clone(),
            title,
            state_code: tt.initial,
            status: Status::Open,
            metadata: req.metadata.into(),
            parent_id: None,
            created_by: actor.clone(),
            created_at: now,
            updated_at: now,
            closed_at: None,
            deadline_at: None,
            version: 1,
        };
        let state_name = tt
            .state(tt.initial)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let commit = Commit {
            consumes: None,
            inserts: vec![NewTicket::of(&ticket, stakeholders)],
            updates: Vec::new(),
            logs: vec![log(
                id,
                &actor,
                "created",
                None,
                Some(tt.initial),
                format!("created by {actor} in state {} {state_name}", tt.initial),
                None,
            )],
            events: vec![entered(&ticket, now)],
            timers: super::commit::state_timers(ms, &ticket, now)
                .into_iter()
                .collect(),
            ..Commit::default()
        };
        let mut commit = commit;
        // Each member of an assigned group is asked to accept the ticket.
        for s in &req.stakeholders {
            if let (Principal::Group(name), "assigned") = (&s.principal, s.connection)
                && let Some(group) = self.store.group(name).await?
            {
                let text = format!(
                    "ticket {id} ({}) is assigned to group {name}: accept it to take it",
                    ticket.title
                );
                for member in group.members {
                    commit.notifications.push(crate::store::NewNotification {
                        user_id: member,
                        ticket_id: Some(id),
                        kind: "acceptance",
                        text: text.clone(),
                    });
                }
            }
        }
        self.commit(&commit, now).await?;
        Ok(ticket)
    }
}
