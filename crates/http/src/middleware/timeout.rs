//! Stops a request that runs longer than `server.request_timeout_secs` with 503 `timeout`.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct RequestTimeout(pub Duration);

pub async fn timeout(
    State(limit): State<RequestTimeout>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit.0, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_secs = limit.0.as_secs(), "request timed out");
            ApiError::Timeout.into_response()
        }
    }
}
