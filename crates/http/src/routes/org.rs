//! The organization: settings (`org:manage`), members and roles, workspaces and invitations
//! (`members:manage`), and accepting an invitation (public, rate limited).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use meetvault_core::ids::{InvitationId, UserId, WorkspaceId};
use meetvault_core::org::parse_role;

use crate::auth::{AnyCaller, Auth, OwnAccount, perm};
use crate::state::AppState;
use crate::wire::auth::{SessionCreated, User};
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::wire::org::{
    AcceptBody, CloseBody, InvitationBody, InvitationCreated, InvitationList, MemberList, NameBody,
    Org, OrgClosureBody, OrgPatch, RoleBody, Workspace, WorkspaceList, WorkspaceMember,
    WorkspaceMemberList, WorkspaceRoleBody,
};
use crate::{ApiError, ApiJson};

use super::{Meta, parse_id};

/// The caller's organization.
#[utoipa::path(get, path = "/api/v1/org", tag = "org", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The organization", body = Org)))]
pub async fn get_org(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(Org::from(app.core.org().view(&scope).await?)))
}

/// Changes the organization's name, MFA requirement or glossary.
#[utoipa::path(patch, path = "/api/v1/org", tag = "org", request_body = OrgPatch, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Updated", body = Org)))]
pub async fn patch_org(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    ApiJson(body): ApiJson<OrgPatch>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(Org::from(
        app.core.org().update(&scope, &body.into()).await?,
    )))
}

/// The organization's members.
#[utoipa::path(get, path = "/api/v1/members", tag = "org", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Members", body = MemberList)))]
pub async fn list_members(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MembersManage>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(MemberList::from(
        app.core.org().members(&scope).await?,
    )))
}

/// Changes a member's organization role; it applies on their very next request.
#[utoipa::path(patch, path = "/api/v1/members/{id}", tag = "org", request_body = RoleBody, params(("id" = crate::wire::ids::UserId, Path, description = "The member")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Updated", body = User), (status = 404, description = "No such member", body = crate::error::ErrorBody)))]
pub async fn patch_member(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MembersManage>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<impl IntoResponse, ApiError> {
    let role = parse_role("role", &body.role)?;
    Ok(ApiJson(User::from(
        app.core
            .org()
            .set_member_role(&scope, parse_id::<UserId>(&id)?, role)
            .await?,
    )))
}

/// Removes a member with their sessions and keys.
#[utoipa::path(delete, path = "/api/v1/members/{id}", tag = "org", params(("id" = crate::wire::ids::UserId, Path, description = "The member")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 204, description = "Removed"), (status = 404, description = "No such member", body = crate::error::ErrorBody)))]
pub async fn remove_member(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MembersManage>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.core
        .org()
        .remove_member(&scope, parse_id::<UserId>(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resets a member's two-factor authentication (a lost device) and ends their sessions.
#[utoipa::path(delete, path = "/api/v1/members/{id}/mfa", tag = "org", params(("id" = crate::wire::ids::UserId, Path, description = "The member")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 204, description = "Reset"), (status = 404, description = "No such member", body = crate::error::ErrorBody)))]
pub async fn reset_member_mfa(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MembersManage>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.core
        .org()
        .reset_member_mfa(&scope, parse_id::<UserId>(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization's workspaces.
#[utoipa::path(get, path = "/api/v1/workspaces", tag = "org", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Workspaces", body = WorkspaceList)))]
pub async fn list_workspaces(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(WorkspaceList::from(
        app.core.org().workspaces(&scope).await?,
    )))
}

/// Creates a workspace.
#[utoipa::path(post, path = "/api/v1/workspaces", tag = "org", request_body = NameBody, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 201, description = "Created", body = Workspace)))]
pub async fn create_workspace(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        ApiJson(Workspace::from(
            app.core.org().create_workspace(&scope, &body.name).await?,
        )),
    ))
}

/// Renames a workspace.
#[utoipa::path(patch, path = "/api/v1/workspaces/{id}", tag = "org", request_body = NameBody, params(("id" = crate::wire::ids::WorkspaceId, Path, description = "The workspace")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Renamed", body = Workspace), (status = 404, description = "No such workspace", body = crate::error::ErrorBody)))]
pub async fn patch_workspace(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(Workspace::from(
        app.core
            .org()
            .rename_workspace(&scope, parse_id::<WorkspaceId>(&id)?, &body.name)
            .await?,
    )))
}

/// Who has a role in a workspace, and which.
#[utoipa::path(get, path = "/api/v1/workspaces/{id}/members", tag = "org", params(("id" = crate::wire::ids::WorkspaceId, Path, description = "The workspace")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Its members' roles", body = WorkspaceMemberList), (status = 404, description = "No such workspace", body = crate::error::ErrorBody)))]
pub async fn list_workspace_members(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MembersManage>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let members = app
        .core
        .org()
        .workspace_members(&scope, parse_id::<WorkspaceId>(&id)?)
        .await?;
    Ok(ApiJson(WorkspaceMemberList {
        members: members
            .into_iter()
            .map(|(user_id, role)| WorkspaceMember {
                user_id,
                role: role.to_string(),
            })
            .collect(),
    }))
}

/// Sets or removes a member's role in a workspace.
#[utoipa::path(put, path = "/api/v1/workspaces/{id}/members/{user_id}", tag = "org", request_body = WorkspaceRoleBody,
    params(("id" = crate::wire::ids::WorkspaceId, Path, description = "The workspace"), ("user_id" = crate::wire::ids::UserId, Path, description = "The member")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 204, description = "Set"), (status = 404, description = "No such workspace or member", body = crate::error::ErrorBody)))]
pub async fn put_workspace_member(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MembersManage>,
    Path((id, user_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<WorkspaceRoleBody>,
) -> Result<StatusCode, ApiError> {
    let role = body
        .role
        .as_deref()
        .map(|r| parse_role("role", r))
        .transpose()?;
    app.core
        .org()
        .set_workspace_role(
            &scope,
            parse_id::<WorkspaceId>(&id)?,
            parse_id::<UserId>(&user_id)?,
            role,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Invites someone by email; the token (for the invitee) is in this response only. An email
/// with an account elsewhere on the server is invited like any other (the invitation cannot be
/// accepted), so the answer does not reveal who has an account.
#[utoipa::path(post, path = "/api/v1/invitations", tag = "org", request_body = InvitationBody, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 201, description = "Invited; `token` is shown once", body = InvitationCreated),
              (status = 409, description = "Already a member of your organization", body = crate::error::ErrorBody),
              (status = 429, description = "Too many invitations this hour", body = crate::error::ErrorBody)))]
pub async fn create_invitation(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MembersManage>,
    ApiJson(body): ApiJson<InvitationBody>,
) -> Result<impl IntoResponse, ApiError> {
    let role = parse_role("role", &body.role)?;
    let ws = body
        .workspace_id
        .as_deref()
        .map(parse_id::<WorkspaceId>)
        .transpose()?;
    Ok((
        StatusCode::CREATED,
        ApiJson(InvitationCreated::from(
            app.core.org().invite(&scope, &body.email, role, ws).await?,
        )),
    ))
}

/// Pending and past invitations.
#[utoipa::path(get, path = "/api/v1/invitations", tag = "org", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Invitations", body = InvitationList)))]
pub async fn list_invitations(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MembersManage>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(InvitationList::from(
        app.core.org().invitations(&scope).await?,
    )))
}

/// Revokes a pending invitation.
#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "org", params(("id" = crate::wire::ids::InvitationId, Path, description = "The invitation")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 204, description = "Revoked"), (status = 404, description = "No such pending invitation", body = crate::error::ErrorBody)))]
pub async fn revoke_invitation(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MembersManage>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.core
        .org()
        .revoke_invitation(&scope, parse_id::<InvitationId>(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accepts an invitation: creates the account and signs it in.
#[utoipa::path(post, path = "/api/v1/invitations/{token}/accept", tag = "org", request_body = AcceptBody, params(("token" = String, Path, description = "mvi_…")),
    responses(JsonBodyErrors, (status = 201, description = "Account created and signed in", body = SessionCreated),
              (status = 404, description = "Unknown, expired, revoked or used", body = crate::error::ErrorBody),
              (status = 429, description = "Too many attempts", body = crate::error::ErrorBody)))]
pub async fn accept_invitation(
    State(app): State<AppState>,
    Meta(meta): Meta,
    _: crate::auth::SameSite,
    Path(token): Path<String>,
    ApiJson(body): ApiJson<AcceptBody>,
) -> Result<Response, ApiError> {
    let outcome = app
        .core
        .identity()
        .accept_invitation(&token, &body.name, body.password, meta)
        .await?;
    super::auth::session_response(&app, outcome, StatusCode::CREATED)
}

/// Closes the organization (an owner, with their password): from the next request every
/// member's and key's permission checks answer 403 `org_closed`; the org and everything in it is
/// erased, with signed certificates, `retention.org_grace_days` (90) days later unless an owner
/// reopens it. Closing a closed org answers its closure.
#[utoipa::path(post, path = "/api/v1/org/close", tag = "org", request_body = CloseBody, security(("session" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Closed: when it is erased", body = OrgClosureBody), (status = 429, description = "Too many attempts", body = crate::error::ErrorBody)))]
pub async fn close_org(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    ApiJson(body): ApiJson<CloseBody>,
) -> Result<impl IntoResponse, ApiError> {
    let closure = app.core.org().close(&scope, &body.password).await?;
    Ok(ApiJson(OrgClosureBody::from(Some(closure))))
}

/// Reopens a closed organization (an owner), before it is erased.
#[utoipa::path(post, path = "/api/v1/org/reopen", tag = "org", security(("session" = [])),
    responses(AuthErrors, (status = 200, description = "Open again", body = OrgClosureBody), (status = 409, description = "Not closed", body = crate::error::ErrorBody)))]
pub async fn reopen_org(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
) -> Result<impl IntoResponse, ApiError> {
    app.core.org().reopen(&scope).await?;
    Ok(ApiJson(OrgClosureBody::from(None)))
}

/// Whether an owner closed the organization and when it is erased (any member or key, even
/// while it is closed).
#[utoipa::path(get, path = "/api/v1/org/closure", tag = "org", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The closure", body = OrgClosureBody)))]
pub async fn org_closure(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<AnyCaller>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(OrgClosureBody::from(
        app.core.org().closure(&scope).await?,
    )))
}
