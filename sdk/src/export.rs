//! [`export_bot!`](crate::export_bot): from a [`Bot`] to the component's exports.
//!
//! The macro defines a hidden type implementing the generated `Guest` trait
//! whose methods call the generic functions below; they convert the binding
//! types, run the bot against the real imports, and turn its error into the
//! string the host logs.

use crate::bindings::baton::bot::types;
use crate::{Bot, Ctx, Outcome, TOOLCHAIN};

#[doc(hidden)]
pub fn describe<B: Bot>() -> types::BotInfo {
    types::BotInfo {
        metaservice: B::METASERVICE.to_string(),
        ticket_type: B::TICKET_TYPE.to_string(),
        states: B::STATES.to_vec(),
        toolchain: TOOLCHAIN.to_string(),
    }
}

#[doc(hidden)]
pub fn proceed_ticket<B: Bot>(ticket: types::Ticket, reason: types::Reason) -> Result<(), String> {
    let ctx = Ctx::imports();
    B::proceed_ticket(&ctx, ticket.into(), reason.into()).map_err(|e| e.to_string())
}

fn outcome(o: Outcome) -> types::Outcome {
    match o {
        Outcome::Handled => types::Outcome::Handled,
        Outcome::Unhandled => types::Outcome::Unhandled,
    }
}

#[doc(hidden)]
pub fn ticket_timeout<B: Bot>(ticket: types::Ticket) -> Result<types::Outcome, String> {
    let ctx = Ctx::imports();
    B::ticket_timeout(&ctx, ticket.into())
        .map(outcome)
        .map_err(|e| e.to_string())
}

#[doc(hidden)]
pub fn on_event<B: Bot>(
    ticket: types::Ticket,
    event: types::Event,
) -> Result<types::Outcome, String> {
    let ctx = Ctx::imports();
    B::on_event(&ctx, ticket.into(), event.into())
        .map(outcome)
        .map_err(|e| e.to_string())
}

/// Makes a [`Bot`] the component's implementation of the `bot` world.
///
/// Call it once, at the top level of the bot crate: `baton_sdk::export_bot!(MyBot);`
#[macro_export]
macro_rules! export_bot {
    ($bot:ty) => {
        const _: () = {
            struct BatonExport;

            impl $crate::bindings::Guest for BatonExport {
                fn describe() -> $crate::bindings::baton::bot::types::BotInfo {
                    $crate::__private::describe::<$bot>()
                }

                fn proceed_ticket(
                    ticket: $crate::bindings::baton::bot::types::Ticket,
                    reason: $crate::bindings::baton::bot::types::Reason,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $crate::__private::proceed_ticket::<$bot>(ticket, reason)
                }

                fn on_event(
                    ticket: $crate::bindings::baton::bot::types::Ticket,
                    event: $crate::bindings::baton::bot::types::Event,
                ) -> ::core::result::Result<
                    $crate::bindings::baton::bot::types::Outcome,
                    ::std::string::String,
                > {
                    $crate::__private::on_event::<$bot>(ticket, event)
                }

                fn ticket_timeout(
                    ticket: $crate::bindings::baton::bot::types::Ticket,
                ) -> ::core::result::Result<
                    $crate::bindings::baton::bot::types::Outcome,
                    ::std::string::String,
                > {
                    $crate::__private::ticket_timeout::<$bot>(ticket)
                }
            }

    $crate::bindings::__export_bot_world!(BatonExport with_types_in $crate::bindings);
        };
    };
}
