//! The test host's people: groups you declare, the stakeholders a bot
//! adds, and the settings and config it reads. The checks follow Baton's:
//! unknown users and groups are `NotFound`, assigning a user who is not in
//! the ticket's assigned group is `NotAllowed`.

use serde_json::Value;

use super::TestHost;
use crate::{Connection, HostError, HostErrorKind, Principal, Role, Settings, TicketId};

/// A stakeholder of a ticket in the test host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stakeholder {
    pub who: Principal,
    pub connection: Connection,
    pub role: Role,
    pub is_active: bool,
}

impl TestHost {
    /// Declares a group and its members (user ids).
    pub fn group(mut self, name: &str, members: &[u64]) -> Self {
        self.groups.insert(name.into(), members.to_vec());
        self
    }

    /// The settings `ctx.settings()` returns.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// The metaservice `[config]` that `ctx.config()` reads.
    pub fn config(mut self, config: Value) -> Self {
        self.config = config;
        self
    }

    /// Ticket `id`'s stakeholders, inactive ones included, oldest first.
    pub fn stakeholders(&self, id: TicketId) -> Vec<Stakeholder> {
        self.inner
            .borrow()
            .people
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }

    /// The ticket's active assigned user, if any.
    pub fn assigned(&self, id: TicketId) -> Option<u64> {
        self.stakeholders(id)
            .iter()
            .rev()
            .find_map(|s| match s.who {
                Principal::User(u) if s.is_active && s.connection == Connection::Assigned => {
                    Some(u)
                }
                _ => None,
            })
    }

    fn known(&self, who: &Principal) -> Result<(), HostError> {
        let found = match who {
            Principal::User(u) => self.groups.values().any(|m| m.contains(u)),
            Principal::Group(g) => self.groups.contains_key(g),
        };
        if found {
            Ok(())
        } else {
            Err(HostError::new(
                HostErrorKind::NotFound,
                format!("{who:?} (declare it with TestHost::group)"),
            ))
        }
    }

    pub(super) fn add_person(
        &self,
        id: TicketId,
        who: &Principal,
        connection: Connection,
        role: Role,
    ) -> Result<(), HostError> {
        self.known(who)?;
        self.inner
            .borrow_mut()
            .people
            .entry(id)
            .or_default()
            .push(Stakeholder {
                who: who.clone(),
                connection,
                role,
                is_active: true,
            });
        Ok(())
    }

    fn release(&self, id: TicketId) {
        let mut inner = self.inner.borrow_mut();
        for s in inner.people.entry(id).or_default().iter_mut() {
            if s.connection == Connection::Assigned {
                s.is_active = false;
            }
        }
    }

    pub(super) fn assign_group(&self, id: TicketId, group: &str) -> Result<(), HostError> {
        let who = Principal::Group(group.into());
        self.known(&who)?;
        self.release(id);
        self.add_person(id, &who, Connection::Assigned, Role::Actioner)
    }

    pub(super) fn assign(&self, id: TicketId, user: u64) -> Result<(), HostError> {
        self.known(&Principal::User(user))?;
        let group = self
            .stakeholders(id)
            .iter()
            .rev()
            .find_map(|s| match &s.who {
                Principal::Group(g) if s.connection == Connection::Assigned => Some(g.clone()),
                _ => None,
            });
        let Some(group) = group else {
            return Err(HostError::new(
                HostErrorKind::NotAllowed,
                format!("ticket {id} is not assigned to a group"),
            ));
        };
        if !self.groups.get(&group).is_some_and(|m| m.contains(&user)) {
            return Err(HostError::new(
                HostErrorKind::NotAllowed,
                format!("user {user} is not a member of group {group}"),
            ));
        }
        self.release(id);
        self.add_person(
            id,
            &Principal::User(user),
            Connection::Assigned,
            Role::Actioner,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> (TestHost, TicketId) {
        let host = TestHost::new("ms", "job")
            .state(1, "open")
            .terminal(2, "done")
            .transitions(&[&[1, 2]])
            .group("wrt", &[7, 8])
            .group("wst", &[9]);
        let id = host.add_ticket(1, "t", serde_json::json!({}));
        (host, id)
    }

    #[test]
    fn a_user_is_assigned_only_from_the_assigned_group() {
        let (host, id) = host();
        let before = host.assign(id, 7).expect_err("no group assigned yet");
        assert_eq!(before.kind, HostErrorKind::NotAllowed);
        host.assign_group(id, "wrt").expect("a known group");
        let stranger = host.assign(id, 9).expect_err("9 is not in wrt");
        assert_eq!(stranger.kind, HostErrorKind::NotAllowed);
        host.assign(id, 8).expect("a member");
        assert_eq!(host.assigned(id), Some(8));
        // The group's row stays, inactive: the history is kept.
        let rows = host.stakeholders(id);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].who, Principal::Group("wrt".into()));
        assert!(!rows[0].is_active);
        assert!(rows[1].is_active);
    }

    #[test]
    fn unknown_people_are_not_found_and_change_nothing() {
        let (host, id) = host();
        let group = host.assign_group(id, "nobody").expect_err("undeclared");
        assert_eq!(group.kind, HostErrorKind::NotFound);
        let user = host
            .add_person(id, &Principal::User(1), Connection::Cc, Role::Requester)
            .expect_err("undeclared");
        assert_eq!(user.kind, HostErrorKind::NotFound);
        assert!(host.stakeholders(id).is_empty());
    }

    #[test]
    fn a_new_group_request_withdraws_the_previous_assignment() {
        let (host, id) = host();
        host.assign_group(id, "wrt").expect("wrt");
        host.assign(id, 7).expect("a member");
        host.assign_group(id, "wst").expect("wst");
        assert_eq!(host.assigned(id), None);
        let active: Vec<_> = host
            .stakeholders(id)
            .into_iter()
            .filter(|s| s.is_active)
            .map(|s| s.who)
            .collect();
        assert_eq!(active, vec![Principal::Group("wst".into())]);
    }
}
