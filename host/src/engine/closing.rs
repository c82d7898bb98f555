//! Telling a ticket's people that it closed: every active user stakeholder
//! and every member of an active group stakeholder gets a `closed`
//! notification when a bot moves the ticket into a terminal state, so a
//! requester learns the outcome without polling.

use super::Engine;
use crate::model::{Metaservice, Status};
use crate::runtime::{Change, Effects};
use crate::store::{NewNotification, StoreError};

/// A ticket an invocation closed: (id, title, the terminal state's name).
pub(super) struct Closed {
    id: i64,
    title: String,
    state: String,
}

/// The tickets that `effects` move into a terminal state.
pub(super) fn closed_by(effects: &Effects, ms: &Metaservice) -> Vec<Closed> {
    effects
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Moved { id, .. } => effects.tickets.get(id),
            _ => None,
        })
        .filter(|t| t.status == Status::Closed)
        .map(|t| Closed {
            id: t.id,
            title: t.title.clone(),
            state: ms
                .ticket_types
                .get(&t.ticket_type)
                .and_then(|tt| tt.state(t.state_code))
                .map(|s| s.name.clone())
                .unwrap_or_else(|| t.state_code.to_string()),
        })
        .collect()
}

impl Engine {
    /// One `closed` notification per recipient per closed ticket, to the
    /// stakeholders as they were before the closing invocation (any it
    /// adds are not told).
    pub(super) async fn closed_notices(
        &self,
        closed: &[Closed],
    ) -> Result<Vec<NewNotification>, StoreError> {
        let mut notices = Vec::new();
        for c in closed {
            let text = format!("ticket {} ({}) is closed: {}", c.id, c.title, c.state);
            for user in self.recipients(c.id, None).await? {
                notices.push(NewNotification {
                    user_id: user,
                    ticket_id: Some(c.id),
                    kind: "closed",
                    text: text.clone(),
                });
            }
        }
        Ok(notices)
    }
}
