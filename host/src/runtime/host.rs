//! The imports of the bot world: what a bot may ask of the host, each call
//! checked against the calling bot's metaservice and its state.
//!
//! The rules: a bot reads any ticket of its own metaservice (others do not
//! exist for it). It changes only the ticket it was invoked for and the
//! children it created in this invocation, and it moves only a ticket that
//! is in its own state: every other ticket is moved by the bot of its state.
//! A log line may be written on such a ticket even after it closed.

use serde_json::Value;

use super::bindings::baton::bot::{notify, people, tickets, types, waits};
use super::invoke::HostFailure;
use super::session::{Change, Session};
use super::{BotState, CallError};
use crate::model::{Status, Ticket, TicketId};

/// The host could not do its part (the database failed): the invocation
/// fails and is retried; the bot never sees it.
pub(super) fn fatal(what: String) -> CallError {
    CallError::Fatal(HostFailure::error(what))
}

pub(super) fn not_found(what: String) -> CallError {
    CallError::Refused(types::Error::NotFound(what))
}

pub(super) fn not_allowed(what: String) -> CallError {
    CallError::Refused(types::Error::NotAllowed(what))
}

pub(super) fn invalid(what: String) -> CallError {
    CallError::Refused(types::Error::Invalid(what))
}

pub(super) fn over_limit(what: String) -> CallError {
    CallError::Refused(types::Error::LimitExceeded(what))
}

/// A JSON document from the bot, held to the same bounds as one from the
/// API (size checked before parsing).
fn parse_json(what: &str, text: &str) -> Result<Value, CallError> {
    crate::model::document::parse(text).map_err(|e| invalid(format!("{what}: {e}")))
}

/// WIT ticket ids are `u64`; ours are positive `i64`s.
pub(super) fn ticket_id(id: u64) -> Result<TicketId, CallError> {
    TicketId::try_from(id).map_err(|_| not_found(format!("ticket {id}")))
}

impl Session {
    /// A ticket of the bot's metaservice, from the session or the database.
    pub(super) async fn read(&mut self, id: TicketId) -> Result<Ticket, CallError> {
        if let Some(t) = self.seen.get(&id) {
            return Ok(t.clone());
        }
        let found = self
            .store
            .ticket(id)
            .await
            .map_err(|e| fatal(format!("reading ticket {id}: {e}")))?;
        match found {
            Some(t) if t.metaservice == self.metaservice.name => {
                self.remember(t.clone());
                Ok(t)
            }
            _ => Err(not_found(format!("ticket {id}"))),
        }
    }

    /// A ticket this invocation may change: the invoked one or a child it
    /// created; still open unless only a log line is written.
    pub(super) async fn owned(
        &mut self,
        id: TicketId,
        require_open: bool,
    ) -> Result<Ticket, CallError> {
        let ticket = self.read(id).await?;
        if id != self.invoked && !self.created.contains(&id) {
            return Err(not_allowed(format!(
                "ticket {id} is neither the ticket this bot was invoked for ({}) nor one it created",
                self.invoked
            )));
        }
        if require_open && ticket.status == Status::Closed {
            return Err(not_allowed(format!("ticket {id} is closed")));
        }
        Ok(ticket)
    }

    async fn move_ticket(
        &mut self,
        id: TicketId,
        to: Option<u32>,
    ) -> Result<types::State, CallError> {
        let mut ticket = self.owned(id, true).await?;
        let bot = &self.bot;
        if ticket.ticket_type != bot.ticket_type || ticket.state_code != bot.state_code {
            return Err(not_allowed(format!(
                "ticket {id} is in {} state {}; bot {bot} moves only tickets in its own state",
                ticket.ticket_type, ticket.state_code
            )));
        }
        let tt = self
            .metaservice
            .ticket_types
            .get(&ticket.ticket_type)
            .ok_or_else(|| not_found(format!("ticket type {}", ticket.ticket_type)))?;
        let from = ticket.state_code;
        let target = match to {
            None => tt.normal_next(from),
            Some(code) => tt.check_move(from, code),
        }
        .map_err(|e| not_allowed(e.to_string()))?;
        let state = types::State {
            code: target.code,
            name: target.name.clone(),
        };
        ticket.state_code = target.code;
        if target.terminal {
            ticket.status = Status::Closed;
            ticket.closed_at = Some(self.now);
        }
        ticket.updated_at = self.now;
        self.seen.insert(id, ticket);
        self.record(Change::Moved {
            id,
            from,
            to: target.code,
        });
        Ok(state)
    }

    async fn create_child(
        &mut self,
        ticket_type: String,
        title: String,
        metadata: String,
    ) -> Result<TicketId, CallError> {
        self.count_created().map_err(over_limit)?;
        self.quota_for_child().await?;
        let ms = self.metaservice.clone();
        let tt = ms.ticket_types.get(&ticket_type).ok_or_else(|| {
            not_found(format!(
                "metaservice {} has no ticket type {ticket_type:?}",
                ms.name
            ))
        })?;
        let title = crate::model::ticket::title(&title).map_err(invalid)?;
        let metadata = parse_json("metadata", &metadata)?;
        tt.validate_metadata(&metadata)
            .map_err(|e| invalid(format!("metadata for {ticket_type}: {e}")))?;
        let id = self
            .store
            .next_ticket_id()
            .await
            .map_err(|e| fatal(format!("allocating a ticket id: {e}")))?;
        let child = Ticket {
            id,
            metaservice: ms.name.clone(),
            ticket_type,
            title,
            state_code: tt.initial,
            status: Status::Open,
            metadata: metadata.into(),
            parent_id: Some(self.invoked),
            created_by: self.actor(),
            created_at: self.now,
            updated_at: self.now,
            closed_at: None,
            deadline_at: None,
            version: 1,
        };
        self.seen.insert(id, child);
        self.created.insert(id);
        self.record(Change::Created { id });
        Ok(id)
    }

    async fn replace_metadata(&mut self, id: TicketId, metadata: String) -> Result<(), CallError> {
        let mut ticket = self.owned(id, true).await?;
        let new = parse_json("metadata", &metadata)?;
        let tt = self
            .metaservice
            .ticket_types
            .get(&ticket.ticket_type)
            .ok_or_else(|| not_found(format!("ticket type {}", ticket.ticket_type)))?;
        tt.validate_metadata(&new)
            .map_err(|e| invalid(format!("metadata for {}: {e}", ticket.ticket_type)))?;
        let old = std::mem::replace(&mut ticket.metadata, new.clone().into())
            .to_value()
            .map_err(|e| fatal(format!("metadata of ticket {id} as stored: {e}")))?;
        ticket.updated_at = self.now;
        self.seen.insert(id, ticket);
        self.record(Change::MetadataSet { id, old, new });
        Ok(())
    }

    async fn write_log(
        &mut self,
        id: TicketId,
        message: String,
        data: Option<String>,
    ) -> Result<(), CallError> {
        let bytes = message.len() + data.as_ref().map_or(0, String::len);
        self.count_log_bytes(bytes).map_err(over_limit)?;
        self.owned(id, false).await?;
        let data = data.map(|d| parse_json("log data", &d)).transpose()?;
        self.record(Change::Logged { id, message, data });
        Ok(())
    }
}

impl BotState {
    /// The session, after counting one host call against the limit.
    pub(super) fn call(&mut self) -> Result<&mut Session, CallError> {
        let session = self.session()?;
        session.count_call().map_err(over_limit)?;
        Ok(session)
    }
}

impl types::Host for BotState {
    fn convert_error(&mut self, err: CallError) -> wasmtime::Result<types::Error> {
        match err {
            CallError::Refused(e) => Ok(e),
            CallError::Fatal(e) => Err(e),
        }
    }
}

impl tickets::Host for BotState {
    async fn get_ticket(&mut self, id: u64) -> Result<types::Ticket, CallError> {
        let session = self.call()?;
        let ticket = session.read(ticket_id(id)?).await?;
        Ok(super::convert::to_wit(&session.metaservice, &ticket))
    }

    async fn create_ticket(
        &mut self,
        ticket_type: String,
        title: String,
        metadata: String,
    ) -> Result<u64, CallError> {
        let id = self
            .call()?
            .create_child(ticket_type, title, metadata)
            .await?;
        Ok(id as u64)
    }

    async fn send_ticket(&mut self, id: u64) -> Result<types::State, CallError> {
        let id = ticket_id(id)?;
        self.call()?.move_ticket(id, None).await
    }

    async fn send_ticket_to(&mut self, id: u64, code: u32) -> Result<types::State, CallError> {
        let id = ticket_id(id)?;
        self.call()?.move_ticket(id, Some(code)).await
    }

    async fn set_metadata(&mut self, id: u64, metadata: String) -> Result<(), CallError> {
        let id = ticket_id(id)?;
        self.call()?.replace_metadata(id, metadata).await
    }

    async fn get_current_ticket_list(&mut self) -> Result<Vec<u64>, CallError> {
        let session = self.call()?;
        let ids = session
            .store
            .current_tickets(&session.bot, 1000)
            .await
            .map_err(|e| fatal(format!("listing tickets: {e}")))?;
        Ok(ids.into_iter().map(|id| id as u64).collect())
    }

    async fn add_ticket_to_proceeded_list(&mut self, id: u64) -> Result<(), CallError> {
        let id = ticket_id(id)?;
        let session = self.call()?;
        let ticket = session.read(id).await?;
        if ticket.ticket_type != session.bot.ticket_type
            || ticket.state_code != session.bot.state_code
        {
            return Err(not_allowed(format!(
                "ticket {id} is not in this bot's state"
            )));
        }
        session.record(Change::Proceeded {
            id,
            state: ticket.state_code,
        });
        Ok(())
    }

    async fn report_error(&mut self, id: u64, message: String) -> Result<u64, CallError> {
        let id = ticket_id(id)?;
        let session = self.call()?;
        session.count_created().map_err(over_limit)?;
        session.count_log_bytes(message.len()).map_err(over_limit)?;
        session.owned(id, false).await?;
        let error_ticket = session
            .store
            .next_ticket_id()
            .await
            .map_err(|e| fatal(format!("allocating a ticket id: {e}")))?;
        session.record(Change::ErrorReported {
            id,
            error_ticket,
            message,
        });
        Ok(error_ticket as u64)
    }

    async fn log(
        &mut self,
        id: u64,
        message: String,
        data: Option<String>,
    ) -> Result<(), CallError> {
        let id = ticket_id(id)?;
        self.call()?.write_log(id, message, data).await
    }
}

/// The longest a bot may wait in one go: ten years, in milliseconds.
const MAX_WAIT_MS: u64 = 10 * 366 * 86_400_000;

impl Session {
    /// A wait is for a ticket the bot owns, open, and in the bot's state.
    async fn wait_on(
        &mut self,
        id: TicketId,
        until: super::session::Until,
    ) -> Result<(), CallError> {
        let ticket = self.owned(id, true).await?;
        if ticket.ticket_type != self.bot.ticket_type || ticket.state_code != self.bot.state_code {
            return Err(not_allowed(format!(
                "ticket {id} is not in this bot's state; it cannot wait here"
            )));
        }
        let mut until = until;
        if let super::session::Until::Ticket(other) = until {
            if other == id {
                return Err(invalid(format!("ticket {id} cannot wait for itself")));
            }
            // A ticket the bot may not read — not in the database
            // (retention deleted it), or another metaservice's — is the
            // same to the bot: the wait is kept and ends at once with
            // `ticket-gone`, which it can handle. Nothing tells it whether
            // the other ticket exists elsewhere.
            match self.read(other).await {
                Ok(_) => {}
                Err(CallError::Refused(_)) => until = super::session::Until::Gone(other),
                Err(failed) => return Err(failed),
            }
        }
        // The last wait asked for in an invocation wins: a ticket waits
        // for one thing at a time, and a bot calling `wait` in a loop
        // queues one timer, not thousands.
        let waits_already = |c: &Change| matches!(c, Change::Waits { id: t, .. } if *t == id);
        if self.changes().iter().any(waits_already) {
            self.withdraw(waits_already);
        } else if !matches!(until, super::session::Until::Gone(_)) {
            self.quota_for_timer(id).await?;
        }
        self.record(Change::Waits {
            id,
            state: ticket.state_code,
            until,
        });
        Ok(())
    }
}

impl waits::Host for BotState {
    async fn wait(&mut self, id: u64, millis: u64) -> Result<(), CallError> {
        let id = ticket_id(id)?;
        if millis > MAX_WAIT_MS {
            return Err(invalid(format!(
                "a wait of {millis} ms is longer than ten years"
            )));
        }
        let session = self.call()?;
        let due = session.now.saturating_add(millis as i64);
        session.wait_on(id, super::session::Until::Time(due)).await
    }

    /// The same bound as `wait`: a time more than ten years ahead is
    /// refused (one in the past ends the wait at once).
    async fn wait_until_time(&mut self, id: u64, time: i64) -> Result<(), CallError> {
        let id = ticket_id(id)?;
        let session = self.call()?;
        if time > session.now.saturating_add(MAX_WAIT_MS as i64) {
            return Err(invalid(format!(
                "a wait until {time} is more than ten years ahead"
            )));
        }
        session.wait_on(id, super::session::Until::Time(time)).await
    }

    async fn wait_until_ticket(&mut self, id: u64, other: u64) -> Result<(), CallError> {
        let (id, other) = (ticket_id(id)?, ticket_id(other)?);
        self.call()?
            .wait_on(id, super::session::Until::Ticket(other))
            .await
    }
}

impl notify::Host for BotState {
    async fn send_bot_notification(
        &mut self,
        id: u64,
        bot: String,
        text: String,
    ) -> Result<(), CallError> {
        let id = ticket_id(id)?;
        let session = self.call()?;
        session.count_log_bytes(text.len()).map_err(over_limit)?;
        let ticket = session.read(id).await?;
        let target = crate::model::BotName::parse(&bot).map_err(invalid)?;
        let state = session
            .metaservice
            .ticket_types
            .get(&ticket.ticket_type)
            .and_then(|tt| tt.state(target.state_code))
            .filter(|s| !s.terminal && s.name == target.state_name);
        let same_type =
            target.metaservice == ticket.metaservice && target.ticket_type == ticket.ticket_type;
        if !same_type || state.is_none() {
            return Err(not_found(format!("ticket {id} has no bot {bot}")));
        }
        session.quota_for_event(id).await?;
        session.record(Change::BotNotified {
            id,
            state: target.state_code,
            text,
        });
        Ok(())
    }

    async fn send_user_notification(
        &mut self,
        id: u64,
        to: people::Principal,
        text: String,
    ) -> Result<(), CallError> {
        let id = ticket_id(id)?;
        let session = self.call()?;
        session.count_log_bytes(text.len()).map_err(over_limit)?;
        session.owned(id, false).await?;
        // Only people the bot may address: its ticket's stakeholders and
        // the groups its manifest names. A group's members are those at
        // the time of the call: who joins later was not there to be told.
        let users = match to {
            people::Principal::User(u) => {
                let u = i64::try_from(u).map_err(|_| not_found(format!("user {u}")))?;
                session.addressable_user(id, u).await?;
                vec![u]
            }
            people::Principal::Group(g) => session.addressable_group(id, &g).await?,
        };
        // The same words to the same person about the same ticket, twice
        // in one invocation, are one notification.
        let sent = |user: i64, c: &Change| {
            matches!(c, Change::Notified { id: t, user_id: u, text: x }
                if *t == id && *u == user && *x == text)
        };
        let new: Vec<i64> = users
            .into_iter()
            .filter(|u| !session.changes().iter().any(|c| sent(*u, c)))
            .collect();
        session.count_notifications(new.len()).map_err(over_limit)?;
        for user_id in new {
            session.record(Change::Notified {
                id,
                user_id,
                text: text.clone(),
            });
        }
        Ok(())
    }
}
