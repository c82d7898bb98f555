//! Where this node's next claim of a bot's events starts reading.
//!
//! A claim walks its bot's range of `events_by_bot` oldest first, and the
//! oldest events are those in flight: leased, on this node and on every
//! other, waiting for their invocation or its commit. A lease changes no
//! indexed column (so that it is a HOT update, `0006_hot_claims.sql`), so
//! the leased rows stay at the front of the range and every claim steps
//! over all of them, reading each row to find its lease: the more nodes,
//! the more rows in flight and the more claims, so the walks grow as the
//! square of the nodes (BENCHMARKS.md, "Claims that start where the last
//! one stopped").
//!
//! So a claim remembers the last event it took, and the bot's next claim
//! starts after it: the events before it were taken, or are leased, or
//! could not be taken then. That last kind — an
//! event queued behind an older one of its ticket, or under another
//! claim's row lock, or an event committed by another node (whose clock
//! and commit order differ) with an earlier position, or a lease that
//! expired or was freed from a dead node — is found in two ways: a claim
//! that finds fewer events than it asked for past the cursor goes on from
//! the front in the same statement (`queue::bots_claim`), so a claim comes
//! back short only when the bot has nothing claimable anywhere; and at
//! least every [`WALK_FROM_THE_FRONT_EVERY`] a claim starts at the front.
//! So the cursor changes which claim finds an event, never whether one
//! does: a passed-over event waits at most that long while newer events
//! keep every claim full, and not at all once they run out. Its order
//! changes that much too: within that time a busy bot's claims may take
//! newer events before an older one passed over.
//!
//! The cursors are this node's (one per [`super::PgStore`]), whatever
//! owner name a claim leases under.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::Timestamp;
use crate::store::{EventId, QueuedEvent};

/// How long a bot's claims may start past the front of its range. Short
/// next to the latency an event sees under load (tens of milliseconds at
/// half load on the benchmark machine), and long next to the time between
/// claims under load (about a millisecond), so that nearly every claim of
/// a busy node skips the walk.
pub const WALK_FROM_THE_FRONT_EVERY: Duration = Duration::from_millis(20);

/// Where a claim starts: past this event's position in `events_by_bot`
/// (`available_at`, `id`). [`FRONT`] starts at the front of the range.
pub type Position = (Timestamp, EventId);

/// Before every position an event can have.
pub const FRONT: Position = (Timestamp::MIN, EventId::MIN);

#[derive(Debug, Clone, Copy)]
struct Cursor {
    after: Position,
    /// When the last claim from the front started.
    walked: Instant,
}

/// Per bot key ([`crate::store::bot_key`]), where its next claim starts.
#[derive(Debug, Default)]
pub struct Cursors {
    by_bot: Mutex<HashMap<String, Cursor>>,
}

/// What [`Cursors::starts`] gave a claim, to hand back to
/// [`Cursors::record`] with what the claim took.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    pub after: Position,
    at: Instant,
    /// The cursor's last walk from the front, when the claim starts at the
    /// cursor; `None` when it starts at the front.
    walked: Option<Instant>,
}

impl Cursors {
    /// For each bot key, where its claim starts at `at` (now, but for tests).
    pub fn starts(&self, keys: &[&str], at: Instant) -> Vec<Start> {
        let by_bot = self.by_bot.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .map(|key| match by_bot.get(*key) {
                Some(c) if at.duration_since(c.walked) < WALK_FROM_THE_FRONT_EVERY => Start {
                    after: c.after,
                    at,
                    walked: Some(c.walked),
                },
                _ => Start {
                    after: FRONT,
                    at,
                    walked: None,
                },
            })
            .collect()
    }

    /// A claim of `key` that started at `start`, asked for `limit` and
    /// took `taken`: the cursor moves past the last event taken. A claim
    /// read its range from the front when it started there, or when it
    /// started at the cursor and came back short (it went on from the
    /// front, `queue::bots_claim`): that starts the period again. A claim
    /// that started at the cursor changes it only if no other claim of the
    /// bot has changed it since (claims of one bot run one at a time on a
    /// node, but nothing here relies on it): so a late answer never undoes
    /// a walk from the front, nor starts the period again without one.
    pub fn record(&self, key: &str, start: Start, limit: u32, taken: &[QueuedEvent]) {
        let mut by_bot = self.by_bot.lock().unwrap_or_else(|e| e.into_inner());
        let current = by_bot.get(key).map(|c| c.walked);
        if start.walked.is_some() && current != start.walked {
            return;
        }
        let last = taken.iter().map(|e| (e.available_at, e.id)).max();
        let after = last.unwrap_or(FRONT).max(start.after);
        if after == FRONT {
            by_bot.remove(key);
            return;
        }
        let walked = match start.walked {
            Some(walked) if taken.len() as u32 >= limit => walked,
            _ => start.at,
        };
        by_bot.insert(key.to_string(), Cursor { after, walked });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::EventKind;

    /// `n` milliseconds after `t0`: the tests' clock.
    fn after(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    fn event(id: EventId, available_at: Timestamp) -> QueuedEvent {
        QueuedEvent {
            id,
            ticket_id: id,
            state_code: 1,
            kind: EventKind::parse("entered").expect("a kind"),
            payload: serde_json::json!({}),
            parked: false,
            attempts: 0,
            available_at,
            last_error: None,
            ticket: None,
        }
    }

    #[test]
    fn a_take_moves_the_start_past_the_last_event_taken() {
        let cursors = Cursors::default();
        let t0 = Instant::now();
        let ms = |n: u64| after(t0, n);
        let start = cursors.starts(&["a"], ms(0))[0];
        assert_eq!(start.after, FRONT);
        cursors.record("a", start, 2, &[event(7, 100), event(5, 100)]);
        let start = cursors.starts(&["a"], ms(1))[0];
        assert_eq!(start.after, (100, 7), "after the last event taken");
        assert_eq!(cursors.starts(&["b"], ms(1))[0].after, FRONT, "per bot");
        // A short take from the cursor went on from the front (the claim's
        // second branch): the cursor moves on and the period starts again.
        cursors.record("a", start, 2, &[event(9, 101)]);
        assert_eq!(cursors.starts(&["a"], ms(20))[0].after, (101, 9));
        assert_eq!(cursors.starts(&["a"], ms(21))[0].after, FRONT);
        // Nothing taken from the front: nothing to start past.
        let start = cursors.starts(&["c"], ms(0))[0];
        cursors.record("c", start, 2, &[]);
        assert_eq!(cursors.starts(&["c"], ms(1))[0].after, FRONT);
    }

    #[test]
    fn a_late_answer_never_undoes_a_newer_one() {
        let cursors = Cursors::default();
        let t0 = Instant::now();
        let ms = |n: u64| after(t0, n);
        let front = cursors.starts(&["a"], ms(0))[0];
        cursors.record("a", front, 1, &[event(1, 10)]);
        // Two claims from the cursor at once: one comes back short, and
        // the full one answers later: the next claim still goes to the front.
        let one = cursors.starts(&["a"], ms(1))[0];
        let two = cursors.starts(&["a"], ms(1))[0];
        cursors.record("a", one, 1, &[]);
        cursors.record("a", two, 1, &[event(2, 10)]);
        assert_eq!(cursors.starts(&["a"], ms(2))[0].after, (10, 1));
        assert_eq!(
            cursors.starts(&["a"], ms(20))[0].after,
            (10, 1),
            "walked at 1"
        );
        // A claim from the cursor that answers after a walk from the front
        // does not move the cursor past what the walk left.
        let front = cursors.starts(&["a"], ms(3))[0];
        cursors.record("a", front, 1, &[event(3, 10)]);
        let stale = cursors.starts(&["a"], ms(4))[0];
        let front = cursors.starts(&["a"], ms(30))[0];
        cursors.record("a", front, 1, &[event(4, 5)]);
        cursors.record("a", stale, 1, &[event(9, 50)]);
        assert_eq!(cursors.starts(&["a"], ms(31))[0].after, (5, 4));
    }

    #[test]
    fn claims_go_back_to_the_front_at_least_every_period() {
        let cursors = Cursors::default();
        let t0 = Instant::now();
        let ms = |n: u64| after(t0, n);
        let start = cursors.starts(&["a"], ms(0))[0];
        cursors.record("a", start, 1, &[event(1, 10)]);
        let mut fronts = Vec::new();
        for n in 1..=60 {
            let start = cursors.starts(&["a"], ms(n))[0];
            if start.after == FRONT {
                fronts.push(n);
            }
            cursors.record("a", start, 1, &[event(n as EventId + 1, 10)]);
        }
        assert_eq!(fronts, [20, 40, 60], "one claim from the front every 20 ms");
    }
}
