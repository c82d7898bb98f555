//! A small seeded PRNG, and values generated from the document's JSON
//! Schemas: valid-ish ones (real ids where a property names one), and
//! broken ones (wrong types, missing or unknown fields, huge or deep
//! values).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::support::openapi::Document;

/// SplitMix64: tiny, seeded, good enough to pick cases.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Real values for properties, by name: ids of objects that exist.
pub type Hints = HashMap<&'static str, Vec<Value>>;

/// Generates values from the document's schemas.
pub struct Generator<'a> {
    pub doc: &'a Document,
    pub hints: &'a Hints,
}

impl Generator<'_> {
    /// A value `schema` accepts, or nearly: optional properties come and
    /// go, and a property named in the hints takes one of their values.
    pub fn valid(&self, rng: &mut Rng, schema: &Value, depth: usize) -> Value {
        let schema = self.doc.resolve(schema);
        if let Some(values) = schema["enum"].as_array().filter(|v| !v.is_empty()) {
            return rng.pick(values).clone();
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = schema[key].as_array().filter(|o| !o.is_empty()) {
                // Mostly not the `null` branch.
                let real: Vec<&Value> = options.iter().filter(|o| o["type"] != "null").collect();
                let pick = match (real.is_empty(), rng.chance(85)) {
                    (false, true) => *rng.pick(&real),
                    _ => rng.pick(options),
                };
                return self.valid(rng, pick, depth + 1);
            }
        }
        if let Some(parts) = schema["allOf"].as_array() {
            let mut merged = Map::new();
            for part in parts {
                if let Value::Object(o) = self.valid(rng, part, depth + 1) {
                    merged.extend(o);
                }
            }
            return Value::Object(merged);
        }
        match pick_type(rng, schema).as_str() {
            "object" => self.object(rng, schema, depth),
            "array" if depth < 6 => {
                let n = rng.below(3);
                Value::Array(
                    (0..n)
                        .map(|_| self.valid(rng, &schema["items"], depth + 1))
                        .collect(),
                )
            }
            "array" => json!([]),
            "string" => string(rng, schema),
            "integer" => integer(rng, schema),
            "number" => json!(rng.below(1000) as f64 / 8.0),
            "boolean" => json!(rng.chance(50)),
            "null" => Value::Null,
            _ => any(rng, depth),
        }
    }

    fn object(&self, rng: &mut Rng, schema: &Value, depth: usize) -> Value {
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut out = Map::new();
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            if !required.contains(&name.as_str()) && rng.chance(40) {
                continue;
            }
            let value = match self.hints.get(name.as_str()) {
                Some(values) if rng.chance(90) => rng.pick(values).clone(),
                _ => self.valid(rng, property, depth + 1),
            };
            out.insert(name.clone(), value);
        }
        Value::Object(out)
    }
}

fn pick_type(rng: &mut Rng, schema: &Value) -> String {
    match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(types) => {
            let real: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
            let t = if !real.is_empty() && rng.chance(85) {
                *rng.pick(&real)
            } else {
                rng.pick(types)
            };
            t.as_str().unwrap_or("null").to_string()
        }
        _ if schema["properties"].is_object() => "object".into(),
        _ => String::new(),
    }
}

fn string(rng: &mut Rng, schema: &Value) -> Value {
    if schema["format"] == "date-time" {
        return json!(format!(
            "2026-0{}-1{}T08:00:00Z",
            1 + rng.below(9),
            rng.below(9)
        ));
    }
    if let Some(example) = schema.get("example").filter(|e| e.is_string())
        && rng.chance(50)
    {
        return example.clone();
    }
    json!(format!("fz{}", rng.next() % 100_000))
}

fn integer(rng: &mut Rng, schema: &Value) -> Value {
    let min = schema["minimum"].as_i64().unwrap_or(0);
    let max = schema["maximum"].as_i64().unwrap_or(min.saturating_add(50));
    let span = max.saturating_sub(min).max(0) as u64 + 1;
    json!(min + (rng.next() % span) as i64)
}

/// Any JSON value, small.
fn any(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 4 } else { 6 }) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(rng.below(100)),
        3 => json!(format!("fz{}", rng.below(1000))),
        4 => json!([any(rng, depth + 1)]),
        _ => json!({"k": any(rng, depth + 1)}),
    }
}

/// A value of another JSON type than `value`.
pub fn other_type(rng: &mut Rng, value: &Value) -> Value {
    let candidates = [
        json!(null),
        json!(true),
        json!(-7),
        json!(1.5),
        json!("fz"),
        json!([1, "a"]),
        json!({"a": 1}),
    ];
    loop {
        let candidate = rng.pick(&candidates);
        if std::mem::discriminant(candidate) != std::mem::discriminant(value) {
            return candidate.clone();
        }
    }
}

/// Objects nested `depth` deep.
pub fn deep(depth: usize) -> Value {
    (0..depth).fold(json!("bottom"), |inner, _| json!({"d": inner}))
}

/// Arrays nested `depth` deep, as text: past serde_json's recursion limit
/// when `depth` is over 128.
pub fn deep_array_text(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}
