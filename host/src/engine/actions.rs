//! Comments and actions from people: a comment is stored with the user
//! who wrote it and the stakeholder they wrote for, tells the bot of the
//! state and notifies the other stakeholders; an action is checked against
//! the state's declaration and the caller's part, then queued for the bot.

use serde_json::{Value, json};

use super::Engine;
use super::changes::{ChangeError, acting_for, preview};
use super::commit::log;
use super::policy::{self, Involvement};
use crate::model::{Actor, Ticket};
use crate::store::{Commit, EventKind, NewComment, NewEvent, NewNotification, Notification, User};

impl Engine {
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
        policy::ensure_open(ticket)?;
        let body = body.trim().to_string();
        if body.is_empty() || body.chars().count() > 20_000 {
            return Err(ChangeError::Invalid(
                "a comment has 1 to 20000 characters".into(),
            ));
        }
        let acting = involvement.acting(acting_stakeholder)?;
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
        acting_for(&mut commit, acting);
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
        let committed = match self.commit(&commit, self.clock.now()).await {
            Err(crate::store::StoreError::Conflict(_)) => {
                return Err(ChangeError::Conflict(format!(
                    "ticket {} closed while the comment was written",
                    ticket.id
                )));
            }
            other => other?,
        };
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
        acting_stakeholder: Option<i64>,
    ) -> Result<(), ChangeError> {
        policy::ensure_open(ticket)?;
        let acting = involvement.acting(acting_stakeholder)?;
        let catalog = self.catalog();
        let state = catalog
            .ticket_type(&ticket.metaservice, &ticket.ticket_type)
            .and_then(|tt| tt.state(ticket.state_code))
            .ok_or_else(|| {
                ChangeError::Conflict(format!("ticket {} is in an undeclared state", ticket.id))
            })?;
        let action = state.action(name).ok_or_else(|| {
            let known: Vec<&str> = state.actions.iter().map(|a| a.name.as_str()).collect();
            ChangeError::NotFound(format!(
                "state {} {} has no action {name:?} (it has {known:?})",
                state.code, state.name
            ))
        })?;
        if !involvement.may_act(&action.allowed) {
            return Err(ChangeError::Forbidden(format!(
                "action {name:?} is for {:?}, and not for the requester unless it says so",
                action.allowed
            )));
        }
        crate::model::document::check(&payload)
            .and_then(|()| action.validate_payload(&payload))
            .map_err(|e| ChangeError::Invalid(format!("payload of {name:?}: {e}")))?;
        if catalog
            .metaservice(&ticket.metaservice)
            .is_some_and(|ms| ms.builtin)
        {
            return self.resolve_error(ticket, user, name).await;
        }
        let now = self.clock.now();
        let actor = Actor::User(user.id);
        let mut commit = Commit {
            events: vec![NewEvent {
                ticket_id: ticket.id,
                state_code: ticket.state_code,
                kind: EventKind::Action,
                payload: json!({"name": name, "payload": payload, "user_id": user.id,
                    "acting_stakeholder_id": acting}),
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
        acting_for(&mut commit, acting);
        self.commit(&commit, now).await?;
        Ok(())
    }
}
