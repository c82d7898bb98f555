//! The finishing pass over the OpenAPI document: what is true of many
//! operations at once, written once.
//!
//! The route annotations (`#[utoipa::path]` next to each handler) say what
//! a handler takes and returns: its path, parameters, body and success
//! types. This pass, run on the document once the routes are registered,
//! adds what the annotations would repeat thirty times or cannot know:
//! unique camelCase operationIds and summaries (`operations.rs`); every
//! error as `application/problem+json`, with the problems implied by the
//! operation's shape (401 when secured; 400, 413, 415 and 422 with a JSON
//! body; 400 with a numeric path parameter) and its own (`operations.rs`);
//! examples (`examples.rs`); the vocabularies and conventions of the
//! schemas (`schemas.rs`) and the shapes of bodies handlers build as JSON
//! (`shapes.rs`). Keeping it here means one place to read what the API
//! promises about errors, and handler files that hold handlers.

mod examples;
mod operations;
mod schemas;
mod shapes;

use serde_json::{Value, json};
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};

use operations::Failure;

/// The pass, as a `utoipa::Modify`.
pub struct Contract;

impl utoipa::Modify for Contract {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for missed in schemas::complete(components) {
            tracing::warn!("OpenAPI: no property {missed} to document");
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            for (method, operation) in operations_of(item) {
                finish(path, method, operation);
            }
        }
    }
}

fn operations_of(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("patch", item.patch.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.map(|op| (method, op)))
    .collect()
}

/// Documents one operation, through its JSON form.
fn finish(path: &str, method: &str, operation: &mut Operation) {
    let Some(entry) = operations::find(method, path) else {
        tracing::warn!("OpenAPI: {method} {path} has no entry in openapi/operations.rs");
        return;
    };
    let finished = serde_json::to_value(&*operation).and_then(|mut json| {
        describe(&mut json, path, entry);
        serde_json::from_value(json)
    });
    match finished {
        Ok(done) => *operation = done,
        Err(e) => tracing::error!("OpenAPI: documenting {method} {path}: {e}"),
    }
}

fn describe(op: &mut Value, path: &str, entry: &operations::Operation) {
    op["operationId"] = json!(entry.id);
    // A handler's doc comment becomes the description.
    if let Some(prose) = op["summary"].as_str().filter(|s| *s != entry.summary) {
        let prose = match op["description"].as_str() {
            Some(more) => format!("{prose}\n\n{more}"),
            None => prose.to_string(),
        };
        op["description"] = json!(prose);
    }
    op["summary"] = json!(entry.summary);
    let numeric_path = parameters(op, path);
    let body = op.pointer_mut("/requestBody/content/application~1json");
    let json_body = body.is_some();
    if let (Some(body), Some(example)) = (body, examples::request(entry.id)) {
        body["example"] = example;
    }
    let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
    let mut failures: Vec<Line> = Failure::implied(secured, json_body, numeric_path)
        .into_iter()
        .chain(entry.failures.iter().copied())
        .map(Line::from)
        .collect();
    failures.dedup();
    responses(op, entry, failures);
    conditional(op, entry.id);
}

/// One line of an error response's description.
#[derive(PartialEq)]
struct Line {
    status: u16,
    text: String,
}

impl From<Failure> for Line {
    fn from(f: Failure) -> Self {
        Line {
            status: f.status,
            text: format!("`urn:baton:problem:{}`: {}", f.slug, f.when),
        }
    }
}

/// Examples for path parameters, bounds and formats for query ones;
/// whether a path parameter is numeric.
fn parameters(op: &mut Value, path: &str) -> bool {
    let mut numeric = false;
    let params = op.get_mut("parameters").and_then(Value::as_array_mut);
    for p in params.into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        match p["in"].as_str() {
            Some("path") => {
                numeric |= p["schema"]["type"] == "integer";
                p["example"] = examples::path_parameter(path, &name);
            }
            Some("query") => schemas::query_parameter(&name, &mut p["schema"]),
            _ => {}
        }
    }
    numeric
}

fn responses(op: &mut Value, entry: &operations::Operation, mut failures: Vec<Line>) {
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        if status.starts_with('2') {
            success(status, response, entry);
        } else if let Ok(code) = status.parse::<u16>()
            && !failures.iter().any(|f| f.status == code)
        {
            // Declared by an annotation only: kept, with its words.
            let text = response["description"].as_str().unwrap_or("").to_string();
            failures.push(Line { status: code, text });
        }
    }
    failures.sort_by_key(|f| f.status);
    for group in failures.chunk_by(|a, b| a.status == b.status) {
        responses.insert(group[0].status.to_string(), problem_response(group));
    }
}

fn success(status: &str, response: &mut Value, entry: &operations::Operation) {
    if let Some((_, description)) = entry.ok_schema {
        response["description"] = json!(description);
    }
    if response["description"].as_str().is_none_or(str::is_empty) {
        response["description"] = json!(match status {
            "201" => "Created",
            "202" => "Accepted",
            "204" => "Done; no body",
            _ => "OK",
        });
    }
    let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
        return;
    };
    for (media, body) in content.iter_mut() {
        if let (Some((schema, _)), "application/json") = (entry.ok_schema, media.as_str()) {
            body["schema"] = json!({"$ref": format!("#/components/schemas/{schema}")});
        }
        if let Some(example) = examples::response(entry.id) {
            body["example"] = example;
        }
    }
}

fn problem_response(lines: &[Line]) -> Value {
    let status = lines[0].status;
    let mut text = format!("{}.", reason(status));
    for line in lines.iter().filter(|l| !l.text.is_empty()) {
        text.push_str("\n- ");
        text.push_str(&line.text);
    }
    let mut response = json!({
        "description": text,
        "content": {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"}}},
    });
    if status == 401 {
        response["headers"] = json!({"WWW-Authenticate": {
            "description": "`Bearer`", "schema": {"type": "string"}}});
    }
    response
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not found",
        409 => "Conflict",
        412 => "Precondition failed",
        413 => "Content too large",
        415 => "Unsupported media type",
        422 => "Unprocessable content",
        429 => "Too many requests",
        _ => "Failed",
    }
}

/// Optimistic concurrency on a ticket: `ETag` out, `If-Match` in.
fn conditional(op: &mut Value, id: &str) {
    if !matches!(id, "getTicket" | "updateTicket") {
        return;
    }
    if let Some(Value::Object(ok)) = op.pointer_mut("/responses/200") {
        ok.insert(
            "headers".into(),
            json!({"ETag": {"description": "The ticket's `version`, quoted: `\"4\"`",
                "schema": {"type": "string", "pattern": "^\"[0-9]+\"$"}}}),
        );
    }
    if id != "updateTicket" {
        return;
    }
    let params = op
        .as_object_mut()
        .map(|o| o.entry("parameters").or_insert_with(|| json!([])));
    if let Some(Value::Array(params)) = params
        && !params.iter().any(|p| {
            p["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("if-match"))
        })
    {
        params.push(
            json!({"name": "If-Match", "in": "header", "required": false,
            "description": "The `ETag` read: the edit is refused (412) if the ticket moved on",
            "schema": {"type": "string"}, "example": "\"4\""}),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::{operations, schemas};

    fn document() -> Value {
        serde_json::to_value(crate::api::openapi()).expect("the document as JSON")
    }

    #[test]
    fn every_route_has_an_entry_and_takes_its_id() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let entry = operations::find(method, path)
                    .unwrap_or_else(|| panic!("{method} {path}: add it to operations.rs"));
                assert_eq!(op["operationId"], entry.id, "{method} {path}");
                assert_eq!(op["summary"], entry.summary, "{method} {path}");
            }
        }
    }

    #[test]
    fn every_patch_found_its_property() {
        let doc = document();
        for (component, property, schema) in schemas::patches() {
            let got = &doc["components"]["schemas"][component]["properties"][property];
            assert_eq!(*got, schema, "{component}.{property}");
        }
    }
}
