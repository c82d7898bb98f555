//! Who may do what to a ticket, in one place: naming stakeholders (at
//! creation and later), editing the title and which metadata fields,
//! acting on behalf of a stakeholder, and the rule that a closed ticket is
//! read-only. The API and the engine ask here; acceptance (`acceptance.rs`)
//! adds its own rules about groups and holders, and bots are held to the
//! same stakeholder rules in the runtime (`runtime/people.rs`).
//!
//! The rules, in short:
//! - Admins may name any stakeholder and edit every field people may edit.
//! - A non-admin who creates a ticket is its requester and nothing more:
//!   they name no stakeholders. The manifest and the bots assign the rest.
//! - Later, the assigned (the active assigned user, or before acceptance
//!   a member of the assigned group) may add `cc` and `bcc` stakeholders
//!   and change their rows; assignment itself changes hands only through
//!   accept, hand-over and release. Nobody but an admin makes a ticket's
//!   requester one of its actioners.
//! - Metadata fields are the bots' unless an `editable` rule of the
//!   manifest names them, for a state and a connection or role.
//! - Acting rights follow active rows: a group that handed the ticket to
//!   the member who accepted it keeps seeing it, but no longer acts on it.

use std::collections::BTreeSet;

use serde_json::Value;

use super::changes::ChangeError;
use crate::model::{Status, Ticket, TicketType};
use crate::store::{NewStakeholder, Principal, Stakeholder};

/// The most stakeholders one create request may name.
pub const MAX_STAKEHOLDERS_AT_CREATION: usize = 20;
pub use crate::model::ticket::MAX_STAKEHOLDERS;

/// A user's part in one ticket.
#[derive(Debug, Clone)]
pub struct Involvement {
    pub admin: bool,
    pub user_id: i64,
    /// Rows naming the user, and active rows of groups they belong to.
    pub rows: Vec<Stakeholder>,
}

impl Involvement {
    /// Holds an active row whose connection or role is `name`.
    pub fn holds(&self, name: &str) -> bool {
        self.rows
            .iter()
            .any(|s| s.is_active && (s.connection == name || s.role == name))
    }

    /// Admins, the assigned and the requester may edit a ticket's title.
    pub fn can_edit_title(&self) -> bool {
        self.admin || self.holds("assigned") || self.holds("requester")
    }

    /// The caller asked for this ticket: a requester row names them.
    pub fn is_requester(&self) -> bool {
        self.rows
            .iter()
            .any(|s| s.user_id == Some(self.user_id) && s.role == "requester")
    }

    /// Whether the caller may press an action allowed to `allowed`. A
    /// requester (unless an admin) presses only actions that name
    /// `requester`: being in the reviewing group too does not let her
    /// approve her own request.
    pub fn may_act(&self, allowed: &[String]) -> bool {
        if self.admin {
            return true;
        }
        if self.is_requester() && !allowed.iter().any(|a| a == "requester") {
            return false;
        }
        allowed.iter().any(|a| self.holds(a))
    }

    pub fn acts_for(&self, stakeholder: i64) -> bool {
        self.rows.iter().any(|s| s.id == stakeholder && s.is_active)
    }

    /// The stakeholder a change is made for, checked to be the caller's:
    /// an active row naming them or a group they belong to.
    pub fn acting(&self, stakeholder: Option<i64>) -> Result<Option<i64>, ChangeError> {
        match stakeholder {
            Some(sid) if !self.acts_for(sid) => Err(ChangeError::NotYours(format!(
                "stakeholder {sid} is not one of yours on this ticket"
            ))),
            other => Ok(other),
        }
    }
}

/// A closed ticket is read-only to people (retention alone removes it).
pub fn ensure_open(ticket: &Ticket) -> Result<(), ChangeError> {
    if ticket.status == Status::Closed {
        return Err(ChangeError::Conflict(format!(
            "ticket {} is closed and can no longer be changed",
            ticket.id
        )));
    }
    Ok(())
}

/// The stakeholders a create request names besides its creator.
pub fn check_creation(admin: bool, named: &[NewStakeholder]) -> Result<(), ChangeError> {
    if named.is_empty() {
        return Ok(());
    }
    if !admin {
        return Err(ChangeError::Forbidden(
            "the creator of a ticket is its requester; only admins name other stakeholders \
             (the manifest and the bots assign the rest)"
                .into(),
        ));
    }
    if named.len() > MAX_STAKEHOLDERS_AT_CREATION {
        return Err(ChangeError::Invalid(format!(
            "at most {MAX_STAKEHOLDERS_AT_CREATION} stakeholders may be named at creation"
        )));
    }
    let mut seen = BTreeSet::new();
    for s in named {
        if !seen.insert((principal_key(&s.principal), s.connection)) {
            return Err(ChangeError::Invalid(format!(
                "{} is named twice as {}",
                describe(&s.principal),
                s.connection
            )));
        }
    }
    Ok(())
}

/// A stakeholder added to an existing ticket whose rows are `rows`. Only
/// admins name stakeholders: a row with the `actioner` role gives the right
/// to act, and one with `requester` takes the right to review, so letting
/// others name them would let a requester pick who approves her request,
/// or a reviewer shut a colleague out. People's part otherwise changes
/// through accept, hand-over and release; the bots assign the rest.
pub fn check_addition(
    who: &Involvement,
    rows: &[Stakeholder],
    new: &NewStakeholder,
) -> Result<(), ChangeError> {
    if !who.admin {
        return Err(ChangeError::Forbidden(
            "stakeholders are named by admins (and the bots); assignment changes hands \
             through accept, handover and release"
                .into(),
        ));
    }
    let key = principal_key(&new.principal);
    if rows
        .iter()
        .any(|r| r.is_active && row_key(r) == key && r.connection == new.connection)
    {
        return Err(ChangeError::Conflict(format!(
            "{} is already an active {} stakeholder",
            describe(&new.principal),
            new.connection
        )));
    }
    if rows.len() >= MAX_STAKEHOLDERS {
        return Err(ChangeError::Conflict(format!(
            "the ticket has {MAX_STAKEHOLDERS} stakeholders, the most it may have"
        )));
    }
    Ok(())
}

/// A change to an existing stakeholder row (admins only, as additions);
/// it may not make the row a duplicate of another active one.
pub fn check_update(
    who: &Involvement,
    rows: &[Stakeholder],
    current: &Stakeholder,
    connection: Option<&str>,
    is_active: Option<bool>,
) -> Result<(), ChangeError> {
    if !who.admin {
        return Err(ChangeError::Forbidden(
            "stakeholders are changed by admins (and the bots); assignment changes hands \
             through accept, handover and release"
                .into(),
        ));
    }
    let connection = connection.unwrap_or(&current.connection);
    let active = is_active.unwrap_or(current.is_active);
    let key = row_key(current);
    if active
        && rows.iter().any(|r| {
            r.id != current.id && r.is_active && row_key(r) == key && r.connection == connection
        })
    {
        return Err(ChangeError::Conflict(format!(
            "stakeholder {} would be a second active {connection} row of the same principal",
            current.id
        )));
    }
    Ok(())
}

/// The top-level metadata fields whose values differ between two
/// documents (added, removed or changed).
pub fn changed_fields(old: &Value, new: &Value) -> BTreeSet<String> {
    let empty = serde_json::Map::new();
    let (a, b) = (
        old.as_object().unwrap_or(&empty),
        new.as_object().unwrap_or(&empty),
    );
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// May `who` change these metadata fields of a ticket in `state`?
pub fn check_fields(
    who: &Involvement,
    tt: &TicketType,
    state: u32,
    fields: &BTreeSet<String>,
) -> Result<(), ChangeError> {
    for field in fields {
        let mut rules = tt.editable.iter().filter(|r| r.fields.contains(field));
        // A requester's rights come only from rules that name `requester`:
        // being in the reviewing group does not let her edit the review.
        let requester = who.is_requester();
        let holds = |b: &String| who.holds(b) && (!requester || b == "requester");
        let allowed = if who.admin {
            rules.next().is_some()
        } else {
            rules.any(|r| r.covers(field, state) && r.by.iter().any(holds))
        };
        if !allowed {
            return Err(ChangeError::Forbidden(format!(
                "metadata field {field:?} of {} cannot be changed by you in state {state}",
                tt.name
            )));
        }
    }
    Ok(())
}

/// A principal as a comparable key: `user:7`, `group:wrt`.
fn principal_key(p: &Principal) -> String {
    match p {
        Principal::User(id) => format!("user:{id}"),
        Principal::Group(name) => format!("group:{name}"),
    }
}

fn row_key(r: &Stakeholder) -> String {
    match (r.user_id, &r.group) {
        (Some(id), _) => format!("user:{id}"),
        (None, Some(name)) => format!("group:{name}"),
        (None, None) => String::new(),
    }
}

fn describe(p: &Principal) -> String {
    match p {
        Principal::User(id) => format!("user {id}"),
        Principal::Group(name) => format!("group {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(id: i64, user: Option<i64>, group: Option<&str>, conn: &str, role: &str) -> Stakeholder {
        Stakeholder {
            id,
            principal_kind: if user.is_some() { "user" } else { "group" }.into(),
            user_id: user,
            group: group.map(str::to_string),
            connection: conn.into(),
            role: role.into(),
            is_active: true,
            created_at: 0,
        }
    }

    fn new(p: Principal, connection: &'static str, role: &'static str) -> NewStakeholder {
        NewStakeholder {
            principal: p,
            connection,
            role,
        }
    }

    #[test]
    fn creators_name_nobody_unless_admin_and_never_twice() {
        let me = new(Principal::User(1), "cc", "actioner");
        assert!(matches!(
            check_creation(false, std::slice::from_ref(&me)),
            Err(ChangeError::Forbidden(_))
        ));
        assert!(check_creation(true, std::slice::from_ref(&me)).is_ok());
        assert!(matches!(
            check_creation(true, &[me.clone(), me.clone()]),
            Err(ChangeError::Invalid(_))
        ));
        let many: Vec<_> = (0..=MAX_STAKEHOLDERS_AT_CREATION as i64)
            .map(|i| new(Principal::User(i), "cc", "requester"))
            .collect();
        assert!(matches!(
            check_creation(true, &many),
            Err(ChangeError::Invalid(_))
        ));
    }

    #[test]
    fn only_admins_name_stakeholders_and_never_twice() {
        let rows = vec![
            row(1, Some(10), None, "cc", "requester"),
            row(2, Some(20), None, "assigned", "actioner"),
        ];
        let assigned = Involvement {
            admin: false,
            user_id: 20,
            rows: vec![rows[1].clone()],
        };
        let admin = Involvement {
            admin: true,
            user_id: 1,
            rows: Vec::new(),
        };
        let watcher = new(Principal::User(30), "cc", "actioner");
        assert!(matches!(
            check_addition(&assigned, &rows, &watcher),
            Err(ChangeError::Forbidden(_))
        ));
        assert!(check_addition(&admin, &rows, &watcher).is_ok());
        let twice = new(Principal::User(20), "assigned", "actioner");
        assert!(matches!(
            check_addition(&admin, &rows, &twice),
            Err(ChangeError::Conflict(_))
        ));
        let mut old = row(3, Some(20), None, "assigned", "actioner");
        old.is_active = false;
        let mut all = rows.clone();
        all.push(old.clone());
        assert!(matches!(
            check_update(&admin, &all, &old, None, Some(true)),
            Err(ChangeError::Conflict(_))
        ));
        assert!(check_update(&assigned, &all, &old, None, Some(false)).is_err());
    }

    #[test]
    fn changed_fields_are_the_top_level_keys_that_differ() {
        let old = json!({"a": 1, "b": {"c": 2}, "d": 3});
        let new = json!({"a": 1, "b": {"c": 3}, "e": 4});
        let got: Vec<String> = changed_fields(&old, &new).into_iter().collect();
        assert_eq!(got, ["b", "d", "e"]);
    }
}
