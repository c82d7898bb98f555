//! The [`Host`] that calls the bot world's imports, and the conversions
//! between the generated binding types and the SDK's own.

use crate::bindings::baton::bot::{notify, people, settings, tickets as wit, types, waits};
use crate::{
    Action, Comment, Connection, Event, Host, HostError, HostErrorKind, Principal, Reason, Role,
    Settings, State, Status, Ticket, TicketId,
};

/// The host as seen from inside a component.
pub(crate) struct WasmHost;

impl Host for WasmHost {
    fn get_ticket(&self, id: TicketId) -> Result<Ticket, HostError> {
        wit::get_ticket(id)
            .map(Ticket::from)
            .map_err(HostError::from)
    }

    fn create_ticket(
        &self,
        ticket_type: &str,
        title: &str,
        metadata_json: &str,
    ) -> Result<TicketId, HostError> {
        wit::create_ticket(ticket_type, title, metadata_json).map_err(HostError::from)
    }

    fn send_ticket(&self, id: TicketId) -> Result<State, HostError> {
        wit::send_ticket(id)
            .map(State::from)
            .map_err(HostError::from)
    }

    fn send_ticket_to(&self, id: TicketId, code: u32) -> Result<State, HostError> {
        wit::send_ticket_to(id, code)
            .map(State::from)
            .map_err(HostError::from)
    }

    fn set_metadata(&self, id: TicketId, metadata_json: &str) -> Result<(), HostError> {
        wit::set_metadata(id, metadata_json).map_err(HostError::from)
    }

    fn log(&self, id: TicketId, message: &str, data_json: Option<&str>) -> Result<(), HostError> {
        wit::log(id, message, data_json).map_err(HostError::from)
    }

    fn report_error(&self, id: TicketId, message: &str) -> Result<TicketId, HostError> {
        wit::report_error(id, message).map_err(HostError::from)
    }

    fn get_current_ticket_list(&self) -> Result<Vec<TicketId>, HostError> {
        wit::get_current_ticket_list().map_err(HostError::from)
    }

    fn add_ticket_to_proceeded_list(&self, id: TicketId) -> Result<(), HostError> {
        wit::add_ticket_to_proceeded_list(id).map_err(HostError::from)
    }

    fn wait(&self, id: TicketId, millis: u64) -> Result<(), HostError> {
        waits::wait(id, millis).map_err(HostError::from)
    }

    fn wait_until_time(&self, id: TicketId, time: i64) -> Result<(), HostError> {
        waits::wait_until_time(id, time).map_err(HostError::from)
    }

    fn wait_until_ticket(&self, id: TicketId, other: TicketId) -> Result<(), HostError> {
        waits::wait_until_ticket(id, other).map_err(HostError::from)
    }

    fn send_user_notification(
        &self,
        id: TicketId,
        to: &Principal,
        text: &str,
    ) -> Result<(), HostError> {
        notify::send_user_notification(id, &principal(to), text).map_err(HostError::from)
    }

    fn send_bot_notification(&self, id: TicketId, bot: &str, text: &str) -> Result<(), HostError> {
        notify::send_bot_notification(id, bot, text).map_err(HostError::from)
    }

    fn get_assigned_user(&self, id: TicketId) -> Result<Option<u64>, HostError> {
        people::get_assigned_user(id).map_err(HostError::from)
    }

    fn set_assigned_user(&self, id: TicketId, user_id: u64) -> Result<(), HostError> {
        people::set_assigned_user(id, user_id).map_err(HostError::from)
    }

    fn add_stakeholder(
        &self,
        id: TicketId,
        who: &Principal,
        connection: Connection,
        role: Role,
    ) -> Result<(), HostError> {
        let who = principal(who);
        let connection = match connection {
            Connection::Assigned => people::Connection::Assigned,
            Connection::Cc => people::Connection::Cc,
            Connection::Bcc => people::Connection::Bcc,
        };
        let role = match role {
            Role::Requester => people::Role::Requester,
            Role::Actioner => people::Role::Actioner,
        };
        people::add_stakeholder(id, &who, connection, role).map_err(HostError::from)
    }

    fn request_acceptance(&self, id: TicketId, group: &str) -> Result<(), HostError> {
        people::request_acceptance(id, group).map_err(HostError::from)
    }

    fn get_settings(&self) -> Settings {
        let s = settings::get_settings();
        let d = |ms: Option<u64>| ms.map(std::time::Duration::from_millis);
        Settings {
            lifetime: d(s.lifetime_ms),
            notify_every: d(s.notify_every_ms),
            notify_repeats: s.notify_repeats,
            retention: d(s.retention_ms),
        }
    }

    fn get_config(&self) -> String {
        settings::get_config()
    }

    #[cfg(target_arch = "wasm32")]
    fn http(&self, request: &crate::http::Request) -> Result<crate::http::Response, HostError> {
        crate::wasm_http::send(request)
    }

    /// Outside a component there is no WASI HTTP: native code uses
    /// [`crate::testing::TestHost`].
    #[cfg(not(target_arch = "wasm32"))]
    fn http(&self, _request: &crate::http::Request) -> Result<crate::http::Response, HostError> {
        Err(HostError::new(
            HostErrorKind::NotAllowed,
            "outgoing HTTP needs the component host",
        ))
    }
}

impl From<types::Error> for HostError {
    fn from(e: types::Error) -> Self {
        match e {
            types::Error::NotFound(m) => HostError::new(HostErrorKind::NotFound, m),
            types::Error::NotAllowed(m) => HostError::new(HostErrorKind::NotAllowed, m),
            types::Error::Invalid(m) => HostError::new(HostErrorKind::Invalid, m),
            types::Error::LimitExceeded(m) => HostError::new(HostErrorKind::LimitExceeded, m),
        }
    }
}

impl From<types::State> for State {
    fn from(s: types::State) -> Self {
        State {
            code: s.code,
            name: s.name,
        }
    }
}

impl From<types::Ticket> for Ticket {
    fn from(t: types::Ticket) -> Self {
        Ticket {
            id: t.id,
            metaservice: t.metaservice,
            ticket_type: t.ticket_type,
            title: t.title,
            state: t.state.into(),
            status: match t.status {
                types::Status::Open => Status::Open,
                types::Status::Closed => Status::Closed,
            },
            metadata_json: t.metadata,
            parent_id: t.parent_id,
            created_by: t.created_by,
            created_at: t.created_at,
            updated_at: t.updated_at,
            version: t.version,
        }
    }
}

impl From<types::Reason> for Reason {
    fn from(r: types::Reason) -> Self {
        match r {
            types::Reason::Entered => Reason::Entered,
            types::Reason::Sweep => Reason::Sweep,
            types::Reason::WaitEnded => Reason::WaitEnded,
            types::Reason::TicketClosed(id) => Reason::TicketClosed(id),
            types::Reason::TicketGone(id) => Reason::TicketGone(id),
            types::Reason::Reminder(n) => Reason::Reminder(n),
        }
    }
}

impl From<types::Event> for Event {
    fn from(e: types::Event) -> Self {
        match e {
            types::Event::Action(a) => Event::Action(Action {
                name: a.name,
                payload_json: a.payload,
                user_id: a.user_id,
            }),
            types::Event::Accepted(user) => Event::Accepted(user),
            types::Event::Notification(m) => Event::Notification {
                from: m.sender,
                text: m.text,
            },
            types::Event::Comment(c) => Event::Comment(Comment {
                id: c.id,
                body: c.body,
                user_id: c.user_id,
            }),
        }
    }
}

fn principal(who: &Principal) -> people::Principal {
    match who {
        Principal::User(u) => people::Principal::User(*u),
        Principal::Group(g) => people::Principal::Group(g.clone()),
    }
}
