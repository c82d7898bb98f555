//! Metaservice manifests (`<name>.metaservice.toml`): parsing and every
//! check, each refusal naming the file, the line and the problem; timing
//! settings in `settings.rs`, actions and editable fields in `people.rs`.
//!
//! ```toml
//! name = "wca"
//! error_group = "wst"
//! groups = ["wrt"]                      # the groups its bots may address
//!
//! egress = ["api.example.org"]          # hosts (and :port, default 443) its bots may call
//! [limits]                              # per-invocation overrides
//! deadline_ms = 2000
//!
//! [ticket_types.edit_person]
//! initial = 1                           # default: the first state listed
//! transitions = [[1, 2, 4], [2, 3, 4]]  # from, normal next, alternatives...
//! metadata_schema = "edit_person.schema.json"   # or an inline table
//! states = [
//!   { code = 1, name = "open" },
//!   { code = 2, name = "in_review" },
//!   { code = 3, name = "approved", terminal = true },
//!   { code = 4, name = "rejected", terminal = true },
//! ]
//! [ticket_types.edit_person.settings]
//! lifetime = "14d"                      # per state: `lifetime = "1h"` in a state
//! [[ticket_types.edit_person.editable]] # metadata people may change (bots: any)
//! fields = ["changes"]                  # top-level fields
//! states = [1]                          # default: every non-terminal state
//! by = ["requester"]                    # connections or roles; admins always
//!
//! [config]                              # free-form, read by bots (`get-config`)
//! review_group = "wrt"
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;
use toml::Spanned;

use super::catalog::{
    BUILTIN_METASERVICE, LimitOverrides, MAX_MEMORY_MIB, Metaservice, StateDef, TicketType,
    TypeSettings,
};
use super::ticket::is_identifier;

mod people;
mod settings;

/// The suffix that marks a manifest in the bots directory.
pub const MANIFEST_SUFFIX: &str = ".metaservice.toml";

/// A refused manifest: where, and why.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{file}:{line}: {message}")]
pub struct ManifestError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Reads a schema file named by the manifest, relative to it.
pub type SchemaReader<'a> = &'a dyn Fn(&str) -> Result<String, String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    error_group: Spanned<String>,
    #[serde(default)]
    groups: Vec<Spanned<String>>,
    #[serde(default)]
    egress: Vec<Spanned<String>>,
    limits: Option<Spanned<LimitOverrides>>,
    config: Option<toml::Table>,
    #[serde(default)]
    ticket_types: BTreeMap<Spanned<String>, RawType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawType {
    #[serde(default)]
    description: String,
    initial: Option<Spanned<u32>>,
    transitions: Spanned<Vec<Spanned<Vec<u32>>>>,
    states: Spanned<Vec<Spanned<RawState>>>,
    metadata_schema: Option<Spanned<RawSchema>>,
    settings: Option<Spanned<RawSettings>>,
    #[serde(default)]
    editable: Vec<Spanned<RawEditRule>>,
}

/// `[[ticket_types.X.editable]]`: metadata fields people may change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEditRule {
    fields: Vec<String>,
    #[serde(default)]
    states: Vec<u32>,
    by: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSchema {
    File(String),
    Inline(toml::Table),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    code: u32,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    terminal: bool,
    #[serde(default)]
    actions: Vec<RawAction>,
    lifetime: Option<String>,
    notify_every: Option<String>,
    notify_repeats: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    name: String,
    #[serde(default)]
    description: String,
    allowed: Vec<String>,
    payload_schema: Option<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    lifetime: Option<String>,
    notify_every: Option<String>,
    notify_repeats: Option<u32>,
    retention: Option<String>,
    on_retention: Option<String>,
}

/// Turns byte offsets into line numbers and errors.
struct Source<'a> {
    file: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> ManifestError {
        let start = span.start.min(self.text.len());
        ManifestError {
            file: self.file.to_string(),
            line: self.text[..start].matches('\n').count() + 1,
            message: message.into(),
        }
    }
}

/// Parses and checks one manifest. `file` names it in errors.
pub fn parse(
    file: &str,
    text: &str,
    read_schema: SchemaReader<'_>,
) -> Result<Metaservice, ManifestError> {
    let src = Source { file, text };
    let raw: RawManifest = toml::from_str(text)
        .map_err(|e| src.err(e.span().unwrap_or(0..0), e.message().trim().to_string()))?;

    let name = raw.name.get_ref();
    if !is_identifier(name) {
        return Err(src.err(
            raw.name.span(),
            format!("metaservice name {name:?} must be lowercase letters, digits and '_' (no '-')"),
        ));
    }
    if name == BUILTIN_METASERVICE {
        return Err(src.err(
            raw.name.span(),
            "the name \"baton\" is reserved for Baton itself",
        ));
    }
    if raw.error_group.get_ref().trim().is_empty() {
        return Err(src.err(raw.error_group.span(), "error_group must name a group"));
    }
    if raw.ticket_types.is_empty() {
        return Err(src.err(0..0, "the manifest declares no ticket types"));
    }

    let mut groups = vec![raw.error_group.get_ref().clone()];
    for g in &raw.groups {
        if !is_identifier(g.get_ref()) {
            return Err(src.err(
                g.span(),
                format!(
                    "group {:?} must be lowercase letters, digits and '_'",
                    g.get_ref()
                ),
            ));
        }
        if !groups.contains(g.get_ref()) {
            groups.push(g.get_ref().clone());
        }
    }

    let mut egress = Vec::new();
    for entry in &raw.egress {
        let rule = super::egress::EgressRule::parse(entry.get_ref())
            .map_err(|e| src.err(entry.span(), e))?;
        egress.push(rule);
    }
    let limits = match raw.limits {
        Some(l) => {
            let at = l.span();
            let l = l.into_inner();
            if l.memory_mib.is_some_and(|m| m == 0 || m > MAX_MEMORY_MIB) {
                return Err(src.err(
                    at,
                    format!("limits.memory_mib must be 1 to {MAX_MEMORY_MIB}"),
                ));
            }
            if l.deadline_ms == Some(0) {
                return Err(src.err(at, "limits.deadline_ms must be at least 1"));
            }
            l
        }
        None => LimitOverrides::default(),
    };

    let mut ticket_types = BTreeMap::new();
    for (type_name, raw_type) in raw.ticket_types {
        let tt = parse_type(&src, &type_name, raw_type, read_schema)?;
        ticket_types.insert(tt.name.clone(), tt);
    }
    Ok(Metaservice {
        name: name.clone(),
        description: raw.description,
        error_group: raw.error_group.into_inner(),
        groups,
        ticket_types,
        egress,
        limits,
        source: file.to_string(),
        builtin: false,
        config: serde_json::to_value(raw.config.unwrap_or_default())
            .map_err(|e| src.err(0..0, format!("config: {e}")))?,
    })
}

fn parse_type(
    src: &Source<'_>,
    name: &Spanned<String>,
    raw: RawType,
    read_schema: SchemaReader<'_>,
) -> Result<TicketType, ManifestError> {
    let type_name = name.get_ref();
    if !is_identifier(type_name) {
        return Err(src.err(
            name.span(),
            format!("ticket type {type_name:?} must be lowercase letters, digits and '_' (no '-')"),
        ));
    }

    let states = parse_states(src, type_name, &raw.states)?;
    if states.is_empty() {
        return Err(src.err(raw.states.span(), format!("{type_name}: no states")));
    }
    let transitions = parse_transitions(src, type_name, &raw.transitions, &states)?;

    for state in states.values().filter(|s| !s.terminal) {
        if !transitions.contains_key(&state.code) {
            return Err(src.err(
                raw.transitions.span(),
                format!(
                    "{type_name}: state {} {} is not terminal, but no transition leaves it \
                     (add a row [{}, ...] or mark it terminal)",
                    state.code, state.name, state.code
                ),
            ));
        }
    }

    let initial = match &raw.initial {
        Some(code) => (*code.get_ref(), code.span()),
        None => {
            let first = raw.states.get_ref().first().map(|s| s.get_ref().code);
            (first.unwrap_or_default(), raw.states.span())
        }
    };
    match states.get(&initial.0) {
        None => {
            return Err(src.err(
                initial.1,
                format!("{type_name}: initial state {} is unknown", initial.0),
            ));
        }
        Some(s) if s.terminal => {
            return Err(src.err(
                initial.1,
                format!(
                    "{type_name}: initial state {} {} is terminal",
                    s.code, s.name
                ),
            ));
        }
        Some(_) => {}
    }

    let (metadata_schema, validator) =
        parse_schema(src, type_name, raw.metadata_schema, read_schema)?;
    let settings = match raw.settings {
        Some(s) => settings::parse_settings(src, type_name, s)?,
        None => TypeSettings::default(),
    };
    let editable = raw
        .editable
        .into_iter()
        .map(|rule| people::parse_edit_rule(src, type_name, rule, &states))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(TicketType {
        name: type_name.clone(),
        description: raw.description,
        initial: initial.0,
        states,
        transitions,
        metadata_schema,
        validator,
        settings,
        editable,
    })
}

fn parse_states(
    src: &Source<'_>,
    type_name: &str,
    raw: &Spanned<Vec<Spanned<RawState>>>,
) -> Result<BTreeMap<u32, StateDef>, ManifestError> {
    let mut states = BTreeMap::new();
    let mut names = BTreeSet::new();
    for spanned in raw.get_ref() {
        let s = spanned.get_ref();
        let at = spanned.span();
        if !is_identifier(&s.name) {
            return Err(src.err(
                at,
                format!("{type_name}: state name {:?} must be lowercase letters, digits and '_' (no '-')", s.name),
            ));
        }
        if states.contains_key(&s.code) {
            return Err(src.err(at, format!("{type_name}: duplicate state code {}", s.code)));
        }
        if !names.insert(s.name.clone()) {
            return Err(src.err(
                at,
                format!("{type_name}: duplicate state name {:?}", s.name),
            ));
        }
        let actions = people::parse_actions(src, type_name, s, at.clone())?;
        let overrides = settings::state_overrides(src, type_name, s, at)?;
        states.insert(
            s.code,
            StateDef {
                code: s.code,
                name: s.name.clone(),
                description: s.description.clone(),
                terminal: s.terminal,
                actions,
                overrides,
            },
        );
    }
    Ok(states)
}

fn parse_transitions(
    src: &Source<'_>,
    type_name: &str,
    raw: &Spanned<Vec<Spanned<Vec<u32>>>>,
    states: &BTreeMap<u32, StateDef>,
) -> Result<BTreeMap<u32, Vec<u32>>, ManifestError> {
    let mut transitions = BTreeMap::new();
    for row in raw.get_ref() {
        let at = row.span();
        let Some((from, to)) = row.get_ref().split_first() else {
            return Err(src.err(at, format!("{type_name}: an empty transition row")));
        };
        if to.is_empty() {
            return Err(src.err(
                at,
                format!("{type_name}: transition row [{from}] names no next state"),
            ));
        }
        for code in row.get_ref() {
            if !states.contains_key(code) {
                return Err(src.err(
                    at,
                    format!("{type_name}: transition names unknown state {code}"),
                ));
            }
        }
        if states[from].terminal {
            return Err(src.err(
                at,
                format!(
                    "{type_name}: state {from} {} is terminal; no transition may leave it",
                    states[from].name
                ),
            ));
        }
        let mut seen = BTreeSet::new();
        for code in to {
            if *code == *from {
                return Err(src.err(
                    at,
                    format!("{type_name}: state {from} cannot move to itself"),
                ));
            }
            if !seen.insert(*code) {
                return Err(src.err(
                    at,
                    format!("{type_name}: state {code} is listed twice after {from}"),
                ));
            }
        }
        if transitions.insert(*from, to.to_vec()).is_some() {
            return Err(src.err(
                at,
                format!("{type_name}: a second transition row for state {from}"),
            ));
        }
    }
    Ok(transitions)
}

fn parse_schema(
    src: &Source<'_>,
    type_name: &str,
    raw: Option<Spanned<RawSchema>>,
    read_schema: SchemaReader<'_>,
) -> Result<(Value, Arc<jsonschema::Validator>), ManifestError> {
    let (schema, at) = match raw {
        // Without a schema, metadata must still be a JSON object.
        None => (serde_json::json!({"type": "object"}), 0..0),
        Some(spanned) => {
            let at = spanned.span();
            let value = match spanned.into_inner() {
                RawSchema::Inline(table) => serde_json::to_value(table).map_err(|e| {
                    src.err(at.clone(), format!("{type_name}: metadata_schema: {e}"))
                })?,
                RawSchema::File(path) => {
                    let text = read_schema(&path).map_err(|e| {
                        src.err(
                            at.clone(),
                            format!("{type_name}: metadata_schema {path:?}: {e}"),
                        )
                    })?;
                    serde_json::from_str(&text).map_err(|e| {
                        src.err(
                            at.clone(),
                            format!("{type_name}: metadata_schema {path:?} is not JSON: {e}"),
                        )
                    })?
                }
            };
            (value, at)
        }
    };
    let validator = jsonschema::validator_for(&schema).map_err(|e| {
        src.err(
            at,
            format!("{type_name}: metadata_schema is not a valid JSON Schema: {e}"),
        )
    })?;
    Ok((schema, Arc::new(validator)))
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
