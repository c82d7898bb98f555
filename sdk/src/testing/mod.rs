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

use crate::http::Response;
use crate::{
    Bot, Connection, Ctx, Event, HostError, HostErrorKind, Principal, Reason, Result, Role,
    Settings, State, Status, Ticket, TicketId,
};

mod host;
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
        self.run(|ctx| B::proceed_ticket(ctx, ticket, reason))
    }

    /// Runs `B::ticket_timeout` for ticket `id`; what it returned (with
    /// `Unhandled`, Baton would add its default: the test host does not).
    pub fn timeout<B: Bot>(&self, id: TicketId) -> Result<crate::Outcome> {
        let ticket = self.ticket(id);
        self.run(|ctx| B::ticket_timeout(ctx, ticket))
    }

    /// Sets who created ticket `id`.
    pub fn set_creator(&self, id: TicketId, user_id: u64) {
        if let Some(t) = self.inner.borrow_mut().tickets.get_mut(&id) {
            t.created_by = Some(user_id);
        }
    }

    /// Runs `B::on_event` for ticket `id`; what it returned.
    pub fn event<B: Bot>(&self, id: TicketId, event: Event) -> Result<crate::Outcome> {
        let ticket = self.ticket(id);
        self.run(|ctx| B::on_event(ctx, ticket, event))
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

    fn run<T>(&self, f: impl FnOnce(&Ctx) -> Result<T>) -> Result<T> {
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
