//! Who may do what: roles, permissions, the matrix between them (mirrored in
//! `docs/permissions.md`, which a test keeps equal), and the `Scope<P>` that only a successful
//! check of proof `P` hands out. Every service that touches tenant data takes a `&Scope<P>`
//! naming the proof it needs (`&Scope<MeetingsDelete>`), so a handler that skipped the check, or
//! checked for something else, has nothing to call: the compiler refuses it.

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};

use crate::ids::{ApiKeyId, CalendarId, OrgId, SessionId, SupportKeyId, UserId, WorkspaceId};

/// One thing a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    MeetingsRead,
    MeetingsWrite,
    MeetingsDelete,
    BotsWrite,
    WebhooksManage,
    MembersManage,
    AuditRead,
    KeysManage,
    BillingRead,
    OrgManage,
    IntegrationsManage,
    ApprovalsDecide,
    WidgetsManage,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Self::MeetingsRead,
        Self::MeetingsWrite,
        Self::MeetingsDelete,
        Self::BotsWrite,
        Self::WebhooksManage,
        Self::MembersManage,
        Self::AuditRead,
        Self::KeysManage,
        Self::BillingRead,
        Self::OrgManage,
        Self::IntegrationsManage,
        Self::ApprovalsDecide,
        Self::WidgetsManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MeetingsRead => "meetings:read",
            Self::MeetingsWrite => "meetings:write",
            Self::MeetingsDelete => "meetings:delete",
            Self::BotsWrite => "bots:write",
            Self::WebhooksManage => "webhooks:manage",
            Self::MembersManage => "members:manage",
            Self::AuditRead => "audit:read",
            Self::KeysManage => "keys:manage",
            Self::BillingRead => "billing:read",
            Self::OrgManage => "org:manage",
            Self::IntegrationsManage => "integrations:manage",
            Self::ApprovalsDecide => "approvals:decide",
            Self::WidgetsManage => "widgets:manage",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// What a support-access key may use of its user's permissions: reading their data.
    pub fn support_may_use(self) -> bool {
        matches!(self, Self::MeetingsRead | Self::BillingRead)
    }

    /// Whether a workspace role (or a workspace-bound key) can grant this permission inside
    /// one workspace. Everything else is organization-level only.
    pub fn workspace_scoped(self) -> bool {
        matches!(
            self,
            Self::MeetingsRead | Self::MeetingsWrite | Self::MeetingsDelete | Self::BotsWrite
        )
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions(u16);

impl Permissions {
    pub fn of(list: &[Permission]) -> Self {
        Self(list.iter().fold(0, |acc, p| acc | p.bit()))
    }
    pub fn all() -> Self {
        Self::of(&Permission::ALL)
    }
    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
    pub fn intersect(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }
    /// Whether every permission of `self` is in `other`.
    pub fn is_subset_of(self, other: Self) -> bool {
        self.0 & !other.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }
    /// Space-separated names, as stored.
    pub fn to_names(self) -> Vec<&'static str> {
        self.iter().map(Permission::as_str).collect()
    }
    /// Parses stored or requested names; the first unknown name is the error.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut set = Self::default();
        for name in names {
            let p = Permission::parse(name).ok_or_else(|| name.to_owned())?;
            set = set.union(Self::of(&[p]));
        }
        Ok(set)
    }
}

/// What a proof stands for, checked at run time when a `Scope` is handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A permission, held at organization level or (when workspace-scoped) in some workspaces.
    Permission(Permission),
    /// The caller's own account, through a browser session.
    OwnAccount,
    /// Any authenticated caller (its own identity only).
    AnyCaller,
}

/// The proofs a [`Scope`] can carry (`proof.rs`).
pub mod proof;

use proof::{AnyCaller, OwnAccount, Proof, WorkspaceScoped};

/// A role, in an organization or in one of its workspaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
    Billing,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Self::Owner,
        Self::Admin,
        Self::Member,
        Self::Viewer,
        Self::Billing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Viewer => "viewer",
            Self::Billing => "billing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The permission matrix. `docs/permissions.md` shows the same table; a test compares them.
    pub fn permissions(self) -> Permissions {
        use Permission::*;
        match self {
            Self::Owner | Self::Admin => Permissions::all(),
            Self::Member => {
                Permissions::of(&[MeetingsRead, MeetingsWrite, MeetingsDelete, BotsWrite])
            }
            Self::Viewer => Permissions::of(&[MeetingsRead]),
            Self::Billing => Permissions::of(&[BillingRead]),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who acts, as the audit log names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    ApiKey(ApiKeyId),
    Support(SupportKeyId),
    /// A person's calendar connection scheduling bots for them.
    Calendar(CalendarId),
    System,
    Anonymous,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(id) => write!(f, "{id}"),
            Self::ApiKey(id) => write!(f, "{id}"),
            Self::Support(id) => write!(f, "{id}"),
            Self::Calendar(id) => write!(f, "{id}"),
            Self::System => f.write_str("system"),
            Self::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// The credential a request was authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Session(SessionId),
    ApiKey(ApiKeyId),
    Support(SupportKeyId),
    /// Background work for a calendar connection: its person's permissions, capped to sending
    /// bots into the connection's workspace.
    Calendar(CalendarId),
}

/// Where a request came from, for the audit log and rate limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
}

/// An authenticated caller, before any permission check. Only core makes one (from a
/// credential it verified) and only core changes one.
#[derive(Debug, Clone)]
pub struct Principal {
    pub(crate) org_id: OrgId,
    /// The user the credential belongs to (an API key's creator; a support key's user).
    pub(crate) user_id: UserId,
    pub(crate) role: Role,
    pub(crate) credential: Credential,
    pub(crate) meta: RequestMeta,
    /// The org requires MFA and this user has not enrolled: only enrolment is open to them.
    pub(crate) mfa_enrollment_required: bool,
    /// The org is closed: erased at this time (Unix ms) unless an owner reopens it.
    pub(crate) org_erase_at: Option<i64>,
    pub(crate) org_permissions: Permissions,
    pub(crate) workspace_roles: Vec<(WorkspaceId, Role)>,
    /// What the credential itself allows (an API key's list; all for a session).
    pub(crate) credential_permissions: Permissions,
    pub(crate) credential_workspace: Option<WorkspaceId>,
    /// When the credential itself expires (an API or support key); `None` for a session, which
    /// is the user in person.
    pub(crate) credential_expires_at: Option<DateTime<Utc>>,
}

/// Why a permission check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    Missing(Permission),
    MfaEnrollmentRequired,
    SessionRequired,
    /// An owner closed the org: only the caller's own account is open until it is erased at
    /// this time (Unix ms), or reopened.
    OrgClosed(i64),
}

/// Read-only outside core: a `Scope` is built from these fields, so changing one (the org, the
/// MFA flag) before `authorize` would forge a scope.
impl Principal {
    pub fn org_id(&self) -> OrgId {
        self.org_id
    }
    pub fn user_id(&self) -> UserId {
        self.user_id
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn credential(&self) -> Credential {
        self.credential
    }
    pub fn meta(&self) -> &RequestMeta {
        &self.meta
    }
    /// The org requires MFA and this user has not enrolled: only enrolment is open to them.
    pub fn mfa_enrollment_required(&self) -> bool {
        self.mfa_enrollment_required
    }

    pub fn actor(&self) -> Actor {
        match self.credential {
            Credential::Session(_) => Actor::User(self.user_id),
            Credential::ApiKey(id) => Actor::ApiKey(id),
            Credential::Support(id) => Actor::Support(id),
            Credential::Calendar(id) => Actor::Calendar(id),
        }
    }

    /// The permissions this caller holds at organization level.
    pub fn permissions(&self) -> Permissions {
        if self.credential_workspace.is_some() {
            // A workspace-bound key acts only inside its workspace.
            return Permissions::default();
        }
        self.org_permissions.intersect(self.credential_permissions)
    }

    /// The permissions this caller holds inside one workspace.
    pub fn permissions_in(&self, workspace: WorkspaceId) -> Permissions {
        if self.credential_workspace.is_some_and(|w| w != workspace) {
            return Permissions::default();
        }
        let ws = self
            .workspace_roles
            .iter()
            .filter(|(w, _)| *w == workspace)
            .fold(Permissions::default(), |acc, (_, r)| {
                acc.union(r.permissions())
            });
        self.org_permissions
            .union(ws)
            .intersect(self.credential_permissions)
    }

    fn check(&self) -> Result<(), Denied> {
        if let Some(at) = self.org_erase_at {
            return Err(Denied::OrgClosed(at));
        }
        if self.mfa_enrollment_required {
            return Err(Denied::MfaEnrollmentRequired);
        }
        Ok(())
    }

    /// The only way to a `Scope<P>`. For a permission: holding it at organization level (the
    /// scope reaches every workspace), or — for a workspace-scoped permission — inside one or
    /// more workspaces through a workspace role or a workspace-bound key (the scope reaches
    /// only those, and services confine every read and write to them). For `OwnAccount`: a
    /// browser session. For `AnyCaller`: any credential.
    pub fn authorize<P: Proof>(&self) -> Result<Scope<P>, Denied> {
        match P::REQUIREMENT {
            Requirement::Permission(permission) => {
                self.check()?;
                if self.holds(permission) {
                    Ok(Scope::new(self))
                } else {
                    Err(Denied::Missing(permission))
                }
            }
            Requirement::OwnAccount => match self.credential {
                Credential::Session(_) => Ok(Scope::new(self)),
                Credential::ApiKey(_) | Credential::Support(_) | Credential::Calendar(_) => {
                    Err(Denied::SessionRequired)
                }
            },
            Requirement::AnyCaller => Ok(Scope::new(self)),
        }
    }

    /// Whether the caller holds `permission` at organization level or, for a workspace-scoped
    /// one, in at least one workspace.
    fn holds(&self, permission: Permission) -> bool {
        self.permissions().contains(permission)
            || (permission.workspace_scoped()
                && self
                    .workspaces()
                    .any(|w| self.permissions_in(w).contains(permission)))
    }

    /// The workspaces where this caller's rights may differ from its org-level ones.
    fn workspaces(&self) -> impl Iterator<Item = WorkspaceId> + '_ {
        self.workspace_roles
            .iter()
            .map(|(w, _)| *w)
            .chain(self.credential_workspace)
    }

    /// A scope to read the caller's own identity (`GET /me`): any credential, even during MFA
    /// enrolment; grants nothing else.
    pub fn whoami(&self) -> Scope<AnyCaller> {
        Scope::new(self)
    }

    /// A scope over the caller's own account (their sessions, password, MFA, support keys):
    /// only for a browser session, since an API key or support key must not change the account
    /// that issued it. Open during MFA enrolment.
    pub fn own_account(&self) -> Result<Scope<OwnAccount>, Denied> {
        self.authorize()
    }
}

/// Proof that the check for `P` passed: the org every query is confined to, who acts, where
/// `P` reaches (the whole org, or some workspaces), and what the caller holds — so what it
/// grants others (keys, roles, invitations) can be capped by it. Only `Principal::authorize`
/// constructs one; nothing turns a `Scope<P>` into a scope for another proof.
#[derive(Debug)]
pub struct Scope<P: Proof> {
    org_id: OrgId,
    user_id: UserId,
    actor: Actor,
    credential: Credential,
    meta: RequestMeta,
    /// What the caller holds at organization level, now.
    org_permissions: Permissions,
    /// What the caller holds inside the workspaces where it differs from the org level.
    workspace_permissions: Vec<(WorkspaceId, Permissions)>,
    credential_workspace: Option<WorkspaceId>,
    credential_expires_at: Option<DateTime<Utc>>,
    proof: PhantomData<fn() -> P>,
}

impl<P: Proof> Clone for Scope<P> {
    fn clone(&self) -> Self {
        Self {
            org_id: self.org_id,
            user_id: self.user_id,
            actor: self.actor,
            credential: self.credential,
            meta: self.meta.clone(),
            org_permissions: self.org_permissions,
            workspace_permissions: self.workspace_permissions.clone(),
            credential_workspace: self.credential_workspace,
            credential_expires_at: self.credential_expires_at,
            proof: PhantomData,
        }
    }
}

/// Where a scope's permission holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Every workspace of the org.
    Org,
    /// Only these workspaces.
    Workspaces(Vec<WorkspaceId>),
}

impl<P: Proof> Scope<P> {
    fn new(p: &Principal) -> Self {
        let workspace_permissions = p.workspaces().map(|w| (w, p.permissions_in(w))).collect();
        Self {
            org_id: p.org_id,
            user_id: p.user_id,
            actor: p.actor(),
            credential: p.credential,
            meta: p.meta.clone(),
            org_permissions: p.permissions(),
            workspace_permissions,
            credential_workspace: p.credential_workspace,
            credential_expires_at: p.credential_expires_at,
            proof: PhantomData,
        }
    }

    pub fn org_id(&self) -> OrgId {
        self.org_id
    }
    pub fn user_id(&self) -> UserId {
        self.user_id
    }
    pub fn actor(&self) -> Actor {
        self.actor
    }
    pub fn credential(&self) -> Credential {
        self.credential
    }
    /// The browser session making the request, if it is one.
    pub fn session_id(&self) -> Option<SessionId> {
        match self.credential {
            Credential::Session(id) => Some(id),
            Credential::ApiKey(_) | Credential::Support(_) | Credential::Calendar(_) => None,
        }
    }
    pub fn meta(&self) -> &RequestMeta {
        &self.meta
    }
    /// What the caller holds at organization level: the most it may grant to a key, a role or
    /// an invitation.
    pub fn org_permissions(&self) -> Permissions {
        self.org_permissions
    }

    /// The workspace the credential is confined to (a workspace-bound key).
    pub fn credential_workspace(&self) -> Option<WorkspaceId> {
        self.credential_workspace
    }

    /// When the credential expires (an API or support key), if it does.
    pub fn credential_expires_at(&self) -> Option<DateTime<Utc>> {
        self.credential_expires_at
    }

    /// What the caller holds inside `workspace`.
    pub fn permissions_in(&self, workspace: WorkspaceId) -> Permissions {
        if self.credential_workspace.is_some_and(|w| w != workspace) {
            return Permissions::default();
        }
        self.workspace_permissions
            .iter()
            .find(|(w, _)| *w == workspace)
            .map_or(self.org_permissions, |(_, p)| *p)
    }
}

/// Reach exists only for a workspace-scoped proof, and only for the permission proved: a
/// `Scope<MeetingsRead>` can say where it may read, never where it may delete.
impl<P: WorkspaceScoped> Scope<P> {
    /// The permission this scope was proved for.
    pub fn permission(&self) -> Permission {
        P::PERMISSION
    }

    /// Where the proved permission holds.
    pub fn reach(&self) -> Reach {
        if self.org_permissions.contains(P::PERMISSION) {
            return Reach::Org;
        }
        Reach::Workspaces(
            self.workspace_permissions
                .iter()
                .filter(|(_, held)| held.contains(P::PERMISSION))
                .map(|(w, _)| *w)
                .collect(),
        )
    }

    /// Whether the proved permission holds in `workspace`.
    pub fn reaches(&self, workspace: WorkspaceId) -> bool {
        self.permissions_in(workspace).contains(P::PERMISSION)
    }
}

#[cfg(test)]
mod tests;
