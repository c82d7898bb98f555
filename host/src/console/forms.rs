//! An action's payload JSON Schema as HTML form fields, and the posted
//! form back as the payload: strings as text inputs (a textarea when long,
//! a select for an `enum`), numbers and integers as number inputs,
//! booleans as checkboxes. What the schema does not describe this simply
//! is asked for as one JSON text field, so every action stays usable.
//! The payload is then validated by the engine, as from the API.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// One field of a form.
pub struct Field {
    pub name: String,
    pub label: String,
    /// `text`, `textarea`, `number`, `checkbox`, `select` or `json`.
    pub kind: &'static str,
    pub required: bool,
    pub options: Vec<String>,
}

/// The name of the one field of a payload asked for as JSON.
pub const JSON_FIELD: &str = "payload_json";

pub fn fields_of(schema: &Value) -> Vec<Field> {
    let Some(properties) = schema["properties"].as_object() else {
        // No properties: nothing to ask, unless the schema wants more than
        // an object, which is then asked for as JSON.
        let trivial = schema.is_null()
            || schema.as_object().is_some_and(|o| {
                o.keys()
                    .all(|k| matches!(k.as_str(), "type" | "additionalProperties" | "$schema"))
            });
        return if trivial {
            Vec::new()
        } else {
            vec![json_field()]
        };
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fields = Vec::new();
    for (name, prop) in properties {
        let options: Vec<String> = prop["enum"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let kind = match prop["type"].as_str() {
            _ if !options.is_empty() => "select",
            Some("string") if prop["maxLength"].as_u64().is_none_or(|m| m > 200) => "textarea",
            Some("string") => "text",
            Some("integer") | Some("number") => "number",
            Some("boolean") => "checkbox",
            _ => return vec![json_field()],
        };
        let label = prop["description"]
            .as_str()
            .or(prop["title"].as_str())
            .unwrap_or(name)
            .to_string();
        fields.push(Field {
            name: name.clone(),
            label,
            kind,
            required: required.contains(&name.as_str()),
            options,
        });
    }
    fields
}

fn json_field() -> Field {
    Field {
        name: JSON_FIELD.into(),
        label: "Payload (JSON)".into(),
        kind: "json",
        required: true,
        options: Vec::new(),
    }
}

/// The payload a posted form describes, by the same schema.
pub fn payload_of(schema: &Value, form: &HashMap<String, String>) -> Result<Value, String> {
    let fields = fields_of(schema);
    if fields.iter().any(|f| f.kind == "json") {
        let text = form.get(JSON_FIELD).map_or("{}", String::as_str);
        return serde_json::from_str(text).map_err(|e| format!("the payload is not JSON: {e}"));
    }
    let mut payload = Map::new();
    for field in fields {
        let value = form.get(&field.name).map(|v| v.trim().to_string());
        let value = match (field.kind, value) {
            ("checkbox", v) => Value::Bool(v.is_some()),
            (_, None) => continue,
            (_, Some(v)) if v.is_empty() => continue,
            ("number", Some(v)) => {
                let n: f64 = v
                    .parse()
                    .map_err(|_| format!("{} must be a number", field.label))?;
                if schema["properties"][&field.name]["type"] == "integer" && n.fract() == 0.0 {
                    Value::from(n as i64)
                } else {
                    Value::from(n)
                }
            }
            (_, Some(v)) => Value::String(v),
        };
        payload.insert(field.name, value);
    }
    Ok(Value::Object(payload))
}
