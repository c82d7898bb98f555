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
//! So a claim that took all it asked for remembers the last event it took,
//! and the bot's next claim starts after it: the events before it were
//! taken, or are leased, or could not be taken then. That last kind — an
//! event queued behind an older one of its ticket, or under another
//! claim's row lock, or an event committed by another node (whose clock
//! and commit order differ) with an earlier position, or a lease that
//! expired — is found by a claim from the front, which runs when the
//! previous claim came back short (the range may hold nothing more past
//! the cursor) and at least every [`WALK_FROM_THE_FRONT_EVERY`]. So the
//! cursor changes which claim finds an event, never whether one does, and
//! an event is found at most that much later than without it; a system
//! with room to spare (claims that come back short) always reads from the
//! front, as before.

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
}

impl Cursors {
    /// For each bot key, where its claim starts at `at` (now, but for tests).
    pub fn starts(&self, keys: &[&str], at: Instant) -> Vec<Start> {
        let by_bot = self.by_bot.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .map(|key| {
                let after = match by_bot.get(*key) {
                    Some(c) if at.duration_since(c.walked) < WALK_FROM_THE_FRONT_EVERY => c.after,
                    _ => FRONT,
                };
                Start { after, at }
            })
            .collect()
    }

    /// A claim of `key` that started at `start`, asked for `limit` and
    /// took `taken`: a full take moves the cursor past the last event
    /// taken; a short one sends the next claim to the front.
    pub fn record(&self, key: &str, start: Start, limit: u32, taken: &[QueuedEvent]) {
        let mut by_bot = self.by_bot.lock().unwrap_or_else(|e| e.into_inner());
        let last = taken.iter().map(|e| (e.available_at, e.id)).max();
        let (Some(last), true) = (last, taken.len() as u32 >= limit) else {
            by_bot.remove(key);
            return;
        };
        let walked = match by_bot.get(key) {
            Some(c) if start.after != FRONT => c.walked,
            _ => start.at,
        };
        by_bot.insert(
            key.to_string(),
            Cursor {
                after: last.max(start.after),
                walked,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::EventKind;

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
    fn a_full_take_moves_the_start_and_a_short_one_goes_back_to_the_front() {
        let cursors = Cursors::default();
        let [start] = cursors.starts(&["a"], Instant::now())[..] else {
            panic!("one start")
        };
        assert_eq!(start.after, FRONT);
        cursors.record("a", start, 2, &[event(7, 100), event(5, 100)]);
        let [start] = cursors.starts(&["a"], Instant::now())[..] else {
            panic!("one start")
        };
        assert_eq!(start.after, (100, 7), "after the last event taken");
        assert_eq!(
            cursors.starts(&["b"], Instant::now())[0].after,
            FRONT,
            "per bot"
        );
        cursors.record("a", start, 2, &[event(9, 101)]);
        assert_eq!(
            cursors.starts(&["a"], Instant::now())[0].after,
            FRONT,
            "a short take"
        );
    }

    #[test]
    fn claims_go_back_to_the_front_at_least_every_period() {
        let cursors = Cursors::default();
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
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
