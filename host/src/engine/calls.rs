//! From a queued event to the call the bot of its state gets. The payload
//! comes from the database: a field that is missing or of the wrong type is
//! an error (the event fails and is parked with an error ticket), never a
//! silent default.

use serde_json::Value;

use crate::runtime::Call;
use crate::store::{EventKind, QueuedEvent};

/// The bot call for `event`; `None` for the host's own work (reminders).
pub fn call_of(event: &QueuedEvent) -> Result<Option<Call>, String> {
    let p = &event.payload;
    let call = match event.kind {
        EventKind::Reminder => return Ok(None),
        EventKind::Entered => Call::Entered,
        EventKind::Sweep => Call::Sweep,
        EventKind::WaitEnded => Call::WaitEnded,
        EventKind::Timeout => Call::Timeout,
        EventKind::TicketClosed => Call::TicketClosed(int(p, "other")?),
        EventKind::TicketGone => Call::TicketGone(int(p, "other")?),
        EventKind::Accepted => Call::Accepted(int(p, "user_id")?),
        EventKind::Reminded => Call::Reminded(
            u32::try_from(int(p, "number")?)
                .map_err(|_| format!("the reminder number is out of range: {p}"))?,
        ),
        EventKind::Action => Call::Action {
            name: text(p, "name")?,
            // An action may carry no payload at all.
            payload: p.get("payload").unwrap_or(&Value::Null).to_string(),
            user_id: int(p, "user_id")?,
        },
        EventKind::Comment => Call::Comment {
            id: int(p, "comment_id")?,
            body: text(p, "body")?,
            user_id: int(p, "user_id")?,
        },
        EventKind::Notification => Call::Notification {
            from: text(p, "from")?,
            text: text(p, "text")?,
        },
    };
    Ok(Some(call))
}

fn int(payload: &Value, key: &str) -> Result<i64, String> {
    payload[key]
        .as_i64()
        .ok_or_else(|| format!("the event's payload has no integer {key:?}: {payload}"))
}

fn text(payload: &Value, key: &str) -> Result<String, String> {
    payload[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("the event's payload has no string {key:?}: {payload}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(kind: EventKind, payload: Value) -> QueuedEvent {
        QueuedEvent {
            id: 1,
            ticket_id: 1,
            state_code: 1,
            kind,
            payload,
            parked: false,
            attempts: 0,
            available_at: 0,
            last_error: None,
            ticket: None,
        }
    }

    #[test]
    fn payloads_become_calls() {
        let action = event(EventKind::Action, json!({"name": "approve", "user_id": 3}));
        let expected = Call::Action {
            name: "approve".into(),
            payload: "null".into(),
            user_id: 3,
        };
        assert_eq!(call_of(&action), Ok(Some(expected)));
        assert_eq!(call_of(&event(EventKind::Reminder, json!({}))), Ok(None));
        assert_eq!(
            call_of(&event(EventKind::TicketClosed, json!({"other": 9}))),
            Ok(Some(Call::TicketClosed(9)))
        );
    }

    #[test]
    fn a_damaged_payload_is_an_error_not_a_default() {
        for (kind, payload) in [
            (EventKind::Action, json!({"name": "approve"})),
            (
                EventKind::Comment,
                json!({"comment_id": "7", "body": "x", "user_id": 1}),
            ),
            (EventKind::TicketClosed, json!({})),
            (EventKind::Notification, json!({"from": 1, "text": "x"})),
        ] {
            let e = event(kind, payload);
            assert!(call_of(&e).is_err(), "{e:?}");
        }
    }
}
