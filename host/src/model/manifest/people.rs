//! What people may do in a manifest's ticket types: the actions a state
//! offers them (`[[…states.actions]]`) and the metadata fields they may
//! edit (`[[…editable]]`), each checked with its line.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use toml::Spanned;

use super::{ManifestError, RawEditRule, RawState, Source};
use crate::model::catalog::{ACTION_PRINCIPALS, ActionDef, EditRule, StateDef};
use crate::model::ticket::is_identifier;

pub(super) fn parse_actions(
    src: &Source<'_>,
    type_name: &str,
    state: &RawState,
    at: Range<usize>,
) -> Result<Vec<ActionDef>, ManifestError> {
    let mut actions: Vec<ActionDef> = Vec::new();
    for raw in &state.actions {
        let what = format!("{type_name}: state {} action {:?}", state.name, raw.name);
        if !is_identifier(&raw.name) {
            return Err(src.err(
                at,
                format!("{what}: names are lowercase letters, digits and '_'"),
            ));
        }
        if state.terminal {
            return Err(src.err(at, format!("{what}: a terminal state has no bot to act")));
        }
        if actions.iter().any(|a| a.name == raw.name) {
            return Err(src.err(at, format!("{what} is declared twice")));
        }
        if raw.allowed.is_empty() {
            return Err(src.err(
                at,
                format!("{what}: `allowed` names no one (use {ACTION_PRINCIPALS:?})"),
            ));
        }
        if let Some(bad) = raw
            .allowed
            .iter()
            .find(|a| !ACTION_PRINCIPALS.contains(&a.as_str()))
        {
            return Err(src.err(
                at,
                format!("{what}: {bad:?} is not one of {ACTION_PRINCIPALS:?}"),
            ));
        }
        // Without a schema, any JSON payload is accepted.
        let schema = match &raw.payload_schema {
            Some(table) => serde_json::to_value(table)
                .map_err(|e| src.err(at.clone(), format!("{what}: {e}")))?,
            None => serde_json::json!({}),
        };
        let validator = jsonschema::validator_for(&schema).map_err(|e| {
            src.err(
                at.clone(),
                format!("{what}: payload_schema is not a valid JSON Schema: {e}"),
            )
        })?;
        actions.push(ActionDef {
            name: raw.name.clone(),
            description: raw.description.clone(),
            allowed: raw.allowed.clone(),
            payload_schema: schema,
            validator: Arc::new(validator),
        });
    }
    Ok(actions)
}

/// One `editable` rule: named top-level fields, existing non-terminal
/// states (none listed: all of them), and who (connections or roles).
pub(super) fn parse_edit_rule(
    src: &Source<'_>,
    type_name: &str,
    raw: Spanned<RawEditRule>,
    states: &BTreeMap<u32, StateDef>,
) -> Result<EditRule, ManifestError> {
    let at = raw.span();
    let raw = raw.into_inner();
    let what = format!("{type_name}: editable");
    if raw.fields.is_empty() || raw.fields.iter().any(|f| f.trim().is_empty()) {
        return Err(src.err(at, format!("{what}: `fields` names the metadata fields")));
    }
    if raw.by.is_empty() {
        return Err(src.err(
            at,
            format!("{what}: `by` names no one (use {ACTION_PRINCIPALS:?})"),
        ));
    }
    if let Some(bad) = raw
        .by
        .iter()
        .find(|b| !ACTION_PRINCIPALS.contains(&b.as_str()))
    {
        return Err(src.err(
            at,
            format!("{what}: {bad:?} is not one of {ACTION_PRINCIPALS:?}"),
        ));
    }
    for code in &raw.states {
        match states.get(code) {
            None => return Err(src.err(at, format!("{what}: unknown state {code}"))),
            Some(s) if s.terminal => {
                return Err(src.err(
                    at,
                    format!(
                        "{what}: state {code} {} is terminal: closed tickets are read-only",
                        s.name
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(EditRule {
        fields: raw.fields,
        states: raw.states,
        by: raw.by,
    })
}
