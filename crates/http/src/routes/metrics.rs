//! `GET /metrics`: Prometheus (OpenMetrics) text; behind a bearer token when one is configured.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::ApiError;
use crate::state::AppState;

/// Request counts and latency histograms by method, route and status.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "A metrics token is configured and was not given", body = crate::error::ErrorBody),
    ))]
pub async fn metrics(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(expected) = &app.core.config().server.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Constant time, and unequal lengths fail without an early exit on content.
        if !bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes())) {
            return Err(ApiError::Unauthorized);
        }
    }
    let text = app.metrics.encode().map_err(ApiError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
