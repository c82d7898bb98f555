//! Test support: the built bots, a `baton serve` process per test, and
//! small HTTP helpers.

mod bots;
mod server;

pub use bots::{example_bots, fixture_bots};
pub use server::{Server, copy_dir};
