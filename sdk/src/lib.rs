//! Write [Baton](https://example.invalid/baton) bots in Rust.
//!
//! A bot is a WebAssembly component that serves one or more states of a
//! ticket type. Baton calls it when a ticket enters one of those states (and
//! on events, sweeps and timeouts); the bot reads the ticket, decides, and
//! asks the host to act: move the ticket on, create child tickets, change its
//! metadata, write log lines. Everything one invocation asks for is committed
//! atomically when it returns `Ok`, and discarded when it returns `Err`.
//!
//! ```no_run
//! use baton_sdk::{Bot, Ctx, Reason, Result, Ticket};
//!
//! struct Open;
//!
//! impl Bot for Open {
//!     const METASERVICE: &'static str = "demo";
//!     const TICKET_TYPE: &'static str = "request";
//!     const STATES: &'static [u32] = &[1];
//!
//!     fn proceed_ticket(ctx: &Ctx, ticket: Ticket, _reason: Reason) -> Result<()> {
//!         ctx.log(ticket.id, "looks fine, moving on")?;
//!         ctx.send_ticket(ticket.id)?;
//!         Ok(())
//!     }
//! }
//!
//! baton_sdk::export_bot!(Open);
//! ```
//!
//! A bot crate needs only this crate and `crate-type = ["cdylib", "rlib"]`;
//! `cargo build --target wasm32-wasip2` then produces the component.
//! The `rlib` lets `cargo test` run the bot natively against
//! [`testing::TestHost`].
//!
//! # Layout
//! - [`Bot`] (`bot.rs`): the trait a bot implements; [`Outcome`].
//! - [`Ctx`] (`ctx.rs`): the typed calls a bot makes, over the [`Host`] seam.
//! - `ticket.rs`: [`Ticket`], [`State`], [`Reason`], [`Event`] as bots see them.
//! - `error.rs`: [`Error`], what host calls and bots return.
//! - `people.rs`: [`Principal`], [`Connection`], [`Role`], [`Settings`].
//! - `wasm.rs`: the [`Host`] that calls the real imports inside Baton;
//!   `wasm_http.rs` sends its [`http`] requests over WASI HTTP.
//! - [`http`]: outgoing requests to the hosts a manifest allows.
//! - `export.rs`: [`export_bot!`], which turns a [`Bot`] into the component's exports.
//! - [`testing`]: a native host that records what a bot asked for.
//!
//! # Effects are all-or-nothing; outgoing HTTP is not
//! Ticket changes are transactional. Anything a bot does outside Baton (an
//! HTTP call to another system) happens when it happens; if the invocation
//! later fails and is retried, it happens again. Make such calls idempotent.

mod bot;
mod ctx;
mod error;
mod export;
mod people;
mod ticket;
mod wasm;
#[cfg(target_arch = "wasm32")]
mod wasm_http;

pub mod http;
pub mod testing;

/// The bindings generated from `wit/bot.wit`. Bots do not use them directly;
/// they are public for the [`export_bot!`] macro.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "bot",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__export_bot_world",
        default_bindings_module: "baton_sdk::bindings",
    });
}

pub use bot::{Bot, Outcome};
pub use ctx::{Ctx, Host};
pub use error::{Error, HostError, HostErrorKind, Result};
pub use people::{Connection, Principal, Role, Settings};
pub use ticket::{Action, BotInfo, Comment, Event, Reason, State, Status, Ticket, TicketId};

/// The version of this SDK.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `describe()` reports as the bot's toolchain.
pub const TOOLCHAIN: &str = concat!("baton-sdk ", env!("CARGO_PKG_VERSION"), " (rust)");

#[doc(hidden)]
pub mod __private {
    pub use crate::export::{describe, on_event, proceed_ticket, ticket_timeout};
}
