//! RFC 8785 JSON Canonicalization Scheme, for the documents meetvault signs (deletion
//! certificates): object members sorted by the UTF-16 code units of their names, no
//! whitespace, strings escaped as ECMAScript's `JSON.stringify` does, numbers in their
//! ECMAScript form. meetvault signs only integers, so a number that is not an integer within
//! ±2^53 (the range every JSON parser reads exactly) is refused rather than formatted: a signed
//! document never depends on how a float prints. `tests/jcs_python.rs` compares the bytes with
//! the `rfc8785` package from PyPI.

use std::fmt::Write as _;

use serde_json::Value;

/// The largest integer every IEEE-754 parser reads exactly.
const MAX_SAFE: u64 = (1 << 53) - 1;

/// Why a value has no canonical form here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    #[error("{0} is not an integer within ±(2^53 - 1); signed documents hold integers only")]
    Number(String),
}

/// The canonical bytes of `value`.
pub fn canonicalize(value: &Value) -> Result<String, JcsError> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Ok(out)
}

fn write_value(out: &mut String, value: &Value) -> Result<(), JcsError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let ok = n
                .as_u64()
                .map(|u| u <= MAX_SAFE)
                .or_else(|| n.as_i64().map(|i| i.unsigned_abs() <= MAX_SAFE))
                .unwrap_or(false);
            if !ok {
                return Err(JcsError::Number(n.to_string()));
            }
            // Integers print the same in ECMAScript and Rust (no sign for 0, no exponent).
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (name, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, name);
                out.push(':');
                write_value(out, item)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// ECMAScript `JSON.stringify` string escaping (RFC 8785 §3.2.2.2).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_sort_by_utf16_code_units() {
        // RFC 8785 §3.2.3's sorting example: "\u20ac" (€) sorts after "\r" and the
        // surrogate pair of U+1F600 sorts before U+FB33, unlike a sort by code points.
        let v = json!({"\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew Letter Dalet With Dagesh", "1": "One", "\u{1f600}": "Emoji: Grinning Face", "\u{0080}": "Control", "\u{00f6}": "Latin Small Letter O With Diaeresis"});
        assert_eq!(
            canonicalize(&v).unwrap(),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{0080}\":\"Control\",\"\u{00f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
    }

    #[test]
    fn strings_escape_as_json_stringify() {
        let v = json!([
            "\u{0}\u{1f}\u{7f}",
            "\"\\/",
            "\u{2028}\u{2029}",
            "\u{8}\u{c}\n\r\t"
        ]);
        assert_eq!(
            canonicalize(&v).unwrap(),
            "[\"\\u0000\\u001f\u{7f}\",\"\\\"\\\\/\",\"\u{2028}\u{2029}\",\"\\b\\f\\n\\r\\t\"]"
        );
    }

    #[test]
    fn integers_only_and_within_the_safe_range() {
        assert_eq!(
            canonicalize(&json!([0, -1, 9007199254740991_u64, -9007199254740991_i64])).unwrap(),
            "[0,-1,9007199254740991,-9007199254740991]"
        );
        for bad in [
            json!(1.5),
            json!(9007199254740992_u64),
            json!(-9007199254740992_i64),
            json!(1e300),
        ] {
            assert!(canonicalize(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nesting_and_whitespace() {
        let v: Value = serde_json::from_str(
            " { \"b\" : [ 1 , { \"d\":null, \"c\" : true } ] , \"a\" : \"\" } ",
        )
        .unwrap();
        assert_eq!(
            canonicalize(&v).unwrap(),
            r#"{"a":"","b":[1,{"c":true,"d":null}]}"#
        );
    }
}
