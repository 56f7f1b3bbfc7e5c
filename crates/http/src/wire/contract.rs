//! Checks of the generated OpenAPI document as a contract clients are generated from: every
//! request and response body has a schema that says what it holds (a named object, an enum, a
//! string or binary of a stated media type — never a bare `object` or an empty schema), every
//! authenticated operation lists 401 and 403, and every error response is the one error body.

use serde_json::Value;

/// The operations whose bodies say nothing of their shape, as `METHOD path: where`.
pub fn untyped_bodies(doc: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (path, _, method, op) in operations(doc) {
        let name = format!("{} {path}", method.to_uppercase());
        for (media, content) in entries(&op["requestBody"]["content"]) {
            if let Some(why) = untyped(doc, &content["schema"], 0) {
                found.push(format!("{name}: request body ({media}) {why}"));
            }
        }
        for (status, response) in entries(&op["responses"]) {
            for (media, content) in entries(&response["content"]) {
                if let Some(why) = untyped(doc, &content["schema"], 0) {
                    found.push(format!("{name}: response {status} ({media}) {why}"));
                }
            }
        }
    }
    found
}

/// Every operation: (path, path item, method, operation).
fn operations(doc: &Value) -> Vec<(&str, &Value, &str, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in entries(&doc["paths"]) {
        for (method, op) in entries(item) {
            if matches!(
                method,
                "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
            ) {
                ops.push((path, item, method, op));
            }
        }
    }
    ops
}

fn entries(v: &Value) -> Vec<(&str, &Value)> {
    v.as_object()
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

/// Why `schema` does not describe a body, if it does not. `$ref`s are followed into the
/// document's components.
fn untyped(doc: &Value, schema: &Value, depth: usize) -> Option<String> {
    if depth > 32 {
        return None; // a recursive schema: typed, or it would not recurse
    }
    let Some(map) = schema.as_object() else {
        return Some("has no schema".into());
    };
    if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
        let name = reference.strip_prefix("#/components/schemas/")?;
        let target = &doc["components"]["schemas"][name];
        if target.is_null() {
            return Some(format!("refers to a missing schema `{name}`"));
        }
        return untyped(doc, target, depth + 1).map(|why| format!("(`{name}`) {why}"));
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = map.get(combinator).and_then(Value::as_array) {
            return parts
                .iter()
                .find_map(|p| untyped(doc, p, depth + 1))
                .map(|why| format!("has a {combinator} part that {why}"));
        }
    }
    if map.contains_key("enum") || map.contains_key("const") {
        return None;
    }
    let types: Vec<&str> = match map.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return Some("is an empty schema (any value)".into()),
    };
    if types.contains(&"object") {
        let has_properties = map
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
        if !has_properties {
            return Some(if map.contains_key("additionalProperties") {
                "is a free-form object (additionalProperties only)".into()
            } else {
                "is a bare object without properties".into()
            });
        }
    }
    if types.contains(&"array") {
        return untyped(doc, map.get("items").unwrap_or(&Value::Null), depth + 1)
            .map(|why| format!("is an array whose items {why}"));
    }
    None
}

/// The authenticated operations (those with `security`) that do not list 401 and 403.
pub fn authenticated_without_auth_errors(doc: &Value) -> Vec<String> {
    operations(doc)
        .into_iter()
        .filter(|(.., op)| op["security"].as_array().is_some_and(|s| !s.is_empty()))
        .filter(|(.., op)| op["responses"]["401"].is_null() || op["responses"]["403"].is_null())
        .map(|(path, _, method, _)| format!("{} {path}", method.to_uppercase()))
        .collect()
}

/// Error responses (4xx, 5xx) whose JSON is not the one error body (`/readyz`'s 503 is its
/// own report, by design).
pub fn errors_not_in_the_error_shape(doc: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (path, _, method, op) in operations(doc) {
        for (status, response) in entries(&op["responses"]) {
            if !(status.starts_with('4') || status.starts_with('5')) || path == "/readyz" {
                continue;
            }
            let schema = &response["content"]["application/json"]["schema"]["$ref"];
            if schema != "#/components/schemas/ErrorBody" {
                found.push(format!("{} {path}: {status}", method.to_uppercase()));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn document() -> Value {
        serde_json::to_value(crate::openapi()).unwrap()
    }

    #[test]
    fn every_request_and_response_body_has_a_schema_that_says_what_it_holds() {
        let found = untyped_bodies(&document());
        assert!(
            found.is_empty(),
            "bodies typed as a bare object; give each a named wire type (crates/http/src/wire):\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn every_authenticated_operation_lists_401_and_403() {
        let found = authenticated_without_auth_errors(&document());
        assert!(found.is_empty(), "add `AuthErrors` to: {found:?}");
    }

    #[test]
    fn every_error_response_is_the_one_error_body() {
        let found = errors_not_in_the_error_shape(&document());
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn every_operation_answers_500_with_the_error_body() {
        let doc = document();
        for (path, _, method, op) in operations(&doc) {
            assert!(!op["responses"]["500"].is_null(), "{method} {path}");
        }
    }

    /// A document like ours with one `body = Object` response and one bare request.
    fn with_bodies(request: Value, response: Value) -> Value {
        json!({
            "paths": {
                "/api/v1/things": {
                    "post": {
                        "requestBody": {"content": {"application/json": {"schema": request}}},
                        "responses": {
                            "201": {"content": {"application/json": {"schema": response}}}
                        }
                    }
                }
            },
            "components": {"schemas": {
                "Thing": {"type": "object", "properties": {"id": {"type": "string"}}},
                "Loose": {"type": "object"},
                "Map": {"type": "object", "additionalProperties": {"type": "string"}}
            }}
        })
    }

    #[test]
    fn a_bare_object_body_is_found_and_named() {
        let thing = json!({"$ref": "#/components/schemas/Thing"});
        assert!(untyped_bodies(&with_bodies(thing.clone(), thing.clone())).is_empty());

        let found = untyped_bodies(&with_bodies(thing.clone(), json!({"type": "object"})));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("POST /api/v1/things: response 201 (application/json)"),
            "{found:?}"
        );

        for bare in [
            json!({}),
            json!({"$ref": "#/components/schemas/Loose"}),
            json!({"$ref": "#/components/schemas/Map"}),
            json!({"$ref": "#/components/schemas/Missing"}),
            json!({"type": "array", "items": {"type": "object"}}),
            json!({"oneOf": [thing.clone(), {"type": "object"}]}),
        ] {
            let found = untyped_bodies(&with_bodies(bare.clone(), thing.clone()));
            assert_eq!(found.len(), 1, "{bare} was not found: {found:?}");
            assert!(found[0].contains("request body"), "{found:?}");
        }
    }
}

#[cfg(test)]
mod references {
    use serde_json::Value;

    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_in_the_document_resolves() {
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        let missing: Vec<_> = found
            .into_iter()
            .filter(|r| {
                r.strip_prefix("#/components/schemas/")
                    .is_none_or(|name| doc["components"]["schemas"][name].is_null())
            })
            .collect();
        assert!(
            missing.is_empty(),
            "schemas referenced but not in components (register them, or `inline` a parameter's): {missing:?}"
        );
    }
}
