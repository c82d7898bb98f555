//! Tickets and the actors that change them.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A ticket's number.
pub type TicketId = i64;

/// Milliseconds since the Unix epoch, UTC. Stored as an integer in both
/// databases so that ordering and arithmetic are the same everywhere.
pub type Timestamp = i64;

/// RFC 3339 in UTC with milliseconds, as the API and webhooks show times.
pub fn rfc3339(ms: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The raw lifecycle, separate from the business state: a ticket is
/// closed exactly when its state is terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(Status::Open),
            "closed" => Ok(Status::Closed),
            other => Err(format!("unknown status {other:?} (open, closed)")),
        }
    }
}

/// A ticket as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: TicketId,
    pub metaservice: String,
    pub ticket_type: String,
    pub title: String,
    pub state_code: u32,
    pub status: Status,
    pub metadata: super::Metadata,
    pub parent_id: Option<TicketId>,
    pub created_by: Actor,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub deadline_at: Option<Timestamp>,
    /// Bumped by every committed change; the guard of bot invocations.
    pub version: i64,
}

/// Who did something to a ticket. Every log row and every ticket names
/// one, and it is never made up: a bot acts as itself, not as a user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A person or system, through the API with their token.
    User(i64),
    /// A bot, by its deployed name.
    Bot(BotName),
    /// Baton itself, e.g. filing an error ticket.
    Host,
}

impl Actor {
    /// The stored kind: `user`, `bot` or `host`.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::Bot(_) => "bot",
            Actor::Host => "host",
        }
    }

    /// Rebuilds an actor from its stored columns.
    pub fn from_parts(kind: &str, user_id: Option<i64>, bot: Option<String>) -> Option<Actor> {
        match (kind, user_id, bot) {
            ("user", Some(id), _) => Some(Actor::User(id)),
            ("bot", _, Some(name)) => BotName::parse(&name).ok().map(Actor::Bot),
            ("host", _, _) => Some(Actor::Host),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User(id) => write!(f, "user {id}"),
            Actor::Bot(name) => write!(f, "bot {name}"),
            Actor::Host => f.write_str("baton"),
        }
    }
}

/// A bot's deployed name: `$metaservice-$ticket_type-$state_code-$state_name`,
/// which is also its file name in the bots directory (plus `.wasm`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BotName {
    pub metaservice: String,
    pub ticket_type: String,
    pub state_code: u32,
    pub state_name: String,
}

impl BotName {
    pub fn new(metaservice: &str, ticket_type: &str, state_code: u32, state_name: &str) -> Self {
        BotName {
            metaservice: metaservice.into(),
            ticket_type: ticket_type.into(),
            state_code,
            state_name: state_name.into(),
        }
    }

    /// Parses a name; names inside it use `_`, never `-`, so the four parts
    /// are unambiguous.
    pub fn parse(name: &str) -> Result<Self, String> {
        let parts: Vec<&str> = name.split('-').collect();
        let [ms, tt, code, state] = parts.as_slice() else {
            return Err(format!(
                "{name:?} is not of the form metaservice-ticket_type-state_code-state_name"
            ));
        };
        let code: u32 = code
            .parse()
            .map_err(|_| format!("{name:?}: state code {code:?} is not a number"))?;
        for part in [ms, tt, state] {
            if !is_identifier(part) {
                return Err(format!(
                    "{name:?}: {part:?} must be lowercase letters, digits and '_'"
                ));
            }
        }
        Ok(BotName::new(ms, tt, code, state))
    }
}

impl fmt::Display for BotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{}-{}",
            self.metaservice, self.ticket_type, self.state_code, self.state_name
        )
    }
}

/// The most stakeholder rows a ticket may have, active or not, whoever
/// adds them (people through the API, or bots).
pub const MAX_STAKEHOLDERS: usize = 100;

/// The longest ticket title, in characters.
pub const MAX_TITLE_CHARS: usize = 500;

/// A title as stored: trimmed, and 1 to [`MAX_TITLE_CHARS`] characters.
pub fn title(raw: &str) -> Result<String, String> {
    let title = raw.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(format!(
            "a title must have 1 to {MAX_TITLE_CHARS} characters"
        ));
    }
    Ok(title.to_string())
}

/// Names of metaservices, ticket types and states: `[a-z][a-z0-9_]*`.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_names_round_trip() {
        let name = BotName::parse("wca-edit_person-1-open").unwrap();
        assert_eq!(name, BotName::new("wca", "edit_person", 1, "open"));
        assert_eq!(name.to_string(), "wca-edit_person-1-open");
    }

    #[test]
    fn bad_bot_names_are_refused() {
        for bad in [
            "wca-edit-person-1-open",
            "wca-edit_person-one-open",
            "wca-edit_person-1",
            "WCA-edit_person-1-open",
            "wca--1-open",
        ] {
            assert!(BotName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn actors_round_trip_through_columns() {
        let bot = Actor::Bot(BotName::new("a", "b", 1, "c"));
        assert_eq!(
            Actor::from_parts("bot", None, Some("a-b-1-c".into())),
            Some(bot)
        );
        assert_eq!(
            Actor::from_parts("user", Some(7), None),
            Some(Actor::User(7))
        );
        assert_eq!(Actor::from_parts("user", None, None), None);
    }
}
