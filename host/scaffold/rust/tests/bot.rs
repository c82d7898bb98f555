//! The bot's logic, natively, against the SDK's test host.

use baton_sdk::Reason;
use baton_sdk::testing::TestHost;

use {{crate}}::Open;

#[test]
fn a_request_is_logged_and_done() {
    let host = TestHost::new("{{name}}", "request")
        .state(1, "open")
        .terminal(2, "done")
        .transitions(&[&[1, 2]]);
    let id = host.add_ticket(1, "a request", serde_json::json!({"text": "hello"}));
    host.proceed::<Open>(id, Reason::Entered).unwrap();
    assert_eq!(host.logs(id), vec!["received: \"hello\""]);
    assert_eq!(host.ticket(id).state.code, 2);
}
