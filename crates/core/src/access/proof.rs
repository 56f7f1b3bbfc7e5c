//! The proofs a [`Scope`](super::Scope) can carry: one type per permission, plus
//! [`OwnAccount`] and [`AnyCaller`]. They are types only (no value of one exists) and the traits
//! are sealed, so the list here is the whole list; `Principal::authorize::<P>()` checks `P`'s
//! `Requirement` at run time and hands out a `Scope<P>`, which services name in their signatures.

use super::{Permission, Requirement};

mod sealed {
    pub trait Sealed {}
}

/// What a `Scope<Self>` proves.
pub trait Proof: sealed::Sealed + std::fmt::Debug + Send + Sync + 'static {
    const REQUIREMENT: Requirement;
}

/// A proof of one permission.
pub trait Granted: Proof {
    const PERMISSION: Permission;
}

/// A permission a workspace role (or a workspace-bound key) can grant: a scope proved for
/// it may reach only some workspaces, and everything it touches is confined to them.
pub trait WorkspaceScoped: Granted {}

macro_rules! proofs {
    ($($(#[$doc:meta])* $name:ident $(, $ws:ident)?;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub enum $name {}
        impl sealed::Sealed for $name {}
        impl Proof for $name {
            const REQUIREMENT: Requirement = Requirement::Permission(Permission::$name);
        }
        impl Granted for $name {
            const PERMISSION: Permission = Permission::$name;
        }
        $(impl $ws for $name {})?
    )*};
}

proofs! {
    /// `meetings:read`: meetings, transcripts, recordings, jobs and event streams.
    MeetingsRead, WorkspaceScoped;
    /// `meetings:write`: create and change meetings, upload, import, transcribe.
    MeetingsWrite, WorkspaceScoped;
    /// `meetings:delete`: crypto-shred a meeting.
    MeetingsDelete, WorkspaceScoped;
    /// `bots:write`.
    BotsWrite, WorkspaceScoped;
    /// `webhooks:manage`.
    WebhooksManage;
    /// `members:manage`: roles, removal, invitations, workspace roles.
    MembersManage;
    /// `audit:read`.
    AuditRead;
    /// `keys:manage`: the org's API keys.
    KeysManage;
    /// `billing:read`.
    BillingRead;
    /// `org:manage`: settings, workspaces, the org's KMS key.
    OrgManage;
    /// `integrations:manage`: connections to Slack, Notion, Drive, Linear, Jira, HubSpot, Salesforce.
    IntegrationsManage;
    /// `approvals:decide`: approve, edit or reject what waits to go to a CRM or tracker.
    ApprovalsDecide;
    /// `widgets:manage`: the voice-intake widgets embedded on the org's sites.
    WidgetsManage;
}

/// The caller's own account (sessions, password, MFA, support keys, zero-access, secrets):
/// a browser session only; open during MFA enrolment.
#[derive(Debug)]
pub enum OwnAccount {}
impl sealed::Sealed for OwnAccount {}
impl Proof for OwnAccount {
    const REQUIREMENT: Requirement = Requirement::OwnAccount;
}

/// Any authenticated caller: reads its own identity, nothing else.
#[derive(Debug)]
pub enum AnyCaller {}
impl sealed::Sealed for AnyCaller {}
impl Proof for AnyCaller {
    const REQUIREMENT: Requirement = Requirement::AnyCaller;
}
