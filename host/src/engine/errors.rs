//! Filing `baton.error` tickets: the seed's "error ticket to the group that
//! is responsible", for what Baton cannot resolve on its own.

use serde_json::json;

use super::changes::ChangeError;

use super::Engine;
use super::commit::log;
use crate::model::catalog::{BUILTIN_METASERVICE, ERROR_TYPE};
use crate::model::{Actor, Status, Ticket, TicketId};
use crate::store::{Commit, NewStakeholder, NewTicket, Principal, StoreError, TicketUpdate, User};

/// What failed, for whom.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    /// The metaservice whose `error_group` gets the ticket.
    pub metaservice: String,
    /// The ticket that could not be processed, if any: the error ticket's parent.
    pub failed_ticket: Option<TicketId>,
    pub bot: Option<String>,
    pub bot_version: Option<String>,
    pub message: String,
    /// A quota crossed (`tickets_per_minute`…): one error ticket per
    /// metaservice and cause stays open, however often it is crossed.
    pub cause: Option<String>,
}

impl Engine {
    /// The commit that files `report`: the error ticket, assigned to the
    /// metaservice's error group, and a log line on the failed ticket.
    pub(crate) async fn error_commit(
        &self,
        report: &ErrorReport,
    ) -> Result<(Commit, TicketId), StoreError> {
        let catalog = self.catalog();
        // A metaservice that is not (or no longer) declared: Baton's own
        // admins take its errors.
        let group = catalog
            .metaservice(&report.metaservice)
            .or_else(|| catalog.metaservice(BUILTIN_METASERVICE))
            .map(|ms| ms.error_group.clone())
            .unwrap_or_else(|| "admins".into());
        let id = self.store.next_ticket_id().await?;
        let mut commit = Commit::default();
        error_rows(&mut commit, id, report, &group);
        Ok((commit, id))
    }
}

/// Adds to `commit` the error ticket `id` (its number already taken) for
/// `group`, and a log line on the failed ticket.
pub fn error_rows(commit: &mut Commit, id: TicketId, report: &ErrorReport, group: &str) {
    let title = match (&report.bot, report.failed_ticket) {
        (Some(bot), Some(t)) => format!("bot {bot} failed on ticket {t}"),
        (Some(bot), None) => format!("bot {bot} was refused"),
        (None, Some(t)) => format!("ticket {t} needs attention"),
        (None, None) => format!("{} needs attention", report.metaservice),
    };
    let metadata = json!({
        "failed_ticket_id": report.failed_ticket,
        "metaservice": report.metaservice,
        "bot": report.bot,
        "bot_version": report.bot_version,
        "message": report.message,
        "cause": report.cause,
    });
    commit.inserts.push(NewTicket {
        id,
        metaservice: BUILTIN_METASERVICE.into(),
        ticket_type: ERROR_TYPE.into(),
        title: title.clone(),
        state_code: 1,
        status: Status::Open,
        metadata: metadata.into(),
        parent_id: report.failed_ticket,
        created_by: Actor::Host,
        stakeholders: vec![NewStakeholder {
            principal: Principal::Group(group.to_string()),
            connection: "assigned",
            role: "actioner",
        }],
    });
    commit.logs.push(log(
        id,
        &Actor::Host,
        "created",
        None,
        Some(1),
        format!("{title}: {}; assigned to group {group}", report.message),
        None,
    ));
    if let Some(failed) = report.failed_ticket {
        commit.logs.push(log(
            failed,
            &Actor::Host,
            "error_filed",
            None,
            None,
            format!("error ticket {id} filed: {}", report.message),
            Some(json!({"error_ticket_id": id})),
        ));
    }
}

impl Engine {
    /// Files an error ticket for each quota an invocation crossed, unless
    /// one for that metaservice and cause is still open.
    pub(super) async fn report_quotas(
        &self,
        metaservice: &str,
        bot: &crate::model::BotName,
        ticket: TicketId,
        hits: &crate::runtime::QuotaHits,
    ) {
        for (cause, message) in hits.take() {
            let filed = match self.store.open_error(metaservice, cause).await {
                Ok(Some(open)) => {
                    tracing::warn!(bot = %bot, ticket, error_ticket = open, cause, "quota crossed again: {message}");
                    continue;
                }
                Ok(None) => {
                    let report = ErrorReport {
                        metaservice: metaservice.to_string(),
                        failed_ticket: Some(ticket),
                        bot: Some(bot.to_string()),
                        bot_version: None,
                        message: format!("quota {cause} crossed: {message}"),
                        cause: Some(cause.to_string()),
                    };
                    self.file_error(&report).await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = filed {
                tracing::error!(bot = %bot, ticket, cause, "could not file the quota's error ticket: {e}");
            }
        }
    }

    /// Files an error ticket on its own, e.g. for a refused bot file.
    pub(crate) async fn file_error(&self, report: &ErrorReport) -> Result<TicketId, StoreError> {
        let (commit, id) = self.error_commit(report).await?;
        self.commit(&commit, self.clock.now()).await?;
        self.metrics.error_ticket_filed();
        tracing::warn!(error_ticket = id, metaservice = %report.metaservice, "{}", report.message);
        Ok(id)
    }

    /// The host's own actions on an error ticket: `retry` re-queues the
    /// failed ticket's parked events; both it and `resolve` close it.
    pub(super) async fn resolve_error(
        &self,
        ticket: &Ticket,
        user: &User,
        name: &str,
    ) -> Result<(), ChangeError> {
        let now = self.clock.now();
        let actor = Actor::User(user.id);
        let mut message = format!("resolved by {}", user.login);
        if name == "retry" {
            let doc = ticket.metadata.to_value().map_err(|e| {
                StoreError::Corrupt(format!("metadata of ticket {}: {e}", ticket.id))
            })?;
            let failed = doc["failed_ticket_id"].as_i64();
            let requeued = match failed {
                Some(id) => self.store.unpark_events(id, now).await?,
                None => 0,
            };
            message = format!(
                "{message}: {requeued} parked event(s) of ticket {} queued again",
                failed.unwrap_or_default()
            );
            if let Some(id) = failed {
                let note = log(
                    id,
                    &actor,
                    "retry_requested",
                    None,
                    None,
                    format!(
                        "{} asked to retry ({requeued} event(s) queued again)",
                        user.login
                    ),
                    None,
                );
                self.store
                    .commit(
                        &Commit {
                            logs: vec![note],
                            ..Commit::default()
                        },
                        now,
                    )
                    .await?;
            }
        }
        let commit = Commit {
            updates: vec![TicketUpdate {
                id: ticket.id,
                expected_version: ticket.version,
                title: None,
                state: Some((2, Status::Closed)),
                metadata: None,
            }],
            logs: vec![log(
                ticket.id,
                &actor,
                "state_changed",
                Some(ticket.state_code),
                Some(2),
                message,
                None,
            )],
            ..Commit::default()
        };
        self.commit(&commit, now).await?;
        Ok(())
    }
}
