//! A handler that authorized `meetings:read` cannot delete a meeting.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use meetvault_core::ids::MeetingId;
use meetvault_http::auth::{Auth, perm};
use meetvault_http::routes::parse_id;
use meetvault_http::{ApiError, AppState};

pub async fn delete_meeting(
    State(app): State<AppState>,
    Auth(scope): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    app.core.meetings().delete(&scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn main() {}
