//! Integrations (`integrations:manage`): connect, list, read, change, disconnect, read the
//! delivery log. Approvals (`approvals:decide`): the queue with exactly what would be sent,
//! edit, approve, reject.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use meetvault_core::ids::{IntegrationId, IntegrationItemId};
use meetvault_core::integrations::Decision;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Auth, perm};
use crate::state::AppState;
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::wire::integrations::{
    ApprovalDecision, ApprovalEdit, ApprovalList, Integration, IntegrationItem, IntegrationList,
    IntegrationLog, IntegrationPatch, NewIntegration, OAuthStart, OAuthStarted,
};
use crate::{ApiError, ApiJson};

use super::parse_id;

/// Connects a provider. Its URLs are checked against private and internal addresses and the
/// credential with the provider's cheapest authenticated call (`auth.test`, `users/me`,
/// `viewer`, `myself`…) before anything is stored; the credential is never returned.
#[utoipa::path(post, path = "/api/v1/integrations", tag = "integrations", request_body = NewIntegration, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 201, description = "Connected", body = Integration), (status = 422, description = "Invalid (the field is named): an internal URL, a credential the provider refused, a missing destination", body = crate::error::ErrorBody)))]
pub async fn create_integration(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::IntegrationsManage>,
    ApiJson(body): ApiJson<NewIntegration>,
) -> Result<impl IntoResponse, ApiError> {
    let created = app.core.integrations().create(&scope, body.into()).await?;
    Ok((StatusCode::CREATED, ApiJson(Integration::from(created))))
}

/// The org's connections.
#[utoipa::path(get, path = "/api/v1/integrations", tag = "integrations", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The connections", body = IntegrationList)))]
pub async fn list_integrations(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::IntegrationsManage>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(IntegrationList::from(
        app.core.integrations().list(&scope).await?,
    )))
}

/// A connection.
#[utoipa::path(get, path = "/api/v1/integrations/{id}", tag = "integrations", params(("id" = crate::wire::ids::IntegrationId, Path, description = "The connection")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The connection", body = Integration), (status = 404, description = "No such connection", body = crate::error::ErrorBody)))]
pub async fn get_integration(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::IntegrationsManage>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<IntegrationId>(&id)?;
    Ok(ApiJson(Integration::from(
        app.core.integrations().get(&scope, id).await?,
    )))
}

/// Changes a connection (absent fields stay). A new credential is checked with the provider
/// and makes a broken connection work again; what waited for it is sent.
#[utoipa::path(patch, path = "/api/v1/integrations/{id}", tag = "integrations", params(("id" = crate::wire::ids::IntegrationId, Path, description = "The connection")), request_body = IntegrationPatch, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Changed", body = Integration), (status = 404, description = "No such connection", body = crate::error::ErrorBody), (status = 422, description = "Invalid (the field is named)", body = crate::error::ErrorBody)))]
pub async fn patch_integration(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::IntegrationsManage>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<IntegrationPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<IntegrationId>(&id)?;
    Ok(ApiJson(Integration::from(
        app.core
            .integrations()
            .update(&scope, id, body.into())
            .await?,
    )))
}

/// Disconnects: the credential, the proposals and the delivery log are deleted; audited.
#[utoipa::path(delete, path = "/api/v1/integrations/{id}", tag = "integrations", params(("id" = crate::wire::ids::IntegrationId, Path, description = "The connection")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 204, description = "Disconnected"), (status = 404, description = "No such connection", body = crate::error::ErrorBody)))]
pub async fn delete_integration(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::IntegrationsManage>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id::<IntegrationId>(&id)?;
    app.core.integrations().delete(&scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery log: the connection's items (without content) and every attempt.
#[utoipa::path(get, path = "/api/v1/integrations/{id}/deliveries", tag = "integrations", params(("id" = crate::wire::ids::IntegrationId, Path, description = "The connection")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The log", body = IntegrationLog), (status = 404, description = "No such connection", body = crate::error::ErrorBody)))]
pub async fn integration_deliveries(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::IntegrationsManage>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<IntegrationId>(&id)?;
    Ok(ApiJson(IntegrationLog::from(
        app.core.integrations().deliveries(&scope, id).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsQuery {
    /// `awaiting_approval` (default), `queued`, `sent`, `rejected` or `failed`.
    pub state: Option<String>,
}

/// What waits for approval before it goes to a CRM or tracker, each with exactly what would
/// be sent.
#[utoipa::path(get, path = "/api/v1/approvals", tag = "integrations", params(ApprovalsQuery), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The queue", body = ApprovalList), (status = 422, description = "An unknown state", body = crate::error::ErrorBody)))]
pub async fn list_approvals(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::ApprovalsDecide>,
    Query(q): Query<ApprovalsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(ApprovalList::from(
        app.core
            .integrations()
            .approvals(&scope, q.state.as_deref())
            .await?,
    )))
}

/// One item, with what would be sent.
#[utoipa::path(get, path = "/api/v1/approvals/{id}", tag = "integrations", params(("id" = crate::wire::ids::IntegrationItemId, Path, description = "The item")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The item", body = IntegrationItem), (status = 404, description = "No such item", body = crate::error::ErrorBody)))]
pub async fn get_approval(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::ApprovalsDecide>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<IntegrationItemId>(&id)?;
    Ok(ApiJson(IntegrationItem::from(
        app.core.integrations().approval(&scope, id).await?,
    )))
}

/// Changes what a waiting item will send (it keeps waiting); audited.
#[utoipa::path(patch, path = "/api/v1/approvals/{id}", tag = "integrations", params(("id" = crate::wire::ids::IntegrationItemId, Path, description = "The item")), request_body = ApprovalEdit, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Edited", body = IntegrationItem), (status = 404, description = "No such item", body = crate::error::ErrorBody), (status = 409, description = "It no longer waits", body = crate::error::ErrorBody), (status = 422, description = "Invalid content", body = crate::error::ErrorBody)))]
pub async fn edit_approval(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::ApprovalsDecide>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ApprovalEdit>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<IntegrationItemId>(&id)?;
    Ok(ApiJson(IntegrationItem::from(
        app.core
            .integrations()
            .edit(&scope, id, body.content.into())
            .await?,
    )))
}

/// Approves: the item (as edited in this body, when given) is queued and sent; audited.
#[utoipa::path(post, path = "/api/v1/approvals/{id}/approve", tag = "integrations", params(("id" = crate::wire::ids::IntegrationItemId, Path, description = "The item")), request_body = ApprovalDecision, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Approved and queued", body = IntegrationItem), (status = 404, description = "No such item", body = crate::error::ErrorBody), (status = 409, description = "It no longer waits", body = crate::error::ErrorBody), (status = 422, description = "Invalid content", body = crate::error::ErrorBody)))]
pub async fn approve(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::ApprovalsDecide>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ApprovalDecision>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<IntegrationItemId>(&id)?;
    Ok(ApiJson(IntegrationItem::from(
        app.core
            .integrations()
            .decide(&scope, id, Decision::Approve, body.content.map(Into::into))
            .await?,
    )))
}

/// Rejects: nothing is ever sent for it; audited.
#[utoipa::path(post, path = "/api/v1/approvals/{id}/reject", tag = "integrations", params(("id" = crate::wire::ids::IntegrationItemId, Path, description = "The item")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Rejected", body = IntegrationItem), (status = 404, description = "No such item", body = crate::error::ErrorBody), (status = 409, description = "It no longer waits", body = crate::error::ErrorBody)))]
pub async fn reject(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::ApprovalsDecide>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<IntegrationItemId>(&id)?;
    Ok(ApiJson(IntegrationItem::from(
        app.core
            .integrations()
            .decide(&scope, id, Decision::Reject, None)
            .await?,
    )))
}

/// Starts connecting by consent (OAuth 2.0 with PKCE, the operator's app in
/// `[integrations.oauth.<provider>]`): send the person to `authorization_url`; the provider
/// brings them back to the callback.
#[utoipa::path(post, path = "/api/v1/integrations/oauth", tag = "integrations", request_body = OAuthStart, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 201, description = "Where to send the person", body = OAuthStarted), (status = 409, description = "No OAuth app for this provider, or no server.public_url", body = crate::error::ErrorBody), (status = 422, description = "Invalid settings (the field is named)", body = crate::error::ErrorBody)))]
pub async fn start_oauth(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::IntegrationsManage>,
    ApiJson(body): ApiJson<OAuthStart>,
) -> Result<impl IntoResponse, ApiError> {
    let url = app
        .core
        .integrations()
        .start_oauth(&scope, body.into())
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(OAuthStarted {
            authorization_url: url,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CallbackQuery {
    /// The `state` from the start.
    pub state: String,
    /// The authorization code (absent when the person declined).
    pub code: Option<String>,
    /// The provider's error (`access_denied`…).
    pub error: Option<String>,
}

/// Where the provider brings the person back: the code is traded for tokens and the
/// connection is made (checked like any other). The state is good once, for ten minutes, for
/// the person who started. A browser (a navigation asking for HTML) is sent on to the
/// dashboard's integrations page: `?connected={id}`, or `?failed={why}` with one word of a
/// fixed list (`state`, `declined`, `refused`), never the provider's own text.
#[utoipa::path(get, path = "/api/v1/integrations/oauth/callback", tag = "integrations", params(CallbackQuery), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Connected", body = Integration), (status = 303, description = "A browser: on to the dashboard's integrations page, saying what happened"), (status = 409, description = "No OAuth app for this provider", body = crate::error::ErrorBody), (status = 422, description = "An unknown, used or expired state, a declined consent, or a code or credential the provider refused", body = crate::error::ErrorBody)))]
pub async fn oauth_callback(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::IntegrationsManage>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let done = app
        .core
        .integrations()
        .finish_oauth(&scope, &q.state, q.code.as_deref(), q.error.as_deref())
        .await;
    if !browser_navigation(&headers) {
        return Ok(ApiJson(Integration::from(done?)).into_response());
    }
    let to = match done {
        Ok(view) => format!(
            "/settings/integrations?connected={}",
            Integration::from(view).id
        ),
        Err(e) => {
            let why = match ApiError::from(e) {
                ApiError::Invalid { field: "state", .. } => "state",
                ApiError::Invalid { field: "error", .. } => "declined",
                ApiError::Invalid { .. } | ApiError::Conflict(_) => "refused",
                other => return Err(other),
            };
            format!("/settings/integrations?failed={why}")
        }
    };
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, to),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response())
}

/// A top-level navigation by a browser (not a script's or a program's request).
fn browser_navigation(headers: &HeaderMap) -> bool {
    let navigate = headers
        .get("sec-fetch-mode")
        .is_some_and(|v| v.as_bytes() == b"navigate");
    let html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    navigate || html
}
