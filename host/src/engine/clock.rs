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

/// A clock that moves only when told to: tests of hours-long waits and
/// day-long lifetimes run in milliseconds with it.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: std::sync::atomic::AtomicI64,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock {
            now: std::sync::atomic::AtomicI64::new(start),
        }
    }

    /// Moves time on by `millis`.
    pub fn advance(&self, millis: i64) {
        self.now
            .fetch_add(millis, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.now.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The system clock moved by a fixed offset: `BATON_CLOCK_OFFSET=3d baton
/// serve` runs a drill of what happens in three days (lifetimes, reminders,
/// waits fall due), and tests move a real process's time across a restart.
/// Never set it in production: everything the host writes is stamped with
/// the moved time.
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock {
    pub offset_ms: Timestamp,
}

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        SystemClock.now().saturating_add(self.offset_ms)
    }
}
