//! The `wca` metaservice's `edit_person` bots.
//!
//! One component serves both non-terminal states and is deployed twice:
//! - `wca-edit_person-1-open`: checks the requested changes; valid requests
//!   go on to review, impossible ones are rejected with the reasons logged.
//! - `wca-edit_person-2-in_review`: approves on its own what needs no human
//!   judgement (a change of letter case or spacing in the name only);
//!   everything else is assigned to the review group of the manifest's
//!   `[config]` (the WCA Results Team), one of whom accepts it and presses
//!   `approve` or `reject`. Reminders and the lifetime come from the
//!   manifest's settings; a request nobody handles in time is left to
//!   Baton's default for `ticket_timeout` (the requester hears it is out of
//!   service and an error ticket goes to the WCA Software Team).
//!
//! # Layout
//! - `request.rs`: the ticket's metadata and the checks on it.
//! - `countries.rs`: the ISO 3166-1 alpha-2 codes a country may change to.
//! - `open.rs`, `in_review.rs`: one module per state.

mod countries;
mod in_review;
mod open;
pub mod request;

use baton_sdk::{Bot, Ctx, Error, Event, Outcome, Reason, Result, Ticket};

/// State codes of `edit_person`, as in `wca.metaservice.toml`.
pub mod states {
    pub const OPEN: u32 = 1;
    pub const IN_REVIEW: u32 = 2;
    pub const APPROVED: u32 = 3;
    pub const REJECTED: u32 = 4;
}

pub struct EditPerson;

impl Bot for EditPerson {
    const METASERVICE: &'static str = "wca";
    const TICKET_TYPE: &'static str = "edit_person";
    const STATES: &'static [u32] = &[states::OPEN, states::IN_REVIEW];

    fn proceed_ticket(ctx: &Ctx, ticket: Ticket, reason: Reason) -> Result<()> {
        match (ticket.state.code, reason) {
            // Entering the state, or a sweep after a step that never
            // committed: the state's work, from the start.
            (states::OPEN, Reason::Entered | Reason::Sweep) => open::proceed(ctx, &ticket),
            (states::IN_REVIEW, Reason::Entered | Reason::Sweep) => {
                in_review::proceed(ctx, &ticket)
            }
            (states::IN_REVIEW, Reason::Reminder(n)) => in_review::reminded(ctx, &ticket, n),
            (states::OPEN | states::IN_REVIEW, other) => {
                ctx.log(ticket.id, &format!("nothing to do on {other:?}"))
            }
            (other, _) => Err(unknown_state(other)),
        }
    }

    fn on_event(ctx: &Ctx, ticket: Ticket, event: Event) -> Result<Outcome> {
        match ticket.state.code {
            states::IN_REVIEW => {
                in_review::on_event(ctx, &ticket, event).map(|()| Outcome::Handled)
            }
            states::OPEN => {
                ctx.log(
                    ticket.id,
                    &format!(
                        "{} ignored: the request is still being checked",
                        event.describe()
                    ),
                )?;
                Ok(Outcome::Handled)
            }
            other => Err(unknown_state(other)),
        }
    }
}

/// The `wca` manifest's `[config]`.
#[derive(serde::Deserialize)]
pub struct WcaConfig {
    /// The group that reviews requests (`wrt`).
    pub review_group: String,
}

fn unknown_state(code: u32) -> Error {
    Error::msg(format!(
        "edit_person has no state {code} in this bot: the bot and the database do not match"
    ))
}

baton_sdk::export_bot!(EditPerson);
