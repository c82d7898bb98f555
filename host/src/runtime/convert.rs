//! Between the model's types and the WIT types the bot sees.

use super::bindings::types;
use crate::model::{Status, Ticket};

/// The ticket as the bot sees it; the state's name comes from the manifest.
pub(super) fn to_wit(ms: &crate::model::Metaservice, t: &Ticket) -> types::Ticket {
    let state_name = ms
        .ticket_types
        .get(&t.ticket_type)
        .and_then(|tt| tt.state(t.state_code))
        .map(|s| s.name.clone())
        .unwrap_or_default();
    types::Ticket {
        id: t.id as u64,
        metaservice: t.metaservice.clone(),
        ticket_type: t.ticket_type.clone(),
        title: t.title.clone(),
        state: types::State {
            code: t.state_code,
            name: state_name,
        },
        status: match t.status {
            Status::Open => types::Status::Open,
            Status::Closed => types::Status::Closed,
        },
        metadata: t.metadata.text().into_owned(),
        parent_id: t.parent_id.map(|p| p as u64),
        created_by: match t.created_by {
            crate::model::Actor::User(id) => Some(id as u64),
            _ => None,
        },
        created_at: t.created_at,
        updated_at: t.updated_at,
        version: t.version as u64,
    }
}
