//! Durations as people write them in manifests and config: `90s`, `15m`,
//! `12h`, `14d`, `2w`, or combined (`1d12h`).
//!
//! Every duration is bounded by [`MAX`], so that adding one to a
//! timestamp in milliseconds can never wrap, in Rust or in SQL.

use std::time::Duration;

/// The longest duration anything in Baton may be set to: a hundred years
/// (retention of records may be long; nothing else comes near). In
/// milliseconds it is about 3.2e12, far from `i64::MAX` (9.2e18), so
/// `timestamp + duration` stays exact for any date Baton will see.
pub const MAX: Duration = Duration::from_secs(100 * 366 * 86_400);

/// A duration in milliseconds as stored beside timestamps; saturating, so
/// even an unchecked duration cannot turn negative.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Parses `"1d12h"` and friends. A bare number is refused: the unit is
/// the part that is easiest to get wrong, so it must be said.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    // No duration needs more; a longer text is not echoed back.
    if text.len() > 40 {
        return Err(format!(
            "a duration of {} characters is not one (e.g. \"1d12h\")",
            text.len()
        ));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(format!("{text:?}: unknown unit {c:?} (use s, m, h, d, w)")),
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("{text:?}: a number must come before {c:?}"))?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(|| format!("{text:?} is too long"))?;
    }
    if !digits.is_empty() {
        return Err(format!(
            "{text:?}: the last number has no unit (s, m, h, d, w)"
        ));
    }
    let d = Duration::from_secs(total);
    if d > MAX {
        return Err(format!(
            "{text:?} is longer than the longest duration accepted, {}",
            format(MAX)
        ));
    }
    Ok(d)
}

/// The shortest exact spelling, e.g. `1d12h`; `parse(format(d)) == d` for
/// whole seconds.
pub fn format(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("w", 604_800),
        ("d", 86_400),
        ("h", 3_600),
        ("m", 60),
        ("s", 1),
    ] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1d12h"), Ok(Duration::from_secs(129_600)));
        assert_eq!(parse("2w"), Ok(Duration::from_secs(1_209_600)));
        assert_eq!(format(Duration::from_secs(129_600)), "1d12h");
    }

    #[test]
    fn refuses_what_is_ambiguous() {
        for bad in [
            "",
            "10",
            "5x",
            "h",
            "1d2",
            "99999999999999999999w",
            "18446744073709551615s",
            "5300w",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse(&format(MAX)), Ok(MAX));
        assert!(millis(MAX) < i64::MAX / 1000);
        assert_eq!(millis(Duration::MAX), i64::MAX);
    }
}
