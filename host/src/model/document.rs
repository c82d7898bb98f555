//! Bounds on the JSON documents Baton accepts — ticket metadata, action
//! payloads, log data — whoever hands them in (a person over the API or a
//! bot through the host). One limit everywhere means that whatever was
//! accepted can always be read back, archived and served again: the
//! archive wraps metadata in a few more levels, and serde_json refuses
//! documents nested deeper than 128.

use serde_json::Value;

/// The deepest nesting of arrays and objects in one document. Real
/// metadata is a handful of levels deep; 32 leaves room for any honest
/// shape and far below serde_json's own limit of 128.
pub const MAX_DEPTH: usize = 32;

/// The largest document, serialized. Metadata describes a request; files
/// belong elsewhere.
pub const MAX_BYTES: usize = 64 * 1024;

/// Checks a document's depth and serialized size.
pub fn check(value: &Value) -> Result<(), String> {
    let depth = depth(value);
    if depth > MAX_DEPTH {
        return Err(format!(
            "the document is nested {depth} levels deep; at most {MAX_DEPTH} are accepted"
        ));
    }
    let size = serialized_len(value);
    if size > MAX_BYTES {
        return Err(format!(
            "the document is {size} bytes as JSON; at most {MAX_BYTES} are accepted"
        ));
    }
    Ok(())
}

/// Checks raw text before it is parsed: its length (so that a huge text
/// is refused without building it in memory), then the parsed document.
pub fn parse(text: &str) -> Result<Value, String> {
    if text.len() > MAX_BYTES {
        return Err(format!(
            "the document is {} bytes; at most {MAX_BYTES} are accepted",
            text.len()
        ));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    check(&value)?;
    Ok(value)
}

/// Nesting depth without recursion: a scalar is 0, `[]` and `{}` are 1.
fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, level)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(level + 1);
        stack.extend(children.map(|c| (c, level + 1)));
    }
    deepest
}

/// The length of `value` as compact JSON, counted without building it.
fn serialized_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Count(0);
    // Writing to a counter cannot fail; a failure would only undercount.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        let mut v = json!(1);
        for _ in 0..levels {
            v = json!({ "a": v });
        }
        v
    }

    #[test]
    fn depth_and_size_are_bounded() {
        assert!(check(&json!({"a": [1, {"b": "c"}]})).is_ok());
        assert!(check(&nested(MAX_DEPTH)).is_ok());
        let err = check(&nested(MAX_DEPTH + 1)).unwrap_err();
        assert!(err.contains("33 levels"), "{err}");
        let big = json!({ "s": "x".repeat(MAX_BYTES) });
        assert!(check(&big).unwrap_err().contains("bytes"));
    }

    #[test]
    fn text_is_measured_before_it_is_parsed() {
        let long = format!("\"{}\"", "x".repeat(MAX_BYTES));
        assert!(parse(&long).unwrap_err().contains("bytes"));
        assert!(parse("[1,").unwrap_err().starts_with("not JSON"));
        assert_eq!(parse("{\"a\": 1}").unwrap(), json!({"a": 1}));
    }
}
