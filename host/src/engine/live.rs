//! Which tickets changed, for pages that follow them live (the console's
//! ticket page, list and inbox).
//!
//! Every commit goes through [`Engine::commit`], which hands the ids of the
//! tickets it touched to [`Engine::touched`]: they are broadcast to this
//! process's live pages and announced to the other nodes
//! ([`Signal::Tickets`]), whose pages hear them the same way. Only ids
//! travel: a page that hears one reads what it may see through the usual
//! permission checks.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::broadcast;

use super::Engine;
use crate::model::TicketId;
use crate::store::{Commit, Signal};

/// What a live page hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// These tickets changed (one message per commit).
    Tickets(Arc<[TicketId]>),
    /// Changes may have been missed (another node's signals were lost):
    /// look again at whatever is shown.
    All,
}

impl Changed {
    /// Whether `id` may be among the changed tickets.
    pub fn touches(&self, id: TicketId) -> bool {
        match self {
            Changed::Tickets(ids) => ids.contains(&id),
            Changed::All => true,
        }
    }
}

/// How many change messages a slow page may fall behind by before it is
/// told to look again at everything (it then re-reads its page anyway).
pub const BACKLOG: usize = 256;

pub fn channel() -> broadcast::Sender<Changed> {
    broadcast::channel(BACKLOG).0
}

/// The tickets a commit creates or changes, in any way a page shows:
/// the row itself, its log, comments, stakeholders, waits.
pub fn touched_by(commit: &Commit) -> Vec<TicketId> {
    let mut ids = BTreeSet::new();
    ids.extend(commit.inserts.iter().map(|t| t.id));
    // A new child shows on its parent's page.
    ids.extend(commit.inserts.iter().filter_map(|t| t.parent_id));
    ids.extend(commit.updates.iter().map(|u| u.id));
    ids.extend(commit.logs.iter().map(|l| l.ticket_id));
    ids.extend(commit.comments.iter().map(|c| c.ticket_id));
    ids.extend(commit.stakeholders.iter().map(|(id, _)| *id));
    ids.extend(commit.stakeholder_updates.iter().map(|s| s.ticket_id));
    ids.extend(commit.timers.iter().map(|t| t.ticket_id));
    ids.into_iter().collect()
}

impl Engine {
    /// Tells this node's live pages, and the other nodes, that these
    /// tickets changed.
    pub(super) fn touched(&self, ids: Vec<TicketId>) {
        if ids.is_empty() {
            return;
        }
        self.hear_touched(ids.clone());
        self.store.announce(Signal::Tickets(ids));
    }

    /// Passes changes on to this node's live pages only (what another
    /// node announced, or [`Changed::All`] after lost signals).
    pub(super) fn hear_touched(&self, ids: Vec<TicketId>) {
        // No page listening is not an error.
        let _ = self.changes.send(Changed::Tickets(ids.into()));
    }

    pub(super) fn hear_all_changed(&self) {
        let _ = self.changes.send(Changed::All);
    }

    /// Every ticket change committed from now on, on any node.
    pub fn watch_tickets(&self) -> broadcast::Receiver<Changed> {
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_touches_everything_and_ids_only_themselves() {
        let some = Changed::Tickets(vec![3, 5].into());
        assert!(some.touches(5));
        assert!(!some.touches(4));
        assert!(Changed::All.touches(4));
    }
}
