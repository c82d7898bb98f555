//! Test support: the built bots, a `baton serve` process per test, and
//! small HTTP helpers.

mod bots;
pub mod engine;
pub mod openapi;
mod people;
pub mod server;

pub use bots::{example_bots, fixture_bots};
pub use people::Person;
pub use server::{ADMIN_TOKEN, Server, ServerSetup, copy_dir};
