//! JSON objects read strictly, for the header and claims of a signed token: the text must be
//! one JSON object, and no object in it, at any depth, may name a key twice. serde_json keeps
//! the last of repeated keys while other parsers keep the first, so a token that says two
//! things at once could mean one thing to the customer's signer and another to us; RFC 7515
//! section 4 allows refusing it, and we do.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a text is not a strict JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrictJsonError {
    /// Not JSON at all (syntax, encoding, trailing text, or nested deeper than serde_json allows).
    Invalid,
    /// JSON, but not an object at the top.
    NotAnObject,
    /// Some object names a key twice.
    DuplicateKey,
}

/// Parses `bytes` as one JSON object in which no key repeats.
pub(crate) fn object(bytes: &[u8]) -> Result<Map<String, Value>, StrictJsonError> {
    match serde_json::from_slice::<Strict>(bytes) {
        Ok(Strict(Value::Object(map))) => Ok(map),
        Ok(Strict(_)) => Err(StrictJsonError::NotAnObject),
        // `Strict` accepts every JSON type, so the only data error is the repeated key it
        // raises itself; syntax, end-of-input and encoding errors are other categories.
        Err(e) if e.is_data() => Err(StrictJsonError::DuplicateKey),
        Err(_) => Err(StrictJsonError::Invalid),
    }
}

/// A JSON value whose objects were checked for repeated keys while it was read.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value without repeated object keys")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // serde_json never produces a non-finite float; `Null` is only a safe fallback.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom("a JSON object repeats a key"));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_an_object_with_every_json_type() {
        let text = br#" {"s":"a\u00e9\ud83d\ude42","i":-3,"u":18446744073709551615,"f":1.5,
            "b":true,"n":null,"a":[1,{"k":"v"}],"o":{"p":{}}} "#;
        let map = object(text).unwrap();
        assert_eq!(
            Value::Object(map),
            json!({"s": "aé🙂", "i": -3, "u": u64::MAX, "f": 1.5, "b": true, "n": null,
                   "a": [1, {"k": "v"}], "o": {"p": {}}})
        );
    }

    #[test]
    fn a_repeated_key_is_refused_at_any_depth() {
        for text in [
            r#"{"a":1,"a":1}"#,
            r#"{"a":1,"b":2,"a":3}"#,
            r#"{"o":{"k":1,"k":2}}"#,
            r#"{"l":[{"k":1,"k":2}]}"#,
            r#"{"\u0061":1,"a":2}"#,
        ] {
            assert_eq!(
                object(text.as_bytes()),
                Err(StrictJsonError::DuplicateKey),
                "{text}"
            );
        }
        // Keys that differ only in case are different keys.
        assert!(object(br#"{"a":1,"A":2}"#).is_ok());
    }

    #[test]
    fn only_an_object_is_accepted_at_the_top() {
        for text in ["[]", "\"x\"", "1", "null", "true"] {
            assert_eq!(
                object(text.as_bytes()),
                Err(StrictJsonError::NotAnObject),
                "{text}"
            );
        }
    }

    #[test]
    fn what_is_not_json_is_invalid() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let deep = format!(r#"{{"d":{deep}}}"#);
        for text in [
            &b""[..],
            b"{",
            b"{} {}",
            b"{}x",
            br#"{"a":1,}"#,
            br#"{'a':1}"#,
            br#"{"a":NaN}"#,
            br#"{"a":1e999}"#,
            br#"{"a":"\ud800"}"#,
            b"{\"a\":\"\xff\"}",
            deep.as_bytes(),
        ] {
            assert_eq!(
                object(text),
                Err(StrictJsonError::Invalid),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
