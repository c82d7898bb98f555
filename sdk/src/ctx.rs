//! [`Ctx`]: the calls a bot makes, typed; [`Host`]: the seam below them.

use serde::Serialize;

use crate::http::{Request, Response};
use crate::{Connection, HostError, Principal, Result, Role, Settings, State, Ticket, TicketId};

/// The raw calls to the host, one per import of the bot world.
///
/// Inside Baton they are the component's imports; in unit tests they are
/// [`crate::testing::TestHost`]. Bots use [`Ctx`], which wraps them with
/// typed metadata.
pub trait Host {
    fn get_ticket(&self, id: TicketId) -> Result<Ticket, HostError>;
    fn create_ticket(
        &self,
        ticket_type: &str,
        title: &str,
        metadata_json: &str,
    ) -> Result<TicketId, HostError>;
    fn send_ticket(&self, id: TicketId) -> Result<State, HostError>;
    fn send_ticket_to(&self, id: TicketId, code: u32) -> Result<State, HostError>;
    fn set_metadata(&self, id: TicketId, metadata_json: &str) -> Result<(), HostError>;
    fn log(&self, id: TicketId, message: &str, data_json: Option<&str>) -> Result<(), HostError>;
    fn http(&self, request: &Request) -> Result<Response, HostError>;
    fn report_error(&self, id: TicketId, message: &str) -> Result<TicketId, HostError>;
    fn get_current_ticket_list(&self) -> Result<Vec<TicketId>, HostError>;
    fn add_ticket_to_proceeded_list(&self, id: TicketId) -> Result<(), HostError>;
    fn wait(&self, id: TicketId, millis: u64) -> Result<(), HostError>;
    fn wait_until_time(&self, id: TicketId, time: i64) -> Result<(), HostError>;
    fn wait_until_ticket(&self, id: TicketId, other: TicketId) -> Result<(), HostError>;
    fn send_user_notification(
        &self,
        id: TicketId,
        to: &Principal,
        text: &str,
    ) -> Result<(), HostError>;
    fn send_bot_notification(&self, id: TicketId, bot: &str, text: &str) -> Result<(), HostError>;
    fn get_assigned_user(&self, id: TicketId) -> Result<Option<u64>, HostError>;
    fn set_assigned_user(&self, id: TicketId, user_id: u64) -> Result<(), HostError>;
    fn add_stakeholder(
        &self,
        id: TicketId,
        who: &Principal,
        connection: Connection,
        role: Role,
    ) -> Result<(), HostError>;
    fn request_acceptance(&self, id: TicketId, group: &str) -> Result<(), HostError>;
    fn get_settings(&self) -> Settings;
    fn get_config(&self) -> String;
}

/// What a bot can do during one invocation.
pub struct Ctx<'h> {
    seam: Seam<'h>,
}

/// Where a [`Ctx`]'s calls go.
///
/// Inside a component they call the imports directly rather than through
/// a `&dyn Host`: a trait object's vtable names every method, so the
/// linker would keep every import of the bot world (and WASI HTTP's) in
/// every bot, and the host pays for each import at every instantiation,
/// that is at every invocation. Called directly, a bot imports only what
/// it uses (the two-call stepper fixture: 72 imported functions → 21).
#[derive(Clone, Copy)]
enum Seam<'h> {
    Imports,
    Dyn(&'h dyn Host),
}

/// `host_call!(ctx, method(args))`: `Host::method` on the ctx's seam.
macro_rules! host_call {
    ($ctx:expr, $method:ident($($arg:expr),*)) => {
        match $ctx.seam {
            Seam::Imports => Host::$method(&crate::wasm::WasmHost, $($arg),*),
            Seam::Dyn(host) => host.$method($($arg),*),
        }
    };
}

impl<'h> Ctx<'h> {
    /// A context whose calls go to `host` (in unit tests, a
    /// [`crate::testing::TestHost`]).
    pub fn new(host: &'h dyn Host) -> Self {
        Ctx {
            seam: Seam::Dyn(host),
        }
    }

    /// The context of a bot inside a component: its calls are the
    /// component's imports.
    pub(crate) fn imports() -> Ctx<'static> {
        Ctx {
            seam: Seam::Imports,
        }
    }

    /// A ticket of the bot's metaservice, with this invocation's pending
    /// changes applied.
    pub fn get_ticket(&self, id: TicketId) -> Result<Ticket> {
        Ok(host_call!(self, get_ticket(id))?)
    }

    /// Creates a child of the current ticket, of any ticket type of the
    /// same metaservice; its metadata must satisfy that type's schema.
    pub fn create_ticket<M: Serialize>(
        &self,
        ticket_type: &str,
        title: &str,
        metadata: &M,
    ) -> Result<TicketId> {
        let json = serde_json::to_string(metadata)?;
        Ok(host_call!(self, create_ticket(ticket_type, title, &json))?)
    }

    /// Moves the ticket to the normal next state of its current one.
    pub fn send_ticket(&self, id: TicketId) -> Result<State> {
        Ok(host_call!(self, send_ticket(id))?)
    }

    /// Moves the ticket to one of the alternative states allowed from its
    /// current one.
    pub fn send_ticket_to(&self, id: TicketId, code: u32) -> Result<State> {
        Ok(host_call!(self, send_ticket_to(id, code))?)
    }

    /// Replaces the ticket's metadata.
    pub fn set_metadata<M: Serialize>(&self, id: TicketId, metadata: &M) -> Result<()> {
        let json = serde_json::to_string(metadata)?;
        Ok(host_call!(self, set_metadata(id, &json))?)
    }

    /// Writes a line to the ticket's log, signed with the bot's name.
    pub fn log(&self, id: TicketId, message: &str) -> Result<()> {
        Ok(host_call!(self, log(id, message, None))?)
    }

    /// Sends an HTTP request to a host in the manifest's `egress` list and
    /// reads the whole response. Not undone if the invocation fails: see
    /// [`crate::http`].
    pub fn http(&self, request: &Request) -> Result<Response> {
        Ok(host_call!(self, http(request))?)
    }

    /// The open tickets in this bot's state, oldest first (at most 1000).
    pub fn current_tickets(&self) -> Result<Vec<TicketId>> {
        Ok(host_call!(self, get_current_ticket_list())?)
    }

    /// Marks a ticket in this bot's state as processed, so sweeps leave it
    /// alone. Returning `Ok` from `proceed_ticket` does this for its ticket.
    pub fn add_to_proceeded_list(&self, id: TicketId) -> Result<()> {
        Ok(host_call!(self, add_ticket_to_proceeded_list(id))?)
    }

    /// Files a `baton.error` ticket about this ticket for the metaservice's
    /// error group; returns its number.
    pub fn report_error(&self, id: TicketId, message: &str) -> Result<TicketId> {
        Ok(host_call!(self, report_error(id, message))?)
    }

    /// Resumes the ticket after `delay` with [`crate::Reason::WaitEnded`],
    /// durably. Call it last and return: the wait starts when the
    /// invocation commits.
    pub fn wait(&self, id: TicketId, delay: std::time::Duration) -> Result<()> {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        Ok(host_call!(self, wait(id, millis))?)
    }

    /// Resumes the ticket at `time` (milliseconds since the Unix epoch).
    pub fn wait_until_time(&self, id: TicketId, time: i64) -> Result<()> {
        Ok(host_call!(self, wait_until_time(id, time))?)
    }

    /// Resumes the ticket when `other` closes, with
    /// [`crate::Reason::TicketClosed`].
    pub fn wait_until_ticket(&self, id: TicketId, other: TicketId) -> Result<()> {
        Ok(host_call!(self, wait_until_ticket(id, other))?)
    }

    /// Tells another bot (by name, a state of the ticket's type) something
    /// about the ticket; it hears it as [`crate::Event::Notification`].
    pub fn notify_bot(&self, id: TicketId, bot: &str, text: &str) -> Result<()> {
        Ok(host_call!(self, send_bot_notification(id, bot, text))?)
    }

    /// A notification about the ticket for a user, in their inbox.
    pub fn notify_user(&self, id: TicketId, user_id: u64, text: &str) -> Result<()> {
        self.notify(id, &Principal::User(user_id), text)
    }

    /// A notification about the ticket for a user, or for each member of a
    /// group, in their inboxes.
    pub fn notify(&self, id: TicketId, to: &Principal, text: &str) -> Result<()> {
        Ok(host_call!(self, send_user_notification(id, to, text))?)
    }

    /// Writes a log line with structured data attached.
    pub fn log_with<D: Serialize>(&self, id: TicketId, message: &str, data: &D) -> Result<()> {
        let json = serde_json::to_string(data)?;
        Ok(host_call!(self, log(id, message, Some(&json)))?)
    }

    /// The user the ticket is assigned to, if anyone: nobody until a
    /// member of its assigned group accepts it (or the bot assigns one).
    pub fn assigned_user(&self, id: TicketId) -> Result<Option<u64>> {
        Ok(host_call!(self, get_assigned_user(id))?)
    }

    /// Assigns the ticket to a member of its assigned group; refused when
    /// the ticket has no assigned group or the user is not in it.
    pub fn assign_user(&self, id: TicketId, user_id: u64) -> Result<()> {
        Ok(host_call!(self, set_assigned_user(id, user_id))?)
    }

    /// Adds a user or group (which must exist) as a stakeholder.
    pub fn add_stakeholder(
        &self,
        id: TicketId,
        who: Principal,
        connection: Connection,
        role: Role,
    ) -> Result<()> {
        Ok(host_call!(
            self,
            add_stakeholder(id, &who, connection, role)
        )?)
    }

    /// Assigns the ticket to `group` and asks each member to accept it;
    /// the one who does becomes the assigned user, and the bot gets
    /// [`crate::Event::Accepted`].
    pub fn request_acceptance(&self, id: TicketId, group: &str) -> Result<()> {
        Ok(host_call!(self, request_acceptance(id, group))?)
    }

    /// The ticket type's settings in force in this bot's state.
    pub fn settings(&self) -> Settings {
        host_call!(self, get_settings())
    }

    /// The metaservice manifest's `[config]` table, read into `C`.
    pub fn config<C: serde::de::DeserializeOwned>(&self) -> Result<C> {
        let text = host_call!(self, get_config());
        serde_json::from_str(&text).map_err(|e| {
            crate::Error::msg(format!(
                "the metaservice's [config] does not fit this bot: {e}"
            ))
        })
    }
}
