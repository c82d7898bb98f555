//! Example requests and responses for the OpenAPI document, drawn from the
//! `wca` example metaservice. The contract test validates each against the
//! schema it illustrates, so they cannot drift from the API.

use serde_json::{Value, json};

const AT: &str = "2026-11-25T09:30:00.000Z";
const LATER: &str = "2026-11-25T09:30:02.000Z";

fn metadata() -> Value {
    json!({"wca_id": "2012SMIT01",
        "changes": {"dob": {"old": "1990-01-01", "new": "1990-01-02"}}})
}

fn ticket() -> Value {
    json!({
        "id": 2, "metaservice": "wca", "ticket_type": "edit_person",
        "title": "Wrong birthday", "state": {"code": 2, "name": "in_review"},
        "status": "open", "metadata": metadata(), "parent_id": null,
        "created_by": {"kind": "user", "id": 3},
        "created_at": AT, "updated_at": LATER, "closed_at": null,
        "deadline_at": "2026-12-09T09:30:02.000Z", "version": 4,
        "stakeholders": [
            {"id": 3, "principal": {"kind": "user", "id": 3}, "connection": "cc",
             "role": "requester", "is_active": true, "created_at": AT},
            {"id": 4, "principal": {"kind": "group", "name": "wrt"}, "connection": "assigned",
             "role": "actioner", "is_active": true, "created_at": LATER},
        ],
    })
}

fn user() -> Value {
    json!({"id": 3, "login": "jsmith", "name": "John Smith", "email": "john@example.org",
        "is_admin": false, "email_notifications": true, "created_at": AT})
}

fn settings() -> Value {
    json!({"lifetime": "14d", "notify_every": "1d", "notify_repeats": 3,
        "retention": "365d", "on_retention": "archive"})
}

fn notification() -> Value {
    json!({"id": 7, "ticket_id": 2, "kind": "accept",
        "text": "Ticket 2 (Wrong birthday) waits for wrt: accept it to work on it",
        "read": false, "created_at": LATER,
        "deliveries": [{"id": 12, "channel": "email", "target": "john@example.org",
            "state": "sent", "attempts": 1, "last_error": null, "next_attempt_at": null,
            "sent_at": LATER}]})
}

fn bot() -> Value {
    json!({"name": "wca-edit_person-1-open", "metaservice": "wca", "ticket_type": "edit_person",
        "state": {"code": 1, "name": "open"}, "status": "running",
        "version": "5f1c0a9e3b7d2c4f6a8e0b1d3c5e7f9a2b4d6f8e0a1c3e5b7d9f1a3c5e7b9d0f",
        "toolchain": "baton-sdk 0.1.0 (rust)", "loaded_at": AT, "restarts": 0, "last_error": null})
}

fn ticket_type() -> Value {
    let type_settings = settings();
    json!({
        "name": "edit_person",
        "description": "A person asks to correct the details of their WCA profile",
        "initial_state": 1,
        "states": [
            {"code": 2, "name": "in_review", "description": "Valid; assigned to the WCA Results Team",
             "terminal": false, "settings": type_settings,
             "actions": [{"name": "reject", "allowed": ["assigned", "actioner"],
                          "payload_schema": {"type": "object", "required": ["reason"]}}]},
            {"code": 3, "name": "approved", "description": "The profile change was approved",
             "terminal": true, "settings": null, "actions": []},
        ],
        "transitions": [[1, 2, 4], [2, 3, 4]],
        "metadata_schema": {"type": "object", "required": ["wca_id", "changes"]},
        "settings": type_settings,
    })
}

/// The example body of the request of operation `id`, if it takes one.
pub fn request(id: &str) -> Option<Value> {
    Some(match id {
        "createTicket" => json!({"metaservice": "wca", "ticket_type": "edit_person",
            "title": "Wrong birthday", "metadata": metadata()}),
        "updateTicket" => json!({"title": "Wrong date of birth",
            "metadata": {"changes": {"dob": {"old": "1990-01-01", "new": "1990-01-03"}}}}),
        "addTicketStakeholder" => json!({"user_id": 5, "connection": "cc", "role": "actioner"}),
        "updateTicketStakeholder" => json!({"is_active": false}),
        "createTicketComment" => {
            json!({"body": "Here is my passport scan.", "acting_stakeholder_id": 3})
        }
        "runTicketAction" => json!({"payload": {"reason": "No document shows this date"}}),
        "handOverTicket" => json!({"user_id": 5}),
        "createUser" => json!({"login": "jsmith", "name": "John Smith",
            "email": "john@example.org"}),
        "createUserToken" => json!({"name": "laptop"}),
        "createGroup" => json!({"name": "wrt"}),
        "updateTicketTypeSettings" => json!({"lifetime": "21d", "notify_repeats": 5}),
        "updateMe" => json!({"email_notifications": false}),
        _ => return None,
    })
}

/// The example body of the success response of operation `id`, if it has
/// one.
pub fn response(id: &str) -> Option<Value> {
    Some(match id {
        "listTickets" => json!({"items": [ticket()], "next_cursor": "7469636b6574733a32"}),
        "createTicket"
        | "getTicket"
        | "updateTicket"
        | "listTicketStakeholders"
        | "addTicketStakeholder"
        | "updateTicketStakeholder"
        | "acceptTicket"
        | "handOverTicket"
        | "releaseTicket" => ticket(),
        "listTicketLogs" => json!({"items": [
            {"id": 1, "actor": {"kind": "user", "id": 3}, "acting_stakeholder_id": null,
             "action": "created", "from_state": null, "to_state": {"code": 1, "name": "open"},
             "message": "ticket created", "data": null, "created_at": AT},
            {"id": 2, "actor": {"kind": "bot", "name": "wca-edit_person-1-open"},
             "acting_stakeholder_id": null, "action": "moved",
             "from_state": {"code": 1, "name": "open"},
             "to_state": {"code": 2, "name": "in_review"},
             "message": "needs a review", "data": null, "created_at": LATER},
        ]}),
        "listTicketComments" => json!({"items": [{"id": 1, "body": "Here is my passport scan.",
            "acting_user_id": 3, "acting_stakeholder_id": 3, "created_at": LATER}]}),
        "createTicketComment" => json!({"id": 1, "body": "Here is my passport scan.",
            "acting_user_id": 3, "acting_stakeholder_id": 3, "created_at": LATER}),
        "runTicketAction" => json!({"ticket_id": 2, "action": "reject", "status": "queued"}),
        "listNotifications" => json!({"items": [notification()], "next_cursor": null}),
        "streamNotifications" => {
            Value::String(format!("event: notification\ndata: {}\n\n", notification()))
        }
        "createUser" => user(),
        "listUsers" => json!({"items": [user()]}),
        "createUserToken" => json!({"id": 4, "user_id": 3, "name": "laptop",
            "token": "bt_0f5e3c1a9b7d2e4f6a8c0b1d3e5f7a9c2b4d6e8f0a1c3e5b7d9f1a3c5e7b9d0f",
            "created_at": AT}),
        "createGroup" => json!({"id": 1, "name": "wrt", "members": [], "created_at": AT}),
        "listGroups" => json!({"items": [{"id": 1, "name": "wrt", "members": [3, 5],
            "created_at": AT}]}),
        "getMe" | "updateMe" => {
            let mut me = user();
            me["groups"] = json!(["wrt"]);
            me
        }
        "listMetaservices" => json!({"items": [{"name": "wca",
            "description": "World Cube Association: profile change requests",
            "error_group": "wst", "groups": ["wst", "wrt"],
            "egress": ["api.worldcubeassociation.org:443"],
            "ticket_types": ["anonymization", "edit_person"],
            "limits": {"deadline_ms": 5000, "memory_mib": 64, "max_host_calls": 10000,
                "max_tickets_created": 100, "max_log_bytes": 65536, "max_output_bytes": 65536,
                "tickets_per_minute": 600, "max_open_tickets": 100000, "max_pending_events": 100,
                "max_timers": 20, "max_child_depth": 8},
            "usage": {"open_tickets": 12, "created_last_minute": 3}}]}),
        "listTicketTypes" => json!({"items": [ticket_type()]}),
        "updateTicketTypeSettings" => settings(),
        "getArchivedTicket" => json!({
            "ticket": {"id": 1, "metaservice": "wca", "ticket_type": "edit_person",
                "title": "Fix my name", "state_code": 3, "status": "closed",
                "metadata": {"wca_id": "2012SMIT01"}, "parent_id": null,
                "created_by": {"kind": "user", "user_id": 3, "bot": null},
                "created_at": 1764063000000_i64, "updated_at": 1764063001000_i64,
                "closed_at": 1764063001000_i64, "version": 3},
            "stakeholders": [], "comments": [], "logs": []}),
        "listBots" => json!({"items": [bot()]}),
        "restartBot" => bot(),
        _ => return None,
    })
}

/// An example value of path parameter `name` of the operation at `path`.
pub fn path_parameter(path: &str, name: &str) -> Value {
    match (name, path) {
        ("name", p) if p.starts_with("/bots") => json!("wca-edit_person-1-open"),
        ("name", p) if p.starts_with("/groups") => json!("wrt"),
        ("name", _) => json!("reject"),
        ("ms", _) => json!("wca"),
        ("tt", _) => json!("edit_person"),
        ("sid", _) => json!(4),
        ("user_id", _) => json!(5),
        (_, p) if p.starts_with("/notifications") => json!(7),
        (_, p) if p.starts_with("/users") => json!(3),
        _ => json!(2),
    }
}
