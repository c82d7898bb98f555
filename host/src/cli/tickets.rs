//! `baton tickets show ID`: one ticket and its timeline, read straight
//! from the database, for an operator without a token at hand.

use anyhow::{Context, bail};

use crate::config::Config;
use crate::model::{Catalog, Ticket, Timestamp};
use crate::store::{LogEntry, Stakeholder};

pub(super) async fn show(config: &Config, id: i64) -> anyhow::Result<()> {
    let store = crate::store::connect(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "opening the database {}",
                crate::store::redact(&config.database_url)
            )
        })?;
    let Some(ticket) = store.ticket(id).await? else {
        bail!("no ticket {id} (it may have been retired: see /api/v1/archive/{id})");
    };
    // State names come from the manifests; without them, codes are shown.
    let catalog = super::bots::catalog_of(&config.bots_dir).unwrap_or_default();
    let logs = store.logs(id).await?;
    let stakeholders = store.stakeholders(id).await?;
    print!("{}", render(&ticket, &logs, &stakeholders, &catalog));
    Ok(())
}

fn render(ticket: &Ticket, logs: &[LogEntry], people: &[Stakeholder], catalog: &Catalog) -> String {
    let state = |code: u32| {
        catalog
            .ticket_type(&ticket.metaservice, &ticket.ticket_type)
            .and_then(|tt| tt.state(code))
            .map_or_else(
                || format!("state {code}"),
                |s| format!("{} ({code})", s.name),
            )
    };
    let mut out = format!(
        "ticket {}: {}\n  type      {}/{}\n  state     {}, {}\n  created   {} by {}\n  updated   {} (version {})\n",
        ticket.id,
        ticket.title,
        ticket.metaservice,
        ticket.ticket_type,
        state(ticket.state_code),
        ticket.status.as_str(),
        time(ticket.created_at),
        ticket.created_by,
        time(ticket.updated_at),
        ticket.version,
    );
    if let Some(at) = ticket.closed_at {
        out += &format!("  closed    {}\n", time(at));
    }
    if let Some(at) = ticket.deadline_at {
        out += &format!("  deadline  {}\n", time(at));
    }
    if let Some(parent) = ticket.parent_id {
        out += &format!("  parent    ticket {parent}\n");
    }
    let metadata = serde_json::to_string_pretty(&ticket.metadata).unwrap_or_default();
    out += &format!("metadata\n{}\n", indent(&metadata));
    out += "stakeholders\n";
    for s in people {
        let who = match (&s.user_id, &s.group) {
            (Some(user), _) => format!("user {user}"),
            (None, Some(group)) => format!("group {group}"),
            (None, None) => s.principal_kind.clone(),
        };
        let active = if s.is_active { "" } else { ", inactive" };
        out += &format!("  {who}: {} ({}{active})\n", s.role, s.connection);
    }
    out += "timeline\n";
    for log in logs {
        let moved = match (log.from_state, log.to_state) {
            (Some(from), Some(to)) => format!(" {} -> {}", state(from), state(to)),
            (None, Some(to)) => format!(" -> {}", state(to)),
            _ => String::new(),
        };
        out += &format!(
            "  {}  {}  {}{moved}: {}\n",
            time(log.created_at),
            log.actor,
            log.action,
            log.message
        );
        if let Some(data) = &log.data {
            out += &format!("      {data}\n");
        }
    }
    out
}

fn time(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(at).map_or_else(
        || at.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
