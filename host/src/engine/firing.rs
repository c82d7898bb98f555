//! Due timers turned into events, by a task of their own beside the
//! dispatcher rather than in its way.
//!
//! Firing is a write: it waits for the writer's current batch and its
//! fsync. When the dispatcher fired on each of its passes, every pass of
//! a wake storm cost a batch's round trip before it could claim anything,
//! so the storm's invocations came a few to a batch. The firing task
//! fires a batch after another while more are due and pokes the
//! dispatcher after each, while the dispatcher goes on claiming what is
//! already queued. It sleeps until the next timer it knows of (so a wait
//! ends on time, not at the next poll), or its poll interval, or until
//! the dispatcher's next pass rings it (a commit may have added a timer).

use std::sync::Arc;
use std::time::Duration;

use super::Engine;

/// Timers turned into events per transaction: big enough that a burst of
/// due waits drains quickly, small enough to keep the writer's batch
/// short, so that the first wake-ups run while the next timers fire.
const TIMER_BATCH: u32 = 500;

impl Engine {
    /// Fires due timers until the task is aborted (by [`Engine::run`]).
    pub(super) async fn fire_timers(self: Arc<Self>) {
        let poll = Duration::from_millis(self.config.poll_interval_ms.max(1));
        loop {
            self.fire_due().await;
            tokio::select! {
                _ = self.timers_wake.notified() => {}
                _ = tokio::time::sleep(self.nap(poll)) => {}
            }
        }
    }

    /// Fires batches while whole batches come back; pokes the dispatcher
    /// after each batch that queued events.
    async fn fire_due(&self) {
        loop {
            let now = self.clock.now();
            match self.store.fire_due_timers(now, TIMER_BATCH).await {
                Ok(0) => return,
                Ok(n) => {
                    self.poke();
                    if n < u64::from(TIMER_BATCH) {
                        return;
                    }
                }
                Err(e) => {
                    tracing::error!("firing timers failed: {e}");
                    return;
                }
            }
        }
    }

    /// How long the firing task sleeps when nothing rings it: the poll
    /// interval, or less when a timer falls due sooner (until 1 ms past
    /// its due time), so that a wait ends on time rather than up to a
    /// poll interval late.
    fn nap(&self, poll: Duration) -> Duration {
        match self.store.next_timer_due() {
            Some(at) => {
                // Saturating: a bot may wait until any time in the past.
                let until = u64::try_from(at.saturating_sub(self.clock.now())).unwrap_or(0);
                poll.min(Duration::from_millis(until + 1))
            }
            None => poll,
        }
    }
}
