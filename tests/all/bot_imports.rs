//! A bot built with the Rust SDK imports only the calls its code makes.
//!
//! Every import is paid for at every invocation (wasmtime wires each one
//! into the fresh instance), so the SDK must not keep the whole bot world
//! alive in every bot: `Ctx` calls the imports directly instead of through
//! a `dyn Host` vtable, which would name all of them.

use std::collections::BTreeSet;

use wasmtime::component::Component;
use wasmtime::{Config, Engine};

use crate::support::fixture_bots;

/// The instances (interfaces) a component file imports, without versions.
fn imported_interfaces(file: &str) -> BTreeSet<String> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).expect("engine");
    let component = Component::from_file(&engine, fixture_bots().join(file)).expect("a component");
    component
        .component_type()
        .imports(&engine)
        .map(|(name, _)| name.split('@').next().unwrap_or(name).to_string())
        .collect()
}

#[test]
fn a_step_bot_imports_only_the_interfaces_it_calls() {
    // The stepper logs a line and sends its ticket on: `tickets` only.
    let imports = imported_interfaces("stepper-flow-1-a.wasm");
    assert!(imports.contains("baton:bot/tickets"), "{imports:?}");
    for unused in [
        "baton:bot/people",
        "baton:bot/notify",
        "baton:bot/waits",
        "baton:bot/settings",
        "wasi:http/outgoing-handler",
        "wasi:http/types",
    ] {
        assert!(!imports.contains(unused), "{unused} in {imports:?}");
    }
}

#[test]
fn a_bot_that_waits_imports_waits() {
    // The other side: what a bot calls is imported.
    let imports = imported_interfaces("waiter-job-1-waiting.wasm");
    assert!(imports.contains("baton:bot/waits"), "{imports:?}");
}
