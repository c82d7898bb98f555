//! The components the document's operations refer to: the shapes and
//! vocabularies that the request bodies' derived schemas cannot name
//! (enums kept as strings, `payload`, the problem's `type`), and the
//! conventions every schema follows (`*_at` is an RFC 3339 date-time).

use utoipa::openapi::schema::{KnownFormat, Schema, SchemaFormat};
use utoipa::openapi::{Components, RefOr};
use utoipa::{PartialSchema, ToSchema};

use serde_json::{Value, json};

use super::shapes;
use crate::api::views;

/// The largest page a listing gives (`limit`), as `tickets.rs` and
/// `notifications.rs` enforce it; the fuzz test checks both bounds.
pub const MAX_PAGE: u32 = 200;

fn nullable(component: &str) -> Value {
    json!({"oneOf": [{"type": "null"}, {"$ref": format!("#/components/schemas/{component}")}]})
}

fn reference(component: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{component}")})
}

/// Properties of derived schemas replaced by what they really accept:
/// (component, property, schema).
pub fn patches() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("StakeholderBody", "connection", reference("Connection")),
        ("StakeholderBody", "role", reference("Role")),
        ("ChangeBody", "connection", nullable("Connection")),
        ("SettingsBody", "on_retention", nullable("OnRetention")),
        (
            "ActionBody",
            "payload",
            json!({"type": "object", "description": "Checked against the action's \
                `payload_schema` (see `listTicketTypes`); absent means `{}`."}),
        ),
        (
            "Problem",
            "type",
            json!({"type": "string", "format": "uri", "pattern": "^urn:baton:problem:[a-z][a-z-]*$",
                "description": "Stable: clients match on it.",
                "example": "urn:baton:problem:not-found"}),
        ),
        (
            "Problem",
            "status",
            json!({"type": "integer", "minimum": 400, "maximum": 599,
                "description": "The HTTP status, repeated."}),
        ),
    ]
}

/// Adds `T` and what it refers to.
fn add<T: ToSchema>(components: &mut Components) {
    let mut all = vec![(T::name().into_owned(), <T as PartialSchema>::schema())];
    T::schemas(&mut all);
    for (name, schema) in all {
        components.schemas.insert(name, schema);
    }
}

/// Registers the extra components, applies the patches and conventions,
/// and returns the patches that found no property to replace.
pub fn complete(components: &mut Components) -> Vec<String> {
    add::<views::Connection>(components);
    add::<views::Role>(components);
    add::<views::TicketStatus>(components);
    add::<shapes::ActionQueued>(components);
    add::<shapes::TicketTypeList>(components);
    add::<shapes::ArchivedTicket>(components);
    add::<shapes::Settings>(components);
    let mut missed = Vec::new();
    for (component, property, schema) in patches() {
        if !replace(components, component, property, schema) {
            missed.push(format!("{component}.{property}"));
        }
    }
    date_times(components);
    missed
}

fn replace(components: &mut Components, component: &str, property: &str, schema: Value) -> bool {
    let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(component) else {
        return false;
    };
    let (Some(slot), Ok(schema)) = (
        object.properties.get_mut(property),
        serde_json::from_value::<RefOr<Schema>>(schema),
    ) else {
        return false;
    };
    *slot = schema;
    true
}

/// Every `*_at` property is an RFC 3339 date-time.
fn date_times(components: &mut Components) {
    for schema in components.schemas.values_mut() {
        let RefOr::T(Schema::Object(object)) = schema else {
            continue;
        };
        for (name, property) in object.properties.iter_mut() {
            if let (true, RefOr::T(Schema::Object(p))) = (name.ends_with("_at"), property)
                && p.format.is_none()
            {
                p.format = Some(SchemaFormat::KnownFormat(KnownFormat::DateTime));
            }
        }
    }
}

/// A query parameter's schema, as the handlers check it.
pub fn query_parameter(name: &str, schema: &mut Value) {
    match name {
        "limit" => {
            schema["minimum"] = json!(1);
            schema["maximum"] = json!(MAX_PAGE);
        }
        "created_after" | "created_before" => schema["format"] = json!("date-time"),
        "status" => *schema = reference("TicketStatus"),
        _ => {}
    }
}
