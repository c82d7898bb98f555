//! Errors: the host's refusals and a bot's own failures.

use std::fmt;

/// The result type of bot code.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the host refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostErrorKind {
    /// The ticket, type or state does not exist (for this bot).
    NotFound,
    /// Not allowed: a transition not listed for the state, a ticket of
    /// another metaservice, a closed ticket.
    NotAllowed,
    /// Malformed arguments, e.g. metadata that fails the type's schema.
    Invalid,
    /// A per-invocation limit was reached.
    LimitExceeded,
    /// An outgoing HTTP request failed on the way (DNS, connection, TLS,
    /// protocol).
    Http,
}

/// A refusal from the host, which the bot may handle (e.g. by trying an
/// alternative state) or pass on with `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    pub kind: HostErrorKind,
    pub message: String,
}

impl HostError {
    pub fn new(kind: HostErrorKind, message: impl Into<String>) -> Self {
        HostError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            HostErrorKind::NotFound => "not found",
            HostErrorKind::NotAllowed => "not allowed",
            HostErrorKind::Invalid => "invalid",
            HostErrorKind::LimitExceeded => "limit exceeded",
            HostErrorKind::Http => "HTTP failure",
        };
        write!(f, "{kind}: {}", self.message)
    }
}

impl std::error::Error for HostError {}

/// Everything that can make a bot invocation fail.
#[derive(Debug)]
pub enum Error {
    /// The host refused a call.
    Host(HostError),
    /// Metadata or a payload did not (de)serialize as the bot expected.
    Json(serde_json::Error),
    /// The bot's own reason.
    Bot(String),
}

impl Error {
    /// A failure in the bot's own words.
    pub fn msg(message: impl Into<String>) -> Self {
        Error::Bot(message.into())
    }

    /// The host's refusal, if this is one.
    pub fn host_error(&self) -> Option<&HostError> {
        match self {
            Error::Host(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Host(e) => write!(f, "host refused: {e}"),
            Error::Json(e) => write!(f, "bad JSON: {e}"),
            Error::Bot(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<HostError> for Error {
    fn from(e: HostError) -> Self {
        Error::Host(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e)
    }
}
