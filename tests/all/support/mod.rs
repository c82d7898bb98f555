//! Test support: the built bots, a `baton serve` process per test, small
//! HTTP helpers, and what the hostile-bot tests share (`hostile.rs`).

mod bots;
pub mod browser;
pub mod engine;
pub mod hostile;
pub mod openapi;
mod people;
pub mod postgres;
pub mod receivers;
pub mod server;

pub use bots::{example_bots, fixture_bots, lang_bots};
pub use people::Person;
pub use server::{ADMIN_TOKEN, Server, ServerSetup, copy_dir};
