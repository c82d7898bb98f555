//! The `people` and `settings` imports: who a ticket is assigned to, who is
//! in the loop, and what the operators configured.
//!
//! Stakeholder rows are read once per ticket and invocation into
//! [`Session::people`]; every change is applied there too, so a bot that
//! assigns a user and then asks who is assigned gets its own answer. The
//! rows are written when the invocation commits, guarded by the ticket's
//! version like any other change of it.

use super::bindings::baton::bot::{people, settings};
use super::host::{fatal, invalid, not_allowed, not_found, over_limit, ticket_id};
use super::invoke::HostFailure;
use super::session::{Change, PersonRow, Session};
use super::{BotState, CallError};
use crate::model::TicketId;
use crate::store::Principal;

/// Whether a requester row names `user`.
fn is_requester(rows: &[PersonRow], user: i64) -> bool {
    rows.iter()
        .any(|r| r.user_id == Some(user) && r.role == "requester")
}

/// WIT user ids are `u64`; ours are positive `i64`s.
fn user_id(id: u64) -> Result<i64, CallError> {
    i64::try_from(id).map_err(|_| not_found(format!("user {id}")))
}

fn connection(c: people::Connection) -> &'static str {
    match c {
        people::Connection::Assigned => "assigned",
        people::Connection::Cc => "cc",
        people::Connection::Bcc => "bcc",
    }
}

fn role(r: people::Role) -> &'static str {
    match r {
        people::Role::Requester => "requester",
        people::Role::Actioner => "actioner",
    }
}

impl Session {
    /// The ticket's stakeholders, read on first use.
    async fn people_of(&mut self, id: TicketId) -> Result<&mut Vec<PersonRow>, CallError> {
        if !self.people.contains_key(&id) {
            let rows = if self.created.contains(&id) {
                Vec::new()
            } else {
                self.store
                    .stakeholders(id)
                    .await
                    .map_err(|e| fatal(format!("reading the stakeholders of ticket {id}: {e}")))?
                    .into_iter()
                    .map(|s| PersonRow {
                        stored: Some(s.id),
                        user_id: s.user_id,
                        group: s.group,
                        connection: s.connection,
                        role: s.role,
                        is_active: s.is_active,
                    })
                    .collect()
            };
            self.people.insert(id, rows);
        }
        Ok(self.people.entry(id).or_default())
    }

    async fn assigned_user(&mut self, id: TicketId) -> Result<Option<i64>, CallError> {
        self.read(id).await?;
        let rows = self.people_of(id).await?;
        Ok(rows
            .iter()
            .rev()
            .filter(|r| r.is_active && r.connection == "assigned")
            .find_map(|r| r.user_id))
    }

    /// Adds a row to the view and records the change.
    fn add_row(&mut self, id: TicketId, principal: Principal, conn: &'static str, r: &'static str) {
        let (user_id, group) = match &principal {
            Principal::User(u) => (Some(*u), None),
            Principal::Group(g) => (None, Some(g.clone())),
        };
        self.people.entry(id).or_default().push(PersonRow {
            stored: None,
            user_id,
            group,
            connection: conn.to_string(),
            role: r.to_string(),
            is_active: true,
        });
        self.record(Change::StakeholderAdded {
            id,
            principal,
            connection: conn,
            role: r,
        });
    }

    /// Makes every active `assigned` row inactive. Rows this invocation
    /// added never reach the database: they and the acceptance request
    /// that came with them are withdrawn.
    fn release_assignment(&mut self, id: TicketId) {
        let mut changes = Vec::new();
        let rows = self.people.entry(id).or_default();
        rows.retain(|r| !(r.stored.is_none() && r.connection == "assigned"));
        for r in rows.iter_mut() {
            if r.is_active && r.connection == "assigned" {
                r.is_active = false;
                if let Some(stakeholder_id) = r.stored {
                    changes.push(Change::StakeholderDeactivated { id, stakeholder_id });
                }
            }
        }
        self.withdraw(|c| {
            matches!(c, Change::StakeholderAdded { id: t, connection: "assigned", .. }
                | Change::AcceptanceRequested { id: t, .. }
                | Change::UserAssigned { id: t, .. } if *t == id)
        });
        for c in changes {
            self.record(c);
        }
    }

    async fn assign_user(&mut self, id: TicketId, user: i64) -> Result<(), CallError> {
        self.owned(id, true).await?;
        let rows = self.people_of(id).await?;
        // The latest group the ticket was assigned to, accepted or not.
        let Some(group) = rows
            .iter()
            .rev()
            .filter(|r| r.connection == "assigned")
            .find_map(|r| r.group.clone())
        else {
            return Err(not_allowed(format!(
                "ticket {id} is not assigned to a group; request acceptance from one first"
            )));
        };
        if is_requester(rows, user) {
            return Err(not_allowed(format!(
                "user {user} asked for ticket {id}: a requester is not assigned her own request"
            )));
        }
        // One refusal for a user who is not a member and for one who does
        // not exist: a bot cannot walk user ids to learn who is there.
        let members = self.members(&group).await?;
        if !members.contains(&user) {
            return Err(not_allowed(format!(
                "user {user} is not a member of group {group}, which ticket {id} is assigned to"
            )));
        }
        self.release_assignment(id);
        self.add_row(id, Principal::User(user), "assigned", "actioner");
        self.record(Change::UserAssigned {
            id,
            user_id: user,
            group,
        });
        Ok(())
    }

    async fn request_acceptance(&mut self, id: TicketId, group: String) -> Result<(), CallError> {
        self.owned(id, true).await?;
        let members = self.addressable_group(id, &group).await?;
        let rows = self.people_of(id).await?;
        let active = |r: &&PersonRow| r.is_active && r.connection == "assigned";
        let already = rows
            .iter()
            .filter(active)
            .any(|r| r.group.as_deref() == Some(&group))
            && !rows.iter().filter(active).any(|r| r.user_id.is_some());
        if already {
            // Asked already (e.g. the ticket was created assigned to the
            // group): its members have had their request.
            return Ok(());
        }
        // Back to the group: whoever held it lets go, and the group is
        // assigned afresh (an earlier, accepted row stays as history).
        self.release_assignment(id);
        self.add_row(id, Principal::Group(group.clone()), "assigned", "actioner");
        self.record(Change::AcceptanceRequested { id, group, members });
        Ok(())
    }

    async fn add_stakeholder(
        &mut self,
        id: TicketId,
        who: people::Principal,
        conn: &'static str,
        r: &'static str,
    ) -> Result<(), CallError> {
        self.owned(id, true).await?;
        let principal = match who {
            people::Principal::User(u) => {
                let u = user_id(u)?;
                self.addressable_user(id, u).await?;
                Principal::User(u)
            }
            people::Principal::Group(g) => {
                self.addressable_group(id, &g).await?;
                Principal::Group(g)
            }
        };
        let rows = self.people_of(id).await?;
        // The rules people are held to (engine/policy.rs), for bots too.
        let same = |row: &PersonRow| match &principal {
            Principal::User(u) => row.user_id == Some(*u),
            Principal::Group(g) => row.group.as_deref() == Some(g.as_str()),
        };
        if rows
            .iter()
            .any(|row| row.is_active && row.connection == conn && same(row))
        {
            // Already there: adding it again changes nothing.
            return Ok(());
        }
        if let Principal::User(u) = principal
            && (r == "actioner" || conn == "assigned")
            && is_requester(rows, u)
        {
            return Err(not_allowed(format!(
                "user {u} asked for ticket {id}: a requester is not made one of its actioners"
            )));
        }
        if rows.len() >= crate::model::ticket::MAX_STAKEHOLDERS {
            return Err(over_limit(format!(
                "ticket {id} has {} stakeholders, the most it may have",
                crate::model::ticket::MAX_STAKEHOLDERS
            )));
        }
        self.add_row(id, principal, conn, r);
        Ok(())
    }

    /// The members of a group the bot may address: one its manifest
    /// names (`groups`, `error_group`) or one already a stakeholder of the
    /// ticket. Any other group is refused exactly like one that does not
    /// exist, so a bot learns nothing of other metaservices' people.
    pub(super) async fn addressable_group(
        &mut self,
        ticket: TicketId,
        group: &str,
    ) -> Result<Vec<i64>, CallError> {
        let named = self.metaservice.groups.iter().any(|g| g == group);
        let on_ticket = named
            || self
                .people_of(ticket)
                .await?
                .iter()
                .any(|r| r.group.as_deref() == Some(group));
        if !on_ticket {
            return Err(not_found(format!("group {group:?}")));
        }
        self.members(group).await
    }

    /// Checks that the bot may address a user: a stakeholder of the
    /// ticket or of another ticket of its metaservice, or a member of a
    /// group its manifest names. Any other user is refused exactly like
    /// one that does not exist.
    pub(super) async fn addressable_user(
        &mut self,
        ticket: TicketId,
        user: i64,
    ) -> Result<(), CallError> {
        if self
            .people_of(ticket)
            .await?
            .iter()
            .any(|r| r.user_id == Some(user))
        {
            return Ok(());
        }
        let read = |e| fatal(format!("reading the people of user {user}: {e}"));
        let groups = self.store.groups_of(user).await.map_err(read)?;
        let in_named_group = groups
            .iter()
            .any(|g| self.metaservice.groups.contains(&g.name));
        if in_named_group
            || self
                .store
                .involved_in(user, &self.metaservice.name)
                .await
                .map_err(read)?
        {
            Ok(())
        } else {
            Err(not_found(format!("user {user}")))
        }
    }

    /// The members of an existing group, read once per invocation.
    async fn members(&mut self, group: &str) -> Result<Vec<i64>, CallError> {
        if group.trim().is_empty() {
            return Err(invalid("a group name is empty".into()));
        }
        if let Some(members) = self.group_members.get(group) {
            return Ok(members.clone());
        }
        match self.store.group(group).await {
            Ok(Some(g)) => {
                self.group_members
                    .insert(group.to_string(), g.members.clone());
                Ok(g.members)
            }
            Ok(None) => Err(not_found(format!("group {group:?}"))),
            Err(e) => Err(fatal(format!("reading group {group}: {e}"))),
        }
    }
}

impl people::Host for BotState {
    async fn get_assigned_user(&mut self, id: u64) -> Result<Option<u64>, CallError> {
        let id = ticket_id(id)?;
        let user = self.call()?.assigned_user(id).await?;
        Ok(user.map(|u| u as u64))
    }

    async fn set_assigned_user(&mut self, id: u64, user: u64) -> Result<(), CallError> {
        let (id, user) = (ticket_id(id)?, user_id(user)?);
        self.call()?.assign_user(id, user).await
    }

    async fn add_stakeholder(
        &mut self,
        id: u64,
        who: people::Principal,
        conn: people::Connection,
        r: people::Role,
    ) -> Result<(), CallError> {
        let id = ticket_id(id)?;
        self.call()?
            .add_stakeholder(id, who, connection(conn), role(r))
            .await
    }

    async fn request_acceptance(&mut self, id: u64, group: String) -> Result<(), CallError> {
        let id = ticket_id(id)?;
        self.call()?.request_acceptance(id, group).await
    }
}

fn millis(d: Option<std::time::Duration>) -> Option<u64> {
    d.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl BotState {
    /// The session, for the calls that cannot be refused.
    fn configured(&self) -> wasmtime::Result<&Session> {
        self.session
            .as_ref()
            .ok_or_else(|| HostFailure::error("describe() may not call the host".into()))
    }
}

impl settings::Host for BotState {
    async fn get_settings(&mut self) -> wasmtime::Result<settings::TypeSettings> {
        let session = self.configured()?;
        let s = session
            .metaservice
            .ticket_types
            .get(&session.bot.ticket_type)
            .map(|tt| tt.settings_in(session.bot.state_code))
            .unwrap_or_default();
        Ok(settings::TypeSettings {
            lifetime_ms: millis(s.lifetime),
            notify_every_ms: millis(s.notify_every),
            notify_repeats: s.notify_repeats,
            retention_ms: millis(s.retention),
        })
    }

    async fn get_config(&mut self) -> wasmtime::Result<String> {
        let session = self.configured()?;
        Ok(session.metaservice.config.to_string())
    }
}
