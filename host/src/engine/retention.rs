//! The retention sweeper: closed tickets older than their type's
//! `retention` are archived (a complete JSON document, kept and readable by
//! admins) or deleted, per `on_retention`; a batch per transaction.

use super::Engine;
use crate::model::catalog::OnRetention;

/// Tickets retired per transaction.
const BATCH: u32 = 100;

impl Engine {
    /// One retention pass over every ticket type with a `retention`;
    /// returns how many tickets were retired.
    pub async fn retain(&self) -> u64 {
        let catalog = self.catalog();
        let mut total = 0;
        for ms in catalog.metaservices() {
            for tt in ms.ticket_types.values() {
                let Some(retention) = tt.settings.retention else {
                    continue;
                };
                let archive = tt.settings.on_retention == OnRetention::Archive;
                let cutoff = self
                    .clock
                    .now()
                    .saturating_sub(crate::model::duration::millis(retention));
                loop {
                    let ids = match self.store.expired(&ms.name, &tt.name, cutoff, BATCH).await {
                        Ok(ids) => ids,
                        Err(e) => {
                            tracing::error!(metaservice = %ms.name, ticket_type = %tt.name, "retention: {e}");
                            break;
                        }
                    };
                    if ids.is_empty() {
                        break;
                    }
                    match self.store.retire(&ids, archive, self.clock.now()).await {
                        Ok(n) => total += n,
                        Err(e) => {
                            tracing::error!(metaservice = %ms.name, ticket_type = %tt.name, "retention: {e}");
                            break;
                        }
                    }
                    if (ids.len() as u32) < BATCH {
                        break;
                    }
                }
            }
        }
        if total > 0 {
            tracing::info!(
                tickets = total,
                "retention: closed tickets archived or deleted"
            );
            self.poke();
        }
        total
    }
}
