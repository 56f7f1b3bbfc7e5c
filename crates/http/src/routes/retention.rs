//! Retention policies (`GET`/`PUT /api/v1/retention`, the org's or with `?workspace_id=` a
//! workspace's) and a meeting's schedule (`GET /api/v1/meetings/{id}/retention`).

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use meetvault_core::ids::{MeetingId, WorkspaceId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Auth, perm};
use crate::state::AppState;
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::wire::retention::{MeetingRetentionBody, Retention, RetentionPolicy};
use crate::{ApiError, ApiJson};

use super::parse_id;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RetentionQuery {
    /// `wsp_…`: that workspace's windows instead of the org's.
    pub workspace_id: Option<String>,
}

fn workspace(q: &RetentionQuery) -> Result<Option<WorkspaceId>, ApiError> {
    q.workspace_id
        .as_deref()
        .map(parse_id::<WorkspaceId>)
        .transpose()
}

/// The retention policy: the org's (and a workspace's), the operator's defaults, and the
/// windows in force.
#[utoipa::path(get, path = "/api/v1/retention", tag = "retention", params(RetentionQuery), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The policy", body = Retention), (status = 422, description = "No such workspace", body = crate::error::ErrorBody)))]
pub async fn get_retention(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Query(q): Query<RetentionQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = workspace(&q)?;
    Ok(ApiJson(Retention::from(
        app.core.retention().get(&scope, ws).await?,
    )))
}

/// Replaces the org's retention policy, or with `?workspace_id=` a workspace's windows (no
/// `events` or `max` there). A window over the org's maximum is refused (422 naming it); an
/// empty workspace body removes its windows.
#[utoipa::path(put, path = "/api/v1/retention", tag = "retention", params(RetentionQuery), request_body = RetentionPolicy, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "The policy now", body = Retention)))]
pub async fn put_retention(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Query(q): Query<RetentionQuery>,
    ApiJson(body): ApiJson<RetentionPolicy>,
) -> Result<impl IntoResponse, ApiError> {
    let view = match workspace(&q)? {
        None => app.core.retention().put_org(&scope, body.into()).await?,
        Some(ws) => {
            if body.events.is_some() {
                return Err(ApiError::Invalid {
                    field: "events",
                    message: "the event outbox's window is the org's: set it without workspace_id"
                        .into(),
                });
            }
            if body.max.recordings.is_some()
                || body.max.transcripts.is_some()
                || body.max.bot_data.is_some()
            {
                return Err(ApiError::Invalid {
                    field: "max",
                    message: "maxima are the org's: set them without workspace_id".into(),
                });
            }
            let windows = meetvault_core::retention::Windows {
                recordings: body.recordings,
                transcripts: body.transcripts,
                bot_data: body.bot_data,
            };
            app.core
                .retention()
                .put_workspace(&scope, ws, windows)
                .await?
        }
    };
    Ok(ApiJson(Retention::from(view)))
}

/// When each part of a meeting will be deleted (or was), its windows and where they come from.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/retention", tag = "retention", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The schedule", body = MeetingRetentionBody), (status = 404, description = "No such meeting", body = crate::error::ErrorBody)))]
pub async fn meeting_retention(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    Ok(ApiJson(MeetingRetentionBody::from(
        app.core.retention().meeting(&scope, id).await?,
    )))
}
