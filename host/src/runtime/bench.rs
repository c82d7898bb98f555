//! What only the benchmarks use (`host/examples/invocation`), so that they
//! measure the production code paths rather than copies of them. Nothing in
//! the engine or the API calls this module.
//!
//! - [`Runtime::on_demand`]: the production engine, linker and limits on
//!   wasmtime's default (on-demand) instance allocator instead of pooling,
//!   to show what pooling saves.
//! - [`LiveInstance`]: one instance kept alive and called again and again,
//!   to show what the fresh instance of every invocation costs. Production
//!   never does this: no state may survive between invocations.
//! - [`NativeCalls`]: the imports of `host.rs` and `people.rs` called from
//!   native code on the same [`Session`], so that bot logic compiled into a
//!   benchmark goes through exactly the host code a component's imports go
//!   through (the wasm-vs-native comparison). The SDK's `Host` trait is
//!   implemented on top of it by the benchmark itself, which keeps
//!   `baton-sdk` out of the `baton` binary.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{InstanceAllocationStrategy, Store, StoreLimitsBuilder};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;

use super::bindings::Bot;
use super::bindings::baton::bot::{notify, people, settings, tickets, types, waits};
use super::egress::Egress;
use super::invoke::{bounded, classify};
use super::output::BotOutput;
use super::pacing::Pacing;
use super::{
    BotCallError, BotState, CallError, EPOCH_TICK, Effects, InvokeError, Limits, LoadedBot,
    Runtime, Session,
};
use crate::model::BotName;

pub use super::bindings::baton::bot::people::{
    Connection as WitConnection, Principal as WitPrincipal, Role as WitRole,
};
pub use super::bindings::baton::bot::settings::TypeSettings as WitSettings;
pub use super::bindings::types::{State as WitState, Status as WitStatus, Ticket as WitTicket};

impl Runtime {
    /// A runtime like [`Runtime::new`] (same engine configuration, linker
    /// and limits, no compiled-code cache) whose instances come from
    /// wasmtime's default on-demand allocator: every instantiation maps
    /// fresh memory and a fresh fiber stack.
    pub fn on_demand(limits: Limits) -> anyhow::Result<Arc<Runtime>> {
        Runtime::with_allocation(limits, None, InstanceAllocationStrategy::OnDemand)
    }

    /// One instance of `bot`, made once, for [`LiveInstance::proceed`].
    /// Its store has the runtime's default limits and no egress.
    pub async fn live(&self, bot: &LoadedBot) -> anyhow::Result<LiveInstance> {
        let (mut store, outputs) = self.new_store(bot, None, self.limits);
        let instance = bot.pre.instantiate_async(&mut store).await?;
        Ok(LiveInstance {
            store,
            instance,
            outputs,
            long_runners: self.long_runners.clone(),
        })
    }
}

/// An instance that serves many calls: what [`Runtime::invoke`] costs
/// without its fresh store and instantiation.
pub struct LiveInstance {
    store: Store<BotState>,
    instance: Bot,
    outputs: [BotOutput; 2],
    long_runners: Arc<tokio::sync::Semaphore>,
}

impl LiveInstance {
    /// `proceed-ticket(entered)` for the session's ticket, on this
    /// instance; everything else as [`Runtime::invoke`] does it (the
    /// ticket's conversion, a fresh epoch deadline and pacing, the timeout
    /// around the call, the sorting of the outcome). After a trap the
    /// instance cannot be entered again.
    pub async fn proceed(&mut self, session: Session) -> Result<Effects, InvokeError> {
        let ticket = super::convert::to_wit(&session.metaservice, &session.seen[&session.invoked]);
        let deadline_ms = session.limits.deadline_ms;
        let state = self.store.data_mut();
        state.session = Some(session);
        state.pacing = Pacing::new(self.long_runners.clone());
        self.store.set_epoch_deadline(1);
        let call =
            self.instance
                .call_proceed_ticket(&mut self.store, &ticket, types::Reason::Entered);
        let deadline = Duration::from_millis(deadline_ms);
        let outcome = tokio::time::timeout(deadline + EPOCH_TICK * 5, call).await;
        for o in &self.outputs {
            o.flush_rest();
        }
        let session = self
            .store
            .data_mut()
            .session
            .take()
            .ok_or_else(|| InvokeError::Host("the session was lost".into()))?;
        match outcome {
            Err(_) => Err(InvokeError::Timeout(deadline_ms)),
            Ok(Err(e)) => Err(classify(e, session.fatal, deadline_ms)),
            Ok(Ok(_)) if session.fatal.is_some() => {
                Err(InvokeError::Limit(session.fatal.unwrap_or_default()))
            }
            Ok(Ok(Err(message))) => Err(InvokeError::Bot(bounded(message))),
            Ok(Ok(Ok(()))) => Ok(session.into_effects()),
        }
    }
}

/// Runs a host call's future to its end. The imports answer from the
/// session without waiting unless they read the database; those few are
/// driven on the current tokio runtime, which must be multi-threaded.
fn drive<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => {
            tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
        }
    }
}

/// The host's imports, called from native code: one invocation at a time,
/// between [`NativeCalls::begin`] and [`NativeCalls::finish`]. Each method
/// is the import of the same name, run by the same code (`host.rs`,
/// `people.rs`) on the same [`Session`], counted against the same limits.
///
/// One difference: a host failure (the database failing) traps a
/// component at once; here the bot gets a refusal, and `finish` fails the
/// invocation as `Runtime::invoke` would. There is no deadline and no
/// outgoing HTTP (WASI is not linked natively).
pub struct NativeCalls {
    state: BotState,
    failure: Option<wasmtime::Error>,
}

impl NativeCalls {
    /// The imports' state for invocations of `bot`; reusable.
    pub fn new(runtime: &Runtime, bot: &BotName) -> Self {
        let name: Arc<str> = Arc::from(bot.to_string());
        let state = BotState {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            egress: Egress::new(name, Arc::from(Vec::new())),
            limits: super::memory::Metered::new(StoreLimitsBuilder::new().build()),
            pacing: Pacing::new(runtime.long_runners.clone()),
            session: None,
        };
        NativeCalls {
            state,
            failure: None,
        }
    }

    /// Starts an invocation on `session`; returns its ticket as the bot
    /// gets it.
    pub fn begin(&mut self, session: Session) -> WitTicket {
        let ticket = super::convert::to_wit(&session.metaservice, &session.seen[&session.invoked]);
        self.state.session = Some(session);
        self.failure = None;
        ticket
    }

    /// Ends the invocation; `returned` is what the bot returned (its error
    /// as the text the SDK makes of it). Sorted as [`Runtime::invoke`]
    /// sorts a component's outcome.
    pub fn finish(&mut self, returned: Result<(), String>) -> Result<Effects, InvokeError> {
        let session = self
            .state
            .session
            .take()
            .ok_or_else(|| InvokeError::Host("no invocation began".into()))?;
        let deadline_ms = session.limits.deadline_ms;
        if let Some(e) = self.failure.take() {
            return Err(classify(e, session.fatal, deadline_ms));
        }
        if let Some(limit) = session.fatal {
            return Err(InvokeError::Limit(limit));
        }
        match returned {
            Err(message) => Err(InvokeError::Bot(bounded(message))),
            Ok(()) => Ok(session.into_effects()),
        }
    }

    /// A host call's answer as the bot sees it; a failure is kept for
    /// [`NativeCalls::finish`].
    fn answer<T>(&mut self, result: Result<T, CallError>) -> Result<T, BotCallError> {
        match result {
            Ok(value) => Ok(value),
            Err(CallError::Refused(e)) => Err(e),
            Err(CallError::Fatal(e)) => {
                let message = format!("the host failed: {e:#}");
                self.failure.get_or_insert(e);
                Err(BotCallError::NotAllowed(message))
            }
        }
    }

    /// A call that cannot be refused; a failure is kept for `finish`.
    fn infallible<T>(&mut self, result: wasmtime::Result<T>, otherwise: T) -> T {
        result.unwrap_or_else(|e| {
            self.failure.get_or_insert(e);
            otherwise
        })
    }
}

impl NativeCalls {
    pub fn get_ticket(&mut self, id: u64) -> Result<WitTicket, BotCallError> {
        let r = drive(tickets::Host::get_ticket(&mut self.state, id));
        self.answer(r)
    }

    pub fn create_ticket(
        &mut self,
        ticket_type: String,
        title: String,
        metadata: String,
    ) -> Result<u64, BotCallError> {
        let r = drive(tickets::Host::create_ticket(
            &mut self.state,
            ticket_type,
            title,
            metadata,
        ));
        self.answer(r)
    }

    pub fn send_ticket(&mut self, id: u64) -> Result<WitState, BotCallError> {
        let r = drive(tickets::Host::send_ticket(&mut self.state, id));
        self.answer(r)
    }

    pub fn send_ticket_to(&mut self, id: u64, code: u32) -> Result<WitState, BotCallError> {
        let r = drive(tickets::Host::send_ticket_to(&mut self.state, id, code));
        self.answer(r)
    }

    pub fn set_metadata(&mut self, id: u64, metadata: String) -> Result<(), BotCallError> {
        let r = drive(tickets::Host::set_metadata(&mut self.state, id, metadata));
        self.answer(r)
    }

    pub fn log(
        &mut self,
        id: u64,
        message: String,
        data: Option<String>,
    ) -> Result<(), BotCallError> {
        let r = drive(tickets::Host::log(&mut self.state, id, message, data));
        self.answer(r)
    }

    pub fn get_current_ticket_list(&mut self) -> Result<Vec<u64>, BotCallError> {
        let r = drive(tickets::Host::get_current_ticket_list(&mut self.state));
        self.answer(r)
    }

    pub fn add_ticket_to_proceeded_list(&mut self, id: u64) -> Result<(), BotCallError> {
        let r = drive(tickets::Host::add_ticket_to_proceeded_list(
            &mut self.state,
            id,
        ));
        self.answer(r)
    }

    pub fn report_error(&mut self, id: u64, message: String) -> Result<u64, BotCallError> {
        let r = drive(tickets::Host::report_error(&mut self.state, id, message));
        self.answer(r)
    }

    pub fn wait(&mut self, id: u64, millis: u64) -> Result<(), BotCallError> {
        let r = drive(waits::Host::wait(&mut self.state, id, millis));
        self.answer(r)
    }

    pub fn wait_until_time(&mut self, id: u64, time: i64) -> Result<(), BotCallError> {
        let r = drive(waits::Host::wait_until_time(&mut self.state, id, time));
        self.answer(r)
    }

    pub fn wait_until_ticket(&mut self, id: u64, other: u64) -> Result<(), BotCallError> {
        let r = drive(waits::Host::wait_until_ticket(&mut self.state, id, other));
        self.answer(r)
    }

    pub fn send_user_notification(
        &mut self,
        id: u64,
        to: WitPrincipal,
        text: String,
    ) -> Result<(), BotCallError> {
        let r = drive(notify::Host::send_user_notification(
            &mut self.state,
            id,
            to,
            text,
        ));
        self.answer(r)
    }

    pub fn send_bot_notification(
        &mut self,
        id: u64,
        bot: String,
        text: String,
    ) -> Result<(), BotCallError> {
        let r = drive(notify::Host::send_bot_notification(
            &mut self.state,
            id,
            bot,
            text,
        ));
        self.answer(r)
    }

    pub fn get_assigned_user(&mut self, id: u64) -> Result<Option<u64>, BotCallError> {
        let r = drive(people::Host::get_assigned_user(&mut self.state, id));
        self.answer(r)
    }

    pub fn set_assigned_user(&mut self, id: u64, user: u64) -> Result<(), BotCallError> {
        let r = drive(people::Host::set_assigned_user(&mut self.state, id, user));
        self.answer(r)
    }

    pub fn add_stakeholder(
        &mut self,
        id: u64,
        who: WitPrincipal,
        connection: WitConnection,
        role: WitRole,
    ) -> Result<(), BotCallError> {
        let r = drive(people::Host::add_stakeholder(
            &mut self.state,
            id,
            who,
            connection,
            role,
        ));
        self.answer(r)
    }

    pub fn request_acceptance(&mut self, id: u64, group: String) -> Result<(), BotCallError> {
        let r = drive(people::Host::request_acceptance(&mut self.state, id, group));
        self.answer(r)
    }

    pub fn get_settings(&mut self) -> WitSettings {
        let r = drive(settings::Host::get_settings(&mut self.state));
        let none = WitSettings {
            lifetime_ms: None,
            notify_every_ms: None,
            notify_repeats: 0,
            retention_ms: None,
        };
        self.infallible(r, none)
    }

    pub fn get_config(&mut self) -> String {
        let r = drive(settings::Host::get_config(&mut self.state));
        self.infallible(r, String::new())
    }
}
