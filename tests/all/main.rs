//! Baton's integration tests: real SQLite files, real `.wasm` bots built
//! from `bots/` and `tests/fixtures/bots/`, and a real `baton serve`
//! process driven over HTTP on loopback.
//!
//! `cargo xtask test` builds the bots first and points `BATON_TEST_BOTS` at
//! them; under a plain `cargo test` the support module builds them itself.
//!
//! # Layout
//! - `support/`: starting servers, building bots, HTTP helpers.
//! - `store.rs`, `store/`: the store on its own, one suite run on SQLite
//!   and on PostgreSQL.
//! - `lifecycle.rs`: tickets travelling through the example bots.
//! - `failure.rs`: a bot that fails; nothing of its work is committed.
//! - `loading.rs`: bot files refused at load, and events that wait for a bot.
//! - `bot_imports.rs`: a Rust bot's component imports only what it calls.
//! - `operations/`: `/readyz`, `baton health`, `/metrics`, the Zabbix agent,
//!   the CLI, the configuration, SIGTERM under load.
//! - `reload.rs`: hot reload under load, removal, the compiled-code cache.
//! - `assignment.rs`: the people imports through a real bot.
//! - `timers.rs`: durable waits and lifetimes, with a manual clock.
//! - `durability.rs`: waits surviving `kill -9` of a real server process.
//! - `punctuality.rs`: waits ending when due, not at the next poll.
//! - `cluster.rs`: several servers on one PostgreSQL database: a node
//!   killed mid-stream, a database outage, bots per node.
//! - `concurrency.rs`: one bot's bound on invocations at once; other bots
//!   meanwhile.
//! - `retention.rs`: archive and delete after `retention`, over HTTP.
//! - `sandbox.rs`: hostile bots against the deadline, memory cap, host-call
//!   caps, the sandbox and the egress list.
//! - `hostile.rs`: the rules around the sandbox against a hostile bot:
//!   people, quotas, sizes, stale waits, `exit()`.
//! - `api_errors.rs`: bad requests get problems, and write nothing.
//! - `access.rs`: tokens, people and the permission matrix.
//! - `roles.rs`: who may name stakeholders, edit which fields in which
//!   state, hand a ticket over; closed tickets; acting stakeholders;
//!   event streams that end with their token.
//! - `bounds.rs`: durations, document depth and size, object-only bodies,
//!   field lengths, deadlines.
//! - `conversation.rs`: edits, stakeholders, comments, actions, the inbox.
//! - `listing.rs`: filters and cursors under concurrent inserts; random bodies.
//! - `wca.rs`: the `wca` example: review by a group with reminders and a
//!   timeout; anonymization with a child ticket it waits for.
//! - `contract.rs`: the OpenAPI document against the routes, `docs/` and
//!   `openapi-spec-validator`; what it tells clients.
//! - `console.rs`, `console_live.rs`, `console_tickets.rs`: the staff
//!   console in a real browser and over HTTP: pages per role, sign-in,
//!   CSRF, live pages, list filters, related tickets.
//! - `wit_release.rs`: released versions of the bot contract kept byte for
//!   byte, the SDK's own copy, and a bot of the draft next version running
//!   beside released ones.
//! - `scaffold.rs`: `baton bots new` to a running bot, as the README says,
//!   in Rust, Python and JavaScript.
//! - `languages.rs`: the Python and JavaScript examples over HTTP: their
//!   workflows, their errors as messages, Baton's defaults, memory floors.
//! - `fuzz/`: every documented operation fuzzed against a seeded server;
//!   each answer checked against the document.

mod support;
// The Debian package helpers of `cargo xtask`: the PostgreSQL cluster and
// the Zabbix agent tests install what they need the same way.
#[path = "../../xtask/src/debian.rs"]
mod debian;

mod access;
mod api_errors;
mod assignment;
mod bot_imports;
mod bounds;
mod cluster;
mod cluster_streams;
mod concurrency;
mod console;
mod console_live;
mod console_tickets;
mod contract;
mod conversation;
mod durability;
mod failure;
mod fuzz;
mod hostile;
mod languages;
mod lifecycle;
mod listing;
mod loading;
mod operations;
mod punctuality;
mod reload;
mod retention;
mod roles;
mod sandbox;
mod scaffold;
mod store;
mod timers;
mod wca;
mod wit_release;
