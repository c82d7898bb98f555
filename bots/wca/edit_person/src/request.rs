//! An `edit_person` request: the metadata, and the checks that decide
//! whether it can be reviewed at all.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::countries;

/// The ticket's metadata (see `edit_person.schema.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EditPersonRequest {
    pub wca_id: String,
    /// Field name (`name`, `country_iso2`, `gender`, `dob`) → change.
    pub changes: BTreeMap<String, Change>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Change {
    pub old: String,
    pub new: String,
}

/// What the bots found, kept on the ticket for the reviewers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Review {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_approved: Option<bool>,
}

/// Every reason the request cannot be carried out; empty when it can.
/// `today` is `YYYY-MM-DD`, the day the ticket was created.
pub fn problems(request: &EditPersonRequest, today: &str) -> Vec<String> {
    let mut found = Vec::new();
    if !is_wca_id(&request.wca_id) {
        found.push(format!(
            "{:?} is not a WCA ID (four digits, four capital letters, two digits)",
            request.wca_id
        ));
    }
    if request.changes.is_empty() {
        found.push("no change was requested".to_string());
    }
    for (field, change) in &request.changes {
        if change.old == change.new {
            found.push(format!("{field}: the new value is the same as the old one"));
            continue;
        }
        if let Err(why) = check_field(field, &change.new, today) {
            found.push(format!("{field}: {why}"));
        }
    }
    found
}

fn check_field(field: &str, new: &str, today: &str) -> Result<(), String> {
    match field {
        "name" => check_name(new),
        "country_iso2" if countries::is_code(new) => Ok(()),
        "country_iso2" => Err(format!("{new:?} is not an ISO 3166-1 alpha-2 country code")),
        "gender" if matches!(new, "m" | "f" | "o") => Ok(()),
        "gender" => Err(format!("{new:?} is not one of m, f, o")),
        "dob" => check_dob(new, today),
        other => Err(format!("{other} cannot be changed through this request")),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the new name is empty".into());
    }
    if name.trim() != name || name.contains("  ") {
        return Err("the new name has stray spaces".into());
    }
    if name.chars().count() > 80 {
        return Err("the new name is longer than 80 characters".into());
    }
    if name.chars().any(|c| c.is_ascii_digit() || c.is_control()) {
        return Err("the new name contains digits or control characters".into());
    }
    Ok(())
}

fn check_dob(dob: &str, today: &str) -> Result<(), String> {
    let Some((y, m, d)) = parse_date(dob) else {
        return Err(format!("{dob:?} is not a date (YYYY-MM-DD)"));
    };
    if y < 1900 {
        return Err(format!("{dob} is before 1900"));
    }
    if days_in_month(y, m).is_none_or(|days| d == 0 || d > days) {
        return Err(format!("{dob} is not a day of the calendar"));
    }
    // ISO dates compare correctly as strings.
    if dob > today {
        return Err(format!("{dob} is in the future"));
    }
    Ok(())
}

fn parse_date(s: &str) -> Option<(u32, u32, u32)> {
    let bytes = s.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    Some((num(0..4)?, num(5..7)?, num(8..10)?))
}

fn days_in_month(year: u32, month: u32) -> Option<u32> {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => Some(31),
        4 | 6 | 9 | 11 => Some(30),
        2 if leap => Some(29),
        2 => Some(28),
        _ => None,
    }
}

/// A WCA ID: the year of the first competition, four letters, a number.
pub fn is_wca_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4..8].iter().all(u8::is_ascii_uppercase)
        && b[8..].iter().all(u8::is_ascii_digit)
}

/// True when the only change is to the letter case or spacing of the name,
/// which the WRT approves without looking (e.g. "john SMITH" → "John Smith").
pub fn is_cosmetic_name_fix(request: &EditPersonRequest) -> bool {
    let fold = |s: &str| {
        s.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ")
    };
    match (request.changes.len(), request.changes.get("name")) {
        (1, Some(change)) => fold(&change.old) == fold(&change.new),
        _ => false,
    }
}

/// `YYYY-MM-DD` for a time in milliseconds since the Unix epoch.
pub fn date_of(epoch_millis: i64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let days = epoch_millis.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(field: &str, old: &str, new: &str) -> EditPersonRequest {
        EditPersonRequest {
            wca_id: "2012SMIT01".into(),
            changes: BTreeMap::from([(
                field.to_string(),
                Change {
                    old: old.into(),
                    new: new.into(),
                },
            )]),
            review: None,
        }
    }

    #[test]
    fn dates_of_epoch_millis() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(951_782_400_000), "2000-02-29");
        assert_eq!(date_of(1_795_000_000_000), "2026-11-18");
    }

    #[test]
    fn accepts_plausible_changes() {
        for (f, old, new) in [
            ("name", "Jon Smith", "John Smith"),
            ("country_iso2", "US", "CA"),
            ("gender", "m", "f"),
            ("dob", "1990-01-01", "1992-02-29"),
        ] {
            assert_eq!(
                problems(&request(f, old, new), "2026-01-01"),
                Vec::<String>::new()
            );
        }
    }

    #[test]
    fn refuses_impossible_changes() {
        for (f, new) in [
            ("country_iso2", "XX"),
            ("gender", "x"),
            ("dob", "1990-02-30"),
            ("dob", "2030-01-01"),
            ("dob", "1890-01-01"),
            ("dob", "01/02/1990"),
            ("name", " John"),
            ("name", "J0hn"),
            ("nickname", "Johnny"),
        ] {
            let found = problems(&request(f, "old", new), "2026-01-01");
            assert_eq!(found.len(), 1, "{f}={new}: {found:?}");
        }
        assert_eq!(
            problems(&request("gender", "m", "m"), "2026-01-01").len(),
            1
        );
        let mut bad_id = request("gender", "m", "f");
        bad_id.wca_id = "2012smit01".into();
        assert_eq!(problems(&bad_id, "2026-01-01").len(), 1);
    }

    #[test]
    fn cosmetic_name_fixes() {
        assert!(is_cosmetic_name_fix(&request(
            "name",
            "john  SMITH",
            "John Smith"
        )));
        assert!(!is_cosmetic_name_fix(&request(
            "name",
            "Jon Smith",
            "John Smith"
        )));
        assert!(!is_cosmetic_name_fix(&request("gender", "m", "f")));
    }
}
