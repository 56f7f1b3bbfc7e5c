//! The organization on the wire: the org, workspaces, members, invitations, and the role and
//! permission names (their schemas are generated from core's lists, so they cannot drift).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use meetvault_core::access;
use meetvault_core::auth::UserView;
use meetvault_core::ids::{InvitationId, OrgId, WorkspaceId};
use meetvault_core::org::{
    InvitationCreated as CoreInvitationCreated, InvitationView, OrgView, WorkspaceView,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use super::auth::User;
use super::{ids, list_of};

/// A string schema with these values.
fn names(description: &str, values: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// An org or workspace role (what each may do: docs/permissions.md).
#[derive(Debug, Clone, Copy)]
pub struct Role;

impl utoipa::PartialSchema for Role {
    fn schema() -> RefOr<Schema> {
        names(
            "An org or workspace role; what each may do is docs/permissions.md.",
            access::Role::ALL.map(access::Role::as_str),
        )
    }
}

impl ToSchema for Role {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Role")
    }
}

/// A permission name (`meetings:read`…).
#[derive(Debug, Clone, Copy)]
pub struct Permission;

impl utoipa::PartialSchema for Permission {
    fn schema() -> RefOr<Schema> {
        names(
            "A permission; see docs/permissions.md.",
            access::Permission::ALL.map(access::Permission::as_str),
        )
    }
}

impl ToSchema for Permission {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Permission")
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Org {
    #[schema(value_type = ids::OrgId)]
    pub id: OrgId,
    pub name: String,
    /// Every member must use two-factor authentication.
    pub require_mfa: bool,
    /// Names and jargon every transcription in the org is prompted with (stored encrypted);
    /// null: none.
    #[schema(required = true)]
    pub glossary: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<OrgView> for Org {
    fn from(o: OrgView) -> Self {
        Self {
            id: o.id,
            name: o.name,
            require_mfa: o.require_mfa,
            glossary: o.glossary,
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Workspace {
    #[schema(value_type = ids::WorkspaceId)]
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<WorkspaceView> for Workspace {
    fn from(w: WorkspaceView) -> Self {
        Self {
            id: w.id,
            name: w.name,
            created_at: w.created_at,
        }
    }
}

list_of!(WorkspaceList { workspaces: Vec<Workspace> } from WorkspaceView);

list_of!(MemberList { members: Vec<User> } from UserView);

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invitation {
    #[schema(value_type = ids::InvitationId)]
    pub id: InvitationId,
    #[schema(format = Email)]
    pub email: String,
    #[schema(value_type = Role)]
    pub role: String,
    #[schema(value_type = Option<ids::WorkspaceId>, required = true)]
    pub workspace_id: Option<WorkspaceId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[schema(required = true)]
    pub accepted_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<InvitationView> for Invitation {
    fn from(i: InvitationView) -> Self {
        Self {
            id: i.id,
            email: i.email,
            role: i.role,
            workspace_id: i.workspace_id,
            created_at: i.created_at,
            expires_at: i.expires_at,
            accepted_at: i.accepted_at,
            revoked_at: i.revoked_at,
        }
    }
}

/// A new invitation: `token` (`mvi_…`, for the invitee) is shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvitationCreated {
    pub token: String,
    #[serde(flatten)]
    pub invitation: Invitation,
}

impl From<CoreInvitationCreated> for InvitationCreated {
    fn from(i: CoreInvitationCreated) -> Self {
        Self {
            token: i.token,
            invitation: i.view.into(),
        }
    }
}

list_of!(InvitationList { invitations: Vec<Invitation> } from InvitationView);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    #[serde(default)]
    pub name: Option<String>,
    /// Every member must use two-factor authentication.
    #[serde(default)]
    pub require_mfa: Option<bool>,
    /// Names and jargon every transcription in the org is prompted with, before a meeting's
    /// own glossary (at most 1000 characters and one prompt window of the model's tokens);
    /// null clears it.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub glossary: Option<Option<String>>,
}

impl From<OrgPatch> for meetvault_core::org::OrgPatch {
    fn from(p: OrgPatch) -> Self {
        Self {
            name: p.name,
            require_mfa: p.require_mfa,
            glossary: p.glossary,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    #[schema(value_type = Role)]
    pub role: String,
}

/// One member's role in a workspace.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceMember {
    #[schema(value_type = ids::UserId)]
    pub user_id: meetvault_core::ids::UserId,
    #[schema(value_type = Role)]
    pub role: String,
}

/// Who has a role in a workspace (the others act there with their org role only).
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceMemberList {
    pub members: Vec<WorkspaceMember>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceRoleBody {
    /// A role in the workspace, or null to remove the member from it.
    #[schema(value_type = Option<Role>, required = true)]
    pub role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationBody {
    #[schema(format = Email)]
    pub email: String,
    #[schema(value_type = Role)]
    pub role: String,
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    pub name: String,
    #[schema(format = Password)]
    pub password: String,
}

/// Confirms closing the organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// The owner's current password.
    #[schema(format = Password)]
    pub password: String,
}

/// Whether an owner closed the organization, and when it is erased.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgClosureBody {
    pub closed: bool,
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When its data is erased (with signed certificates) unless an owner reopens it first.
    pub erase_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Option<meetvault_core::erasure::OrgClosure>> for OrgClosureBody {
    fn from(c: Option<meetvault_core::erasure::OrgClosure>) -> Self {
        Self {
            closed: c.is_some(),
            closed_at: c.map(|c| c.closed_at),
            erase_at: c.map(|c| c.erase_at),
        }
    }
}
