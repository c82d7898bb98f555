//! Event leases, held in the process.
//!
//! SQLite serves one `baton serve` process (several processes share a
//! PostgreSQL database instead), so a lease only has to keep this
//! process's workers apart: a claim is a read plus a map insert, and costs
//! no write lock and no fsync. A `kill -9` loses the leases with the
//! process; the events they covered are simply due again on restart, and
//! a commit deletes its event in the same transaction as its effects, so
//! nothing runs twice to effect.
//!
//! The map is behind an async mutex that a claim holds from its read to
//! its insert, and that settling an event takes after its write is
//! durable: so a claim never reads an event as pending after the commit
//! that consumed it has dropped its lease.

use std::collections::HashMap;

use tokio::sync::{Mutex, MutexGuard};

use crate::model::{TicketId, Timestamp};
use crate::store::EventId;

#[derive(Debug, Clone, Copy)]
struct Lease {
    ticket: TicketId,
    until: Timestamp,
}

#[derive(Debug, Default)]
pub(super) struct Leases {
    held: Mutex<HashMap<EventId, Lease>>,
}

/// The leases, locked for one claim.
pub(super) struct Claiming<'a> {
    held: MutexGuard<'a, HashMap<EventId, Lease>>,
    now: Timestamp,
}

impl Leases {
    /// Locks the leases for a claim at `now`; expired leases are dropped.
    pub(super) async fn claiming(&self, now: Timestamp) -> Claiming<'_> {
        let mut held = self.held.lock().await;
        held.retain(|_, l| l.until > now);
        Claiming { held, now }
    }

    /// Drops the lease of a settled event (committed, released, parked
    /// or dropped).
    pub(super) async fn drop_lease(&self, id: EventId) {
        self.held.lock().await.remove(&id);
    }
}

impl Claiming<'_> {
    /// How many leases are live: a claim reads this many rows more than it
    /// wants, since those may be among the oldest.
    pub(super) fn live(&self) -> usize {
        self.held.len()
    }

    /// Leases the event until `now + lease_ms` unless it, or another event
    /// of its ticket, is leased already; says whether it did.
    pub(super) fn take(&mut self, id: EventId, ticket: TicketId, lease_ms: i64) -> bool {
        if self.held.contains_key(&id) || self.held.values().any(|l| l.ticket == ticket) {
            return false;
        }
        let until = self.now + lease_ms;
        self.held.insert(id, Lease { ticket, until });
        true
    }
}
