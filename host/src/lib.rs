//! Baton: a ticket lifecycle engine. Tickets pass from state to state; at
//! every state a sandboxed WebAssembly bot decides what happens next.
//!
//! # Layout
//! The arrows go one way: `api` and `engine` use `runtime`, `store` and
//! `model`; `runtime` uses `store` (for reads) and `model`; `model` uses
//! nothing.
//! - [`model`]: tickets, manifests, the transition rules. No IO.
//! - [`store`]: the database behind one [`store::Store`] trait.
//! - [`runtime`]: wasmtime, bot loading, limits, the host functions.
//! - [`engine`]: events, dispatch, commits, error tickets.
//! - [`api`]: the axum routes; it mounts [`console`], the staff's pages,
//!   which use `engine`, `store` and `model` as the API does.
//! - [`config`] and [`cli`]: the `baton` binary's edges.

pub mod api;
pub mod cli;
pub mod config;
pub mod console;
pub mod engine;
pub mod model;
pub mod runtime;
pub mod store;
