//! The event streams (`GET /notifications/stream`) this process holds, and
//! revoking a token, which ends its streams. The streams are
//! bounded per user, and told when a token is revoked so that a stream
//! opened with it ends at once instead of outliving the right to it (each
//! stream also re-checks its token every 30 s, for revocations it did not
//! hear of).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

/// Streams one user may hold open at once: a few browser tabs and a
/// client or two. Each holds a task and a subscription, so they are
/// bounded like everything else a caller can open.
pub const MAX_STREAMS_PER_USER: usize = 5;

/// Open streams per user, and revocations for them to hear.
pub struct Streams {
    open: Mutex<HashMap<i64, usize>>,
    revoked: broadcast::Sender<i64>,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            open: Mutex::new(HashMap::new()),
            revoked: broadcast::channel(64).0,
        }
    }
}

/// One open stream; dropping it frees the user's slot.
pub struct StreamSlot {
    streams: Arc<Streams>,
    user: i64,
}

impl Streams {
    /// A slot for a new stream of `user`, or `None` when they hold
    /// [`MAX_STREAMS_PER_USER`] already.
    pub fn open(self: &Arc<Self>, user: i64) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(user).or_insert(0);
        if *count >= MAX_STREAMS_PER_USER {
            return None;
        }
        *count += 1;
        Some(StreamSlot {
            streams: self.clone(),
            user,
        })
    }

    /// Streams open for `user` now.
    pub fn open_for(&self, user: i64) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&user).copied().unwrap_or(0)
    }

    /// The users who hold a stream open now, in no order.
    pub fn users(&self) -> Vec<i64> {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.keys().copied().collect()
    }

    /// Ends every stream opened with token `id`.
    pub fn revoke(&self, id: i64) {
        // No stream listening is not an error.
        let _ = self.revoked.send(id);
    }

    /// The ids of tokens revoked from now on.
    pub fn revocations(&self) -> broadcast::Receiver<i64> {
        self.revoked.subscribe()
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

impl super::Engine {
    /// Revokes API token `id` (`false`: no live token has that id), and
    /// ends the event streams it opened, on this node and the others.
    pub async fn revoke_token(&self, id: i64) -> Result<bool, crate::store::StoreError> {
        if !self.store.revoke_token(id, self.clock.now()).await? {
            return Ok(false);
        }
        self.streams.revoke(id);
        self.store.announce(crate::store::Signal::TokenRevoked(id));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_holds_a_bounded_number_and_slots_come_back() {
        let streams = Arc::new(Streams::default());
        let slots: Vec<_> = (0..MAX_STREAMS_PER_USER)
            .map(|_| streams.open(7).expect("a slot"))
            .collect();
        assert!(streams.open(7).is_none());
        assert!(streams.open(8).is_some(), "another user is not affected");
        drop(slots);
        assert_eq!(streams.open_for(7), 0);
        assert!(streams.open(7).is_some());
    }
}
