//! Sending a request and judging the answer against the document: no 5xx,
//! a documented status, the documented media type, a body that fits the
//! documented schema.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::cases::Request;
use crate::support::openapi::{Document, Operation};

/// What came back.
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Sends `request`; an event stream is not read, only its head.
pub async fn send(
    client: &reqwest::Client,
    base: &str,
    request: &Request,
) -> Result<Answer, String> {
    let method =
        reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| e.to_string())?;
    // The server closes a connection whose body it refused unread (413):
    // such requests get a connection of their own.
    let own;
    let client = match request.body.as_ref().is_some_and(|b| b.len() > 500_000) {
        true => {
            own = reqwest::Client::new();
            &own
        }
        false => client,
    };
    let mut builder = client
        .request(method, format!("{base}{}", request.target))
        .timeout(Duration::from_secs(20));
    if let Some(a) = &request.authorization {
        builder = builder.header("authorization", a);
    }
    if let Some(ct) = &request.content_type {
        builder = builder.header("content-type", ct);
    }
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let response = builder
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let streaming = content_type.as_deref() == Some("text/event-stream");
    let body = match streaming {
        // Dropping the response closes the stream.
        true => Vec::new(),
        false => response
            .bytes()
            .await
            .map_err(|e| format!("reading the body: {e}"))?
            .to_vec(),
    };
    Ok(Answer {
        status,
        content_type,
        body,
    })
}

/// The media type of a Content-Type header, without parameters.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Judges answers, compiling each schema once.
pub struct Judge<'a> {
    pub doc: &'a Document,
    validators: HashMap<String, jsonschema::Validator>,
}

impl<'a> Judge<'a> {
    pub fn new(doc: &'a Document) -> Judge<'a> {
        Judge {
            doc,
            validators: HashMap::new(),
        }
    }

    fn mismatch(&mut self, schema: &Value, value: &Value) -> Option<String> {
        let doc = self.doc;
        let validator = self
            .validators
            .entry(schema.to_string())
            .or_insert_with(|| doc.validator(schema));
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        (!errors.is_empty()).then(|| errors.join("; "))
    }

    /// Why `answer` breaks the document's promises for `op`, if it does.
    pub fn judge(&mut self, op: &Operation, answer: &Answer) -> Option<String> {
        judge(self, op, answer)
    }
}

fn judge(judge: &mut Judge, op: &Operation, answer: &Answer) -> Option<String> {
    let text = || String::from_utf8_lossy(&answer.body[..answer.body.len().min(600)]).into_owned();
    if answer.status >= 500 {
        return Some(format!("server error {}: {}", answer.status, text()));
    }
    let Some(documented) = op.response(answer.status) else {
        return Some(format!("undocumented status {}: {}", answer.status, text()));
    };
    let Some(content) = documented["content"].as_object().filter(|c| !c.is_empty()) else {
        return (!answer.body.is_empty())
            .then(|| format!("{} is documented without a body: {}", answer.status, text()));
    };
    let media = answer
        .content_type
        .as_deref()
        .map(essence)
        .unwrap_or_default();
    let Some(expected) = content.get(&media) else {
        let documented: Vec<&String> = content.keys().collect();
        return Some(format!(
            "{} came as {media:?}, documented as {documented:?}: {}",
            answer.status,
            text()
        ));
    };
    if media == "text/event-stream" {
        return None;
    }
    let body: Value = match serde_json::from_slice(&answer.body) {
        Ok(body) => body,
        Err(e) => return Some(format!("{} is not JSON ({e}): {}", answer.status, text())),
    };
    if let Some(why) = judge.mismatch(&expected["schema"], &body) {
        return Some(format!(
            "{} does not fit its schema: {why}\n  body: {}",
            answer.status,
            text()
        ));
    }
    if media == "application/problem+json" && body["status"] != answer.status {
        return Some(format!(
            "the problem's status is not {}: {}",
            answer.status,
            text()
        ));
    }
    None
}
