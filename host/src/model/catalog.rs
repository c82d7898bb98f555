//! The catalog: every metaservice, ticket type and state that the
//! manifests declare, validated, plus Baton's own `baton` metaservice.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::ticket::BotName;

/// Everything the manifests declare, keyed by metaservice name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    metaservices: BTreeMap<String, Arc<Metaservice>>,
}

/// The built-in metaservice that holds error tickets.
pub const BUILTIN_METASERVICE: &str = "baton";
/// Its one ticket type.
pub const ERROR_TYPE: &str = "error";

impl Catalog {
    /// A catalog with the built-in `baton` metaservice and the given ones.
    pub fn new(metaservices: impl IntoIterator<Item = Metaservice>) -> Self {
        let mut map = BTreeMap::new();
        let builtin = builtin_metaservice();
        map.insert(builtin.name.clone(), Arc::new(builtin));
        for ms in metaservices {
            map.insert(ms.name.clone(), Arc::new(ms));
        }
        Catalog { metaservices: map }
    }

    pub fn metaservice(&self, name: &str) -> Option<&Arc<Metaservice>> {
        self.metaservices.get(name)
    }

    pub fn metaservices(&self) -> impl Iterator<Item = &Arc<Metaservice>> {
        self.metaservices.values()
    }

    pub fn ticket_type(&self, metaservice: &str, ticket_type: &str) -> Option<&TicketType> {
        self.metaservice(metaservice)?.ticket_types.get(ticket_type)
    }

    /// Replaces one ticket type's settings (an admin's change, or one read
    /// back from the database at start); `false` if there is no such type.
    pub fn set_settings(
        &mut self,
        metaservice: &str,
        ticket_type: &str,
        settings: TypeSettings,
    ) -> bool {
        let Some(ms) = self.metaservices.get_mut(metaservice) else {
            return false;
        };
        match Arc::make_mut(ms).ticket_types.get_mut(ticket_type) {
            Some(tt) => {
                tt.settings = settings;
                true
            }
            None => false,
        }
    }

    /// The bots the manifests call for: one per non-terminal state of every
    /// ticket type that bots serve.
    pub fn expected_bots(&self) -> Vec<BotName> {
        let mut bots = Vec::new();
        for ms in self.metaservices.values().filter(|ms| !ms.builtin) {
            for tt in ms.ticket_types.values() {
                for state in tt.states.values().filter(|s| !s.terminal) {
                    bots.push(BotName::new(&ms.name, &tt.name, state.code, &state.name));
                }
            }
        }
        bots
    }
}

/// A metaservice: a family of ticket types and the bots that serve them.
#[derive(Debug, Clone)]
pub struct Metaservice {
    pub name: String,
    pub description: String,
    /// The group that receives this metaservice's error tickets.
    pub error_group: String,
    /// The groups its bots may address (request acceptance from, notify,
    /// name as stakeholders, assign members of): the manifest's `groups`
    /// and its `error_group`. A bot sees people only through these and its
    /// tickets' stakeholders.
    pub groups: Vec<String>,
    pub ticket_types: BTreeMap<String, TicketType>,
    /// Hosts and ports its bots may reach over HTTP (see
    /// [`super::egress`]). Empty: no outgoing HTTP at all.
    pub egress: Vec<super::egress::EgressRule>,
    /// Per-invocation limits that override the host's defaults.
    pub limits: LimitOverrides,
    /// Where it was declared, for messages.
    pub source: String,
    /// Baton's own: its tickets are handled by the host and by people, and
    /// no bots are expected for it.
    pub builtin: bool,
    /// The manifest's `[config]` table as a JSON object: the metaservice's
    /// own knobs (group names, URLs) that its bots read through
    /// `settings.get-config`, so that changing them needs no rebuild.
    pub config: Value,
}

/// A ticket type: its states, transitions, metadata schema and settings.
#[derive(Debug, Clone)]
pub struct TicketType {
    pub name: String,
    pub description: String,
    /// The state new tickets start in.
    pub initial: u32,
    pub states: BTreeMap<u32, StateDef>,
    /// From-state → next states, the normal one first (the seed's notation
    /// `[[1,2],[2,3],[3,4,5]]` without the leading code).
    pub transitions: BTreeMap<u32, Vec<u32>>,
    pub metadata_schema: Value,
    pub validator: Arc<jsonschema::Validator>,
    pub settings: TypeSettings,
    /// The metadata fields people may change; every other field is
    /// written by the bots alone.
    pub editable: Vec<EditRule>,
}

/// Top-level metadata `fields` that holders of a connection or role in
/// `by` may change through the API while the ticket is in one of `states`
/// (empty: any non-terminal state). Admins may change the fields of every
/// rule, in any open state; no person changes a field no rule names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRule {
    pub fields: Vec<String>,
    pub states: Vec<u32>,
    pub by: Vec<String>,
}

impl EditRule {
    pub fn covers(&self, field: &str, state: u32) -> bool {
        self.fields.iter().any(|f| f == field)
            && (self.states.is_empty() || self.states.contains(&state))
    }
}

impl TicketType {
    pub fn state(&self, code: u32) -> Option<&StateDef> {
        self.states.get(&code)
    }

    /// The settings in force in one state: the type's, with what the state
    /// overrides.
    pub fn settings_in(&self, code: u32) -> TypeSettings {
        let mut s = self.settings.clone();
        if let Some(o) = self.state(code).map(|st| &st.overrides) {
            s.lifetime = o.lifetime.or(s.lifetime);
            s.notify_every = o.notify_every.or(s.notify_every);
            s.notify_repeats = o.notify_repeats.unwrap_or(s.notify_repeats);
        }
        s
    }

    /// Checks metadata against the type's schema; the error lists every
    /// violation with its JSON path.
    pub fn validate_metadata(&self, metadata: &Value) -> Result<(), String> {
        let problems: Vec<String> = self
            .validator
            .iter_errors(metadata)
            .map(|e| {
                let path = e.instance_path().to_string();
                let path = if path.is_empty() {
                    "/".to_string()
                } else {
                    path
                };
                format!("{path}: {e}")
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// A metaservice's `[limits]`: each field that is set replaces the host's
/// default for that metaservice's bots.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    pub deadline_ms: Option<u64>,
    pub memory_mib: Option<u32>,
    pub max_host_calls: Option<u32>,
    pub max_tickets_created: Option<u32>,
    pub max_log_bytes: Option<usize>,
    pub max_output_bytes: Option<usize>,
    pub tickets_per_minute: Option<u32>,
    pub max_open_tickets: Option<u32>,
    pub max_pending_events: Option<u32>,
    pub max_timers: Option<u32>,
    pub max_child_depth: Option<u32>,
}

/// The most memory a metaservice may give its bots, in MiB. The host
/// reserves instance slots of this size, so it is a ceiling, not a default.
pub const MAX_MEMORY_MIB: u32 = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDef {
    pub code: u32,
    pub name: String,
    pub description: String,
    pub terminal: bool,
    /// The buttons people may press in this state (`POST …/actions/{name}`).
    pub actions: Vec<ActionDef>,
    /// Settings of the type that this state replaces.
    pub overrides: StateOverrides,
}

/// A state's own `lifetime`, `notify_every` and `notify_repeats`: e.g. a
/// state where a bot works needs an hour, one where people review needs
/// weeks. Unset fields follow the type's settings, including an admin's
/// later changes to them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateOverrides {
    pub lifetime: Option<Duration>,
    pub notify_every: Option<Duration>,
    pub notify_repeats: Option<u32>,
}

impl StateDef {
    pub fn action(&self, name: &str) -> Option<&ActionDef> {
        self.actions.iter().find(|a| a.name == name)
    }
}

/// A human action a state accepts, e.g. "approve".
#[derive(Debug, Clone)]
pub struct ActionDef {
    pub name: String,
    pub description: String,
    /// The stakeholder connections (`assigned`, `cc`, `bcc`) or roles
    /// (`requester`, `actioner`) whose holders may use it; admins always may.
    pub allowed: Vec<String>,
    pub payload_schema: Value,
    pub validator: Arc<jsonschema::Validator>,
}

impl PartialEq for ActionDef {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.allowed == other.allowed
            && self.payload_schema == other.payload_schema
    }
}

impl Eq for ActionDef {}

impl ActionDef {
    pub fn validate_payload(&self, payload: &Value) -> Result<(), String> {
        let problems: Vec<String> = self
            .validator
            .iter_errors(payload)
            .map(|e| {
                let path = e.instance_path().to_string();
                format!("{}: {e}", if path.is_empty() { "/" } else { &path })
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// What `allowed` in an action may name.
pub const ACTION_PRINCIPALS: [&str; 5] = ["assigned", "cc", "bcc", "requester", "actioner"];

/// The per-type settings of the seed's "settings panel".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeSettings {
    /// Time a ticket may spend in one state before `ticket-timeout`.
    pub lifetime: Option<Duration>,
    /// How often reminders and acceptance notifications repeat.
    pub notify_every: Option<Duration>,
    pub notify_repeats: u32,
    /// How long a closed ticket is kept.
    pub retention: Option<Duration>,
    pub on_retention: OnRetention,
}

/// The shortest interval between reminders: more often than once a
/// minute is a flood, not a reminder.
pub const MIN_NOTIFY_EVERY: Duration = Duration::from_secs(60);
/// The most reminders one ticket gets in one state.
pub const MAX_NOTIFY_REPEATS: u32 = 1_000;
/// The shortest lifetime: a state must give its bot a moment.
pub const MIN_LIFETIME: Duration = Duration::from_secs(1);

/// Checks timing settings against their bounds, wherever they come from
/// (a manifest's type or state, or an admin's change); the longest of
/// each is [`super::duration::MAX`], enforced when it is parsed.
pub fn check_timing(
    lifetime: Option<Duration>,
    notify_every: Option<Duration>,
    notify_repeats: Option<u32>,
) -> Result<(), String> {
    if lifetime.is_some_and(|d| d < MIN_LIFETIME) {
        return Err("lifetime must be at least 1s".into());
    }
    if notify_every.is_some_and(|d| d < MIN_NOTIFY_EVERY) {
        return Err("notify_every must be at least 1m".into());
    }
    if notify_repeats.is_some_and(|n| n > MAX_NOTIFY_REPEATS) {
        return Err(format!(
            "notify_repeats must be at most {MAX_NOTIFY_REPEATS}"
        ));
    }
    Ok(())
}

impl TypeSettings {
    /// See [`check_timing`].
    pub fn check(&self) -> Result<(), String> {
        check_timing(self.lifetime, self.notify_every, Some(self.notify_repeats))
    }
}

impl Default for TypeSettings {
    fn default() -> Self {
        TypeSettings {
            lifetime: None,
            notify_every: None,
            notify_repeats: 0,
            retention: None,
            // Archiving keeps the history; deleting is the operator's
            // explicit choice.
            on_retention: OnRetention::Archive,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRetention {
    Archive,
    Delete,
}

impl OnRetention {
    pub fn as_str(self) -> &'static str {
        match self {
            OnRetention::Archive => "archive",
            OnRetention::Delete => "delete",
        }
    }
}

/// An action of the built-in error tickets, carried out by the host.
fn host_action(name: &str, description: &str) -> ActionDef {
    let schema = json!({});
    let validator = jsonschema::validator_for(&schema)
        .map(Arc::new)
        .unwrap_or_else(|e| panic!("the empty schema is invalid: {e}"));
    ActionDef {
        name: name.into(),
        description: description.into(),
        allowed: vec!["assigned".into(), "actioner".into()],
        payload_schema: schema,
        validator,
    }
}

/// `baton`, type `error`: 1 `open` → 2 `resolved`.
fn builtin_metaservice() -> Metaservice {
    let schema = json!({
        "type": "object",
        "required": ["failed_ticket_id", "message"],
        "properties": {
            "failed_ticket_id": {"type": ["integer", "null"]},
            "metaservice": {"type": "string"},
            "bot": {"type": ["string", "null"]},
            "bot_version": {"type": ["string", "null"]},
            "message": {"type": "string"},
            "cause": {"type": ["string", "null"]}
        }
    });
    let validator = jsonschema::validator_for(&schema)
        .map(Arc::new)
        .unwrap_or_else(|e| panic!("the built-in error schema is invalid: {e}"));
    let states = [
        (1, "open", "Something failed and needs a person", false),
        (2, "resolved", "Handled", true),
    ]
    .into_iter()
    .map(|(code, name, description, terminal)| {
        let actions = if terminal {
            Vec::new()
        } else {
            vec![
                host_action(
                    "retry",
                    "Queue the failed ticket's parked events again, and resolve this one",
                ),
                host_action("resolve", "Mark this error handled"),
            ]
        };
        (
            code,
            StateDef {
                code,
                name: name.into(),
                description: description.into(),
                terminal,
                actions,
                overrides: StateOverrides::default(),
            },
        )
    })
    .collect();
    let error = TicketType {
        name: ERROR_TYPE.into(),
        description: "A failure that Baton could not resolve on its own".into(),
        initial: 1,
        states,
        transitions: BTreeMap::from([(1, vec![2])]),
        metadata_schema: schema,
        validator,
        settings: TypeSettings::default(),
        editable: Vec::new(),
    };
    Metaservice {
        name: BUILTIN_METASERVICE.into(),
        description: "Baton's own tickets".into(),
        error_group: "admins".into(),
        groups: vec!["admins".into()],
        ticket_types: BTreeMap::from([(error.name.clone(), error)]),
        egress: Vec::new(),
        limits: LimitOverrides::default(),
        source: "built in".into(),
        builtin: true,
        config: json!({}),
    }
}
