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

/// An RFC 3339 time from an API answer, in milliseconds since the epoch
/// (0 when it is not one: the comparison that uses it then fails).
pub fn millis(v: &serde_json::Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_default())
        .map(|t| t.timestamp_millis())
        .unwrap_or_default()
}

/// Now, in milliseconds since the epoch (the unit of the API's times and
/// of a bot's `wait_until_time`).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
