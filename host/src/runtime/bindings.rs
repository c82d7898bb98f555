//! Host-side bindings of the `baton:bot` world (`wit/bot.wit`).
//!
//! Imports are async (they read the database) and trappable: a host call
//! either answers the bot (`Ok`, or a refusal the bot sees as
//! `types.error`) or fails the whole invocation (see [`super::CallError`]).

wasmtime::component::bindgen!({
    world: "bot",
    path: "../wit",
    imports: { default: async | trappable },
    exports: { default: async },
    trappable_error_type: {
        "baton:bot/types.error" => super::CallError,
    },
});

pub use baton::bot::types;
