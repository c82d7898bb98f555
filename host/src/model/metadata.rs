//! A ticket's metadata: a JSON document that is mostly passed on as it
//! is (from the database to an API response, to a bot, back to the
//! database) and only sometimes looked into (a patch, a schema check).
//!
//! So it is kept as the text it was read as, checked to be JSON when read,
//! and parsed only by those who look into it. Parsed into a
//! `serde_json::Value` at every read and encoded again at every response,
//! it cost 8 % of a listing page's CPU (perf on `cargo xtask bench api`).

use std::borrow::Cow;
use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// JSON metadata, either as read (text, known to be JSON) or as built in
/// memory (a value).
#[derive(Clone)]
pub struct Metadata(Repr);

#[derive(Clone)]
enum Repr {
    Text(Box<RawValue>),
    Value(Value),
}

impl Metadata {
    /// Metadata as stored: refused unless `text` is one JSON document.
    pub fn from_text(text: String) -> serde_json::Result<Metadata> {
        RawValue::from_string(text).map(|raw| Metadata(Repr::Text(raw)))
    }

    /// The document as a value, for those who look into it. Text was
    /// checked to be JSON when it was read, so this fails only if that
    /// check and this parse disagree.
    pub fn to_value(&self) -> serde_json::Result<Value> {
        match &self.0 {
            Repr::Text(raw) => serde_json::from_str(raw.get()),
            Repr::Value(v) => Ok(v.clone()),
        }
    }

    /// The document as JSON text, as it is stored and given to bots.
    pub fn text(&self) -> Cow<'_, str> {
        match &self.0 {
            Repr::Text(raw) => Cow::Borrowed(raw.get()),
            Repr::Value(v) => Cow::Owned(v.to_string()),
        }
    }
}

impl From<Value> for Metadata {
    fn from(v: Value) -> Metadata {
        Metadata(Repr::Value(v))
    }
}

impl Serialize for Metadata {
    /// Text is written as it is, without being parsed again.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Text(raw) => raw.serialize(s),
            Repr::Value(v) => v.serialize(s),
        }
    }
}

impl PartialEq for Metadata {
    /// The same document, however it is held or spaced.
    fn eq(&self, other: &Metadata) -> bool {
        match (self.to_value(), other.to_value()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_is_checked_and_passed_on_unchanged() {
        assert!(Metadata::from_text("{\"a\":".into()).is_err());
        assert!(Metadata::from_text("{} {}".into()).is_err());
        let m = Metadata::from_text("{\"b\": [1, 2],\"a\":\"x\"}".into()).unwrap();
        // Written as read, spacing and key order included.
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            "{\"b\": [1, 2],\"a\":\"x\"}"
        );
        assert_eq!(m.to_value().unwrap(), json!({"a": "x", "b": [1, 2]}));
        assert_eq!(m, Metadata::from(json!({"b": [1, 2], "a": "x"})));
        assert_ne!(m, Metadata::from(json!({"a": "y"})));
    }

    #[test]
    fn values_encode_as_json() {
        let m = Metadata::from(json!({"k": "v"}));
        assert_eq!(m.text(), "{\"k\":\"v\"}");
        assert_eq!(serde_json::to_string(&m).unwrap(), "{\"k\":\"v\"}");
    }
}
