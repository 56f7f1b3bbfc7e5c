//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document generated from the handlers.

use std::sync::Arc;

use axum::Extension;
use axum::http::header;
use axum::response::IntoResponse;

/// The generated document, serialized once at start.
#[derive(Debug, Clone)]
pub struct OpenApiJson(pub Arc<String>);

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = crate::wire::document::OpenApiDocument)))]
pub async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.as_ref().clone(),
    )
}
