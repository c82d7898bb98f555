//! Requests for one operation: a valid-ish one built from its documented
//! parameters and body, then broken in one of many ways.

use std::fmt;

use serde_json::{Value, json};

use super::generate::{Generator, Rng, deep, deep_array_text, other_type};
use super::seed::Seeded;
use crate::support::openapi::Operation;

/// How a request is broken (or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    Valid,
    Example,
    WrongType,
    ArrayBody,
    ScalarBody,
    MissingField,
    UnknownField,
    HugeString,
    OversizeBody,
    DeepObject,
    DeepArray,
    MalformedJson,
    WrongContentType,
    BadPath,
    BadQuery,
    NoToken,
    UnknownToken,
    MalformedAuth,
}

use Mutation::*;

/// Every mutation, valid ones twice as often.
pub const MUTATIONS: &[Mutation] = &[
    Valid,
    Valid,
    Example,
    WrongType,
    ArrayBody,
    ScalarBody,
    MissingField,
    UnknownField,
    HugeString,
    OversizeBody,
    DeepObject,
    DeepArray,
    MalformedJson,
    WrongContentType,
    BadPath,
    BadQuery,
    NoToken,
    UnknownToken,
    MalformedAuth,
];

impl Mutation {
    /// Whether the mutation means anything for `op`.
    pub fn applies(self, op: &Operation) -> bool {
        let body = op.body_schema().is_some();
        match self {
            Valid | BadQuery | NoToken | UnknownToken | MalformedAuth => true,
            Example => body || !op.parameters("path").is_empty(),
            BadPath => !op.parameters("path").is_empty(),
            _ => body,
        }
    }
}

/// One HTTP request, printable as a `curl` command that repeats it.
pub struct Request {
    pub method: String,
    /// From `/api/v1`, with the query.
    pub target: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// Documented header parameters (`If-Match`).
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub mutation: Mutation,
    pub who: &'static str,
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{:?} as {}] curl -X {} 'BASE{}'",
            self.mutation, self.who, self.method, self.target
        )?;
        if let Some(a) = &self.authorization {
            write!(f, " -H 'Authorization: {a}'")?;
        }
        if let Some(ct) = &self.content_type {
            write!(f, " -H 'Content-Type: {ct}'")?;
        }
        for (name, value) in &self.headers {
            write!(f, " -H '{name}: {value}'")?;
        }
        match &self.body {
            Some(b) if b.len() > 400 => write!(
                f,
                " --data-binary <{} bytes: {}…>",
                b.len(),
                String::from_utf8_lossy(&b[..120])
            ),
            Some(b) => write!(f, " --data-binary '{}'", String::from_utf8_lossy(b)),
            None => Ok(()),
        }
    }
}

const BAD_PATH_VALUES: &[&str] = &[
    "abc",
    "-1",
    "0",
    "1.5",
    "99999999999999999999",
    "9223372036854775807",
    "%20",
    "%C3%A9t%C3%A9",
    "a%2Fb",
    "null",
];

const BAD_QUERIES: &[&str] = &[
    "limit=0",
    "limit=201",
    "limit=-1",
    "limit=abc",
    "zz_unknown=1",
    "state=x",
    "mine=maybe",
    "created_after=yesterday",
    "status=pending",
    "cursor=zz",
    "cursor=%ff",
    "stakeholder_user=1.5",
    "limit=1&limit=2",
];

/// Builds requests from the seeded objects.
pub struct Builder<'a> {
    pub generator: Generator<'a>,
    pub seeded: &'a Seeded,
}

impl Builder<'_> {
    pub fn build(
        &self,
        rng: &mut Rng,
        op: &Operation,
        mutation: Mutation,
        who: &'static str,
    ) -> Request {
        let mut path = op.path.clone();
        let params = op.parameters("path");
        let broken = (mutation == BadPath).then(|| rng.below(params.len()));
        for (i, p) in params.iter().enumerate() {
            let name = p["name"].as_str().unwrap_or_default();
            let value = match broken {
                Some(b) if b == i => rng.pick(BAD_PATH_VALUES).to_string(),
                _ => rng.pick(&self.seeded.path_values(&op.path, name)).clone(),
            };
            path = path.replace(&format!("{{{name}}}"), &value);
        }
        let query = match mutation {
            BadQuery => rng.pick(BAD_QUERIES).to_string(),
            _ => self.query(rng, op),
        };
        let target = match query.is_empty() {
            true => format!("/api/v1{path}"),
            false => format!("/api/v1{path}?{query}"),
        };
        let authorization = match mutation {
            NoToken => None,
            UnknownToken => Some(format!("Bearer bt_{}", "0".repeat(64))),
            MalformedAuth => Some(
                rng.pick(&[
                    "Basic YWxpY2U6cHc=".to_string(),
                    "Bearer".into(),
                    "Bearer  ".into(),
                    format!("bearer {}", self.seeded.token(who)),
                ])
                .clone(),
            ),
            _ => Some(format!("Bearer {}", self.seeded.token(who))),
        };
        let (content_type, body) = match op.body_schema() {
            Some(schema) => self.body(rng, op, schema, mutation),
            None => (None, None),
        };
        let mut headers = Vec::new();
        for p in op.parameters("header") {
            let name = p["name"].as_str().unwrap_or_default();
            let values = self.generator.hints.get(name);
            if let (Some(values), true) = (values, rng.chance(50)) {
                let value = rng.pick(values).as_str().unwrap_or_default().to_string();
                headers.push((name.to_string(), value));
            }
        }
        Request {
            method: op.method.to_uppercase(),
            target,
            authorization,
            content_type,
            headers,
            body,
            mutation,
            who,
        }
    }

    fn query(&self, rng: &mut Rng, op: &Operation) -> String {
        let mut pairs = Vec::new();
        for p in op.parameters("query") {
            let name = p["name"].as_str().unwrap_or_default();
            if name == "cursor" || rng.chance(50) {
                continue;
            }
            let value = match self.generator.hints.get(name) {
                Some(values) => rng.pick(values).clone(),
                None => self.generator.valid(rng, &p["schema"], 0),
            };
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            pairs.push(format!(
                "{name}={}",
                text.replace('+', "%2B").replace(':', "%3A")
            ));
        }
        pairs.join("&")
    }

    fn body(
        &self,
        rng: &mut Rng,
        op: &Operation,
        schema: &Value,
        mutation: Mutation,
    ) -> (Option<String>, Option<Vec<u8>>) {
        let json_type = Some("application/json".to_string());
        let mut body = self.generator.valid(rng, schema, 0);
        if let Some((content_type, raw)) = raw(rng, mutation, &body) {
            return (content_type, Some(raw));
        }
        self.mutate(rng, op, schema, &mut body, mutation);
        (json_type, Some(body.to_string().into_bytes()))
    }

    /// Breaks a JSON body in place.
    fn mutate(
        &self,
        rng: &mut Rng,
        op: &Operation,
        schema: &Value,
        body: &mut Value,
        mutation: Mutation,
    ) {
        let keys: Vec<String> = body
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let some_key = (!keys.is_empty()).then(|| rng.pick(&keys).clone());
        match mutation {
            Example => {
                if let Some(example) = op
                    .doc
                    .pointer("/requestBody/content/application~1json/example")
                {
                    *body = example.clone();
                }
            }
            WrongType => match some_key {
                Some(k) => body[&k] = other_type(rng, &body[&k]),
                None => *body = json!({"title": [1]}),
            },
            ArrayBody => *body = json!([body]),
            ScalarBody => {
                *body = rng
                    .pick(&[json!(42), json!("text"), json!(null), json!(true)])
                    .clone()
            }
            MissingField => {
                let required = self.generator.doc.resolve(schema)["required"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                match (required.is_empty(), body.as_object_mut()) {
                    (false, Some(o)) => {
                        o.remove(rng.pick(&required).as_str().unwrap_or_default());
                    }
                    (true, Some(o)) => o.clear(),
                    _ => {}
                }
            }
            UnknownField => body["zz_unknown"] = json!(1),
            HugeString => body[some_key.as_deref().unwrap_or("title")] = json!("x".repeat(70_000)),
            DeepObject => {
                // Past the 32 levels metadata may have, and near
                // serde_json's recursion limit (128).
                let depth = *rng.pick(&[40, 124]);
                body[some_key.as_deref().unwrap_or("metadata")] = deep(depth);
            }
            _ => {}
        }
    }
}

/// A body that is not the JSON the operation wants, or not labelled as
/// JSON: its content type and bytes.
fn raw(rng: &mut Rng, mutation: Mutation, body: &Value) -> Option<(Option<String>, Vec<u8>)> {
    let json_type = Some("application/json".to_string());
    match mutation {
        OversizeBody => {
            let huge = format!("{{\"x\": \"{}\"}}", "a".repeat(1_100_000));
            Some((json_type, huge.into_bytes()))
        }
        DeepArray => Some((json_type, deep_array_text(300).into_bytes())),
        MalformedJson => {
            let raw: &[&[u8]] = &[b"{", b"{\"a\": ", b"nul", b"{} x", b"\xff\xfe{}"];
            Some((json_type, rng.pick(raw).to_vec()))
        }
        WrongContentType => {
            let types = [
                None,
                Some("text/plain"),
                Some("application/xml"),
                Some("application/x-www-form-urlencoded"),
                Some("application/json; charset=utf-8"),
            ];
            let content_type = rng.pick(&types).map(String::from);
            Some((content_type, body.to_string().into_bytes()))
        }
        _ => None,
    }
}
