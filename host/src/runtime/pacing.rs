//! How guest code shares the CPU. Every epoch tick a running guest gives
//! way to the scheduler (`tokio::task::yield_now`, which puts it behind
//! the other ready tasks, not in the worker's LIFO slot). A guest that has
//! run past a short budget in one invocation is a *long runner*: from then
//! on it runs a tick only while holding one of a few permits, so that long
//! runners together occupy at most all cores but one, and the quick
//! invocations of every other bot (and the API) always find a core. The
//! deadline still ends a long runner waiting for a permit.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Ticks a guest runs freely in one invocation before it is a long
/// runner: tens of milliseconds, far above what a bot's own logic needs
/// between host calls.
pub const FREE_TICKS: u32 = 10;

/// The permits long runners share, one per core but one (at least one).
pub fn long_runner_permits() -> Arc<Semaphore> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Arc::new(Semaphore::new(cores.saturating_sub(1).max(1)))
}

/// One invocation's pacing: its ticks so far and the permit it holds.
pub struct Pacing {
    ticks: u32,
    permits: Arc<Semaphore>,
    held: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
}

impl Pacing {
    pub fn new(permits: Arc<Semaphore>) -> Self {
        Pacing {
            ticks: 0,
            permits,
            held: Arc::new(Mutex::new(None)),
        }
    }

    /// What the guest awaits at a tick: a plain yield while it is within
    /// its free ticks; after that, it gives its permit back and waits for
    /// one again (the semaphore is fair, so long runners take turns).
    pub fn at_tick(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.ticks = self.ticks.saturating_add(1);
        if self.ticks <= FREE_TICKS {
            return Box::pin(tokio::task::yield_now());
        }
        let held = self.held.clone();
        let permits = self.permits.clone();
        Box::pin(async move {
            let given_back = held.lock().unwrap_or_else(|e| e.into_inner()).take();
            drop(given_back);
            tokio::task::yield_now().await;
            // A closed semaphore (never closed here) would let it run on.
            let permit = permits.acquire_owned().await.ok();
            *held.lock().unwrap_or_else(|e| e.into_inner()) = permit;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_runners_take_turns_on_the_permits() {
        let permits = Arc::new(Semaphore::new(1));
        let mut a = Pacing::new(permits.clone());
        let mut b = Pacing::new(permits.clone());
        for _ in 0..FREE_TICKS {
            a.at_tick().await;
            b.at_tick().await;
        }
        assert_eq!(permits.available_permits(), 1, "free ticks hold nothing");
        a.at_tick().await;
        assert_eq!(permits.available_permits(), 0, "a runs on the permit");
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), b.at_tick());
        assert!(waiting.await.is_err(), "b waits while a holds it");
        drop(a);
        tokio::time::timeout(std::time::Duration::from_secs(5), b.at_tick())
            .await
            .expect("b runs once a is done");
        assert_eq!(permits.available_permits(), 0, "b holds it now");
    }
}
