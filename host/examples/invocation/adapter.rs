//! The SDK's [`Host`] seam on top of the host's imports called natively
//! ([`NativeCalls`]): bot logic compiled into this benchmark asks the host
//! exactly what its component asks through the imports, answered by the
//! same host code on the same `Session`. What the component does around
//! the bot (the SDK's `export_bot!` glue: converting the ticket, checking
//! that the bot serves it, turning its error into text) is done here the
//! same way.

use std::cell::RefCell;

use baton_host::runtime::bench::{
    NativeCalls, WitConnection, WitPrincipal, WitRole, WitState, WitStatus, WitTicket,
};
use baton_host::runtime::{BotCallError, Effects, InvokeError, Session};
use baton_sdk::http::{Request, Response};
use baton_sdk::{
    Bot, Connection, Ctx, Host, HostError, HostErrorKind, Principal, Reason, Role, Settings, State,
    Status, Ticket, TicketId,
};

/// Runs `B::proceed_ticket` natively for the session's ticket; the
/// outcome is sorted as `Runtime::invoke` sorts a component's.
pub fn proceed<B: Bot>(
    calls: &mut NativeCalls,
    session: Session,
    reason: Reason,
) -> Result<Effects, InvokeError> {
    let ticket = ticket(calls.begin(session));
    let returned = {
        let host = Adapter {
            calls: RefCell::new(&mut *calls),
        };
        let ctx = Ctx::new(&host);
        guarded::<B>(&ctx, ticket, reason).map_err(|e| e.to_string())
    };
    calls.finish(returned)
}

/// What the SDK's export glue does before calling the bot: a ticket the
/// bot does not serve means the code and the database disagree, which it
/// reports and logs instead of running.
fn guarded<B: Bot>(ctx: &Ctx, ticket: Ticket, reason: Reason) -> baton_sdk::Result<()> {
    let ours = ticket.metaservice == B::METASERVICE
        && ticket.ticket_type == B::TICKET_TYPE
        && B::STATES.contains(&ticket.state.code);
    if ours {
        return B::proceed_ticket(ctx, ticket, reason);
    }
    let what = format!(
        "code and database don't match: this bot serves {}/{} in states {:?}, \
         but ticket {} is {}/{} in state {} {}",
        B::METASERVICE,
        B::TICKET_TYPE,
        B::STATES,
        ticket.id,
        ticket.metaservice,
        ticket.ticket_type,
        ticket.state.code,
        ticket.state.name
    );
    ctx.report_error(ticket.id, &what)?;
    ctx.log(ticket.id, &what)
}

/// One invocation's imports, behind the SDK's `&self` calls.
struct Adapter<'a> {
    calls: RefCell<&'a mut NativeCalls>,
}

impl Adapter<'_> {
    fn with<T>(
        &self,
        call: impl FnOnce(&mut NativeCalls) -> Result<T, BotCallError>,
    ) -> Result<T, HostError> {
        call(&mut self.calls.borrow_mut()).map_err(refusal)
    }
}

fn refusal(e: BotCallError) -> HostError {
    match e {
        BotCallError::NotFound(m) => HostError::new(HostErrorKind::NotFound, m),
        BotCallError::NotAllowed(m) => HostError::new(HostErrorKind::NotAllowed, m),
        BotCallError::Invalid(m) => HostError::new(HostErrorKind::Invalid, m),
        BotCallError::LimitExceeded(m) => HostError::new(HostErrorKind::LimitExceeded, m),
    }
}

fn state(s: WitState) -> State {
    State {
        code: s.code,
        name: s.name,
    }
}

fn ticket(t: WitTicket) -> Ticket {
    Ticket {
        id: t.id,
        metaservice: t.metaservice,
        ticket_type: t.ticket_type,
        title: t.title,
        state: state(t.state),
        status: match t.status {
            WitStatus::Open => Status::Open,
            WitStatus::Closed => Status::Closed,
        },
        metadata_json: t.metadata,
        parent_id: t.parent_id,
        created_by: t.created_by,
        created_at: t.created_at,
        updated_at: t.updated_at,
        version: t.version,
    }
}

fn principal(who: &Principal) -> WitPrincipal {
    match who {
        Principal::User(u) => WitPrincipal::User(*u),
        Principal::Group(g) => WitPrincipal::Group(g.clone()),
    }
}

impl Host for Adapter<'_> {
    fn get_ticket(&self, id: TicketId) -> Result<Ticket, HostError> {
        self.with(|c| c.get_ticket(id)).map(ticket)
    }

    fn create_ticket(
        &self,
        ticket_type: &str,
        title: &str,
        metadata: &str,
    ) -> Result<TicketId, HostError> {
        self.with(|c| c.create_ticket(ticket_type.into(), title.into(), metadata.into()))
    }

    fn send_ticket(&self, id: TicketId) -> Result<State, HostError> {
        self.with(|c| c.send_ticket(id)).map(state)
    }

    fn send_ticket_to(&self, id: TicketId, code: u32) -> Result<State, HostError> {
        self.with(|c| c.send_ticket_to(id, code)).map(state)
    }

    fn set_metadata(&self, id: TicketId, metadata: &str) -> Result<(), HostError> {
        self.with(|c| c.set_metadata(id, metadata.into()))
    }

    fn log(&self, id: TicketId, message: &str, data: Option<&str>) -> Result<(), HostError> {
        self.with(|c| c.log(id, message.into(), data.map(str::to_string)))
    }

    /// As the SDK's own host outside a component: WASI HTTP is not linked.
    fn http(&self, _request: &Request) -> Result<Response, HostError> {
        Err(HostError::new(
            HostErrorKind::NotAllowed,
            "outgoing HTTP needs the component host",
        ))
    }

    fn report_error(&self, id: TicketId, message: &str) -> Result<TicketId, HostError> {
        self.with(|c| c.report_error(id, message.into()))
    }

    fn get_current_ticket_list(&self) -> Result<Vec<TicketId>, HostError> {
        self.with(NativeCalls::get_current_ticket_list)
    }

    fn add_ticket_to_proceeded_list(&self, id: TicketId) -> Result<(), HostError> {
        self.with(|c| c.add_ticket_to_proceeded_list(id))
    }

    fn wait(&self, id: TicketId, millis: u64) -> Result<(), HostError> {
        self.with(|c| c.wait(id, millis))
    }

    fn wait_until_time(&self, id: TicketId, time: i64) -> Result<(), HostError> {
        self.with(|c| c.wait_until_time(id, time))
    }

    fn wait_until_ticket(&self, id: TicketId, other: TicketId) -> Result<(), HostError> {
        self.with(|c| c.wait_until_ticket(id, other))
    }

    fn send_user_notification(
        &self,
        id: TicketId,
        to: &Principal,
        text: &str,
    ) -> Result<(), HostError> {
        self.with(|c| c.send_user_notification(id, principal(to), text.into()))
    }

    fn send_bot_notification(&self, id: TicketId, bot: &str, text: &str) -> Result<(), HostError> {
        self.with(|c| c.send_bot_notification(id, bot.into(), text.into()))
    }

    fn get_assigned_user(&self, id: TicketId) -> Result<Option<u64>, HostError> {
        self.with(|c| c.get_assigned_user(id))
    }

    fn set_assigned_user(&self, id: TicketId, user_id: u64) -> Result<(), HostError> {
        self.with(|c| c.set_assigned_user(id, user_id))
    }

    fn add_stakeholder(
        &self,
        id: TicketId,
        who: &Principal,
        connection: Connection,
        role: Role,
    ) -> Result<(), HostError> {
        let connection = match connection {
            Connection::Assigned => WitConnection::Assigned,
            Connection::Cc => WitConnection::Cc,
            Connection::Bcc => WitConnection::Bcc,
        };
        let role = match role {
            Role::Requester => WitRole::Requester,
            Role::Actioner => WitRole::Actioner,
        };
        self.with(|c| c.add_stakeholder(id, principal(who), connection, role))
    }

    fn request_acceptance(&self, id: TicketId, group: &str) -> Result<(), HostError> {
        self.with(|c| c.request_acceptance(id, group.into()))
    }

    fn get_settings(&self) -> Settings {
        let s = self.calls.borrow_mut().get_settings();
        let d = |ms: Option<u64>| ms.map(std::time::Duration::from_millis);
        Settings {
            lifetime: d(s.lifetime_ms),
            notify_every: d(s.notify_every_ms),
            notify_repeats: s.notify_repeats,
            retention: d(s.retention_ms),
        }
    }

    fn get_config(&self) -> String {
        self.calls.borrow_mut().get_config()
    }
}
