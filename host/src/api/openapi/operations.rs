//! What the route annotations cannot say about each operation: its
//! operationId, its summary, and the problems it answers with beyond the
//! ones every operation of its kind has (see `Failure::implied`).

/// A reason an operation answers with a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub status: u16,
    /// The problem `type` is `urn:baton:problem:<slug>`.
    pub slug: &'static str,
    pub when: &'static str,
}

const fn failure(status: u16, slug: &'static str, when: &'static str) -> Failure {
    Failure { status, slug, when }
}

pub const MALFORMED_JSON: Failure = failure(400, "malformed-json", "the body is not JSON");
pub const INVALID_PATH: Failure = failure(
    400,
    "invalid-path",
    "a numeric path parameter is not a 64-bit integer",
);
pub const INVALID_QUERY: Failure = failure(
    400,
    "invalid-query",
    "a query parameter is unknown, malformed or out of bounds",
);
pub const INVALID_CURSOR: Failure = failure(
    400,
    "invalid-cursor",
    "the cursor is not one this listing gave out",
);
pub const NOT_YOURS: Failure = failure(
    400,
    "invalid-stakeholder",
    "`acting_stakeholder_id` is not one of the caller's stakeholders on the ticket",
);
pub const UNAUTHORIZED: Failure = failure(
    401,
    "unauthorized",
    "no bearer token, or one that is unknown or revoked",
);
pub const ADMINS_ONLY: Failure = failure(403, "forbidden", "the caller is not an administrator");
pub const NOT_VISIBLE: Failure = failure(
    404,
    "not-found",
    "no such ticket, or one the caller may not see",
);
pub const CLOSED: Failure = failure(409, "conflict", "the ticket is closed");
pub const RACED: Failure = failure(
    409,
    "conflict",
    "the ticket changed while the request ran; read it again and retry",
);
pub const TOO_LARGE: Failure = failure(413, "payload-too-large", "the body is over 1 MiB");
pub const NOT_JSON: Failure = failure(
    415,
    "unsupported-media-type",
    "the body is not sent as `Content-Type: application/json`",
);
pub const BAD_SHAPE: Failure = failure(
    422,
    "invalid-request",
    "the body is not a JSON object of the documented shape, or a value in it is refused",
);

impl Failure {
    /// The problems every operation with these traits may answer with.
    pub fn implied(secured: bool, json_body: bool, numeric_path: bool) -> Vec<Failure> {
        let mut all = Vec::new();
        if numeric_path {
            all.push(INVALID_PATH);
        }
        if json_body {
            all.extend([MALFORMED_JSON, TOO_LARGE, NOT_JSON, BAD_SHAPE]);
        }
        if secured {
            all.push(UNAUTHORIZED);
        }
        all
    }
}

/// One operation's documentation.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    /// Unique, camelCase: what generated clients name their methods.
    pub id: &'static str,
    pub summary: &'static str,
    pub failures: &'static [Failure],
    /// The component that describes the success body, and its
    /// description, for handlers that build it as JSON.
    pub ok_schema: Option<(&'static str, &'static str)>,
}

const fn op(
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    failures: &'static [Failure],
) -> Operation {
    Operation {
        method,
        path,
        id,
        summary,
        failures,
        ok_schema: None,
    }
}

const fn typed(mut o: Operation, schema: &'static str, description: &'static str) -> Operation {
    o.ok_schema = Some((schema, description));
    o
}

const STAKEHOLDERS_BY_ADMIN: Failure = failure(
    403,
    "forbidden",
    "a caller who is not an administrator names stakeholders",
);
const STAKEHOLDER_LIST: Failure = failure(
    422,
    "invalid-request",
    "a stakeholder is repeated, unknown, or there are more than 20",
);
const UNKNOWN_TYPE: Failure = failure(
    422,
    "unknown-metaservice",
    "no such metaservice (`unknown-ticket-type`: no such ticket type in it)",
);
const INVALID_METADATA: Failure = failure(
    422,
    "invalid-metadata",
    "the metadata breaks the ticket type's schema, is deeper than 32 levels or over 64 KiB",
);
const EDITORS_ONLY: Failure = failure(
    403,
    "forbidden",
    "the caller may not edit this ticket, or these fields of its metadata",
);
const VERSION_MOVED: Failure = failure(
    412,
    "precondition-failed",
    "`If-Match` or `version` names a version the ticket has moved past",
);
const MANAGERS_ONLY: Failure = failure(
    403,
    "forbidden",
    "only administrators name or change stakeholders (the bots assign the rest)",
);
const NO_STAKEHOLDER: Failure = failure(404, "not-found", "no such ticket or stakeholder");
const ACTION_REFUSED: Failure = failure(
    403,
    "forbidden",
    "the action's `allowed` list does not include the caller",
);
const NO_ACTION: Failure = failure(
    404,
    "not-found",
    "no such ticket, or its state has no such action",
);
const BAD_PAYLOAD: Failure = failure(
    422,
    "invalid-request",
    "the payload breaks the action's `payload_schema`, is deeper than 32 levels or over 64 KiB",
);
const NOT_ACTIONABLE: Failure = failure(
    409,
    "conflict",
    "the ticket is closed, or in a state its manifest no longer declares",
);
const NOT_ACCEPTABLE: Failure = failure(
    409,
    "conflict",
    "the ticket is closed, already accepted, or not assigned to a group",
);
const NOT_A_MEMBER: Failure = failure(
    403,
    "forbidden",
    "the caller is not a member of the group the ticket is assigned to",
);
const NOT_ASSIGNED: Failure = failure(
    403,
    "forbidden",
    "only the assigned user and administrators hand a ticket over or release it",
);
const NOT_A_GROUP_TICKET: Failure = failure(
    409,
    "conflict",
    "the ticket is closed, or was never assigned to a group to give it back to",
);
const BAD_RECIPIENT: Failure = failure(
    422,
    "invalid-request",
    "`user_id` names no user, or one who is not a member of the ticket's group",
);
const TOO_MANY_STREAMS: Failure = failure(
    429,
    "too-many-streams",
    "the caller already has 5 streams open",
);
const NO_FAILED_DELIVERY: Failure = failure(404, "not-found", "no failed delivery with this id");
const NO_NOTIFICATION: Failure = failure(404, "not-found", "the caller has no such notification");
const TAKEN: Failure = failure(409, "conflict", "the login is taken");
const GROUP_TAKEN: Failure = failure(409, "conflict", "the group exists");
const NO_USER: Failure = failure(404, "not-found", "no such user");
const NO_TOKEN: Failure = failure(404, "not-found", "no such live token");
const NO_MEMBER: Failure = failure(404, "not-found", "no such group or user");
const NO_METASERVICE: Failure = failure(404, "not-found", "no such metaservice");
const NO_TYPE: Failure = failure(404, "not-found", "no such metaservice or ticket type");
const NO_ARCHIVE: Failure = failure(404, "not-found", "no archived ticket with this id");
const NO_BOT: Failure = failure(404, "not-found", "no bot of this name");
const NO_BOT_FILE: Failure = failure(409, "conflict", "no file serves the bot");
const BOT_REFUSED: Failure = failure(422, "bot-refused", "the bot's file was refused at load");

/// Every operation of `/api/v1`, including those of routes another change
/// brings (`handover`, `release`): an entry whose route is absent from the
/// document is skipped. One line each, as a table.
#[rustfmt::skip]
pub const OPERATIONS: &[Operation] = &[
    op("get", "/tickets", "listTickets", "List the tickets the caller may see, newest first", &[INVALID_QUERY, INVALID_CURSOR]),
    op("post", "/tickets", "createTicket", "Create a ticket", &[STAKEHOLDERS_BY_ADMIN, STAKEHOLDER_LIST, UNKNOWN_TYPE, INVALID_METADATA]),
    op("get", "/tickets/{id}", "getTicket", "Read a ticket", &[NOT_VISIBLE]),
    op("patch", "/tickets/{id}", "updateTicket", "Edit a ticket's title or metadata", &[NOT_YOURS, EDITORS_ONLY, NOT_VISIBLE, CLOSED, RACED, VERSION_MOVED, INVALID_METADATA]),
    op("get", "/tickets/{id}/logs", "listTicketLogs", "Read a ticket's log: who did what, step by step", &[NOT_VISIBLE]),
    op("get", "/tickets/{id}/stakeholders", "listTicketStakeholders", "Read a ticket with its stakeholders", &[NOT_VISIBLE]),
    op("post", "/tickets/{id}/stakeholders", "addTicketStakeholder", "Add a stakeholder to a ticket", &[NOT_YOURS, MANAGERS_ONLY, NOT_VISIBLE, CLOSED]),
    op("patch", "/tickets/{id}/stakeholders/{sid}", "updateTicketStakeholder", "Change a stakeholder's connection or deactivate it", &[NOT_YOURS, MANAGERS_ONLY, NO_STAKEHOLDER, CLOSED]),
    op("get", "/tickets/{id}/comments", "listTicketComments", "Read a ticket's comments, oldest first", &[NOT_VISIBLE]),
    op("post", "/tickets/{id}/comments", "createTicketComment", "Comment on a ticket", &[NOT_YOURS, NOT_VISIBLE, CLOSED]),
    typed(op("post", "/tickets/{id}/actions/{name}", "runTicketAction", "Press one of the actions the ticket's state offers", &[NOT_YOURS, ACTION_REFUSED, NO_ACTION, NOT_ACTIONABLE, BAD_PAYLOAD]), "ActionQueued", "Queued: the bot of the ticket's state runs it shortly"),
    op("post", "/tickets/{id}/accept", "acceptTicket", "Take a ticket assigned to one of the caller's groups", &[NOT_A_MEMBER, NOT_VISIBLE, NOT_ACCEPTABLE]),
    op("post", "/tickets/{id}/handover", "handOverTicket", "Hand a ticket to another member of its group", &[NOT_YOURS, NOT_ASSIGNED, NOT_VISIBLE, CLOSED, BAD_RECIPIENT]),
    op("post", "/tickets/{id}/release", "releaseTicket", "Give a ticket back to its group", &[NOT_ASSIGNED, NOT_VISIBLE, NOT_A_GROUP_TICKET]),
    op("get", "/notifications", "listNotifications", "Read the caller's inbox, unread first", &[INVALID_QUERY, INVALID_CURSOR]),
    op("get", "/notifications/stream", "streamNotifications", "Follow the caller's new notifications as server-sent events", &[TOO_MANY_STREAMS]),
    op("post", "/notifications/{id}/read", "markNotificationRead", "Mark one of the caller's notifications read", &[NO_NOTIFICATION]),
    op("post", "/users", "createUser", "Create a user", &[ADMINS_ONLY, TAKEN]),
    op("get", "/users", "listUsers", "List the users", &[ADMINS_ONLY]),
    op("post", "/users/{id}/tokens", "createUserToken", "Give a user a new API token", &[ADMINS_ONLY, NO_USER]),
    op("delete", "/tokens/{id}", "revokeToken", "Revoke a token", &[ADMINS_ONLY, NO_TOKEN]),
    op("post", "/groups", "createGroup", "Create a group", &[ADMINS_ONLY, GROUP_TAKEN]),
    op("get", "/groups", "listGroups", "List the groups with their members", &[ADMINS_ONLY]),
    op("put", "/groups/{name}/members/{user_id}", "addGroupMember", "Make a user a member of a group", &[ADMINS_ONLY, NO_MEMBER]),
    op("delete", "/groups/{name}/members/{user_id}", "removeGroupMember", "Remove a user from a group", &[ADMINS_ONLY, NO_MEMBER]),
    op("get", "/me", "getMe", "Who the caller is, and their groups", &[]),
    op("patch", "/me", "updateMe", "Change the caller's own settings (e-mail notifications)", &[]),
    op("post", "/deliveries/{id}/resend", "resendDelivery", "Send a failed delivery again, its attempts reset", &[ADMINS_ONLY, NO_FAILED_DELIVERY]),
    op("get", "/metaservices", "listMetaservices", "List the metaservices", &[]),
    typed(op("get", "/metaservices/{ms}/ticket-types", "listTicketTypes", "Describe a metaservice's ticket types", &[NO_METASERVICE]), "TicketTypeList", "Each type's states, transitions, actions, metadata schema and settings"),
    typed(op("patch", "/metaservices/{ms}/ticket-types/{tt}/settings", "updateTicketTypeSettings", "Change a ticket type's settings", &[ADMINS_ONLY, NO_TYPE]), "Settings", "The settings now in force"),
    typed(op("get", "/archive/{id}", "getArchivedTicket", "Read a ticket that retention archived", &[ADMINS_ONLY, NO_ARCHIVE]), "ArchivedTicket", "The ticket, its stakeholders, comments and log, as archived"),
    op("get", "/bots", "listBots", "List the bots and their status", &[]),
    op("post", "/bots/{name}/restart", "restartBot", "Reload a bot's file and clear its crash state", &[ADMINS_ONLY, NO_BOT, NO_BOT_FILE, BOT_REFUSED]),
];

/// The entry for `method path`.
pub fn find(method: &str, path: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .find(|o| o.method == method && o.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_camel_case_and_summaries_short() {
        let mut ids: Vec<_> = OPERATIONS.iter().map(|o| o.id).collect();
        for o in OPERATIONS {
            assert!(
                o.id.chars().all(|c| c.is_ascii_alphanumeric())
                    && o.id.starts_with(|c: char| c.is_ascii_lowercase()),
                "{}",
                o.id
            );
            assert!(
                o.summary.len() < 80 && !o.summary.ends_with('.'),
                "{}",
                o.summary
            );
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), OPERATIONS.len());
    }
}
