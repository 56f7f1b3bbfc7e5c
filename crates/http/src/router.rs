//! Builds the application: every route (registered with its OpenAPI annotation), the fallbacks,
//! and the middleware stack. The OpenAPI document comes from the same registration.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiError;
use crate::error::{ErrorBody, render_errors};
use crate::json::BodyLimit;
use crate::middleware::timeout::RequestTimeout;
use crate::middleware::{metrics, request_id, security_headers, timeout};
use crate::routes::{self, openapi::OpenApiJson};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "meetvault",
        description = "Self-hosted, privacy-first meeting bot and meeting-intelligence server.",
        license(name = "AGPL-3.0-only", identifier = "AGPL-3.0-only")
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "operations", description = "Health, readiness, metrics and documents about the server"),
        (name = "instance", description = "This installation"),
    )
)]
struct ApiDoc;

/// Every documented route. Add a route here and it is served and documented at once.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::health::healthz))
        .routes(routes!(routes::health::readyz))
        .routes(routes!(routes::metrics::metrics))
        .routes(routes!(routes::openapi::openapi_json))
        .routes(routes!(routes::security_txt::security_txt))
        .routes(routes!(routes::instance::get_instance))
}

/// The OpenAPI document (also committed as `docs/openapi.json`; a test keeps them equal).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().split_for_parts().1
}

/// The OpenAPI document as pretty JSON with a trailing newline, as committed.
pub fn openapi_json() -> Result<String, serde_json::Error> {
    openapi().to_pretty_json().map(|mut s| {
        s.push('\n');
        s
    })
}

/// The whole application for `state`, with every layer in place.
pub fn app(state: AppState) -> Result<Router, serde_json::Error> {
    let config = state.core.config();
    let limit = config.server.body_limit_bytes;
    let request_timeout = RequestTimeout(Duration::from_secs(config.server.request_timeout_secs));
    let metrics = state.metrics.clone();
    let doc = OpenApiJson(Arc::new(openapi_json()?));
    let (router, _) = api_routes().split_for_parts();
    let layers = ServiceBuilder::new()
        .layer(from_fn(request_id::request_id_and_log))
        .layer(from_fn(security_headers::security_headers))
        .layer(from_fn_with_state(metrics, metrics::record))
        .layer(from_fn(render_errors))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn_with_state(request_timeout, timeout::timeout))
        .layer(Extension(BodyLimit(limit)))
        .layer(Extension(doc))
        .layer(DefaultBodyLimit::max(limit));
    Ok(router.fallback(not_found).with_state(state).layer(layers))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route; see /api/v1/openapi.json for the API".to_owned())
}

#[derive(Debug, thiserror::Error)]
#[error("handler panicked: {0}")]
struct Panicked(String);

fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".to_owned());
    ApiError::internal(Panicked(message)).into_response()
}
