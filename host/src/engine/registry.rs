//! Which bots this process has loaded, and how each is doing.

use std::collections::BTreeMap;
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
    /// Loaded, but its recent invocations keep failing.
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
    pub restarts: u32,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
}

impl BotSlot {
    fn missing(name: BotName) -> Self {
        BotSlot {
            name,
            loaded: None,
            status: BotStatus::Missing,
            loaded_at: None,
            restarts: 0,
            consecutive_failures: 0,
            last_error: None,
        }
    }
}

/// After this many failed invocations in a row a bot is `crashing`.
const CRASHING_AFTER: u32 = 3;

#[derive(Default)]
pub struct Registry {
    slots: RwLock<BTreeMap<BotName, BotSlot>>,
}

impl Registry {
    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<BotName, BotSlot>) -> R) -> R {
        // A poisoned lock means a panic while holding it; the map itself is
        // always left consistent, so carry on with it.
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        f(&mut slots)
    }

    /// Makes sure every expected bot has a slot (as `missing` until loaded).
    pub fn expect(&self, names: impl IntoIterator<Item = BotName>) {
        self.with(|slots| {
            for name in names {
                slots
                    .entry(name.clone())
                    .or_insert_with(|| BotSlot::missing(name));
            }
        });
    }

    /// Swaps in a newly loaded version; in-flight invocations keep the `Arc`
    /// of the old one and finish on it.
    pub fn install(&self, bot: LoadedBot, now: Timestamp) {
        self.with(|slots| {
            let slot = slots
                .entry(bot.name.clone())
                .or_insert_with(|| BotSlot::missing(bot.name.clone()));
            slot.loaded = Some(Arc::new(bot));
            slot.status = BotStatus::Running;
            slot.loaded_at = Some(now);
            slot.consecutive_failures = 0;
            slot.last_error = None;
        });
    }

    /// Records a refused file. A bot that was running keeps running its
    /// previous version.
    pub fn refuse(&self, name: &BotName, error: String) {
        self.with(|slots| {
            let slot = slots
                .entry(name.clone())
                .or_insert_with(|| BotSlot::missing(name.clone()));
            if slot.loaded.is_none() {
                slot.status = BotStatus::Refused;
            }
            slot.last_error = Some(error);
        });
    }

    pub fn get(&self, name: &BotName) -> Option<Arc<LoadedBot>> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        slots.get(name).and_then(|s| s.loaded.clone())
    }

    pub fn succeeded(&self, name: &BotName) {
        self.with(|slots| {
            if let Some(slot) = slots.get_mut(name) {
                slot.consecutive_failures = 0;
                if slot.status == BotStatus::Crashing {
                    slot.status = BotStatus::Running;
                }
            }
        });
    }

    pub fn failed(&self, name: &BotName, error: &str) {
        self.with(|slots| {
            if let Some(slot) = slots.get_mut(name) {
                slot.consecutive_failures += 1;
                slot.last_error = Some(error.to_string());
                if slot.consecutive_failures >= CRASHING_AFTER && slot.loaded.is_some() {
                    slot.status = BotStatus::Crashing;
                }
            }
        });
    }

    /// Every slot, by name.
    pub fn snapshot(&self) -> Vec<BotSlot> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        slots.values().cloned().collect()
    }
}
