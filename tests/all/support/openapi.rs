//! The served OpenAPI document as tests use it: its operations, JSON
//! Schema validators for its schemas, and the external validator of the
//! document itself (`openapi-spec-validator`, installed by the xtask).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::Server;

/// One operation of the document.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Lowercase, as the document has it.
    pub method: String,
    /// The path template, without the `/api/v1` server prefix.
    pub path: String,
    /// The operation object.
    pub doc: Value,
}

impl Operation {
    pub fn id(&self) -> &str {
        self.doc["operationId"].as_str().unwrap_or("?")
    }

    /// The documented response for `status`, if any.
    pub fn response(&self, status: u16) -> Option<&Value> {
        self.doc["responses"].get(status.to_string())
    }

    /// The JSON request body's schema, if the operation takes one.
    pub fn body_schema(&self) -> Option<&Value> {
        self.doc
            .pointer("/requestBody/content/application~1json/schema")
    }

    pub fn parameters(&self, location: &str) -> Vec<&Value> {
        self.doc["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == location)
            .collect()
    }
}

/// The document served by a running server.
pub struct Document {
    pub json: Value,
}

impl Document {
    pub async fn fetch(server: &Server) -> Document {
        let (status, json) = server.call("GET", "/api/v1/openapi.json", None, None).await;
        assert_eq!(status, StatusCode::OK, "the document needs no token");
        Document { json }
    }

    pub fn operations(&self) -> Vec<Operation> {
        let mut all = Vec::new();
        for (path, item) in self.json["paths"].as_object().into_iter().flatten() {
            for (method, doc) in item.as_object().into_iter().flatten() {
                all.push(Operation {
                    method: method.clone(),
                    path: path.clone(),
                    doc: doc.clone(),
                });
            }
        }
        all
    }

    /// `schema`, following `$ref`s into the components.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str() {
            Some(r) => r
                .strip_prefix('#')
                .and_then(|pointer| self.json.pointer(pointer))
                .map(|s| self.resolve(s))
                .unwrap_or(&Value::Null),
            None => schema,
        }
    }

    /// A JSON Schema 2020-12 validator for `schema` (formats checked), able
    /// to follow `#/components/schemas/...`.
    pub fn validator(&self, schema: &Value) -> jsonschema::Validator {
        let root = json!({"allOf": [schema], "components": self.json["components"]});
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("{schema} does not compile: {e}"))
    }

    /// Why `value` does not match `schema`, if it does not.
    pub fn mismatch(&self, schema: &Value, value: &Value) -> Option<String> {
        let validator = self.validator(schema);
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        (!errors.is_empty()).then(|| errors.join("; "))
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// `BATON_TEST_OPENAPI_VALIDATOR`, or the command `cargo xtask
/// openapi-validator` installs (once per test process).
fn validator_command() -> &'static Path {
    static COMMAND: OnceLock<PathBuf> = OnceLock::new();
    COMMAND.get_or_init(|| {
        if let Ok(path) = std::env::var("BATON_TEST_OPENAPI_VALIDATOR") {
            return PathBuf::from(path);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = Command::new(cargo)
            .current_dir(workspace_root())
            .args(["xtask", "openapi-validator"])
            .output()
            .expect("running cargo xtask openapi-validator");
        assert!(
            output.status.success(),
            "installing openapi-spec-validator failed (it comes from PyPI; set \
             BATON_TEST_OPENAPI_VALIDATOR to an installed one):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
    })
}

/// Runs `openapi-spec-validator` on `document`; its report if it fails.
pub fn validate_document(document: &Value, scratch: &Path) -> Result<(), String> {
    let file = scratch.join("openapi.json");
    std::fs::write(&file, document.to_string()).expect("writing the document");
    let command = validator_command();
    let output = Command::new(command)
        .args(["--validation-errors", "all"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", command.display()));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(())
    } else {
        Err(report)
    }
}
