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
}

impl Permission {
    pub const ALL: [Permission; 12] = [
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
mod tests {
    use super::*;

    fn principal(role: Role, key: Option<Permissions>) -> Principal {
        Principal {
            org_id: OrgId::new(),
            user_id: UserId::new(),
            role,
            credential: match key {
                Some(_) => Credential::ApiKey(ApiKeyId::new()),
                None => Credential::Session(SessionId::new()),
            },
            meta: RequestMeta::default(),
            mfa_enrollment_required: false,
            org_erase_at: None,
            org_permissions: role.permissions(),
            workspace_roles: vec![],
            credential_permissions: key.unwrap_or_else(Permissions::all),
            credential_workspace: None,
            credential_expires_at: None,
        }
    }

    #[test]
    fn a_viewer_cannot_manage_keys_and_an_owner_can() {
        assert_eq!(
            principal(Role::Viewer, None)
                .authorize::<proof::KeysManage>()
                .unwrap_err(),
            Denied::Missing(Permission::KeysManage)
        );
        assert!(
            principal(Role::Owner, None)
                .authorize::<proof::KeysManage>()
                .is_ok()
        );
    }

    #[test]
    fn an_api_key_is_capped_by_its_list_and_by_its_creators_role() {
        let key = Permissions::of(&[Permission::AuditRead, Permission::MeetingsRead]);
        let owner_key = principal(Role::Owner, Some(key));
        assert!(owner_key.authorize::<proof::AuditRead>().is_ok());
        assert!(owner_key.authorize::<proof::KeysManage>().is_err());
        let viewer_key = principal(Role::Viewer, Some(key));
        assert!(viewer_key.authorize::<proof::AuditRead>().is_err());
        assert!(
            owner_key.own_account().is_err(),
            "keys cannot change their account"
        );
    }

    #[test]
    fn a_workspace_role_adds_permissions_only_in_that_workspace() {
        let mut p = principal(Role::Viewer, None);
        let ws = WorkspaceId::new();
        p.workspace_roles.push((ws, Role::Member));
        let write = p.authorize::<proof::MeetingsWrite>().unwrap();
        assert_eq!(write.reach(), Reach::Workspaces(vec![ws]));
        assert!(write.reaches(ws));
        assert!(!write.reaches(WorkspaceId::new()));
        let read = p.authorize::<proof::MeetingsRead>().unwrap();
        assert_eq!(read.reach(), Reach::Org, "the org role reads everywhere");
        assert_eq!(
            p.authorize::<proof::KeysManage>().unwrap_err(),
            Denied::Missing(Permission::KeysManage),
            "a workspace role grants nothing at organization level"
        );
        let mut admin_in_ws = principal(Role::Viewer, None);
        admin_in_ws.workspace_roles.push((ws, Role::Admin));
        assert!(
            admin_in_ws.authorize::<proof::MembersManage>().is_err(),
            "org-level permissions never come from a workspace role"
        );
    }

    #[test]
    fn a_workspace_bound_key_reaches_only_its_workspace() {
        let ws = WorkspaceId::new();
        let mut key = principal(
            Role::Owner,
            Some(Permissions::of(&[
                Permission::MeetingsRead,
                Permission::MeetingsWrite,
                Permission::KeysManage,
            ])),
        );
        key.credential_workspace = Some(ws);
        let scope = key.authorize::<proof::MeetingsWrite>().unwrap();
        assert_eq!(scope.reach(), Reach::Workspaces(vec![ws]));
        assert!(!scope.reaches(WorkspaceId::new()));
        assert_eq!(scope.org_permissions(), Permissions::default());
        assert!(key.authorize::<proof::KeysManage>().is_err());
        assert!(key.authorize::<proof::MeetingsDelete>().is_err());
    }

    #[test]
    fn a_pending_mfa_enrolment_blocks_everything_but_the_own_account() {
        let mut p = principal(Role::Owner, None);
        p.mfa_enrollment_required = true;
        assert_eq!(
            p.authorize::<proof::MeetingsRead>().unwrap_err(),
            Denied::MfaEnrollmentRequired
        );
        assert!(p.own_account().is_ok());
    }

    #[test]
    fn a_closed_org_blocks_every_permission_but_not_the_own_account() {
        let mut p = principal(Role::Owner, None);
        p.org_erase_at = Some(42);
        assert_eq!(
            p.authorize::<proof::OrgManage>().unwrap_err(),
            Denied::OrgClosed(42)
        );
        assert!(p.own_account().is_ok());
        assert!(p.authorize::<proof::OwnAccount>().is_ok());
    }

    #[test]
    fn every_permission_has_its_proof_and_the_workspace_scoped_ones_say_so() {
        fn org_level<P: proof::Granted>() -> (Permission, bool) {
            (P::PERMISSION, false)
        }
        fn in_workspaces<P: proof::WorkspaceScoped>() -> (Permission, bool) {
            (P::PERMISSION, true)
        }
        let proofs = [
            in_workspaces::<proof::MeetingsRead>(),
            in_workspaces::<proof::MeetingsWrite>(),
            in_workspaces::<proof::MeetingsDelete>(),
            in_workspaces::<proof::BotsWrite>(),
            org_level::<proof::WebhooksManage>(),
            org_level::<proof::MembersManage>(),
            org_level::<proof::AuditRead>(),
            org_level::<proof::KeysManage>(),
            org_level::<proof::BillingRead>(),
            org_level::<proof::OrgManage>(),
            org_level::<proof::IntegrationsManage>(),
            org_level::<proof::ApprovalsDecide>(),
        ];
        let expected = Permission::ALL.map(|p| (p, p.workspace_scoped()));
        assert_eq!(proofs, expected);
    }

    #[test]
    fn an_api_key_proves_no_own_account_and_anyone_proves_who_they_are() {
        let key = principal(Role::Owner, Some(Permissions::all()));
        assert_eq!(
            key.authorize::<proof::OwnAccount>().unwrap_err(),
            Denied::SessionRequired
        );
        assert_eq!(key.whoami().user_id(), key.user_id);
        let mut enrolling = principal(Role::Owner, None);
        enrolling.mfa_enrollment_required = true;
        assert!(enrolling.authorize::<proof::AnyCaller>().is_ok());
    }

    #[test]
    fn permission_names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
        }
        assert_eq!(
            Permissions::parse(["audit:read", "nope"]),
            Err("nope".to_owned())
        );
    }

    /// The matrix table of `docs/permissions.md`: the role names of its header, then each row's
    /// permission name and cells, as written.
    fn documented_matrix(doc: &str) -> (Vec<String>, Vec<(String, Vec<String>)>) {
        let cells = |line: &str| -> Vec<String> {
            let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
            inner.split('|').map(|c| c.trim().to_owned()).collect()
        };
        let mut lines = doc
            .lines()
            .skip_while(|l| !l.trim_start().starts_with("| Permission |"))
            .take_while(|l| l.trim_start().starts_with('|'));
        let header = cells(
            lines
                .next()
                .expect("docs/permissions.md has no `| Permission |` table"),
        );
        let separator = cells(lines.next().expect("the matrix has no separator row"));
        assert!(
            separator
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':'))),
            "the matrix's second line is not a separator: {separator:?}"
        );
        let rows = lines
            .map(|l| {
                let mut row = cells(l);
                let name = row.remove(0);
                let name = name
                    .strip_prefix('`')
                    .and_then(|n| n.strip_suffix('`'))
                    .unwrap_or_else(|| panic!("permission `{name}` is not in backticks"))
                    .to_owned();
                (name, row)
            })
            .collect();
        (header[1..].to_vec(), rows)
    }

    #[test]
    fn docs_permissions_md_shows_exactly_the_role_matrix() {
        let (roles, rows) = documented_matrix(include_str!("../../../docs/permissions.md"));
        let expected_roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            roles, expected_roles,
            "the matrix's columns must be the roles, in this order"
        );

        let documented: Vec<&str> = rows.iter().map(|(name, _)| name.as_str()).collect();
        for p in Permission::ALL {
            let count = documented.iter().filter(|n| **n == p.as_str()).count();
            assert_eq!(
                count, 1,
                "`{p}` must have exactly one row in docs/permissions.md"
            );
        }
        assert_eq!(
            rows.len(),
            Permission::ALL.len(),
            "docs/permissions.md lists permissions the code does not have: {documented:?}"
        );

        for (name, cells) in &rows {
            let p = Permission::parse(name).expect("checked above");
            assert_eq!(
                cells.len(),
                Role::ALL.len(),
                "`{p}` row has {} cells",
                cells.len()
            );
            for (role, cell) in Role::ALL.into_iter().zip(cells) {
                let documented = match cell.as_str() {
                    "✓" => true,
                    "–" => false,
                    other => panic!("`{p}` / {role}: cell `{other}` is neither ✓ nor –"),
                };
                assert_eq!(
                    documented,
                    role.permissions().contains(p),
                    "docs/permissions.md says {role} {} `{p}`; Role::permissions() disagrees",
                    if documented { "holds" } else { "lacks" }
                );
            }
        }
    }
}
