//! Stops a request that runs longer than `server.request_timeout_secs` with 503 `timeout`,
//! except the routes whose work grows with what the caller sends and that have limits of their
//! own: recording uploads (`recordings.max_bytes`, `recordings.max_duration_secs`) and the
//! OpenAI-compatible transcription and chat endpoints (a file limit, or `max_tokens`, and the
//! engine's waiting line).
//! Those two are not unbounded in time either: a body that sends nothing for
//! `server.body_idle_timeout_secs` is stopped with 408 (see `meetvault_core::intake`).

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
    if long_running(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit.0, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_secs = limit.0.as_secs(), "request timed out");
            ApiError::Timeout.into_response()
        }
    }
}

/// Uploads, synchronous transcription and chat completions: bounded by size, duration or
/// tokens, not by the clock.
fn long_running(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::POST
        && (path == "/v1/audio/transcriptions"
            || path == "/v1/audio/translations"
            || path == "/v1/chat/completions"
            || (path.starts_with("/api/v1/meetings/") && path.ends_with("/recordings")))
}
