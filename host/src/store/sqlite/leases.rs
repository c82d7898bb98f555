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

use std::collections::{HashMap, HashSet};

use tokio::sync::{Mutex, MutexGuard};

use crate::model::{TicketId, Timestamp};
use crate::store::EventId;

#[derive(Debug, Clone, Copy)]
struct Lease {
    ticket: TicketId,
    until: Timestamp,
}

/// The live leases, by event and by ticket: a claim asks both for every
/// row it steps past, so both are lookups, never a walk of the leases.
#[derive(Debug, Default)]
struct Held {
    events: HashMap<EventId, Lease>,
    tickets: HashSet<TicketId>,
    /// The earliest `until` among `events` (`None`: none, or not known).
    earliest: Option<Timestamp>,
}

impl Held {
    fn expire(&mut self, now: Timestamp) {
        if self.earliest.is_some_and(|at| at > now) {
            return;
        }
        let tickets = &mut self.tickets;
        self.events.retain(|_, l| {
            let live = l.until > now;
            if !live {
                tickets.remove(&l.ticket);
            }
            live
        });
        self.earliest = self.events.values().map(|l| l.until).min();
    }
}

#[derive(Debug, Default)]
pub(super) struct Leases {
    held: Mutex<Held>,
}

/// The leases, locked for one claim.
pub(super) struct Claiming<'a> {
    held: MutexGuard<'a, Held>,
    now: Timestamp,
}

impl Leases {
    /// Locks the leases for a claim at `now`; expired leases are dropped.
    pub(super) async fn claiming(&self, now: Timestamp) -> Claiming<'_> {
        let mut held = self.held.lock().await;
        held.expire(now);
        Claiming { held, now }
    }

    /// Drops the lease of a settled event (committed, released, parked
    /// or dropped).
    pub(super) async fn drop_lease(&self, id: EventId) {
        let mut held = self.held.lock().await;
        if let Some(lease) = held.events.remove(&id) {
            held.tickets.remove(&lease.ticket);
        }
    }
}

impl Claiming<'_> {
    /// Whether the event, or another event of its ticket, is leased.
    pub(super) fn is_leased(&self, id: EventId, ticket: TicketId) -> bool {
        self.held.events.contains_key(&id) || self.held.tickets.contains(&ticket)
    }

    /// Leases the event until `now + lease_ms` unless it, or another event
    /// of its ticket, is leased already; says whether it did.
    pub(super) fn take(&mut self, id: EventId, ticket: TicketId, lease_ms: i64) -> bool {
        if self.is_leased(id, ticket) {
            return false;
        }
        let until = self.now + lease_ms;
        self.held.events.insert(id, Lease { ticket, until });
        self.held.tickets.insert(ticket);
        self.held.earliest = Some(self.held.earliest.map_or(until, |at| at.min(until)));
        true
    }
}
