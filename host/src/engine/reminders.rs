//! Reminders, sent by the host: every `notify_every`, at most
//! `notify_repeats` times, while the ticket stays in a state. Before anyone
//! accepted a group-assigned ticket the group's members are asked again to
//! accept it; after, the assigned are reminded that it waits for them.

use serde_json::json;

use super::Engine;
use super::commit::log;
use crate::model::{Actor, Ticket};
use crate::store::{
    Commit, EventKind, NewEvent, NewNotification, NewTimer, QueuedEvent, StoreError, TimerKind,
};

impl Engine {
    /// Sends one reminder for the event's ticket and schedules the next.
    pub(super) async fn remind(
        &self,
        ticket: &Ticket,
        event: &QueuedEvent,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let catalog = self.catalog();
        let tt = catalog.ticket_type(&ticket.metaservice, &ticket.ticket_type);
        let state = tt
            .and_then(|t| t.state(ticket.state_code))
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let rows = self.store.stakeholders(ticket.id).await?;
        let assigned: Vec<_> = rows
            .iter()
            .filter(|s| s.is_active && s.connection == "assigned")
            .collect();
        let users: Vec<i64> = assigned.iter().filter_map(|s| s.user_id).collect();
        let (recipients, kind, text) = if !users.is_empty() {
            let text = format!(
                "reminder: ticket {} ({}) is still in state {state}",
                ticket.id, ticket.title
            );
            (users, "reminder", text)
        } else {
            let mut members = Vec::new();
            let mut names = Vec::new();
            for name in assigned.iter().filter_map(|s| s.group.clone()) {
                if let Some(group) = self.store.group(&name).await? {
                    members.extend(group.members);
                }
                names.push(name);
            }
            let text = format!(
                "ticket {} ({}) still waits for someone of {} to accept it",
                ticket.id,
                ticket.title,
                names.join(", ")
            );
            (members, "acceptance", text)
        };
        let mut commit = Commit {
            consumes: Some(event.id),
            ..Commit::default()
        };
        for user_id in &recipients {
            commit.notifications.push(NewNotification {
                user_id: *user_id,
                ticket_id: Some(ticket.id),
                kind,
                text: text.clone(),
            });
        }
        commit.logs.push(log(
            ticket.id,
            &Actor::Host,
            "reminded",
            None,
            None,
            format!("{kind} sent to {} people", recipients.len()),
            Some(json!({"recipients": recipients})),
        ));
        let settings = tt
            .map(|t| t.settings_in(ticket.state_code))
            .unwrap_or_default();
        // Written by the timer that fired; anything else is damage, and the
        // event fails (and is parked) rather than guessing.
        let left = event.payload["repeats_left"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "reminder event {} has no repeats_left: {}",
                    event.id, event.payload
                ))
            })?;
        // The bot hears of it too, and may escalate: `proceed-ticket(reminder(n))`.
        let number = settings.notify_repeats.saturating_sub(left).max(1);
        commit.events.push(NewEvent {
            ticket_id: ticket.id,
            state_code: ticket.state_code,
            kind: EventKind::Reminded,
            payload: json!({"number": number}),
            available_at: now,
        });
        // The next one, at the interval in force now (an admin may have
        // changed it since the last).
        if let (true, Some(every)) = (left > 0, settings.notify_every) {
            commit.timers.push(NewTimer {
                ticket_id: ticket.id,
                state_code: ticket.state_code,
                kind: TimerKind::Reminder,
                due_at: Some(now.saturating_add(crate::model::duration::millis(every))),
                base_at: now,
                other_ticket: None,
                repeats_left: left - 1,
            });
        }
        self.commit(&commit, now).await?;
        Ok(())
    }
}
