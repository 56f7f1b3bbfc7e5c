//! What the generated document gets besides the routes' own annotations: the security schemes
//! (`session`: the session cookie; `api_key`: `Authorization: Bearer mvk_…`), and the errors
//! every operation can answer — `400 bad_request` for a malformed id in the path and `500` for
//! a failure on the server's side — so no route has to repeat them.

use utoipa::Modify;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr, ResponseBuilder, content::ContentBuilder};

/// The [`Modify`] applied once the routes are collected.
#[derive(Debug)]
pub struct Completion;

impl Modify for Completion {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "mv_session",
                "The session cookie set by login and registration (`__Host-mv_session` over HTTPS). \
                 A cookie-authenticated change also needs a same-site `Origin` or `X-CSRF-Token`.",
            ))),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (`mvk_…`) or a support-access key (`mvs_…`).",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the errors every operation can answer; called on the finished document (the routes'
/// operations are only there once the router is built).
pub fn add_common_errors(doc: &mut OpenApi) {
    let error = || {
        ContentBuilder::new()
            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                "ErrorBody",
            ))))
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        let has_path_params = item
            .parameters
            .iter()
            .flatten()
            .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Path);
        for op in operations(item) {
            let path_param = has_path_params
                || op
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Path);
            let responses = &mut op.responses.responses;
            if path_param {
                responses.entry("400".into()).or_insert_with(|| {
                    ResponseBuilder::new()
                        .description("`bad_request`: a malformed id in the path (e.g. an id of another kind)")
                        .content("application/json", error())
                        .into()
                });
            }
            responses.entry("500".into()).or_insert_with(|| {
                ResponseBuilder::new()
                    .description("`internal`: a failure on the server's side; the body carries only the request id")
                    .content("application/json", error())
                    .into()
            });
        }
    }
}

/// Every operation of a path item.
pub fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The OpenAPI 3.1 document itself (`GET /api/v1/openapi.json`); its parts are described by
/// the OpenAPI specification, not here.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)] // a schema only: the document is served as generated
pub struct OpenApiDocument {
    /// `3.1.0`.
    openapi: String,
    #[schema(value_type = Object)]
    info: serde_json::Value,
    #[schema(value_type = Object)]
    paths: serde_json::Value,
    #[schema(value_type = Object)]
    components: serde_json::Value,
}

/// The OpenAPI 3.1 `webhooks` section: one entry per event type meetvault sends, with the
/// signature headers, the body's schema and an example made by the code that makes real
/// messages (`meetvault_core::webhooks::catalog::examples`).
pub fn add_webhooks(doc: &mut OpenApi) {
    use serde_json::{Map, Value, json};
    let header = |name: &str, description: &str| json!({ "name": name, "in": "header", "required": true, "description": description, "schema": { "type": "string" } });
    let mut hooks = Map::new();
    for (t, example) in meetvault_core::webhooks::catalog::examples() {
        let mut data = schema_of(&example["data"]);
        if let Some(Value::Array(required)) = data.get_mut("required") {
            // Transcript text is there only for endpoints with `include_content`; a partial
            // segment names its bot and track when heard live, its job and recording when
            // transcribed from a recording.
            required.retain(|k| {
                !matches!(
                    k.as_str(),
                    Some("speaker" | "text" | "bot_id" | "track" | "job_id" | "recording_id")
                ) || t.name != "transcript.partial"
            });
        }
        if t.name == "transcript.partial"
            && let Some(Value::Object(props)) = data.get_mut("properties")
        {
            props.insert("job_id".into(), json!({ "type": "string" }));
            props.insert("recording_id".into(), json!({ "type": "string" }));
            props.insert(
                "source".into(),
                json!({ "type": "string", "enum": ["live", "job"] }),
            );
        }
        let description = if t.opt_in {
            format!(
                "{} Sent only to endpoints that list it in `event_types`.",
                t.description
            )
        } else {
            t.description.to_owned()
        };
        hooks.insert(
            t.name.to_owned(),
            json!({ "post": {
                "operationId": format!("webhook_{}", t.name.replace('.', "_")),
                "tags": ["webhooks"],
                "summary": t.name,
                "description": description,
                "parameters": [
                    header("webhook-id", "The message id: the same on every attempt (drop duplicates by it)."),
                    header("webhook-timestamp", "Unix seconds when this attempt was signed; refuse it when more than 5 minutes off."),
                    header("webhook-signature", "Space-separated `v1,<base64 HMAC-SHA256>` (or `v1a,<base64 Ed25519>`) signatures of `{webhook-id}.{webhook-timestamp}.{body}`; two during a secret rotation."),
                ],
                "requestBody": { "required": true, "content": { "application/json": {
                    "schema": { "allOf": [
                        { "$ref": "#/components/schemas/WebhookMessage" },
                        { "type": "object", "properties": { "type": { "const": t.name }, "data": data } },
                    ] },
                    "example": example,
                } } },
                "responses": { "200": { "description": "Any 2xx acknowledges the message. 410 disables the endpoint; anything else (a redirect included) is retried." } },
            } }),
        );
    }
    let extensions = doc.extensions.get_or_insert_with(Default::default);
    extensions.insert("webhooks".to_owned(), Value::Object(hooks));

    fn schema_of(v: &Value) -> Value {
        match v {
            Value::Null => json!({ "type": ["string", "null"] }),
            Value::Bool(_) => json!({ "type": "boolean" }),
            Value::Number(n) if n.is_i64() || n.is_u64() => json!({ "type": "integer" }),
            Value::Number(_) => json!({ "type": "number" }),
            Value::String(_) => json!({ "type": "string" }),
            Value::Array(items) => {
                json!({ "type": "array", "items": items.first().map(schema_of).unwrap_or(json!({})) })
            }
            Value::Object(o) => json!({
                "type": "object",
                "required": o.keys().collect::<Vec<_>>(),
                "properties": o.iter().map(|(k, v)| (k.clone(), schema_of(v))).collect::<Map<_, _>>(),
            }),
        }
    }
}
