//! Webhook endpoints (`webhooks:manage`): register, list, read, change, delete, rotate the
//! secret, read the delivery log, redeliver, send a test.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use meetvault_core::ids::{DeliveryId, WebhookId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Auth, perm};
use crate::state::AppState;
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::wire::webhooks::{
    Delivery, DeliveryPage, NewWebhook, Webhook, WebhookCreated, WebhookList, WebhookPatch,
};
use crate::{ApiError, ApiJson};

use super::parse_id;

/// Registers an endpoint. The URL is checked (resolved) against private and internal
/// targets; the signing secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhook, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 201, description = "Registered; the secret is shown this once", body = WebhookCreated), (status = 409, description = "Too many endpoints", body = crate::error::ErrorBody), (status = 422, description = "Invalid (the field is named): a URL that is not https, has credentials, or points at a private, loopback or internal address; an unknown event type", body = crate::error::ErrorBody)))]
pub async fn create_webhook(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WebhooksManage>,
    ApiJson(body): ApiJson<NewWebhook>,
) -> Result<impl IntoResponse, ApiError> {
    let created = app.core.webhooks().create(&scope, &body.into()).await?;
    Ok((StatusCode::CREATED, ApiJson(WebhookCreated::from(created))))
}

/// The org's endpoints (a bot's own `webhook_url` endpoints included).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The endpoints", body = WebhookList)))]
pub async fn list_webhooks(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WebhooksManage>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(WebhookList::from(
        app.core.webhooks().list(&scope).await?,
    )))
}

/// An endpoint.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = crate::wire::ids::WebhookId, Path, description = "The endpoint")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The endpoint", body = Webhook), (status = 404, description = "No such endpoint", body = crate::error::ErrorBody)))]
pub async fn get_webhook(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WebhooksManage>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<WebhookId>(&id)?;
    Ok(ApiJson(Webhook::from(
        app.core.webhooks().get(&scope, id).await?,
    )))
}

/// Changes an endpoint (absent fields stay); `enabled: true` re-enables one the server
/// disabled.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = crate::wire::ids::WebhookId, Path, description = "The endpoint")), request_body = WebhookPatch, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Changed", body = Webhook), (status = 404, description = "No such endpoint", body = crate::error::ErrorBody), (status = 422, description = "Invalid (the field is named)", body = crate::error::ErrorBody)))]
pub async fn patch_webhook(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WebhooksManage>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WebhookPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<WebhookId>(&id)?;
    Ok(ApiJson(Webhook::from(
        app.core.webhooks().update(&scope, id, &body.into()).await?,
    )))
}

/// Deletes an endpoint with its delivery log; nothing more is sent to it.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = crate::wire::ids::WebhookId, Path, description = "The endpoint")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 204, description = "Deleted"), (status = 404, description = "No such endpoint", body = crate::error::ErrorBody)))]
pub async fn delete_webhook(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WebhooksManage>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id::<WebhookId>(&id)?;
    app.core.webhooks().delete(&scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret (shown this once); the old one keeps signing beside it for 24 hours
/// (`webhooks.previous_secret_secs`), so receivers can switch without losing a message.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = crate::wire::ids::WebhookId, Path, description = "The endpoint")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Rotated; the new secret is shown this once", body = WebhookCreated), (status = 404, description = "No such endpoint", body = crate::error::ErrorBody)))]
pub async fn rotate_webhook_secret(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WebhooksManage>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<WebhookId>(&id)?;
    Ok(ApiJson(WebhookCreated::from(
        app.core.webhooks().rotate_secret(&scope, id).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

/// An endpoint's deliveries, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = crate::wire::ids::WebhookId, Path, description = "The endpoint"), DeliveriesQuery), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "A page of deliveries", body = DeliveryPage), (status = 404, description = "No such endpoint", body = crate::error::ErrorBody), (status = 422, description = "A bad cursor or limit", body = crate::error::ErrorBody)))]
pub async fn list_deliveries(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WebhooksManage>,
    Path(id): Path<String>,
    Query(q): Query<DeliveriesQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<WebhookId>(&id)?;
    Ok(ApiJson(DeliveryPage::from(
        app.core
            .webhooks()
            .deliveries(&scope, id, q.cursor.as_deref(), q.limit)
            .await?,
    )))
}

/// A delivery with every attempt: time, status, latency, response excerpt, next retry.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries/{delivery}", tag = "webhooks", params(("id" = crate::wire::ids::WebhookId, Path, description = "The endpoint"), ("delivery" = crate::wire::ids::DeliveryId, Path, description = "The delivery")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The delivery", body = Delivery), (status = 404, description = "No such endpoint or delivery", body = crate::error::ErrorBody)))]
pub async fn get_delivery(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WebhooksManage>,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<WebhookId>(&id)?;
    let delivery = parse_id::<DeliveryId>(&delivery)?;
    Ok(ApiJson(Delivery::from(
        app.core.webhooks().delivery(&scope, id, delivery).await?,
    )))
}

/// Sends a delivery again now, with the same `webhook-id`.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver", tag = "webhooks", params(("id" = crate::wire::ids::WebhookId, Path, description = "The endpoint"), ("delivery" = crate::wire::ids::DeliveryId, Path, description = "The delivery")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 202, description = "Queued", body = Delivery), (status = 404, description = "No such endpoint or delivery", body = crate::error::ErrorBody), (status = 409, description = "The endpoint is disabled", body = crate::error::ErrorBody)))]
pub async fn redeliver(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WebhooksManage>,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<WebhookId>(&id)?;
    let delivery = parse_id::<DeliveryId>(&delivery)?;
    let view = app.core.webhooks().redeliver(&scope, id, delivery).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(Delivery::from(view))))
}

/// Sends a `webhook.test` message now, ahead of anything waiting; read the outcome from
/// `GET …/deliveries/{id}`.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = crate::wire::ids::WebhookId, Path, description = "The endpoint")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 202, description = "Queued", body = Delivery), (status = 404, description = "No such endpoint", body = crate::error::ErrorBody), (status = 409, description = "The endpoint is disabled", body = crate::error::ErrorBody)))]
pub async fn test_webhook(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WebhooksManage>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<WebhookId>(&id)?;
    let view = app.core.webhooks().test(&scope, id).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(Delivery::from(view))))
}
