//! The memory limiter of a bot's store: the limits of `StoreLimits`, and a
//! record of the most memory the bot held and of a growth refused, so that
//! loading can report a bot's memory floor (what it needs just to start:
//! about 12 MiB for Python, 9 MiB for JavaScript, under 1 MiB for Rust)
//! and refuse, with that reason, a bot whose floor is above its
//! metaservice's limit.

use wasmtime::{ResourceLimiter, StoreLimits};

pub struct Metered {
    limits: StoreLimits,
    /// The largest linear memory the bot held, in bytes.
    pub peak: usize,
    /// A memory size the limits refused, in bytes.
    pub refused: Option<usize>,
}

impl Metered {
    pub fn new(limits: StoreLimits) -> Self {
        Metered {
            limits,
            peak: 0,
            refused: None,
        }
    }
}

impl ResourceLimiter for Metered {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.peak = self.peak.max(desired);
        } else {
            self.refused = Some(self.refused.map_or(desired, |r| r.max(desired)));
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}
