//! `/healthz` (the process answers) and `/readyz` (the database and blob store answer too).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiJson;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process can answer.
    pub status: &'static str,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health)))]
pub async fn healthz() -> ApiJson<Health> {
    ApiJson(Health { status: "ok" })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ready` or `unavailable`.
    pub status: &'static str,
    pub checks: ReadyChecks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyChecks {
    /// `ok` or `failed`.
    pub database: &'static str,
    /// `ok` or `failed`.
    pub blobs: &'static str,
}

/// Readiness: the database and the blob store both answer. The cause of a failure is logged,
/// never returned.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Ready),
        (status = 503, description = "A dependency is unreachable", body = Ready),
    ))]
pub async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    let readiness = app.core.readiness().await;
    let label = |r: &Result<(), meetvault_core::CoreError>, component: &str| match r {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!(component, error = %crate::error::chain(e), "readiness check failed");
            "failed"
        }
    };
    let checks = ReadyChecks {
        database: label(&readiness.database, "database"),
        blobs: label(&readiness.blobs, "blobs"),
    };
    let (status, word) = if readiness.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    (
        status,
        ApiJson(Ready {
            status: word,
            checks,
        }),
    )
}
