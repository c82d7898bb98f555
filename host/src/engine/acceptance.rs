//! Acceptance: the first member of the assigned group to accept a ticket
//! becomes its active assigned stakeholder. That member may hand it over
//! to another member of the group, or give it back to the group, whose
//! members are then asked again. The group's row stays (inactive while a
//! member holds the ticket), so its members keep seeing the ticket; only
//! the active rows carry the right to act on it.

use serde_json::json;

use super::Engine;
use super::changes::{ChangeError, touch};
use super::commit::log;
use super::policy::{self, Involvement};
use crate::model::{Actor, Ticket};
use crate::store::{
    Commit, EventKind, NewEvent, NewNotification, NewStakeholder, Principal, Stakeholder,
    StakeholderUpdate, StoreError, User,
};

impl Engine {
    /// A member of the assigned group takes the ticket: they become its
    /// active assigned stakeholder, the group's row stays, inactive, and
    /// the bot of the state hears of it.
    pub async fn accept(&self, ticket: &Ticket, user: &User) -> Result<(), ChangeError> {
        policy::ensure_open(ticket)?;
        let rows = self.store.stakeholders(ticket.id).await?;
        let (group_row, group) = group_to_accept(&rows, ticket, user)?;
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
        commit.updates.push(touch(ticket));
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
        match self.commit(&commit, now).await {
            Err(StoreError::Conflict(_)) => {
                return Err(ChangeError::Conflict(format!(
                    "ticket {} changed meanwhile; it may have been accepted",
                    ticket.id
                )));
            }
            other => other?,
        };
        Ok(())
    }

    /// The member holding a ticket (or an admin) hands it to another
    /// member of the group it was assigned to: the new member becomes the
    /// active assigned stakeholder, the previous one's row goes inactive.
    pub async fn hand_over(
        &self,
        ticket: &Ticket,
        who: &Involvement,
        to: i64,
        acting_stakeholder: Option<i64>,
    ) -> Result<(), ChangeError> {
        policy::ensure_open(ticket)?;
        let acting = who.acting(acting_stakeholder)?;
        let rows = self.store.stakeholders(ticket.id).await?;
        let holder = holder(&rows, who)?;
        let group = assigned_group(&rows, ticket)?;
        if holder.user_id == Some(to) {
            return Err(ChangeError::Conflict(format!(
                "user {to} already holds ticket {}",
                ticket.id
            )));
        }
        if rows
            .iter()
            .any(|s| s.user_id == Some(to) && s.role == "requester")
        {
            return Err(ChangeError::Forbidden(format!(
                "user {to} asked for ticket {}: a requester is not handed her own request",
                ticket.id
            )));
        }
        let member = self
            .store
            .group(&group)
            .await?
            .is_some_and(|g| g.members.contains(&to));
        if !member {
            return Err(ChangeError::Invalid(format!(
                "user {to} is not a member of group {group}, which ticket {} is assigned to",
                ticket.id
            )));
        }
        let actor = Actor::User(who.user_id);
        let mut commit = Commit::default();
        commit.updates.push(touch(ticket));
        commit
            .stakeholder_updates
            .push(deactivate(ticket, holder.id));
        commit.stakeholders.push((
            ticket.id,
            NewStakeholder {
                principal: Principal::User(to),
                connection: "assigned",
                role: "actioner",
            },
        ));
        commit.logs.push(log(
            ticket.id,
            &actor,
            "handed_over",
            None,
            None,
            format!("handed over to user {to} of group {group}"),
            Some(json!({"from_user_id": holder.user_id, "to_user_id": to, "group": group})),
        ));
        super::changes::acting_for(&mut commit, acting);
        commit.notifications.push(NewNotification {
            user_id: to,
            ticket_id: Some(ticket.id),
            kind: "assigned",
            text: format!(
                "ticket {} ({}) was handed over to you for group {group}",
                ticket.id, ticket.title
            ),
        });
        self.commit_or_moved(&commit, ticket).await?;
        Ok(())
    }

    /// The member holding a ticket (or an admin) gives it back to the
    /// group it was assigned to: the group's row is active again and its
    /// members are asked to accept it.
    pub async fn release(&self, ticket: &Ticket, who: &Involvement) -> Result<(), ChangeError> {
        policy::ensure_open(ticket)?;
        let rows = self.store.stakeholders(ticket.id).await?;
        let holder = holder(&rows, who)?;
        let group = assigned_group(&rows, ticket)?;
        let group_row = rows
            .iter()
            .rev()
            .find(|s| s.connection == "assigned" && s.group.as_deref() == Some(group.as_str()))
            .map(|s| s.id)
            .ok_or_else(|| ChangeError::Conflict("the group's row is gone".into()))?;
        let mut commit = Commit::default();
        commit.updates.push(touch(ticket));
        commit
            .stakeholder_updates
            .push(deactivate(ticket, holder.id));
        commit.stakeholder_updates.push(StakeholderUpdate {
            id: group_row,
            ticket_id: ticket.id,
            connection: None,
            is_active: Some(true),
        });
        commit.logs.push(log(
            ticket.id,
            &Actor::User(who.user_id),
            "released",
            None,
            None,
            format!("given back to group {group}"),
            Some(json!({"from_user_id": holder.user_id, "group": group})),
        ));
        let text = format!(
            "ticket {} ({}) is assigned to group {group} again: accept it to take it",
            ticket.id, ticket.title
        );
        if let Some(g) = self.store.group(&group).await? {
            for member in g.members {
                commit.notifications.push(NewNotification {
                    user_id: member,
                    ticket_id: Some(ticket.id),
                    kind: "acceptance",
                    text: text.clone(),
                });
            }
        }
        self.commit_or_moved(&commit, ticket).await?;
        Ok(())
    }
}

/// The group row a member may accept from: the ticket is assigned to a
/// group, nobody holds it yet, and the caller did not ask for it (unless
/// an admin).
fn group_to_accept<'a>(
    rows: &'a [Stakeholder],
    ticket: &Ticket,
    user: &User,
) -> Result<(&'a Stakeholder, String), ChangeError> {
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
    // Admins may, as they may press any action.
    if !user.is_admin
        && rows
            .iter()
            .any(|s| s.user_id == Some(user.id) && s.role == "requester")
    {
        return Err(ChangeError::Forbidden(format!(
            "user {} asked for ticket {}: a requester does not take her own request",
            user.login, ticket.id
        )));
    }
    let group = group_row.group.clone().unwrap_or_default();
    Ok((group_row, group))
}

/// The active assigned user row that `who` may give away: their own, or
/// any holder's for an admin.
fn holder<'a>(rows: &'a [Stakeholder], who: &Involvement) -> Result<&'a Stakeholder, ChangeError> {
    let held = rows
        .iter()
        .find(|s| s.is_active && s.connection == "assigned" && s.user_id.is_some())
        .ok_or_else(|| {
            ChangeError::Conflict("nobody holds this ticket: a member must accept it first".into())
        })?;
    if who.admin || held.user_id == Some(who.user_id) {
        Ok(held)
    } else {
        Err(ChangeError::Forbidden(
            "only the member who holds the ticket (or an admin) hands it over or gives it back"
                .into(),
        ))
    }
}

/// The group the ticket was last assigned to (its row active or not).
fn assigned_group(rows: &[Stakeholder], ticket: &Ticket) -> Result<String, ChangeError> {
    rows.iter()
        .rev()
        .filter(|s| s.connection == "assigned")
        .find_map(|s| s.group.clone())
        .ok_or_else(|| {
            ChangeError::Conflict(format!(
                "ticket {} was not assigned to a group; an admin reassigns it",
                ticket.id
            ))
        })
}

fn deactivate(ticket: &Ticket, stakeholder: i64) -> StakeholderUpdate {
    StakeholderUpdate {
        id: stakeholder,
        ticket_id: ticket.id,
        connection: None,
        is_active: Some(false),
    }
}
