//! Every refusal of the manifest parser, and what a good manifest becomes.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::model::catalog::OnRetention;

const GOOD: &str = r#"
name = "wca"
error_group = "wst"

[ticket_types.edit_person]
transitions = [[1, 2, 4], [2, 3, 4]]
states = [
  { code = 1, name = "open" },
  { code = 2, name = "in_review" },
  { code = 3, name = "approved", terminal = true },
  { code = 4, name = "rejected", terminal = true },
]
[ticket_types.edit_person.metadata_schema]
type = "object"
required = ["wca_id"]
[ticket_types.edit_person.settings]
lifetime = "14d"
notify_every = "1d"
notify_repeats = 3
on_retention = "delete"
"#;

fn no_files(path: &str) -> Result<String, String> {
    Err(format!("no file {path} in this test"))
}

fn refuse(text: &str) -> ManifestError {
    match parse("test.metaservice.toml", text, &no_files) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

/// `GOOD` with one line replaced.
fn good_with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn a_good_manifest_becomes_a_metaservice() {
    let ms = parse("wca.metaservice.toml", GOOD, &no_files).unwrap();
    let tt = &ms.ticket_types["edit_person"];
    assert_eq!(ms.error_group, "wst");
    assert_eq!(tt.initial, 1);
    assert_eq!(tt.transitions[&1], vec![2, 4]);
    assert!(tt.states[&3].terminal);
    assert_eq!(tt.settings.lifetime, Some(Duration::from_secs(14 * 86_400)));
    assert_eq!(tt.settings.notify_repeats, 3);
    assert_eq!(tt.settings.on_retention, OnRetention::Delete);
    assert!(tt.validate_metadata(&json!({"wca_id": "x"})).is_ok());
    let why = tt.validate_metadata(&json!({})).unwrap_err();
    assert!(why.contains("wca_id"), "{why}");
}

#[test]
fn actions_are_read_and_checked() {
    let text = good_with(
        r#"{ code = 2, name = "in_review" },"#,
        r#"{ code = 2, name = "in_review", actions = [
             { name = "approve", allowed = ["assigned"] },
             { name = "reject", allowed = ["assigned", "actioner"],
               payload_schema = { type = "object", required = ["reason"] } } ] },"#,
    );
    let ms = parse("m.toml", &text, &no_files).unwrap();
    let state = &ms.ticket_types["edit_person"].states[&2];
    assert_eq!(state.actions.len(), 2);
    let reject = state.action("reject").unwrap();
    assert!(reject.validate_payload(&json!({"reason": "x"})).is_ok());
    assert!(reject.validate_payload(&json!({})).is_err());
    assert!(
        state
            .action("approve")
            .unwrap()
            .validate_payload(&json!(null))
            .is_ok()
    );

    for (actions, expected) in [
        (
            r#"[{ name = "go", allowed = ["boss"] }]"#,
            "\"boss\" is not one of",
        ),
        (r#"[{ name = "go", allowed = [] }]"#, "names no one"),
        (
            r#"[{ name = "go", allowed = ["cc"] }, { name = "go", allowed = ["cc"] }]"#,
            "declared twice",
        ),
        (r#"[{ name = "go-on", allowed = ["cc"] }]"#, "lowercase"),
    ] {
        let e = refuse(&good_with(
            r#"{ code = 2, name = "in_review" },"#,
            &format!(r#"{{ code = 2, name = "in_review", actions = {actions} }},"#),
        ));
        assert!(e.message.contains(expected), "{expected}: {e}");
        assert_eq!(e.line, 9);
    }
}

#[test]
fn egress_and_limits_are_read() {
    let text = good_with(
        "error_group = \"wst\"",
        "error_group = \"wst\"\negress = [\"API.example.org\", \"127.0.0.1\"]\n[limits]\ndeadline_ms = 250\nmemory_mib = 16",
    );
    let ms = parse("m.toml", &text, &no_files).unwrap();
    let egress: Vec<String> = ms.egress.iter().map(|r| r.to_string()).collect();
    assert_eq!(egress, vec!["api.example.org:443", "127.0.0.1:443"]);
    assert_eq!(ms.limits.deadline_ms, Some(250));
    assert_eq!(ms.limits.memory_mib, Some(16));
    assert_eq!(ms.limits.max_host_calls, None);
}

#[test]
fn a_schema_file_is_read_relative_to_the_manifest() {
    let text = good_with(
        "[ticket_types.edit_person.metadata_schema]\ntype = \"object\"\nrequired = [\"wca_id\"]",
        "",
    )
    .replace(
        "transitions = [[1, 2, 4], [2, 3, 4]]",
        "transitions = [[1, 2, 4], [2, 3, 4]]\nmetadata_schema = \"ep.json\"",
    );
    let read = |path: &str| -> Result<String, String> {
        assert_eq!(path, "ep.json");
        Ok(r#"{"type": "object", "required": ["x"]}"#.into())
    };
    let ms = parse("m.toml", &text, &read).unwrap();
    assert!(
        ms.ticket_types["edit_person"]
            .validate_metadata(&json!({}))
            .is_err()
    );
}

#[test]
fn an_unknown_state_in_a_transition_is_refused_with_its_line() {
    let e = refuse(&good_with("[2, 3, 4]]", "[2, 3, 9]]"));
    assert_eq!(e.file, "test.metaservice.toml");
    assert_eq!(e.line, 6);
    assert!(e.message.contains("unknown state 9"), "{e}");
}

#[test]
fn a_transition_from_a_terminal_state_is_refused() {
    let e = refuse(&good_with("[2, 3, 4]]", "[2, 3, 4], [3, 1]]"));
    assert_eq!(e.line, 6);
    assert!(e.message.contains("state 3 approved is terminal"), "{e}");
}

#[test]
fn a_duplicate_code_is_refused_on_its_line() {
    let e = refuse(&good_with(
        r#"{ code = 2, name = "in_review" }"#,
        r#"{ code = 1, name = "in_review" }"#,
    ));
    assert_eq!(e.line, 9);
    assert!(e.message.contains("duplicate state code 1"), "{e}");
}

#[test]
fn names_with_a_dash_are_refused() {
    let e = refuse(&good_with(r#"name = "wca""#, r#"name = "wca-x""#));
    assert_eq!(e.line, 2);
    assert!(e.message.contains("no '-'"), "{e}");

    let e = refuse(&GOOD.replace("ticket_types.edit_person", "ticket_types.edit-person"));
    assert!(e.message.contains("ticket type \"edit-person\""), "{e}");

    let e = refuse(&good_with(r#"name = "in_review""#, r#"name = "in-review""#));
    assert_eq!(e.line, 9);
    assert!(e.message.contains("\"in-review\""), "{e}");
}

#[test]
fn a_state_nobody_can_leave_is_refused() {
    let e = refuse(&good_with("[[1, 2, 4], [2, 3, 4]]", "[[1, 2, 4]]"));
    assert!(
        e.message
            .contains("state 2 in_review is not terminal, but no transition leaves it"),
        "{e}"
    );
}

#[test]
fn other_mistakes_are_refused_too() {
    let cases = [
        (good_with("[[1, 2, 4],", "[[1],"), "names no next state"),
        (good_with("[[1, 2, 4],", "[[1, 2, 2],"), "listed twice"),
        (
            good_with("[[1, 2, 4],", "[[1, 1, 2],"),
            "cannot move to itself",
        ),
        (
            good_with("[2, 3, 4]]", "[2, 3, 4], [1, 4]]"),
            "a second transition row",
        ),
        (
            good_with("transitions =", "initial = 3\ntransitions ="),
            "initial state 3 approved is terminal",
        ),
        (
            good_with("lifetime = \"14d\"", "lifetime = \"14\""),
            "settings.lifetime",
        ),
        (
            good_with("on_retention = \"delete\"", "on_retention = \"shred\""),
            "archive",
        ),
        (
            good_with("notify_repeats = 3", "notify_repeats = 3\ncolour = 1"),
            "unknown field `colour`",
        ),
        (
            good_with("type = \"object\"", "type = \"thing\""),
            "not a valid JSON Schema",
        ),
        (
            good_with(r#"name = "wca""#, r#"name = "baton""#),
            "reserved",
        ),
        (
            good_with("error_group = \"wst\"", "error_group = \"\""),
            "error_group",
        ),
        (
            "name = \"x\"\nerror_group = \"g\"\n".to_string(),
            "no ticket types",
        ),
        ("name = [\n".to_string(), ""),
    ];
    for (text, expected) in cases {
        let e = refuse(&text);
        assert!(e.message.contains(expected), "expected {expected:?} in {e}");
    }
}

#[test]
fn a_missing_schema_file_names_the_file() {
    let text = good_with(
        "transitions = [[1, 2, 4], [2, 3, 4]]",
        "transitions = [[1, 2, 4], [2, 3, 4]]\nmetadata_schema = \"missing.json\"",
    )
    .replace(
        "[ticket_types.edit_person.metadata_schema]\ntype = \"object\"\nrequired = [\"wca_id\"]\n",
        "",
    );
    let e = refuse(&text);
    assert!(e.message.contains("missing.json"), "{e}");
    assert_eq!(e.line, 7);
}

#[test]
fn timing_out_of_bounds_is_refused() {
    for (from, to, says) in [
        (
            "lifetime = \"14d\"",
            "lifetime = \"18446744073709551615s\"",
            "longest",
        ),
        ("lifetime = \"14d\"", "lifetime = \"0s\"", "at least 1s"),
        (
            "notify_every = \"1d\"",
            "notify_every = \"5s\"",
            "at least 1m",
        ),
        (
            "notify_repeats = 3",
            "notify_repeats = 100000",
            "at most 1000",
        ),
        (
            "{ code = 1, name = \"open\" }",
            "{ code = 1, name = \"open\", notify_every = \"1s\" }",
            "at least 1m",
        ),
    ] {
        let e = refuse(&good_with(from, to));
        assert!(e.message.contains(says), "{to}: {e}");
    }
}

#[test]
fn editable_fields_are_read_and_checked() {
    let rule = "\n[[ticket_types.edit_person.editable]]\nfields = [\"wca_id\"]\nstates = [1]\nby = [\"requester\"]\n";
    let text = format!("{GOOD}{rule}");
    let ms = parse("wca.metaservice.toml", &text, &no_files).unwrap();
    let tt = &ms.ticket_types["edit_person"];
    assert_eq!(tt.editable.len(), 1);
    assert!(tt.editable[0].covers("wca_id", 1));
    assert!(!tt.editable[0].covers("wca_id", 2));
    assert!(!tt.editable[0].covers("review", 1));
    for (from, to, says) in [
        ("states = [1]", "states = [3]", "terminal"),
        ("states = [1]", "states = [9]", "unknown state 9"),
        ("by = [\"requester\"]", "by = [\"boss\"]", "\"boss\""),
        ("by = [\"requester\"]", "by = []", "names no one"),
        ("fields = [\"wca_id\"]", "fields = []", "fields"),
    ] {
        let e = refuse(&text.replacen(from, to, 1));
        assert!(e.message.contains(says), "{to}: {e}");
    }
}
