//! The same calls with the right proofs compile (a module of `compile_fail.rs`): a delete
//! handler with `meetings:delete`, a reader's and a writer's scopes each used for their own
//! services, reach asked of a workspace-scoped proof, and helpers that take any proof by saying
//! so with a bound.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use meetvault_core::Core;
use meetvault_core::access::proof::{MeetingsRead, MeetingsWrite, Proof, WorkspaceScoped};
use meetvault_core::access::{Denied, Principal, Reach, Scope};
use meetvault_core::ids::{MeetingId, UserId};
use meetvault_http::auth::{Auth, perm};
use meetvault_http::routes::parse_id;
use meetvault_http::{ApiError, AppState};

pub async fn delete_meeting(
    State(app): State<AppState>,
    Auth(scope): Auth<perm::MeetingsDelete>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    app.core.meetings().delete(&scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn import_then_read(
    core: &Core,
    caller: &Principal,
    id: MeetingId,
) -> Result<(), Denied> {
    let writer = caller.authorize::<MeetingsWrite>()?;
    let _ = core.transcripts().add_segments(&writer, id, &[]).await;
    let reader: Scope<MeetingsRead> = caller.authorize()?;
    let _ = core.transcripts().get(&reader, id).await;
    Ok(())
}

pub fn reach<P: WorkspaceScoped>(scope: &Scope<P>) -> bool {
    scope.reach() == Reach::Org
}

pub fn who<P: Proof>(scope: &Scope<P>) -> UserId {
    scope.user_id()
}
