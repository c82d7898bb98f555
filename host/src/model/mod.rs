//! The domain, with no IO: tickets, states and who acts on them
//! (`ticket.rs`), metaservice manifests and their validation
//! (`manifest.rs`), the transition rules (`rules.rs`), durations as
//! written in manifests and config (`duration.rs`), the bounds of every
//! JSON document accepted (`document.rs`), a ticket's metadata kept as
//! the text it was read as (`metadata.rs`), and the catalog of everything
//! the manifests declare (`catalog.rs`), with the egress rules of a
//! metaservice (`egress.rs`).

pub mod catalog;
pub mod document;
pub mod duration;
pub mod egress;
pub mod manifest;
pub mod metadata;
pub mod rules;
pub mod ticket;

pub use catalog::{Catalog, Metaservice, StateDef, TicketType, TypeSettings};
pub use metadata::Metadata;
pub use ticket::{Actor, BotName, Status, Ticket, TicketId, Timestamp, rfc3339};
