//! The customer's own buckets (`org:manage`) and delivering a meeting to one
//! (`meetings:write`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use meetvault_core::ids::{DestinationId, MeetingId};

use crate::auth::{Auth, perm};
use crate::state::AppState;
use crate::wire::destinations::{
    DeliverMeeting, DeliveryQueued, Destination, DestinationList, DestinationPatch, NewDestination,
};
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::{ApiError, ApiJson};

use super::parse_id;

/// Adds a destination: an S3-compatible bucket, checked with a probe write (deleted at once).
#[utoipa::path(post, path = "/api/v1/destinations", tag = "destinations", request_body = NewDestination, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 201, description = "Added", body = Destination), (status = 422, description = "Invalid (the field is named): an endpoint that points inside, a bucket that refused the probe write", body = crate::error::ErrorBody)))]
pub async fn create_destination(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    ApiJson(body): ApiJson<NewDestination>,
) -> Result<impl IntoResponse, ApiError> {
    let view = app.core.destinations().create(&scope, &body.into()).await?;
    Ok((StatusCode::CREATED, ApiJson(Destination::from(view))))
}

/// The org's destinations.
#[utoipa::path(get, path = "/api/v1/destinations", tag = "destinations", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The destinations", body = DestinationList)))]
pub async fn list_destinations(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(DestinationList::from(
        app.core.destinations().list(&scope).await?,
    )))
}

/// A destination.
#[utoipa::path(get, path = "/api/v1/destinations/{id}", tag = "destinations", params(("id" = crate::wire::ids::DestinationId, Path, description = "The destination")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The destination", body = Destination), (status = 404, description = "No such destination", body = crate::error::ErrorBody)))]
pub async fn get_destination(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<DestinationId>(&id)?;
    Ok(ApiJson(Destination::from(
        app.core.destinations().get(&scope, id).await?,
    )))
}

/// Makes it the org's default (bots deliver there when they end), or not; lets meetvault
/// delete what it wrote there (after a probe delete), or not.
#[utoipa::path(patch, path = "/api/v1/destinations/{id}", tag = "destinations", params(("id" = crate::wire::ids::DestinationId, Path, description = "The destination")), request_body = DestinationPatch, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Changed", body = Destination), (status = 404, description = "No such destination", body = crate::error::ErrorBody), (status = 422, description = "The bucket refused the probe delete (`allow_delete`)", body = crate::error::ErrorBody)))]
pub async fn patch_destination(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DestinationPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<DestinationId>(&id)?;
    Ok(ApiJson(Destination::from(
        app.core
            .destinations()
            .update(&scope, id, body.into())
            .await?,
    )))
}

/// Removes a destination (what was delivered stays in the bucket, out of meetvault's reach).
#[utoipa::path(delete, path = "/api/v1/destinations/{id}", tag = "destinations", params(("id" = crate::wire::ids::DestinationId, Path, description = "The destination")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 204, description = "Removed"), (status = 404, description = "No such destination", body = crate::error::ErrorBody)))]
pub async fn delete_destination(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id::<DestinationId>(&id)?;
    app.core.destinations().delete(&scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delivers a meeting's recordings to a destination (a durable job); `recording.files_ready`
/// (keys, sizes, SHA-256) follows as a webhook.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/deliver", tag = "destinations", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting")), request_body = DeliverMeeting, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 202, description = "Queued", body = DeliveryQueued), (status = 404, description = "No such meeting or destination", body = crate::error::ErrorBody), (status = 422, description = "No destination named and no default", body = crate::error::ErrorBody)))]
pub async fn deliver_meeting(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeliverMeeting>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let job_id = app
        .core
        .destinations()
        .deliver(&scope, id, body.destination_id)
        .await?;
    Ok((StatusCode::ACCEPTED, ApiJson(DeliveryQueued { job_id })))
}
