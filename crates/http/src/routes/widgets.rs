//! Voice-intake widgets (`widgets:manage`): create one (its signing secret shown once), list,
//! read, change, delete, rotate the secret. The visitor's routes are `widget_public.rs`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use meetvault_core::ids::WidgetId;

use crate::auth::{Auth, perm};
use crate::state::AppState;
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::wire::widgets::{NewWidget, Widget, WidgetCreated, WidgetList, WidgetPatch};
use crate::{ApiError, ApiJson};

use super::parse_id;

/// Creates a widget; its signing secret (for visitor identity tokens) is in this answer only.
#[utoipa::path(post, path = "/api/v1/widgets", tag = "widgets", request_body = NewWidget, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 201, description = "Created; the secret is shown this once", body = WidgetCreated), (status = 409, description = "Too many widgets", body = crate::error::ErrorBody), (status = 422, description = "Invalid (the field is named): an origin that is not exact https, a text too long, a retention over the org's maximum", body = crate::error::ErrorBody)))]
pub async fn create_widget(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WidgetsManage>,
    ApiJson(body): ApiJson<NewWidget>,
) -> Result<impl IntoResponse, ApiError> {
    let created = app.core.widgets().create(&scope, &body.into()).await?;
    Ok((StatusCode::CREATED, ApiJson(WidgetCreated::from(created))))
}

/// The org's widgets.
#[utoipa::path(get, path = "/api/v1/widgets", tag = "widgets", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The widgets", body = WidgetList)))]
pub async fn list_widgets(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WidgetsManage>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(WidgetList::from(
        app.core.widgets().list(&scope).await?,
    )))
}

/// A widget.
#[utoipa::path(get, path = "/api/v1/widgets/{id}", tag = "widgets", params(("id" = crate::wire::ids::WidgetId, Path, description = "The widget")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The widget", body = Widget), (status = 404, description = "No such widget", body = crate::error::ErrorBody)))]
pub async fn get_widget(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WidgetsManage>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<WidgetId>(&id)?;
    Ok(ApiJson(Widget::from(
        app.core.widgets().get(&scope, id).await?,
    )))
}

/// Changes a widget (absent fields stay).
#[utoipa::path(patch, path = "/api/v1/widgets/{id}", tag = "widgets", params(("id" = crate::wire::ids::WidgetId, Path, description = "The widget")), request_body = WidgetPatch, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Changed", body = Widget), (status = 404, description = "No such widget", body = crate::error::ErrorBody), (status = 422, description = "Invalid (the field is named)", body = crate::error::ErrorBody)))]
pub async fn patch_widget(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WidgetsManage>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WidgetPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<WidgetId>(&id)?;
    Ok(ApiJson(Widget::from(
        app.core.widgets().update(&scope, id, &body.into()).await?,
    )))
}

/// Deletes a widget and its visitors' unfinished sessions; the meetings its submissions
/// became stay, under their retention.
#[utoipa::path(delete, path = "/api/v1/widgets/{id}", tag = "widgets", params(("id" = crate::wire::ids::WidgetId, Path, description = "The widget")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 204, description = "Deleted"), (status = 404, description = "No such widget", body = crate::error::ErrorBody)))]
pub async fn delete_widget(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WidgetsManage>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id::<WidgetId>(&id)?;
    app.core.widgets().delete(&scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown this once; visitor tokens signed with the old one fail from now.
#[utoipa::path(post, path = "/api/v1/widgets/{id}/rotate-secret", tag = "widgets", params(("id" = crate::wire::ids::WidgetId, Path, description = "The widget")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Rotated; the new secret is shown this once", body = WidgetCreated), (status = 404, description = "No such widget", body = crate::error::ErrorBody)))]
pub async fn rotate_widget_secret(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::WidgetsManage>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<WidgetId>(&id)?;
    Ok(ApiJson(WidgetCreated::from(
        app.core.widgets().rotate_secret(&scope, id).await?,
    )))
}
