//! Participant deletion requests. Public (no account): `POST /api/v1/deletion-requests`
//! (rate limited per client IP and per email address), `…/confirm` and `…/status` with the
//! emailed token. The org's owners and admins (`org:manage`): list, read, `…/{id}/complete`
//! (erases the participant, returns the certificate) and `…/{id}/reject` (with a reason).
//! The form a participant fills in is `privacy.rs`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use meetvault_core::ids::{DeletionRequestId, MeetingId, OrgId};
use meetvault_core::requests::{Completion, NewDeletionRequest};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Meta, parse_id};
use crate::auth::{Auth, perm};
use crate::state::AppState;
use crate::wire::certificates::CertificateEnvelope;
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::wire::requests::{
    self as wire, CompleteBody, DeletionRequest, DeletionRequestList, DeletionRequestSubmitted,
    NewDeletionRequestBody, RejectBody, RequestTokenBody, RequesterStatus,
};
use crate::{ApiError, ApiJson};

/// Asks an organization to erase what its meetings hold of you; no account needed. A token is
/// emailed to you: confirm the request with it within 24 hours, and follow it with the same
/// token.
#[utoipa::path(post, path = "/api/v1/deletion-requests", tag = "deletion-requests", request_body = NewDeletionRequestBody,
    responses(JsonBodyErrors,
        (status = 202, description = "Taken; the token was emailed", body = DeletionRequestSubmitted),
        (status = 404, description = "No such organization", body = crate::error::ErrorBody),
        (status = 429, description = "Too many requests from this address or for this email", body = crate::error::ErrorBody),
        (status = 503, description = "The email could not be sent; nothing was kept", body = crate::error::ErrorBody)))]
pub async fn submit(
    State(app): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<NewDeletionRequestBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org_id = match body.org_id.as_deref().map(str::trim) {
        Some(raw) if !raw.is_empty() => Some(parse_id::<OrgId>(raw)?),
        _ => None,
    };
    let done = app
        .core
        .deletion_requests()
        .submit(NewDeletionRequest {
            org_id,
            name: body.name,
            email: body.email,
            meeting: body.meeting,
            message: body.message,
            ip: meta.ip,
        })
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(DeletionRequestSubmitted {
            id: done.id,
            state: "unconfirmed".into(),
            expires_at: done.expires_at,
        }),
    ))
}

/// Confirms a request with the emailed token (again: nothing changes).
#[utoipa::path(post, path = "/api/v1/deletion-requests/confirm", tag = "deletion-requests", request_body = RequestTokenBody,
    responses(JsonBodyErrors,
        (status = 200, description = "Confirmed", body = RequesterStatus),
        (status = 404, description = "No request has this token", body = crate::error::ErrorBody),
        (status = 410, description = "Not confirmed in time", body = crate::error::ErrorBody)))]
pub async fn confirm(
    State(app): State<AppState>,
    ApiJson(body): ApiJson<RequestTokenBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(RequesterStatus::from(
        app.core.deletion_requests().confirm(&body.token).await?,
    )))
}

/// Where a request is, with the emailed token: its state, the organization's reason or note,
/// and once completed the signed deletion certificate.
#[utoipa::path(post, path = "/api/v1/deletion-requests/status", tag = "deletion-requests", request_body = RequestTokenBody,
    responses(JsonBodyErrors,
        (status = 200, description = "The request", body = RequesterStatus),
        (status = 404, description = "No request has this token", body = crate::error::ErrorBody),
        (status = 410, description = "Not confirmed in time", body = crate::error::ErrorBody)))]
pub async fn status(
    State(app): State<AppState>,
    ApiJson(body): ApiJson<RequestTokenBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(RequesterStatus::from(
        app.core.deletion_requests().status(&body.token).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `open`, `completing`, `completed` or `rejected`.
    pub state: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

/// The organization's confirmed deletion requests, newest first.
#[utoipa::path(get, path = "/api/v1/deletion-requests", tag = "deletion-requests", params(ListQuery), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The requests", body = DeletionRequestList), (status = 422, description = "Invalid query", body = crate::error::ErrorBody)))]
pub async fn list(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let state = match q.state.as_deref() {
        None => None,
        Some(s) => Some(wire::state(s).ok_or_else(|| ApiError::Invalid {
            field: "state",
            message: "must be open, completing, completed or rejected".into(),
        })?),
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::Invalid {
            field: "limit",
            message: "must be between 1 and 200".into(),
        });
    }
    let views = app
        .core
        .deletion_requests()
        .list(&scope, state, limit)
        .await?;
    Ok(ApiJson(DeletionRequestList {
        requests: views.into_iter().map(DeletionRequest::from).collect(),
    }))
}

/// One of the organization's deletion requests.
#[utoipa::path(get, path = "/api/v1/deletion-requests/{id}", tag = "deletion-requests", params(("id" = crate::wire::ids::DeletionRequestId, Path, description = "The request")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The request", body = DeletionRequest), (status = 404, description = "No such request", body = crate::error::ErrorBody)))]
pub async fn get(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<DeletionRequestId>(&id)?;
    Ok(ApiJson(DeletionRequest::from(
        app.core.deletion_requests().get(&scope, id).await?,
    )))
}

/// Completes an open request: erases the participant from each meeting named (by the speaker
/// name its transcript shows) and returns the deletion certificate; the requester is told.
#[utoipa::path(post, path = "/api/v1/deletion-requests/{id}/complete", tag = "deletion-requests", params(("id" = crate::wire::ids::DeletionRequestId, Path, description = "The request")), request_body = CompleteBody, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors,
        (status = 200, description = "Erased: the certificate", body = CertificateEnvelope),
        (status = 404, description = "No such request", body = crate::error::ErrorBody),
        (status = 409, description = "The request is closed already, or a meeting's bot has not ended", body = crate::error::ErrorBody)))]
pub async fn complete(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CompleteBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<DeletionRequestId>(&id)?;
    let mixed_recordings =
        wire::mixed(body.mixed_recordings.as_deref()).map_err(|m| ApiError::Invalid {
            field: "mixed_recordings",
            message: m.into(),
        })?;
    let mut targets = Vec::with_capacity(body.targets.len());
    for t in body.targets {
        let meeting = t
            .meeting_id
            .parse::<MeetingId>()
            .map_err(|e| ApiError::Invalid {
                field: "targets",
                message: format!("meeting_id: {e}"),
            })?;
        targets.push(wire::target(meeting, t.speaker));
    }
    let view = app
        .core
        .deletion_requests()
        .complete(
            &scope,
            id,
            Completion {
                targets,
                mixed_recordings,
                note: body.note,
            },
        )
        .await?;
    Ok(ApiJson(CertificateEnvelope::from(view)))
}

/// Rejects an open request with a reason the requester is told.
#[utoipa::path(post, path = "/api/v1/deletion-requests/{id}/reject", tag = "deletion-requests", params(("id" = crate::wire::ids::DeletionRequestId, Path, description = "The request")), request_body = RejectBody, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors,
        (status = 200, description = "Rejected", body = DeletionRequest),
        (status = 404, description = "No such request", body = crate::error::ErrorBody),
        (status = 409, description = "The request is closed already", body = crate::error::ErrorBody)))]
pub async fn reject(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RejectBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<DeletionRequestId>(&id)?;
    Ok(ApiJson(DeletionRequest::from(
        app.core
            .deletion_requests()
            .reject(&scope, id, &body.reason)
            .await?,
    )))
}
