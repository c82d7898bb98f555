//! The anonymization bot against the SDK's native test host.

use baton_sdk::testing::{Call, TestHost, Until};
use baton_sdk::{Action, Event, Principal, Reason, Status};
use serde_json::{Value, json};
use wca_anonymization::AnonymizationBot;
use wca_anonymization::states::{COMPLETED, OPEN, REJECTED};

const REQUESTER: u64 = 3;
const REVIEWER: u64 = 7;

fn host() -> TestHost {
    TestHost::new("wca", "anonymization")
        .state(OPEN, "open")
        .terminal(COMPLETED, "completed")
        .terminal(REJECTED, "rejected")
        .transitions(&[&[OPEN, COMPLETED, REJECTED]])
        .group("wrt", &[REVIEWER, 8])
        .config(json!({"review_group": "wrt"}))
}

fn press(name: &str) -> Event {
    Event::Action(Action {
        name: name.into(),
        payload_json: "null".into(),
        user_id: REVIEWER,
    })
}

fn request(host: &TestHost, metadata: Value) -> u64 {
    let id = host.add_ticket(OPEN, "anonymize me", metadata);
    host.set_creator(id, REQUESTER);
    host.proceed::<AnonymizationBot>(id, Reason::Entered)
        .unwrap();
    id
}

#[test]
fn a_request_is_acknowledged_and_assigned_to_the_review_group() {
    let host = host();
    let id = request(&host, json!({"user_id": 42, "scope": "account_only"}));
    assert_eq!(
        host.logs(id),
        vec![
            "Received anonymization request from user with user ID 42. The anonymization request is \"account only\"."
        ]
    );
    let calls = host.calls();
    assert!(calls.contains(&Call::RequestAcceptance {
        id,
        group: "wrt".into()
    }));
    assert!(calls.iter().any(|c| matches!(c,
        Call::Notify { to: Principal::User(REQUESTER), text, .. } if text.contains("WCA Results Team will work on this request soon"))));
}

#[test]
fn account_only_completes_after_the_button_and_not_before() {
    let host = host();
    let id = request(&host, json!({"user_id": 42, "scope": "account_only"}));
    host.event::<AnonymizationBot>(id, Event::Accepted(REVIEWER))
        .unwrap();
    // No profile part: no child ticket.
    assert!(
        !host
            .calls()
            .iter()
            .any(|c| matches!(c, Call::CreateTicket { .. }))
    );

    host.event::<AnonymizationBot>(id, press("mark_as_completed"))
        .unwrap();
    assert_eq!(host.ticket(id).state.code, OPEN);
    assert_eq!(
        host.logs(id).last().map(String::as_str),
        Some("cannot mark as completed yet: the account")
    );

    host.event::<AnonymizationBot>(id, press("anonymize_account"))
        .unwrap();
    host.event::<AnonymizationBot>(id, press("mark_as_completed"))
        .unwrap();
    let ticket = host.ticket(id);
    assert_eq!(
        (ticket.state.code, ticket.status),
        (COMPLETED, Status::Closed)
    );
}

#[test]
fn account_and_profile_waits_for_the_profile_ticket() {
    let host = host();
    let id = request(
        &host,
        json!({"user_id": 42, "scope": "account_and_profile", "wca_id": "2012SMIT01"}),
    );
    host.event::<AnonymizationBot>(id, Event::Accepted(REVIEWER))
        .unwrap();
    let child = host.ticket(id).metadata::<Value>().unwrap()["profile_ticket"]
        .as_u64()
        .expect("a profile ticket");
    let calls = host.calls();
    assert!(calls.contains(&Call::CreateTicket {
        ticket_type: "anonymize_profile".into(),
        title: "Anonymize profile 2012SMIT01".into(),
        metadata: json!({"wca_id": "2012SMIT01", "user_id": 42}),
    }));
    assert!(calls.contains(&Call::Wait {
        id,
        until: Until::Ticket(child)
    }));

    host.event::<AnonymizationBot>(id, press("anonymize_account"))
        .unwrap();
    host.event::<AnonymizationBot>(id, press("mark_as_completed"))
        .unwrap();
    assert_eq!(
        host.logs(id).last().map(String::as_str),
        Some(format!("cannot mark as completed yet: the profile (ticket {child})").as_str())
    );

    host.proceed::<AnonymizationBot>(id, Reason::TicketClosed(child))
        .unwrap();
    assert_eq!(
        host.logs(id).last().map(String::as_str),
        Some(format!("profile anonymized (ticket {child}); everything is done: ready to be marked as completed").as_str())
    );
    host.event::<AnonymizationBot>(id, press("mark_as_completed"))
        .unwrap();
    assert_eq!(host.ticket(id).state.code, COMPLETED);
}
