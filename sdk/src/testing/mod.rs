//! A native host for unit-testing bots with plain `cargo test`.
//!
//! [`TestHost`] keeps tickets in memory, follows the transitions you give
//! it the way Baton does (normal next state first, alternatives by code,
//! anything else refused), and records every call the bot makes. Like
//! Baton, it discards a failed invocation's changes (the calls stay
//! recorded, so a test can see what was attempted).
//!
//! ```
//! use baton_sdk::testing::{Call, TestHost};
//! use baton_sdk::{Bot, Ctx, Reason, Result, Ticket};
//!
//! struct Open;
//! impl Bot for Open {
//!     const METASERVICE: &'static str = "demo";
//!     const TICKET_TYPE: &'static str = "request";
//!     const STATES: &'static [u32] = &[1];
//!     fn proceed_ticket(ctx: &Ctx, t: Ticket, _: Reason) -> Result<()> {
//!         ctx.send_ticket(t.id)?;
//!         Ok(())
//!     }
//! }
//!
//! let host = TestHost::new("demo", "request")
//!     .state(1, "open")
//!     .state(2, "done")
//!     .transitions(&[&[1, 2]]);
//! let id = host.add_ticket(1, "a request", serde_json::json!({}));
//! host.proceed::<Open>(id, Reason::Entered).unwrap();
//! assert_eq!(host.ticket(id).state.code, 2);
//! assert_eq!(host.calls(), vec![Call::SendTicket { id }]);
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::http::{Request, Response};
use crate::{
    Bot, Connection, Ctx, Event, Host, HostError, HostErrorKind, Principal, Reason, Result, Role,
    Settings, State, Status, Ticket, TicketId,
};

mod people;

pub use people::Stakeholder;

/// One call a bot made to the host.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    GetTicket {
        id: TicketId,
    },
    CreateTicket {
        ticket_type: String,
        title: String,
        metadata: Value,
    },
    SendTicket {
        id: TicketId,
    },
    SendTicketTo {
        id: TicketId,
        code: u32,
    },
    SetMetadata {
        id: TicketId,
        metadata: Value,
    },
    Log {
        id: TicketId,
        message: String,
        data: Option<Value>,
    },
    Http {
        method: &'static str,
        url: String,
        body: Vec<u8>,
    },
    ReportError {
        id: TicketId,
        message: String,
    },
    GetCurrentTicketList,
    AddToProceededList {
        id: TicketId,
    },
    /// Any of the waits; `until` says which.
    Wait {
        id: TicketId,
        until: Until,
    },
    /// A notification for a user or a group.
    Notify {
        id: TicketId,
        to: Principal,
        text: String,
    },
    NotifyBot {
        id: TicketId,
        bot: String,
        text: String,
    },
    GetAssignedUser {
        id: TicketId,
    },
    SetAssignedUser {
        id: TicketId,
        user_id: u64,
    },
    AddStakeholder {
        id: TicketId,
        who: Principal,
        connection: Connection,
        role: Role,
    },
    RequestAcceptance {
        id: TicketId,
        group: String,
    },
}

/// What a recorded wait waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Until {
    Millis(u64),
    Time(i64),
    Ticket(TicketId),
}

/// An in-memory host for one metaservice.
pub struct TestHost {
    metaservice: String,
    default_type: String,
    states: BTreeMap<u32, (String, bool)>,
    transitions: BTreeMap<u32, Vec<u32>>,
    responses: BTreeMap<String, Response>,
    /// Group name → member ids.
    groups: BTreeMap<String, Vec<u64>>,
    settings: Settings,
    config: Value,
    inner: RefCell<Inner>,
}

#[derive(Default, Clone)]
struct Inner {
    tickets: BTreeMap<TicketId, Ticket>,
    calls: Vec<Call>,
    logs: Vec<(TicketId, String)>,
    people: BTreeMap<TicketId, Vec<Stakeholder>>,
    next_id: TicketId,
}

impl TestHost {
    /// A host for tickets of `ticket_type` in `metaservice`.
    pub fn new(metaservice: &str, ticket_type: &str) -> Self {
        TestHost {
            metaservice: metaservice.into(),
            default_type: ticket_type.into(),
            states: BTreeMap::new(),
            transitions: BTreeMap::new(),
            responses: BTreeMap::new(),
            groups: BTreeMap::new(),
            settings: Settings::default(),
            config: Value::Object(Default::default()),
            inner: RefCell::new(Inner {
                next_id: 1,
                ..Inner::default()
            }),
        }
    }

    /// Declares a non-terminal state.
    pub fn state(mut self, code: u32, name: &str) -> Self {
        self.states.insert(code, (name.into(), false));
        self
    }

    /// Declares a terminal state: entering it closes the ticket.
    pub fn terminal(mut self, code: u32, name: &str) -> Self {
        self.states.insert(code, (name.into(), true));
        self
    }

    /// Transitions in the manifest's notation: `&[&[1, 2], &[2, 3, 4]]`.
    pub fn transitions(mut self, rows: &[&[u32]]) -> Self {
        for row in rows {
            if let Some((from, to)) = row.split_first() {
                self.transitions.insert(*from, to.to_vec());
            }
        }
        self
    }

    /// Answers HTTP requests to `url` (any method) with `response`; other
    /// URLs are refused as if not in the egress list.
    pub fn respond(mut self, url: &str, response: Response) -> Self {
        self.responses.insert(url.to_string(), response);
        self
    }

    /// Adds a ticket of the default type in state `code`; returns its id.
    pub fn add_ticket(&self, code: u32, title: &str, metadata: Value) -> TicketId {
        let state = self.state_of(code);
        let mut inner = self.inner.borrow_mut();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.tickets.insert(
            id,
            Ticket {
                id,
                metaservice: self.metaservice.clone(),
                ticket_type: self.default_type.clone(),
                title: title.into(),
                state,
                status: Status::Open,
                metadata_json: metadata.to_string(),
                parent_id: None,
                created_by: None,
                created_at: 0,
                updated_at: 0,
                version: 1,
            },
        );
        id
    }

    /// Runs `B::proceed_ticket` for ticket `id`.
    pub fn proceed<B: Bot>(&self, id: TicketId, reason: Reason) -> Result<()> {
        let ticket = self.ticket(id);
        self.run(|ctx| {
            crate::bot::guarded::<B>(ctx, ticket, |c, t| B::proceed_ticket(c, t, reason))
        })
    }

    /// Runs `B::ticket_timeout` for ticket `id`.
    pub fn timeout<B: Bot>(&self, id: TicketId) -> Result<()> {
        let ticket = self.ticket(id);
        self.run(|ctx| crate::bot::guarded::<B>(ctx, ticket, B::ticket_timeout))
    }

    /// Sets who created ticket `id`.
    pub fn set_creator(&self, id: TicketId, user_id: u64) {
        if let Some(t) = self.inner.borrow_mut().tickets.get_mut(&id) {
            t.created_by = Some(user_id);
        }
    }

    /// Runs `B::on_event` for ticket `id`.
    pub fn event<B: Bot>(&self, id: TicketId, event: Event) -> Result<()> {
        let ticket = self.ticket(id);
        self.run(|ctx| crate::bot::guarded::<B>(ctx, ticket, |c, t| B::on_event(c, t, event)))
    }

    /// The ticket as it is now. Panics if there is none: this is test code.
    pub fn ticket(&self, id: TicketId) -> Ticket {
        self.inner
            .borrow()
            .tickets
            .get(&id)
            .cloned()
            .unwrap_or_else(|| panic!("no ticket {id} in the test host"))
    }

    /// Every call made so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.borrow().calls.clone()
    }

    /// The log lines committed for ticket `id`.
    pub fn logs(&self, id: TicketId) -> Vec<String> {
        let inner = self.inner.borrow();
        inner
            .logs
            .iter()
            .filter(|(t, _)| *t == id)
            .map(|(_, m)| m.clone())
            .collect()
    }

    fn run(&self, f: impl FnOnce(&Ctx) -> Result<()>) -> Result<()> {
        let before = self.inner.borrow().clone();
        let result = f(&Ctx::new(self));
        if result.is_err() {
            // Baton commits nothing of a failed invocation; keep only the
            // record of what was attempted.
            let calls = self.inner.borrow().calls.clone();
            let mut inner = self.inner.borrow_mut();
            *inner = before;
            inner.calls = calls;
        }
        result
    }

    fn state_of(&self, code: u32) -> State {
        let name = self
            .states
            .get(&code)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| format!("state{code}"));
        State::new(code, name)
    }

    fn record(&self, call: Call) {
        self.inner.borrow_mut().calls.push(call);
    }

    fn open_ticket(&self, id: TicketId) -> Result<Ticket, HostError> {
        let ticket = self
            .inner
            .borrow()
            .tickets
            .get(&id)
            .cloned()
            .ok_or_else(|| HostError::new(HostErrorKind::NotFound, format!("ticket {id}")))?;
        if ticket.status == Status::Closed {
            return Err(HostError::new(
                HostErrorKind::NotAllowed,
                format!("ticket {id} is closed"),
            ));
        }
        Ok(ticket)
    }

    fn move_to(&self, mut ticket: Ticket, code: u32) -> State {
        let state = self.state_of(code);
        let terminal = self.states.get(&code).is_some_and(|(_, t)| *t);
        ticket.state = state.clone();
        if terminal {
            ticket.status = Status::Closed;
        }
        ticket.version += 1;
        self.inner.borrow_mut().tickets.insert(ticket.id, ticket);
        state
    }
}

fn parse_json(json: &str) -> Result<Value, HostError> {
    serde_json::from_str(json)
        .map_err(|e| HostError::new(HostErrorKind::Invalid, format!("not JSON: {e}")))
}

impl Host for TestHost {
    fn get_ticket(&self, id: TicketId) -> Result<Ticket, HostError> {
        self.record(Call::GetTicket { id });
        self.inner
            .borrow()
            .tickets
            .get(&id)
            .cloned()
            .ok_or_else(|| HostError::new(HostErrorKind::NotFound, format!("ticket {id}")))
    }

    fn create_ticket(
        &self,
        ticket_type: &str,
        title: &str,
        metadata_json: &str,
    ) -> Result<TicketId, HostError> {
        let metadata = parse_json(metadata_json)?;
        self.record(Call::CreateTicket {
            ticket_type: ticket_type.into(),
            title: title.into(),
            metadata: metadata.clone(),
        });
        let first = self.states.keys().next().copied().unwrap_or(1);
        let id = self.add_ticket(first, title, metadata);
        if let Some(t) = self.inner.borrow_mut().tickets.get_mut(&id) {
            t.ticket_type = ticket_type.into();
        }
        Ok(id)
    }

    fn send_ticket(&self, id: TicketId) -> Result<State, HostError> {
        self.record(Call::SendTicket { id });
        let ticket = self.open_ticket(id)?;
        let next = self
            .transitions
            .get(&ticket.state.code)
            .and_then(|to| to.first().copied())
            .ok_or_else(|| {
                HostError::new(
                    HostErrorKind::NotAllowed,
                    format!("state {} has no next state", ticket.state.code),
                )
            })?;
        Ok(self.move_to(ticket, next))
    }

    fn send_ticket_to(&self, id: TicketId, code: u32) -> Result<State, HostError> {
        self.record(Call::SendTicketTo { id, code });
        let ticket = self.open_ticket(id)?;
        let allowed = self
            .transitions
            .get(&ticket.state.code)
            .is_some_and(|to| to.contains(&code));
        if !allowed {
            return Err(HostError::new(
                HostErrorKind::NotAllowed,
                format!("no transition {} -> {code}", ticket.state.code),
            ));
        }
        Ok(self.move_to(ticket, code))
    }

    fn set_metadata(&self, id: TicketId, metadata_json: &str) -> Result<(), HostError> {
        let metadata = parse_json(metadata_json)?;
        self.record(Call::SetMetadata {
            id,
            metadata: metadata.clone(),
        });
        let mut ticket = self.open_ticket(id)?;
        ticket.metadata_json = metadata.to_string();
        ticket.version += 1;
        self.inner.borrow_mut().tickets.insert(id, ticket);
        Ok(())
    }

    fn log(&self, id: TicketId, message: &str, data_json: Option<&str>) -> Result<(), HostError> {
        let data = data_json.map(parse_json).transpose()?;
        self.record(Call::Log {
            id,
            message: message.into(),
            data,
        });
        self.get_ticket_quiet(id)?;
        self.inner.borrow_mut().logs.push((id, message.into()));
        Ok(())
    }

    fn http(&self, request: &Request) -> Result<Response, HostError> {
        self.answer(request)
    }

    fn report_error(&self, id: TicketId, message: &str) -> Result<TicketId, HostError> {
        self.record(Call::ReportError {
            id,
            message: message.into(),
        });
        self.get_ticket_quiet(id)?;
        let mut inner = self.inner.borrow_mut();
        let number = inner.next_id;
        inner.next_id += 1;
        Ok(number)
    }

    fn get_current_ticket_list(&self) -> Result<Vec<TicketId>, HostError> {
        self.record(Call::GetCurrentTicketList);
        let inner = self.inner.borrow();
        Ok(inner
            .tickets
            .values()
            .filter(|t| t.status == Status::Open)
            .map(|t| t.id)
            .collect())
    }

    fn add_ticket_to_proceeded_list(&self, id: TicketId) -> Result<(), HostError> {
        self.record(Call::AddToProceededList { id });
        self.open_ticket(id).map(|_| ())
    }

    fn wait(&self, id: TicketId, millis: u64) -> Result<(), HostError> {
        self.record(Call::Wait {
            id,
            until: Until::Millis(millis),
        });
        self.open_ticket(id).map(|_| ())
    }

    fn wait_until_time(&self, id: TicketId, time: i64) -> Result<(), HostError> {
        self.record(Call::Wait {
            id,
            until: Until::Time(time),
        });
        self.open_ticket(id).map(|_| ())
    }

    fn wait_until_ticket(&self, id: TicketId, other: TicketId) -> Result<(), HostError> {
        self.record(Call::Wait {
            id,
            until: Until::Ticket(other),
        });
        self.open_ticket(id)?;
        self.get_ticket_quiet(other)
    }

    fn send_user_notification(
        &self,
        id: TicketId,
        to: &Principal,
        text: &str,
    ) -> Result<(), HostError> {
        self.record(Call::Notify {
            id,
            to: to.clone(),
            text: text.into(),
        });
        self.get_ticket_quiet(id)
    }

    fn send_bot_notification(&self, id: TicketId, bot: &str, text: &str) -> Result<(), HostError> {
        self.notify_bot_call(id, bot, text)
    }

    fn get_assigned_user(&self, id: TicketId) -> Result<Option<u64>, HostError> {
        self.record(Call::GetAssignedUser { id });
        self.get_ticket_quiet(id)?;
        Ok(self.assigned(id))
    }

    fn set_assigned_user(&self, id: TicketId, user_id: u64) -> Result<(), HostError> {
        self.record(Call::SetAssignedUser { id, user_id });
        self.open_ticket(id)?;
        self.assign(id, user_id)
    }

    fn add_stakeholder(
        &self,
        id: TicketId,
        who: &Principal,
        connection: Connection,
        role: Role,
    ) -> Result<(), HostError> {
        self.record(Call::AddStakeholder {
            id,
            who: who.clone(),
            connection,
            role,
        });
        self.open_ticket(id)?;
        self.add_person(id, who, connection, role)
    }

    fn request_acceptance(&self, id: TicketId, group: &str) -> Result<(), HostError> {
        self.record(Call::RequestAcceptance {
            id,
            group: group.into(),
        });
        self.open_ticket(id)?;
        self.assign_group(id, group)
    }

    fn get_settings(&self) -> Settings {
        self.settings.clone()
    }

    fn get_config(&self) -> String {
        self.config.to_string()
    }
}

impl TestHost {
    fn notify_bot_call(&self, id: TicketId, bot: &str, text: &str) -> Result<(), HostError> {
        self.record(Call::NotifyBot {
            id,
            bot: bot.into(),
            text: text.into(),
        });
        self.get_ticket_quiet(id)
    }

    fn answer(&self, request: &Request) -> Result<Response, HostError> {
        self.record(Call::Http {
            method: request.method.as_str(),
            url: request.url.clone(),
            body: request.body.clone(),
        });
        crate::http::split_url(&request.url)?;
        self.responses.get(&request.url).cloned().ok_or_else(|| {
            HostError::new(
                HostErrorKind::NotAllowed,
                format!("no response for {} in the test host", request.url),
            )
        })
    }

    fn get_ticket_quiet(&self, id: TicketId) -> Result<(), HostError> {
        if self.inner.borrow().tickets.contains_key(&id) {
            Ok(())
        } else {
            Err(HostError::new(
                HostErrorKind::NotFound,
                format!("ticket {id}"),
            ))
        }
    }
}
