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
