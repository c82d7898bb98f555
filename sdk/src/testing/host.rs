//! The test host's answers to a bot's calls: the [`Host`] trait over the
//! in-memory tickets, each call recorded as a [`Call`] first.

use serde_json::Value;

use super::{Call, TestHost, Until};
use crate::http::{Request, Response};
use crate::{
    Connection, Host, HostError, HostErrorKind, Principal, Role, Settings, State, Status, Ticket,
    TicketId,
};

fn parse_json(json: &str) -> Result<Value, HostError> {
    serde_json::from_str(json)
        .map_err(|e| HostError::new(HostErrorKind::Invalid, format!("not JSON: {e}")))
}

impl Host for TestHost {
    fn get_ticket(&self, id: TicketId) -> Result<Ticket, HostError> {
        self.record(Call::GetTicket { id });
        self.inner
            .borrow()
            .tickets
            .get(&id)
            .cloned()
            .ok_or_else(|| HostError::new(HostErrorKind::NotFound, format!("ticket {id}")))
    }

    fn create_ticket(
        &self,
        ticket_type: &str,
        title: &str,
        metadata_json: &str,
    ) -> Result<TicketId, HostError> {
        let metadata = parse_json(metadata_json)?;
        self.record(Call::CreateTicket {
            ticket_type: ticket_type.into(),
            title: title.into(),
            metadata: metadata.clone(),
        });
        let first = self.states.keys().next().copied().unwrap_or(1);
        let id = self.add_ticket(first, title, metadata);
        if let Some(t) = self.inner.borrow_mut().tickets.get_mut(&id) {
            t.ticket_type = ticket_type.into();
        }
        Ok(id)
    }

    fn send_ticket(&self, id: TicketId) -> Result<State, HostError> {
        self.record(Call::SendTicket { id });
        let ticket = self.open_ticket(id)?;
        let next = self
            .transitions
            .get(&ticket.state.code)
            .and_then(|to| to.first().copied())
            .ok_or_else(|| {
                HostError::new(
                    HostErrorKind::NotAllowed,
                    format!("state {} has no next state", ticket.state.code),
                )
            })?;
        Ok(self.move_to(ticket, next))
    }

    fn send_ticket_to(&self, id: TicketId, code: u32) -> Result<State, HostError> {
        self.record(Call::SendTicketTo { id, code });
        let ticket = self.open_ticket(id)?;
        let allowed = self
            .transitions
            .get(&ticket.state.code)
            .is_some_and(|to| to.contains(&code));
        if !allowed {
            return Err(HostError::new(
                HostErrorKind::NotAllowed,
                format!("no transition {} -> {code}", ticket.state.code),
            ));
        }
        Ok(self.move_to(ticket, code))
    }

    fn set_metadata(&self, id: TicketId, metadata_json: &str) -> Result<(), HostError> {
        let metadata = parse_json(metadata_json)?;
        self.record(Call::SetMetadata {
            id,
            metadata: metadata.clone(),
        });
        let mut ticket = self.open_ticket(id)?;
        ticket.metadata_json = metadata.to_string();
        ticket.version += 1;
        self.inner.borrow_mut().tickets.insert(id, ticket);
        Ok(())
    }

    fn log(&self, id: TicketId, message: &str, data_json: Option<&str>) -> Result<(), HostError> {
        let data = data_json.map(parse_json).transpose()?;
        self.record(Call::Log {
            id,
            message: message.into(),
            data,
        });
        self.get_ticket_quiet(id)?;
        self.inner.borrow_mut().logs.push((id, message.into()));
        Ok(())
    }

    fn http(&self, request: &Request) -> Result<Response, HostError> {
        self.answer(request)
    }

    fn report_error(&self, id: TicketId, message: &str) -> Result<TicketId, HostError> {
        self.record(Call::ReportError {
            id,
            message: message.into(),
        });
        self.get_ticket_quiet(id)?;
        let mut inner = self.inner.borrow_mut();
        let number = inner.next_id;
        inner.next_id += 1;
        Ok(number)
    }

    fn get_current_ticket_list(&self) -> Result<Vec<TicketId>, HostError> {
        self.record(Call::GetCurrentTicketList);
        let inner = self.inner.borrow();
        Ok(inner
            .tickets
            .values()
            .filter(|t| t.status == Status::Open)
            .map(|t| t.id)
            .collect())
    }

    fn add_ticket_to_proceeded_list(&self, id: TicketId) -> Result<(), HostError> {
        self.record(Call::AddToProceededList { id });
        self.open_ticket(id).map(|_| ())
    }

    fn wait(&self, id: TicketId, millis: u64) -> Result<(), HostError> {
        self.record(Call::Wait {
            id,
            until: Until::Millis(millis),
        });
        self.open_ticket(id).map(|_| ())
    }

    fn wait_until_time(&self, id: TicketId, time: i64) -> Result<(), HostError> {
        self.record(Call::Wait {
            id,
            until: Until::Time(time),
        });
        self.open_ticket(id).map(|_| ())
    }

    fn wait_until_ticket(&self, id: TicketId, other: TicketId) -> Result<(), HostError> {
        self.record(Call::Wait {
            id,
            until: Until::Ticket(other),
        });
        self.open_ticket(id)?;
        self.get_ticket_quiet(other)
    }

    fn send_user_notification(
        &self,
        id: TicketId,
        to: &Principal,
        text: &str,
    ) -> Result<(), HostError> {
        self.record(Call::Notify {
            id,
            to: to.clone(),
            text: text.into(),
        });
        self.get_ticket_quiet(id)
    }

    fn send_bot_notification(&self, id: TicketId, bot: &str, text: &str) -> Result<(), HostError> {
        self.notify_bot_call(id, bot, text)
    }

    fn get_assigned_user(&self, id: TicketId) -> Result<Option<u64>, HostError> {
        self.record(Call::GetAssignedUser { id });
        self.get_ticket_quiet(id)?;
        Ok(self.assigned(id))
    }

    fn set_assigned_user(&self, id: TicketId, user_id: u64) -> Result<(), HostError> {
        self.record(Call::SetAssignedUser { id, user_id });
        self.open_ticket(id)?;
        self.assign(id, user_id)
    }

    fn add_stakeholder(
        &self,
        id: TicketId,
        who: &Principal,
        connection: Connection,
        role: Role,
    ) -> Result<(), HostError> {
        self.record(Call::AddStakeholder {
            id,
            who: who.clone(),
            connection,
            role,
        });
        self.open_ticket(id)?;
        self.add_person(id, who, connection, role)
    }

    fn request_acceptance(&self, id: TicketId, group: &str) -> Result<(), HostError> {
        self.record(Call::RequestAcceptance {
            id,
            group: group.into(),
        });
        self.open_ticket(id)?;
        self.assign_group(id, group)
    }

    fn get_settings(&self) -> Settings {
        self.settings.clone()
    }

    fn get_config(&self) -> String {
        self.config.to_string()
    }
}

impl TestHost {
    fn notify_bot_call(&self, id: TicketId, bot: &str, text: &str) -> Result<(), HostError> {
        self.record(Call::NotifyBot {
            id,
            bot: bot.into(),
            text: text.into(),
        });
        self.get_ticket_quiet(id)
    }

    fn answer(&self, request: &Request) -> Result<Response, HostError> {
        self.record(Call::Http {
            method: request.method.as_str(),
            url: request.url.clone(),
            body: request.body.clone(),
        });
        crate::http::split_url(&request.url)?;
        self.responses.get(&request.url).cloned().ok_or_else(|| {
            HostError::new(
                HostErrorKind::NotAllowed,
                format!("no response for {} in the test host", request.url),
            )
        })
    }

    fn get_ticket_quiet(&self, id: TicketId) -> Result<(), HostError> {
        if self.inner.borrow().tickets.contains_key(&id) {
            Ok(())
        } else {
            Err(HostError::new(
                HostErrorKind::NotFound,
                format!("ticket {id}"),
            ))
        }
    }
}
