//! Which bots this process has loaded, and how each is doing: the swap
//! point for hot reloads, the crash backoff, and the per-bot bound on
//! concurrent invocations.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::model::{BotName, Timestamp};
use crate::runtime::LoadedBot;

/// A bot's status as `/api/v1/bots` and the supervisor report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BotStatus {
    /// Loaded and its invocations succeed.
    Running,
    /// Loaded, but its recent invocations keep failing: new attempts wait
    /// for a backoff.
    Crashing,
    /// The manifests call for it, but there is no file.
    Missing,
    /// Its file was refused; see `last_error`.
    Refused,
}

impl BotStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BotStatus::Running => "running",
            BotStatus::Crashing => "crashing",
            BotStatus::Missing => "missing",
            BotStatus::Refused => "refused",
        }
    }
}

/// One bot's slot.
#[derive(Clone)]
pub struct BotSlot {
    pub name: BotName,
    pub loaded: Option<Arc<LoadedBot>>,
    pub status: BotStatus,
    pub loaded_at: Option<Timestamp>,
    /// Times the bot was loaded again after its first load: new versions
    /// and manual restarts.
    pub restarts: u32,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// While crashing: no new invocation before this time.
    pub retry_at: Option<Timestamp>,
    inflight: Arc<AtomicU32>,
}

impl BotSlot {
    /// The slot of a bot the manifests call for and no file serves yet.
    pub fn missing(name: BotName) -> Self {
        BotSlot {
            name,
            loaded: None,
            status: BotStatus::Missing,
            loaded_at: None,
            restarts: 0,
            consecutive_failures: 0,
            last_error: None,
            retry_at: None,
            inflight: Arc::new(AtomicU32::new(0)),
        }
    }
}

/// After this many failed invocations in a row a bot is `crashing`.
const CRASHING_AFTER: u32 = 3;

/// Why a bot cannot take an invocation now.
#[derive(Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// No version is loaded.
    NoBot,
    /// Crashing: wait until this time.
    BackingOff(Timestamp),
    /// It already runs its maximum of invocations at once.
    Busy,
}

/// Holds one of a bot's concurrency slots until dropped.
pub struct Lease {
    inflight: Arc<AtomicU32>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.inflight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Default)]
pub struct Registry {
    slots: RwLock<BTreeMap<BotName, BotSlot>>,
}

impl Registry {
    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<BotName, BotSlot>) -> R) -> R {
        // A poisoned lock means a panic while holding it; every change here
        // leaves the map consistent, so carry on with it.
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        f(&mut slots)
    }

    fn slot<'a>(slots: &'a mut BTreeMap<BotName, BotSlot>, name: &BotName) -> &'a mut BotSlot {
        slots
            .entry(name.clone())
            .or_insert_with(|| BotSlot::missing(name.clone()))
    }

    /// Makes sure every expected bot has a slot (as `missing` until loaded).
    pub fn expect(&self, names: impl IntoIterator<Item = BotName>) {
        self.with(|slots| {
            for name in names {
                Self::slot(slots, &name);
            }
        });
    }

    /// Swaps in a newly loaded version and clears any crash state.
    /// Invocations in flight keep their `Arc` of the old version and finish
    /// on it; every later one gets the new one.
    /// Serves `bot` from now on; true when it replaced an earlier load
    /// (a reload or a restart).
    pub fn install(&self, bot: LoadedBot, now: Timestamp) -> bool {
        self.with(|slots| {
            let slot = Self::slot(slots, &bot.name);
            let reload = slot.loaded_at.is_some();
            if reload {
                slot.restarts += 1;
            }
            slot.loaded = Some(Arc::new(bot));
            slot.status = BotStatus::Running;
            slot.loaded_at = Some(now);
            slot.consecutive_failures = 0;
            slot.retry_at = None;
            slot.last_error = None;
            reload
        })
    }

    /// Records a refused file. A bot that was running keeps running its
    /// previous version.
    pub fn refuse(&self, name: &BotName, error: String) {
        self.with(|slots| {
            let slot = Self::slot(slots, name);
            if slot.loaded.is_none() {
                slot.status = BotStatus::Refused;
            }
            slot.last_error = Some(error);
        });
    }

    /// The file is gone: the bot stops taking invocations; its events wait.
    pub fn remove(&self, name: &BotName) {
        self.with(|slots| {
            let slot = Self::slot(slots, name);
            slot.loaded = None;
            slot.status = BotStatus::Missing;
            slot.retry_at = None;
        });
    }

    /// Clears the crash state by hand (`POST /bots/{name}/restart`).
    pub fn reset(&self, name: &BotName) {
        self.with(|slots| {
            let slot = Self::slot(slots, name);
            slot.consecutive_failures = 0;
            slot.retry_at = None;
            if slot.loaded.is_some() {
                slot.status = BotStatus::Running;
            }
        });
    }

    pub fn get(&self, name: &BotName) -> Option<Arc<LoadedBot>> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        slots.get(name).and_then(|s| s.loaded.clone())
    }

    /// The bot, with one of its `max_inflight` concurrency slots, if it can
    /// take an invocation now.
    /// Takes up to `n` of `name`'s free slots at once, for events about to
    /// be claimed for it: held from the claim on, so that no later pass
    /// sees room the claimed events will take.
    pub fn reserve(&self, name: &BotName, now: Timestamp, max_inflight: u32, n: u32) -> Vec<Lease> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        let Some(slot) = slots.get(name) else {
            return Vec::new();
        };
        if slot.loaded.is_none() || slot.retry_at.is_some_and(|at| at > now) {
            return Vec::new();
        }
        let mut leases = Vec::new();
        for _ in 0..n {
            let taken = slot.inflight.fetch_add(1, Ordering::AcqRel);
            let lease = Lease {
                inflight: slot.inflight.clone(),
            };
            if taken >= max_inflight.max(1) {
                break;
            }
            leases.push(lease);
        }
        leases
    }

    /// The bot serving `name` for an invocation whose slot is already
    /// held (see [`Registry::reserve`]).
    pub fn loaded(&self, name: &BotName, now: Timestamp) -> Result<Arc<LoadedBot>, Unavailable> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        let slot = slots.get(name).ok_or(Unavailable::NoBot)?;
        let bot = slot.loaded.clone().ok_or(Unavailable::NoBot)?;
        match slot.retry_at.filter(|at| *at > now) {
            Some(at) => Err(Unavailable::BackingOff(at)),
            None => Ok(bot),
        }
    }

    pub fn acquire(
        &self,
        name: &BotName,
        now: Timestamp,
        max_inflight: u32,
    ) -> Result<(Arc<LoadedBot>, Lease), Unavailable> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        let slot = slots.get(name).ok_or(Unavailable::NoBot)?;
        let bot = slot.loaded.clone().ok_or(Unavailable::NoBot)?;
        if let Some(at) = slot.retry_at.filter(|at| *at > now) {
            return Err(Unavailable::BackingOff(at));
        }
        let taken = slot.inflight.fetch_add(1, Ordering::AcqRel);
        let lease = Lease {
            inflight: slot.inflight.clone(),
        };
        if taken >= max_inflight.max(1) {
            return Err(Unavailable::Busy);
        }
        Ok((bot, lease))
    }

    pub fn succeeded(&self, name: &BotName) {
        self.with(|slots| {
            if let Some(slot) = slots.get_mut(name) {
                slot.consecutive_failures = 0;
                slot.retry_at = None;
                if slot.status == BotStatus::Crashing {
                    slot.status = BotStatus::Running;
                }
            }
        });
    }

    /// Counts a failed invocation; from the third in a row the bot is
    /// `crashing` and waits before its next attempt, `first_ms` then
    /// doubling up to `max_ms`.
    pub fn failed(&self, name: &BotName, error: &str, now: Timestamp, first_ms: u64, max_ms: u64) {
        self.with(|slots| {
            if let Some(slot) = slots.get_mut(name) {
                slot.consecutive_failures += 1;
                slot.last_error = Some(error.to_string());
                if slot.consecutive_failures >= CRASHING_AFTER && slot.loaded.is_some() {
                    slot.status = BotStatus::Crashing;
                    let doublings = (slot.consecutive_failures - CRASHING_AFTER).min(16);
                    let wait = first_ms.saturating_mul(1 << doublings).min(max_ms);
                    slot.retry_at = Some(now + wait as i64);
                }
            }
        });
    }

    pub fn slot_of(&self, name: &BotName) -> Option<BotSlot> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        slots.get(name).cloned()
    }

    /// Every slot, by name.
    pub fn snapshot(&self) -> Vec<BotSlot> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        slots.values().cloned().collect()
    }
}
