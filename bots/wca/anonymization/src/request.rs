//! The metadata of an `anonymization` ticket
//! (`bots/wca/anonymization.schema.json`).

use baton_sdk::TicketId;
use serde::{Deserialize, Serialize};

/// What the person asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    AccountOnly,
    AccountAndProfile,
}

impl Scope {
    /// As the WCA design words it.
    pub fn label(self) -> &'static str {
        match self {
            Scope::AccountOnly => "account only",
            Scope::AccountAndProfile => "account & profile",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Anonymization {
    /// The WCA account to anonymize.
    pub user_id: u64,
    pub scope: Scope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wca_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_anonymized: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_ticket: Option<TicketId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_anonymized: Option<bool>,
}

impl Anonymization {
    /// What is left before the request is complete, if anything.
    pub fn missing(&self) -> Option<String> {
        let mut left = Vec::new();
        if self.account_anonymized != Some(true) {
            left.push("the account".to_string());
        }
        if self.scope == Scope::AccountAndProfile && self.profile_anonymized != Some(true) {
            left.push(match self.profile_ticket {
                Some(t) => format!("the profile (ticket {t})"),
                None => "the profile (its ticket opens when someone accepts the request)".into(),
            });
        }
        (!left.is_empty()).then(|| left.join(" and "))
    }
}
