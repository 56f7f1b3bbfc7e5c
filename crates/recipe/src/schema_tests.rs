//! The committed JSON Schema against the recipe files themselves: a small validator for the
//! keywords the generated schema uses, so an editor that validates with the schema agrees with
//! the parser on the shipped recipes and on broken ones.

use serde_json::Value;

use crate::json_schema;

/// Why `value` does not satisfy `schema` (`root` resolves `$ref`s), or `None`.
fn violation(root: &Value, schema: &Value, value: &Value, at: &str) -> Option<String> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/$defs/");
        return violation(root, &root["$defs"][name], value, at);
    }
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = names.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
        if !ok {
            return Some(format!("{at}: not of type {types}"));
        }
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        return Some(format!("{at}: must be {c}"));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        return Some(format!("{at}: must be one of {options:?}"));
    }
    for (keyword, exactly_one) in [("oneOf", true), ("anyOf", false)] {
        if let Some(options) = schema.get(keyword).and_then(Value::as_array) {
            let passing = options
                .iter()
                .filter(|o| violation(root, o, value, at).is_none())
                .count();
            if passing == 0 || (exactly_one && passing > 1) {
                return Some(format!(
                    "{at}: {passing} of the {keyword} alternatives match"
                ));
            }
        }
    }
    if let Some(n) = value.as_u64() {
        let below = schema
            .get("minimum")
            .and_then(Value::as_u64)
            .is_some_and(|m| n < m);
        let above = schema
            .get("maximum")
            .and_then(Value::as_u64)
            .is_some_and(|m| n > m);
        if below || above {
            return Some(format!("{at}: {n} out of range"));
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        let short = schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m);
        let long = schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m);
        if short || long {
            return Some(format!("{at}: length {len} out of range"));
        }
    }
    if let Some(items) = value.as_array() {
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            return Some(format!("{at}: fewer than {min} items"));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                if let Some(v) = violation(root, item_schema, item, &format!("{at}[{i}]")) {
                    return Some(v);
                }
            }
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(key) = required.as_str()
                && !object.contains_key(key)
            {
                return Some(format!("{at}: `{key}` is required"));
            }
        }
        for (key, field) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(s) => {
                    if let Some(v) = violation(root, s, field, &format!("{at}.{key}")) {
                        return Some(v);
                    }
                }
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Some(format!("{at}: unknown field `{key}`"));
                }
                None => {}
            }
        }
    }
    None
}

fn check(toml_text: &str) -> Option<String> {
    let schema = json_schema();
    let value: Value = toml::from_str(toml_text).unwrap();
    violation(&schema, &schema, &value, "$")
}

const SHIPPED: [&str; 4] = [
    include_str!("../../../recipes/testmeet.toml"),
    include_str!("../../../recipes/google-meet.toml"),
    include_str!("../../../recipes/microsoft-teams.toml"),
    include_str!("../../../recipes/zoom.toml"),
];

#[test]
fn the_shipped_recipe_files_satisfy_the_schema() {
    for text in SHIPPED {
        assert_eq!(check(text), None);
    }
}

#[test]
fn the_schema_refuses_what_the_parser_refuses() {
    let testmeet = SHIPPED[0];
    for (from, to, why) in [
        (
            "timeout_ms = 15000",
            "timeout_ms = 15000\nselectr = \"x\"",
            "oneOf",
        ),
        (
            "version = 1",
            "version = 1\ncolour = \"red\"",
            "unknown field `colour`",
        ),
        ("action = \"wait_for\"", "action = \"hover\"", "oneOf"),
        ("timeout_ms = 15000", "timeout_ms = 0", "oneOf"),
        (
            "kind = \"stream_id_attribute\"",
            "kind = \"by_magic\"",
            "oneOf",
        ),
        ("version = 1", "version = 0", "out of range"),
        ("name = \"testmeet\"\n", "", "`name` is required"),
    ] {
        assert!(testmeet.contains(from), "{from}");
        let broken = testmeet.replacen(from, to, 1);
        let found = check(&broken).unwrap_or_default();
        assert!(found.contains(why), "{to}: {found:?}");
        assert!(crate::Recipe::from_toml_str(&broken).is_err(), "{to}");
    }
}
