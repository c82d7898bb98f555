//! Settings changed through the admin API: the catalog in force takes
//! them at once, and the tickets already waiting follow. Their lifetime and
//! reminder timers are re-timed, dropped or started in the database, so the
//! change does not wait for each ticket's next move.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ChangeError, Engine};
use crate::model::catalog::OnRetention;
use crate::model::{TypeSettings, duration};
use crate::store::{SettingsChange, StoreError, TimerKind};

/// A change to a ticket type's settings: `None` keeps a value, `Some(None)`
/// clears a duration, `Some(Some("14d"))` sets it.
#[derive(Debug, Clone, Default)]
pub struct SettingsPatch {
    pub lifetime: Option<Option<String>>,
    pub notify_every: Option<Option<String>>,
    pub notify_repeats: Option<u32>,
    pub retention: Option<Option<String>>,
    /// `archive` or `delete`.
    pub on_retention: Option<String>,
}

/// Settings as the API shows them and the history keeps them.
pub fn settings_json(s: &TypeSettings) -> Value {
    json!({
        "lifetime": s.lifetime.map(duration::format),
        "notify_every": s.notify_every.map(duration::format),
        "notify_repeats": s.notify_repeats,
        "retention": s.retention.map(duration::format),
        "on_retention": s.on_retention.as_str(),
    })
}

fn patched(current: &TypeSettings, patch: SettingsPatch) -> Result<TypeSettings, ChangeError> {
    let parse = |key: &str, v: Option<Option<String>>, old| match v {
        None => Ok(old),
        Some(None) => Ok(None),
        Some(Some(text)) => duration::parse(&text)
            .map(Some)
            .map_err(|e| ChangeError::Invalid(format!("{key}: {e}"))),
    };
    let new = TypeSettings {
        lifetime: parse("lifetime", patch.lifetime, current.lifetime)?,
        notify_every: parse("notify_every", patch.notify_every, current.notify_every)?,
        notify_repeats: patch.notify_repeats.unwrap_or(current.notify_repeats),
        retention: parse("retention", patch.retention, current.retention)?,
        on_retention: match patch.on_retention.as_deref() {
            None => current.on_retention,
            Some("archive") => OnRetention::Archive,
            Some("delete") => OnRetention::Delete,
            Some(other) => {
                return Err(ChangeError::Invalid(format!(
                    "on_retention: {other:?} is neither \"archive\" nor \"delete\""
                )));
            }
        },
    };
    new.check().map_err(ChangeError::Invalid)?;
    Ok(new)
}

impl Engine {
    /// An admin's change to a ticket type's settings (the caller checks
    /// that `user` is an admin): validated, kept in the change history,
    /// and put in force for the tickets already waiting too.
    pub async fn change_settings(
        &self,
        metaservice: &str,
        ticket_type: &str,
        user: i64,
        patch: SettingsPatch,
    ) -> Result<TypeSettings, ChangeError> {
        let catalog = self.catalog();
        let current = catalog
            .ticket_type(metaservice, ticket_type)
            .ok_or_else(|| {
                ChangeError::NotFound(format!("no ticket type {metaservice}/{ticket_type}"))
            })?
            .settings
            .clone();
        let new = patched(&current, patch)?;
        let change = SettingsChange {
            metaservice: metaservice.to_string(),
            ticket_type: ticket_type.to_string(),
            user_id: user,
            old: settings_json(&current),
            new: settings_json(&new),
        };
        self.store.set_settings(&change, self.clock.now()).await?;
        self.settings_changed(metaservice, ticket_type, new.clone())
            .await?;
        tracing::info!(by = user, metaservice, ticket_type, old = %change.old, new = %change.new, "settings changed");
        Ok(new)
    }

    /// Puts new settings for one ticket type into the catalog in force;
    /// tickets already waiting see them at their next timer.
    pub fn apply_settings(&self, metaservice: &str, ticket_type: &str, settings: TypeSettings) {
        let mut guard = self.catalog.write().unwrap_or_else(|e| e.into_inner());
        let mut catalog = (**guard).clone();
        if catalog.set_settings(metaservice, ticket_type, settings) {
            *guard = Arc::new(catalog);
        }
    }

    /// Puts an admin's new settings in force, also for tickets already in
    /// a state: their lifetimes are re-timed, counted from when they
    /// entered it; their next reminders from the last one sent, and the
    /// number still to come follows a new `notify_repeats`; a lifetime or
    /// reminders switched on start for them as if set when they entered.
    /// States with a value of their own in the manifest keep it.
    pub async fn settings_changed(
        &self,
        metaservice: &str,
        ticket_type: &str,
        settings: TypeSettings,
    ) -> Result<(), StoreError> {
        let lifetime_ms = settings.lifetime.map(duration::millis);
        let before = self.catalog();
        let Some(old) = before.ticket_type(metaservice, ticket_type) else {
            return Ok(());
        };
        let repeats_delta =
            i64::from(settings.notify_repeats) - i64::from(old.settings.notify_repeats);
        self.apply_settings(metaservice, ticket_type, settings);
        let catalog = self.catalog();
        let Some(tt) = catalog.ticket_type(metaservice, ticket_type) else {
            return Ok(());
        };
        // States that set a value of their own in the manifest keep it.
        for s in tt.states.values().filter(|s| !s.terminal) {
            let state = (metaservice, ticket_type, s.code);
            let in_force = tt.settings_in(s.code);
            if s.overrides.lifetime.is_none() {
                self.store.retime_lifetimes(state, lifetime_ms).await?;
            }
            let own = &s.overrides;
            if own.notify_every.is_none() || own.notify_repeats.is_none() {
                let every = in_force.notify_every.map(duration::millis);
                let delta = if own.notify_repeats.is_none() {
                    repeats_delta
                } else {
                    0
                };
                self.store.retime_reminders(state, every, delta).await?;
            }
            // After the re-timing, which must not touch the new timers.
            self.start_missing_timers(state, &old.settings_in(s.code), &in_force)
                .await?;
        }
        self.poke();
        self.store.announce(crate::store::Signal::Settings);
        Ok(())
    }

    /// Reads the settings changed through the admin API again, after
    /// another node changed some: its timers are already re-timed in the
    /// database, only the catalog in force here must follow.
    pub(super) async fn reload_settings(&self) {
        let mut catalog = (*self.catalog()).clone();
        match self.stored_settings_into(&mut catalog).await {
            Ok(()) => self.set_catalog(catalog),
            Err(e) => tracing::error!("reading settings changed on another node failed: {e}"),
        }
    }

    /// A lifetime or reminders that were off in a state and are now on:
    /// the tickets already there get them, counted from when they entered.
    async fn start_missing_timers(
        &self,
        state: (&str, &str, u32),
        old: &TypeSettings,
        new: &TypeSettings,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        if let (None, Some(lifetime)) = (old.lifetime, new.lifetime) {
            let after = duration::millis(lifetime);
            self.store
                .start_timers(TimerKind::Lifetime, state, after, 0, now)
                .await?;
        }
        let reminded = |s: &TypeSettings| s.notify_every.is_some() && s.notify_repeats > 0;
        if !reminded(old)
            && let (true, Some(every)) = (reminded(new), new.notify_every)
        {
            let after = duration::millis(every);
            let left = new.notify_repeats - 1;
            self.store
                .start_timers(TimerKind::Reminder, state, after, left, now)
                .await?;
        }
        Ok(())
    }
}
