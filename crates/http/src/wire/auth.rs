//! Accounts on the wire: a user, the caller, sessions, sign-in and two-factor enrolment.

use chrono::{DateTime, Utc};
use meetvault_core::auth::{self as core, SessionView, UserView};
use meetvault_core::ids::{OrgId, SessionId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::org::Role;
use super::{ids, list_of};

/// A user as the API shows them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "usr_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f",
    "org_id": "org_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f",
    "email": "you@example.com",
    "name": "You",
    "role": "owner",
    "mfa_enabled": false,
    "created_at": "2026-11-24T08:00:00.000000Z"
}))]
pub struct User {
    #[schema(value_type = ids::UserId)]
    pub id: UserId,
    #[schema(value_type = ids::OrgId)]
    pub org_id: OrgId,
    #[schema(format = Email)]
    pub email: String,
    pub name: String,
    /// The org role.
    #[schema(value_type = Role)]
    pub role: String,
    pub mfa_enabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<UserView> for User {
    fn from(u: UserView) -> Self {
        Self {
            id: u.id,
            org_id: u.org_id,
            email: u.email,
            name: u.name,
            role: u.role,
            mfa_enabled: u.mfa_enabled,
            created_at: u.created_at,
        }
    }
}

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    Session,
    ApiKey,
    SupportKey,
}

/// The caller: their account (for a key, its creator's) and how they authenticated.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub credential: CredentialKind,
}

/// One of the caller's sessions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Session {
    #[schema(value_type = ids::SessionId)]
    pub id: SessionId,
    #[schema(required = true)]
    pub ip: Option<String>,
    #[schema(required = true)]
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// This is the session making the request.
    pub current: bool,
}

impl From<SessionView> for Session {
    fn from(s: SessionView) -> Self {
        Self {
            id: s.id,
            ip: s.ip,
            user_agent: s.user_agent,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            current: s.current,
        }
    }
}

list_of!(
    /// The caller's sessions.
    SessionList { sessions: Vec<Session> } from SessionView
);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "you@example.com", "password": "a long passphrase of yours", "name": "You", "org_name": "Acme"}))]
pub struct RegisterBody {
    #[schema(format = Email)]
    pub email: String,
    /// 12–1024 characters, not a commonly used password.
    #[schema(format = Password)]
    pub password: String,
    pub name: String,
    pub org_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    #[schema(format = Email)]
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
    /// The current code of the authenticator app, when two-factor authentication is on.
    pub totp_code: Option<String>,
    /// One of the recovery codes, instead of `totp_code`.
    pub recovery_code: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    #[schema(format = Password)]
    pub current_password: String,
    #[schema(format = Password)]
    pub new_password: String,
}

/// Confirms an account's erasure.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    /// The account's current password.
    #[schema(format = Password)]
    pub password: String,
}

/// A new session (its token is in the cookie only).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCreated {
    pub user: User,
    #[schema(value_type = ids::SessionId)]
    pub session_id: String,
    /// Send as `X-CSRF-Token` on cookie-authenticated changes when no same-site `Origin` is sent.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChanged {
    /// How many other sessions were ended.
    pub sessions_ended: u64,
}

/// What to scan into an authenticator app; shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32.
    pub secret: String,
    /// `otpauth://totp/…`, for a QR code.
    #[schema(format = "uri")]
    pub otpauth_uri: String,
}

impl From<core::TotpEnrolment> for TotpEnrolment {
    fn from(t: core::TotpEnrolment) -> Self {
        Self {
            secret: t.secret,
            otpauth_uri: t.otpauth_uri,
        }
    }
}

/// Ten single-use recovery codes, shown once when two-factor authentication is switched on.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnabled {
    pub recovery_codes: Vec<String>,
}

impl From<core::TotpEnabled> for TotpEnabled {
    fn from(t: core::TotpEnabled) -> Self {
        Self {
            recovery_codes: t.recovery_codes,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// The authenticator app's current six-digit code.
    pub code: String,
}

/// The caller's password, confirming a sensitive change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfirm {
    #[schema(format = Password)]
    pub password: String,
}
