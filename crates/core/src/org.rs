//! The organization as its admins manage it: settings (name, MFA requirement), members and
//! their roles, workspaces and workspace roles, invitations. Every change is audited.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use meetvault_auth::token::{INVITATION, Token};
use meetvault_store::identity::{InvitationRow, OwnerGuarded, WorkspaceRow};
use uuid::Uuid;

use crate::access::proof::{MembersManage, OrgManage, Proof};
use crate::access::{Role, Scope};
use crate::audit::AuditAction;
use crate::audit::{Event, Personal};
use crate::auth::{EmailAddress, UserView, parse_name};
use crate::ids::{InvitationId, OrgId, UserId, WorkspaceId};
use crate::{Core, CoreError};

#[derive(Debug, Clone)]
pub struct OrgView {
    pub id: OrgId,
    pub name: String,
    pub require_mfa: bool,
    /// Names and jargon every transcription in the org is prompted with (sealed under the
    /// org key).
    pub glossary: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A change of the org's settings: absent fields stay; `glossary: Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct OrgPatch {
    pub name: Option<String>,
    pub require_mfa: Option<bool>,
    pub glossary: Option<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct WorkspaceView {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct InvitationView {
    pub id: InvitationId,
    pub email: String,
    pub role: String,
    pub workspace_id: Option<WorkspaceId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new invitation: `token` is shown this once (send it to the invitee).
#[derive(Debug)]
pub struct InvitationCreated {
    pub token: String,
    pub view: InvitationView,
}

/// How long an invitation stays valid.
pub const INVITATION_DAYS: i64 = 7;

pub fn parse_role(field: &'static str, text: &str) -> Result<Role, CoreError> {
    Role::parse(text).ok_or_else(|| {
        CoreError::invalid(
            field,
            "must be one of owner, admin, member, viewer, billing",
        )
    })
}

/// A role is granted (to a member, in a workspace, or by invitation) only by a caller that holds
/// every permission it carries: a narrow key with `members:manage` cannot make an admin.
pub(crate) fn check_grantable(
    held: crate::access::Permissions,
    role: Role,
) -> Result<(), CoreError> {
    if let Some(p) = role.permissions().iter().find(|p| !held.contains(*p)) {
        return Err(CoreError::NotAllowed(format!(
            "the `{role}` role includes `{p}`, which the credential making this request does not hold, so it cannot grant it"
        )));
    }
    Ok(())
}

impl Core {
    /// A `workspace_id` field that must name one of `org`'s workspaces (a 422 naming it).
    pub(crate) async fn check_workspace_field(
        &self,
        org: Uuid,
        w: crate::ids::WorkspaceId,
    ) -> Result<(), CoreError> {
        if self.db().workspace(org, w.0).await?.is_none() {
            return Err(CoreError::invalid(
                "workspace_id",
                "no such workspace in this org",
            ));
        }
        Ok(())
    }

    async fn caller_role<P: Proof>(&self, scope: &Scope<P>) -> Result<Role, CoreError> {
        crate::auth::parse_role(&self.own_user(scope).await?.role)
    }

    /// Only owners act on owners: an admin holds `members:manage` and `keys:manage` as an owner
    /// does, but must not be able to weaken the accounts that can remove them — not their role,
    /// membership, second factor, workspace roles or keys. Refuses with `refusal` when the
    /// action touches an owner and the caller (read now) is not one.
    pub(crate) async fn only_an_owner_acts_on<P: Proof>(
        &self,
        scope: &Scope<P>,
        touches_an_owner: bool,
        refusal: &str,
    ) -> Result<(), CoreError> {
        if touches_an_owner && self.caller_role(scope).await? != Role::Owner {
            return Err(CoreError::NotAllowed(refusal.to_owned()));
        }
        Ok(())
    }
}

/// The organization (`core.org()`): its settings, members and their roles, workspaces and
/// workspace roles, and invitations. Every change is audited.
#[derive(Debug, Clone, Copy)]
pub struct Org<'a> {
    pub(crate) core: &'a Core,
}

impl Org<'_> {
    pub async fn view(self, scope: &Scope<OrgManage>) -> Result<OrgView, CoreError> {
        let org = self
            .core
            .db()
            .org(scope.org_id().uuid())
            .await?
            .ok_or(CoreError::NotFound("organization"))?;
        Ok(OrgView {
            id: org.id.into(),
            name: org.name,
            require_mfa: org.require_mfa,
            glossary: self.core.org_glossary(org.id).await?,
            created_at: org.created_at,
        })
    }

    pub async fn update(
        self,
        scope: &Scope<OrgManage>,
        patch: &OrgPatch,
    ) -> Result<OrgView, CoreError> {
        let current = self.view(scope).await?;
        let name = match &patch.name {
            Some(n) => parse_name("name", n)?,
            None => current.name,
        };
        let require_mfa = patch.require_mfa.unwrap_or(current.require_mfa);
        let glossary = match &patch.glossary {
            Some(Some(g)) => Some(self.core.check_glossary("glossary", g).await?),
            Some(None) => Some(None),
            None => None,
        };
        let org = scope.org_id().uuid();
        self.core.db().update_org(org, &name, require_mfa).await?;
        if let Some(glossary) = glossary {
            self.core.set_org_glossary(org, glossary.as_deref()).await?;
        }
        self.core
            .audit(Event::by(scope, AuditAction::OrgUpdate).resource(scope.org_id()))
            .await?;
        self.view(scope).await
    }

    pub async fn members(self, scope: &Scope<MembersManage>) -> Result<Vec<UserView>, CoreError> {
        Ok(self
            .core
            .db()
            .users(scope.org_id().uuid())
            .await?
            .iter()
            .map(UserView::from)
            .collect())
    }

    /// Changes a member's org role. Only owners grant or take away the owner role, and the last
    /// owner stays. The change applies on the member's very next request (roles are read on
    /// every request).
    pub async fn set_member_role(
        self,
        scope: &Scope<MembersManage>,
        user: UserId,
        role: Role,
    ) -> Result<UserView, CoreError> {
        let org = scope.org_id().uuid();
        let target = self
            .core
            .db()
            .user(org, user.uuid())
            .await?
            .ok_or(CoreError::NotFound("member"))?;
        let target_role = crate::auth::parse_role(&target.role)?;
        check_grantable(scope.org_permissions(), role)?;
        self.core
            .only_an_owner_acts_on(
                scope,
                role == Role::Owner || target_role == Role::Owner,
                "only an owner can grant or change the owner role",
            )
            .await?;
        match self
            .core
            .db()
            .set_user_role(org, user.uuid(), role.as_str())
            .await?
        {
            OwnerGuarded::Done => {}
            OwnerGuarded::Missing => return Err(CoreError::NotFound("member")),
            OwnerGuarded::LastOwner => {
                return Err(CoreError::NotAllowed(
                    "an organization keeps at least one owner; make someone else owner first"
                        .into(),
                ));
            }
        }
        self.core
            .audit(
                Event::by(scope, AuditAction::MemberRoleChange)
                    .resource(format!("{user} {target_role}->{role}")),
            )
            .await?;
        let updated = self
            .core
            .db()
            .user(org, user.uuid())
            .await?
            .ok_or(CoreError::NotFound("member"))?;
        Ok(UserView::from(&updated))
    }

    /// Closes the org (an owner, after their password): from the next request every member's
    /// and key's permission checks answer `org_closed`; it is erased with certificates
    /// `retention.org_grace_days` later unless an owner reopens it.
    pub async fn close(
        self,
        scope: &Scope<crate::access::proof::OwnAccount>,
        password: &str,
    ) -> Result<crate::erasure::OrgClosure, CoreError> {
        let user = self.core.own_user(scope).await?;
        self.core
            .count_attempt(
                crate::auth::Limited::PasswordChange,
                scope.meta().ip,
                Some(&user.email),
            )
            .await?;
        let user = self.core.own_user_checked(scope, password).await?;
        let event = Event::by(scope, AuditAction::OrgClose).resource(scope.org_id());
        self.core.close_org(&user, event).await
    }

    /// Reopens a closed org (an owner).
    pub async fn reopen(
        self,
        scope: &Scope<crate::access::proof::OwnAccount>,
    ) -> Result<(), CoreError> {
        let user = self.core.own_user(scope).await?;
        let event = Event::by(scope, AuditAction::OrgReopen).resource(scope.org_id());
        self.core.reopen_org(&user, event).await
    }

    /// The org's closure, if an owner closed it (any member may ask, even while it is closed).
    pub async fn closure(
        self,
        scope: &Scope<crate::access::proof::AnyCaller>,
    ) -> Result<Option<crate::erasure::OrgClosure>, CoreError> {
        self.core.org_closure(scope.org_id().uuid()).await
    }

    /// Removes a member: their sessions, keys and memberships go with them.
    pub async fn remove_member(
        self,
        scope: &Scope<MembersManage>,
        user: UserId,
    ) -> Result<(), CoreError> {
        let org = scope.org_id().uuid();
        let target = self
            .core
            .db()
            .user(org, user.uuid())
            .await?
            .ok_or(CoreError::NotFound("member"))?;
        let target_role = crate::auth::parse_role(&target.role)?;
        self.core
            .only_an_owner_acts_on(
                scope,
                target_role == Role::Owner,
                "only an owner can remove an owner",
            )
            .await?;
        match self.core.db().delete_user(org, user.uuid()).await? {
            OwnerGuarded::Done => {}
            OwnerGuarded::Missing => return Err(CoreError::NotFound("member")),
            OwnerGuarded::LastOwner => {
                return Err(CoreError::NotAllowed(
                    "the last owner cannot be removed".into(),
                ));
            }
        }
        self.core
            .audit(Event::by(scope, AuditAction::MemberRemove).resource(user))
            .await?;
        Ok(())
    }

    /// Clears a member's TOTP and recovery codes (a lost device) and ends all their sessions.
    pub async fn reset_member_mfa(
        self,
        scope: &Scope<MembersManage>,
        user: UserId,
    ) -> Result<(), CoreError> {
        let org = scope.org_id().uuid();
        let target = self
            .core
            .db()
            .user(org, user.uuid())
            .await?
            .ok_or(CoreError::NotFound("member"))?;
        self.core
            .only_an_owner_acts_on(
                scope,
                crate::auth::parse_role(&target.role)? == Role::Owner,
                "only an owner can reset an owner's two-factor authentication",
            )
            .await?;
        self.core
            .db()
            .set_totp(org, user.uuid(), None, false)
            .await?;
        self.core
            .db()
            .replace_recovery_codes(org, user.uuid(), &[])
            .await?;
        self.core
            .db()
            .delete_sessions_except(org, user.uuid(), None)
            .await?;
        self.core.vault().lock_user(user.uuid(), None);
        self.core
            .audit(Event::by(scope, AuditAction::AuthMfaReset).resource(user))
            .await?;
        Ok(())
    }

    pub async fn workspaces(
        self,
        scope: &Scope<OrgManage>,
    ) -> Result<Vec<WorkspaceView>, CoreError> {
        Ok(self
            .core
            .db()
            .workspaces(scope.org_id().uuid())
            .await?
            .into_iter()
            .map(workspace_view)
            .collect())
    }

    pub async fn create_workspace(
        self,
        scope: &Scope<OrgManage>,
        name: &str,
    ) -> Result<WorkspaceView, CoreError> {
        let row = WorkspaceRow {
            id: Uuid::new_v4(),
            org_id: scope.org_id().uuid(),
            name: parse_name("name", name)?,
            created_at: Utc::now(),
        };
        self.core.db().insert_workspace(&row).await?;
        self.core
            .audit(
                Event::by(scope, AuditAction::WorkspaceCreate).resource(WorkspaceId::from(row.id)),
            )
            .await?;
        Ok(workspace_view(row))
    }

    /// One of the org's workspaces.
    pub async fn workspace(
        self,
        scope: &Scope<OrgManage>,
        id: WorkspaceId,
    ) -> Result<WorkspaceView, CoreError> {
        let row = self
            .core
            .db()
            .workspace(scope.org_id().uuid(), id.uuid())
            .await?
            .ok_or(CoreError::NotFound("workspace"))?;
        Ok(workspace_view(row))
    }

    pub async fn rename_workspace(
        self,
        scope: &Scope<OrgManage>,
        id: WorkspaceId,
        name: &str,
    ) -> Result<WorkspaceView, CoreError> {
        let name = parse_name("name", name)?;
        if !self
            .core
            .db()
            .rename_workspace(scope.org_id().uuid(), id.uuid(), &name)
            .await?
        {
            return Err(CoreError::NotFound("workspace"));
        }
        self.core
            .audit(Event::by(scope, AuditAction::WorkspaceUpdate).resource(id))
            .await?;
        let row = self
            .core
            .db()
            .workspace(scope.org_id().uuid(), id.uuid())
            .await?
            .ok_or(CoreError::NotFound("workspace"))?;
        Ok(workspace_view(row))
    }

    /// Who has a role in a workspace, and which (members without one there act with their org
    /// role only).
    pub async fn workspace_members(
        self,
        scope: &Scope<MembersManage>,
        ws: WorkspaceId,
    ) -> Result<Vec<(UserId, Role)>, CoreError> {
        let org = scope.org_id().uuid();
        self.core
            .db()
            .workspace(org, ws.uuid())
            .await?
            .ok_or(CoreError::NotFound("workspace"))?;
        self.core
            .db()
            .workspace_members(org, ws.uuid())
            .await?
            .into_iter()
            .map(|row| {
                Ok((
                    UserId::from(row.user_id),
                    crate::auth::parse_role(&row.role)?,
                ))
            })
            .collect()
    }

    /// Sets (or with `None` removes) a member's role in a workspace.
    pub async fn set_workspace_role(
        self,
        scope: &Scope<MembersManage>,
        ws: WorkspaceId,
        user: UserId,
        role: Option<Role>,
    ) -> Result<(), CoreError> {
        let org = scope.org_id().uuid();
        self.core
            .db()
            .workspace(org, ws.uuid())
            .await?
            .ok_or(CoreError::NotFound("workspace"))?;
        if let Some(role) = role {
            check_grantable(scope.permissions_in(ws), role)?;
        }
        let target = self
            .core
            .db()
            .user(org, user.uuid())
            .await?
            .ok_or(CoreError::NotFound("member"))?;
        self.core
            .only_an_owner_acts_on(
                scope,
                crate::auth::parse_role(&target.role)? == Role::Owner,
                "only an owner can change an owner's workspace roles",
            )
            .await?;
        self.core
            .db()
            .set_workspace_role(org, ws.uuid(), user.uuid(), role.map(Role::as_str))
            .await?;
        let what = role.map_or("removed".to_owned(), |r| r.to_string());
        self.core
            .audit(
                Event::by(scope, AuditAction::WorkspaceMemberSet)
                    .resource(format!("{ws} {user} {what}")),
            )
            .await?;
        Ok(())
    }

    pub async fn invite(
        self,
        scope: &Scope<MembersManage>,
        email: &str,
        role: Role,
        workspace: Option<WorkspaceId>,
    ) -> Result<InvitationCreated, CoreError> {
        self.core
            .count_invitation(scope.org_id(), scope.user_id())
            .await?;
        let email = EmailAddress::parse(email)?;
        check_grantable(scope.org_permissions(), role)?;
        self.core
            .only_an_owner_acts_on(
                scope,
                role == Role::Owner,
                "only an owner can invite an owner",
            )
            .await?;
        if let Some(ws) = workspace
            && self
                .core
                .db()
                .workspace(scope.org_id().uuid(), ws.uuid())
                .await?
                .is_none()
        {
            return Err(CoreError::invalid(
                "workspace_id",
                "no such workspace in your organization",
            ));
        }
        // Only the caller's own members are named (they can list them anyway). An account in
        // another org gets an invitation like any new email — it cannot be accepted, since an
        // email has one account — so inviting cannot be used to find out who uses this server.
        if self
            .core
            .db()
            .is_member_email(scope.org_id().uuid(), email.as_str())
            .await?
        {
            return Err(CoreError::Conflict(
                "this email is already a member of your organization".into(),
            ));
        }
        let token = Token::generate(INVITATION);
        let (pepper_version, mac) = self.core.keys().current_credential_mac(token.expose());
        let now = Utc::now();
        let row = InvitationRow {
            id: Uuid::new_v4(),
            org_id: scope.org_id().uuid(),
            invited_by: Some(scope.user_id().uuid()),
            email: email.as_str().to_owned(),
            role: role.as_str().to_owned(),
            workspace_id: workspace.map(WorkspaceId::uuid),
            lookup: token.lookup().to_owned(),
            mac: mac.to_vec(),
            pepper_version,
            created_at: now,
            // An invitation outlives neither its week nor the key that made it.
            expires_at: scope
                .credential_expires_at()
                .map_or(now + ChronoDuration::days(INVITATION_DAYS), |limit| {
                    limit.min(now + ChronoDuration::days(INVITATION_DAYS))
                }),
            accepted_at: None,
            revoked_at: None,
        };
        self.core.db().insert_invitation(&row).await?;
        let mut event =
            Event::by(scope, AuditAction::InvitationCreate).resource(InvitationId::from(row.id));
        event.personal = Personal {
            email: Some(row.email.clone()),
            ..event.personal
        };
        self.core.audit(event).await?;
        Ok(InvitationCreated {
            token: token.expose().to_owned(),
            view: invitation_view(row),
        })
    }

    pub async fn invitations(
        self,
        scope: &Scope<MembersManage>,
    ) -> Result<Vec<InvitationView>, CoreError> {
        Ok(self
            .core
            .db()
            .invitations(scope.org_id().uuid())
            .await?
            .into_iter()
            .map(invitation_view)
            .collect())
    }

    pub async fn revoke_invitation(
        self,
        scope: &Scope<MembersManage>,
        id: InvitationId,
    ) -> Result<(), CoreError> {
        if !self
            .core
            .db()
            .revoke_invitation(scope.org_id().uuid(), id.uuid(), Utc::now())
            .await?
        {
            return Err(CoreError::NotFound("invitation"));
        }
        self.core
            .audit(Event::by(scope, AuditAction::InvitationRevoke).resource(id))
            .await?;
        Ok(())
    }
}

fn workspace_view(r: WorkspaceRow) -> WorkspaceView {
    WorkspaceView {
        id: r.id.into(),
        name: r.name,
        created_at: r.created_at,
    }
}

fn invitation_view(r: InvitationRow) -> InvitationView {
    InvitationView {
        id: r.id.into(),
        email: r.email,
        role: r.role,
        workspace_id: r.workspace_id.map(WorkspaceId::from),
        created_at: r.created_at,
        expires_at: r.expires_at,
        accepted_at: r.accepted_at,
        revoked_at: r.revoked_at,
    }
}
