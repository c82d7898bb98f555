//! Time, injectable: the engine asks a [`Clock`] instead of the system, so
//! tests of lifetimes and retention can move time on without sleeping.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::model::Timestamp;

pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> Timestamp;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as Timestamp)
            .unwrap_or_default()
    }
}
