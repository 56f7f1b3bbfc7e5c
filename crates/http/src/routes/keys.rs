//! API keys (`keys:manage`) and the caller's support-access keys.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use meetvault_core::auth::{NewApiKey, NewSupportKey};
use meetvault_core::ids::{ApiKeyId, SupportKeyId, WorkspaceId};

use crate::auth::{Auth, OwnAccount, perm};
use crate::state::AppState;
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::wire::keys::{
    ApiKeyBody, ApiKeyCreated, ApiKeyList, SupportKeyBody, SupportKeyCreated, SupportKeyList,
};
use crate::{ApiError, ApiJson};

use super::parse_id;

/// Creates an API key; the key is in this response only.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "keys", request_body = ApiKeyBody, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 201, description = "Created; `key` is shown once", body = ApiKeyCreated), (status = 422, description = "Invalid", body = crate::error::ErrorBody)))]
pub async fn create_api_key(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::KeysManage>,
    ApiJson(body): ApiJson<ApiKeyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let workspace_id = body
        .workspace_id
        .as_deref()
        .map(parse_id::<WorkspaceId>)
        .transpose()?;
    let created = app
        .core
        .api_keys()
        .create(
            &scope,
            NewApiKey {
                name: body.name,
                permissions: body.permissions,
                workspace_id,
                expires_at: body.expires_at,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, ApiJson(ApiKeyCreated::from(created))))
}

/// The organization's API keys, without secrets.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "keys", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Keys", body = ApiKeyList)))]
pub async fn list_api_keys(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::KeysManage>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(ApiKeyList::from(
        app.core.api_keys().list(&scope).await?,
    )))
}

/// Revokes an API key; it fails on its very next use.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "keys", params(("id" = crate::wire::ids::ApiKeyId, Path, description = "The API key")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 204, description = "Revoked"), (status = 404, description = "No such key", body = crate::error::ErrorBody)))]
pub async fn revoke_api_key(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::KeysManage>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.core
        .api_keys()
        .revoke(&scope, parse_id::<ApiKeyId>(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates a support-access key: read-only access to your data for at most 72 hours.
#[utoipa::path(post, path = "/api/v1/support-keys", tag = "keys", request_body = SupportKeyBody, security(("session" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 201, description = "Created; `key` is shown once", body = SupportKeyCreated), (status = 422, description = "Invalid", body = crate::error::ErrorBody)))]
pub async fn create_support_key(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    ApiJson(body): ApiJson<SupportKeyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let created = app
        .core
        .api_keys()
        .create_support_key(
            &scope,
            NewSupportKey {
                note: body.note,
                expires_in_hours: body.expires_in_hours,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(SupportKeyCreated::from(created)),
    ))
}

/// Your support-access keys.
#[utoipa::path(get, path = "/api/v1/support-keys", tag = "keys", security(("session" = [])),
    responses(AuthErrors, (status = 200, description = "Keys", body = SupportKeyList)))]
pub async fn list_support_keys(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(SupportKeyList::from(
        app.core.api_keys().support_keys(&scope).await?,
    )))
}

/// Revokes one of your support-access keys.
#[utoipa::path(delete, path = "/api/v1/support-keys/{id}", tag = "keys", params(("id" = crate::wire::ids::SupportKeyId, Path, description = "The support-access key")), security(("session" = [])),
    responses(AuthErrors, (status = 204, description = "Revoked"), (status = 404, description = "No such key", body = crate::error::ErrorBody)))]
pub async fn revoke_support_key(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.core
        .api_keys()
        .revoke_support_key(&scope, parse_id::<SupportKeyId>(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
