//! `GET /api/v1/instance`: what this installation is (name, version, id, creation time).

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;
use crate::{ApiError, ApiJson};

#[derive(Debug, Serialize, ToSchema)]
pub struct Instance {
    pub name: &'static str,
    pub version: &'static str,
    pub instance_id: String,
    pub created_at: DateTime<Utc>,
}

/// This installation's identity; created on first start and stable afterwards.
#[utoipa::path(get, path = "/api/v1/instance", tag = "instance",
    responses(
        (status = 200, description = "The installation", body = Instance),
        (status = 500, description = "Internal error", body = crate::error::ErrorBody),
    ))]
pub async fn get_instance(State(app): State<AppState>) -> Result<ApiJson<Instance>, ApiError> {
    let info = app.core.instance().info().await?;
    Ok(ApiJson(Instance {
        name: info.name,
        version: info.version,
        instance_id: format!("ins_{}", info.instance_id.simple()),
        created_at: info.created_at,
    }))
}
