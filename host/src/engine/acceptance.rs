//! Acceptance: the first member of the assigned group to accept a ticket
//! becomes its active assigned stakeholder.

use serde_json::json;

use super::Engine;
use super::changes::ChangeError;
use super::commit::log;
use crate::model::{Actor, Status, Ticket};
use crate::store::{
    Commit, EventKind, NewEvent, NewNotification, NewStakeholder, Principal, Stakeholder,
    StakeholderUpdate, StoreError, TicketUpdate, User,
};

impl Engine {
    /// A member of the assigned group takes the ticket: they become its
    /// active assigned stakeholder, the group's row stays, inactive, and
    /// the bot of the state hears of it.
    pub async fn accept(&self, ticket: &Ticket, user: &User) -> Result<(), ChangeError> {
        if ticket.status == Status::Closed {
            return Err(ChangeError::Conflict(format!(
                "ticket {} is closed",
                ticket.id
            )));
        }
        let rows = self.store.stakeholders(ticket.id).await?;
        let assigned = |s: &&Stakeholder| s.is_active && s.connection == "assigned";
        if let Some(taken) = rows.iter().filter(assigned).find_map(|s| s.user_id) {
            return Err(ChangeError::Conflict(format!(
                "ticket {} was already accepted by user {taken}",
                ticket.id
            )));
        }
        let Some(group_row) = rows.iter().filter(assigned).find(|s| s.group.is_some()) else {
            return Err(ChangeError::Conflict(format!(
                "ticket {} is not assigned to a group",
                ticket.id
            )));
        };
        let group = group_row.group.clone().unwrap_or_default();
        let member = self
            .store
            .groups_of(user.id)
            .await?
            .iter()
            .any(|g| g.name == group);
        if !member {
            return Err(ChangeError::Forbidden(format!(
                "only members of group {group} accept ticket {}",
                ticket.id
            )));
        }
        let actor = Actor::User(user.id);
        let now = self.clock.now();
        let mut commit = Commit::default();
        // The version guard: of two members accepting at once, one wins.
        commit.updates.push(TicketUpdate {
            id: ticket.id,
            expected_version: ticket.version,
            title: None,
            state: None,
            metadata: None,
        });
        commit.stakeholders.push((
            ticket.id,
            NewStakeholder {
                principal: Principal::User(user.id),
                connection: "assigned",
                role: "actioner",
            },
        ));
        commit.stakeholder_updates.push(StakeholderUpdate {
            id: group_row.id,
            ticket_id: ticket.id,
            connection: None,
            is_active: Some(false),
        });
        commit.logs.push(log(
            ticket.id,
            &actor,
            "accepted",
            None,
            None,
            format!("{} accepted the ticket for group {group}", user.login),
            Some(json!({"user_id": user.id, "group": group})),
        ));
        if let Some(state) = self.bot_state_of(ticket) {
            commit.events.push(NewEvent {
                ticket_id: ticket.id,
                state_code: state,
                kind: EventKind::Accepted,
                payload: json!({"user_id": user.id}),
                available_at: now,
            });
        }
        let text = format!(
            "{} accepted ticket {} ({})",
            user.login, ticket.id, ticket.title
        );
        for recipient in self.recipients(ticket.id, Some(user.id)).await? {
            commit.notifications.push(NewNotification {
                user_id: recipient,
                ticket_id: Some(ticket.id),
                kind: "accepted",
                text: text.clone(),
            });
        }
        let committed = match self.store.commit(&commit, now).await {
            Err(StoreError::Conflict(_)) => {
                return Err(ChangeError::Conflict(format!(
                    "ticket {} changed meanwhile; it may have been accepted",
                    ticket.id
                )));
            }
            other => other?,
        };
        self.publish(&committed.notifications);
        self.poke();
        Ok(())
    }
}
