//! Timing in a manifest: a ticket type's `[settings]` and the overrides a
//! non-terminal state may set, durations checked with their line.

use std::ops::Range;

use toml::Spanned;

use super::{ManifestError, RawSettings, RawState, Source};
use crate::model::catalog::{OnRetention, StateOverrides, TypeSettings, check_timing};
use crate::model::duration;

pub(super) fn parse_settings(
    src: &Source<'_>,
    type_name: &str,
    raw: Spanned<RawSettings>,
) -> Result<TypeSettings, ManifestError> {
    let at = raw.span();
    let raw = raw.into_inner();
    let dur = |key: &str, v: &Option<String>| {
        v.as_deref()
            .map(duration::parse)
            .transpose()
            .map_err(|e| src.err(at.clone(), format!("{type_name}: settings.{key}: {e}")))
    };
    let on_retention = match raw.on_retention.as_deref() {
        None | Some("archive") => OnRetention::Archive,
        Some("delete") => OnRetention::Delete,
        Some(other) => {
            return Err(src.err(
                at,
                format!(
                    "{type_name}: settings.on_retention is {other:?}; use \"archive\" or \"delete\""
                ),
            ));
        }
    };
    let settings = TypeSettings {
        lifetime: dur("lifetime", &raw.lifetime)?,
        notify_every: dur("notify_every", &raw.notify_every)?,
        notify_repeats: raw.notify_repeats.unwrap_or(0),
        retention: dur("retention", &raw.retention)?,
        on_retention,
    };
    settings
        .check()
        .map_err(|e| src.err(at, format!("{type_name}: settings: {e}")))?;
    Ok(settings)
}

/// A state's own `lifetime`, `notify_every` and `notify_repeats`; refused
/// on a terminal state, where a closed ticket has no timers.
pub(super) fn state_overrides(
    src: &Source<'_>,
    type_name: &str,
    s: &RawState,
    at: Range<usize>,
) -> Result<StateOverrides, ManifestError> {
    let dur = |key: &str, v: &Option<String>| {
        v.as_deref().map(duration::parse).transpose().map_err(|e| {
            src.err(
                at.clone(),
                format!("{type_name}: state {}: {key}: {e}", s.name),
            )
        })
    };
    if s.terminal
        && (s.lifetime.is_some() || s.notify_every.is_some() || s.notify_repeats.is_some())
    {
        return Err(src.err(
            at,
            format!(
                "{type_name}: state {} is terminal: a closed ticket has no lifetime or reminders",
                s.name
            ),
        ));
    }
    let overrides = StateOverrides {
        lifetime: dur("lifetime", &s.lifetime)?,
        notify_every: dur("notify_every", &s.notify_every)?,
        notify_repeats: s.notify_repeats,
    };
    check_timing(
        overrides.lifetime,
        overrides.notify_every,
        overrides.notify_repeats,
    )
    .map_err(|e| src.err(at, format!("{type_name}: state {}: {e}", s.name)))?;
    Ok(overrides)
}
