//! What nodes sharing one database tell each other, and what the store
//! knows of them: the signals a node announces (PostgreSQL carries them by
//! `NOTIFY`, after the commit they follow), the bots each node runs, and
//! which nodes are alive.

use serde::{Deserialize, Serialize};

use crate::model::Timestamp;

/// Something other nodes must learn at once rather than at their next
/// poll. Signals are hints: a node that misses some (its listening
/// connection was down) gets [`Signal::Resync`] and looks again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "signal", content = "of")]
pub enum Signal {
    /// Events or timers were queued: idle nodes look at the queue.
    Work,
    /// Notifications were committed, by id: nodes with open event streams
    /// read them and pass them on.
    Notifications(Vec<i64>),
    /// These tickets changed (by id): nodes with live console pages tell
    /// them.
    Tickets(Vec<i64>),
    /// A ticket type's settings were changed through the admin API.
    Settings,
    /// An administrator restarted this bot (its name): every node that
    /// runs it loads its file again.
    RestartBot(String),
    /// This token (its id) was revoked: its event streams end everywhere.
    TokenRevoked(i64),
    /// Signals may have been missed; look at everything again.
    Resync,
}

impl Signal {
    /// Its kind, for metrics: a closed set, whatever it carries.
    pub fn kind(&self) -> &'static str {
        match self {
            Signal::Work => "work",
            Signal::Notifications(_) => "notifications",
            Signal::Tickets(_) => "tickets",
            Signal::Settings => "settings",
            Signal::RestartBot(_) => "restart_bot",
            Signal::TokenRevoked(_) => "token_revoked",
            Signal::Resync => "resync",
        }
    }
}

/// One node's view of one bot, for `/api/v1/bots`.
#[derive(Debug, Clone)]
pub struct NodeBot {
    pub node_id: String,
    /// Whether the node beat recently (see `engine/cluster.rs`).
    pub alive: bool,
    pub bot: super::BotRecord,
}

/// A node as the `nodes` table has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub started_at: Timestamp,
    pub heartbeat_at: Timestamp,
    pub alive: bool,
}

#[cfg(test)]
mod tests {
    use super::Signal;

    #[test]
    fn signals_travel_as_small_json() {
        let all = [
            Signal::Work,
            Signal::Notifications(vec![1, 2]),
            Signal::Tickets(vec![3]),
            Signal::Settings,
            Signal::RestartBot("a-b-1-c".into()),
            Signal::TokenRevoked(7),
            Signal::Resync,
        ];
        for s in all {
            let text = serde_json::to_string(&s).expect("encodes");
            assert!(text.len() < 100, "{text}");
            assert_eq!(serde_json::from_str::<Signal>(&text).expect("decodes"), s);
        }
        assert_eq!(
            serde_json::to_string(&Signal::TokenRevoked(7)).expect("encodes"),
            r#"{"signal":"token_revoked","of":7}"#
        );
    }
}
