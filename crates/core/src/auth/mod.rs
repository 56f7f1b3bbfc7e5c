//! Accounts and credentials: registration, login with optional TOTP, sessions, password change,
//! MFA, API keys and support-access keys; turning a credential into a `Principal`; and the rate
//! limits on every path an attacker can guess on.

pub(crate) mod account;
mod keys;
mod login;
mod mfa;
mod saml;
mod sso;

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use meetvault_ratelimit::{Decision, Quota};
use meetvault_store::identity::{PrincipalRow, UserRow};

use crate::access::{Credential, Permissions, Principal, RequestMeta, Role};
use crate::ids::{OrgId, UserId, WorkspaceId};
use crate::{Core, CoreError, ServerKeys};

pub use account::{RegisterRequest, SessionView};
pub use keys::{
    ApiKeyCreated, ApiKeyView, ApiKeys, NewApiKey, NewSupportKey, SupportKeyCreated, SupportKeyView,
};
pub use login::{LoginOutcome, LoginRequest};
pub use mfa::{TotpEnabled, TotpEnrolment};
pub use saml::SamlStart;
pub use sso::{LinkedIdentity, SsoProviderView, SsoSignedIn, SsoStart};
pub(crate) use sso::{SsoCache, now_secs};

/// A normalized email address: trimmed, lowercased, one `@` with text on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let email = raw.trim().to_lowercase();
        let bad =
            || CoreError::invalid("email", "must be an email address such as jane@example.com");
        if email.len() > 254 || email.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        match email.split_once('@') {
            Some((local, domain))
                if !local.is_empty() && domain.contains('.') && !domain.contains('@') =>
            {
                Ok(Self(email))
            }
            _ => Err(bad()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: 1–200 characters after trimming.
pub fn parse_name(field: &'static str, raw: &str) -> Result<String, CoreError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(CoreError::invalid(
            field,
            "must be between 1 and 200 characters",
        ));
    }
    Ok(name.to_owned())
}

/// The rate-limited actions: guessable ones per IP and per target account, invitations per
/// inviting member and per organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Login,
    Register,
    PasswordChange,
    InvitationAccept,
    SupportKey,
    Recovery,
    /// Sending an invitation.
    Invitation,
    /// A participant's deletion request (per IP and per email address).
    DeletionRequest,
    /// A provider's callback or a SAML response (per IP): six times the login budget, counted
    /// before any work (a token exchange) is done.
    SsoCallback,
}

impl Limited {
    fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Register => "register",
            Self::PasswordChange => "password",
            Self::InvitationAccept => "invitation",
            Self::SupportKey => "support",
            Self::Recovery => "recovery",
            Self::Invitation => "invite",
            Self::DeletionRequest => "deletion_request",
            Self::SsoCallback => "sso_callback",
        }
    }
}

impl Core {
    fn quota(&self, action: Limited) -> Quota {
        let r = &self.config().rate_limit;
        match action {
            Limited::Invitation => {
                Quota::per_period(r.invitations_per_hour, Duration::from_secs(3600))
            }
            Limited::DeletionRequest => {
                Quota::per_period(r.deletion_requests_per_hour, Duration::from_secs(3600))
            }
            Limited::SsoCallback => Quota::per_period(
                r.attempts.saturating_mul(6),
                Duration::from_secs(r.period_secs),
            ),
            Limited::Login
            | Limited::Register
            | Limited::PasswordChange
            | Limited::InvitationAccept
            | Limited::SupportKey
            | Limited::Recovery => {
                Quota::per_period(r.attempts, Duration::from_secs(r.period_secs))
            }
        }
    }

    /// The two buckets of an attempt: the client IP, and an HMAC of the target account (so 100
    /// IPs against one account are stopped too, and the limiter never holds the raw email).
    fn limit_keys(
        &self,
        action: Limited,
        ip: Option<IpAddr>,
        account: Option<&str>,
    ) -> Vec<String> {
        let mut keys = Vec::with_capacity(2);
        if let Some(ip) = ip {
            keys.push(format!("{}:ip:{ip}", action.name()));
        }
        if let Some(account) = account {
            let mac = ServerKeys::mac_hex(&self.keys().account_limit, account);
            keys.push(format!("{}:acct:{}", action.name(), &mac[..32]));
        }
        keys
    }

    /// Counts one attempt in every bucket; refuses when any is spent.
    pub(crate) async fn count_attempt(
        &self,
        action: Limited,
        ip: Option<IpAddr>,
        account: Option<&str>,
    ) -> Result<(), CoreError> {
        self.count_in(action, self.limit_keys(action, ip, account))
            .await
    }

    /// Counts one invitation sent by `user` of `org`, in the member's bucket and the org's (so
    /// several admins together get no more than the org's quota); refuses when either is spent.
    pub(crate) async fn count_invitation(&self, org: OrgId, user: UserId) -> Result<(), CoreError> {
        let name = Limited::Invitation.name();
        let keys = vec![format!("{name}:user:{user}"), format!("{name}:org:{org}")];
        self.count_in(Limited::Invitation, keys).await
    }

    async fn count_in(&self, action: Limited, keys: Vec<String>) -> Result<(), CoreError> {
        let mut retry = 0;
        for key in keys {
            let decision = self
                .limiter()
                .check(&key, self.quota(action))
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "rate limiter unavailable; refusing the attempt");
                    CoreError::Unavailable("the rate limiter")
                })?;
            if let Decision::Limited { .. } = decision {
                retry = retry.max(decision.retry_after_secs());
            }
        }
        if retry > 0 {
            return Err(CoreError::RateLimited {
                retry_after_secs: retry,
            });
        }
        Ok(())
    }

    /// Refuses while any bucket is spent, without counting (for paths that count failures only).
    pub(crate) async fn refuse_if_spent(
        &self,
        action: Limited,
        ip: Option<IpAddr>,
        account: Option<&str>,
    ) -> Result<(), CoreError> {
        for key in self.limit_keys(action, ip, account) {
            let decision = self
                .limiter()
                .peek(&key, self.quota(action))
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "rate limiter unavailable; refusing the attempt");
                    CoreError::Unavailable("the rate limiter")
                })?;
            if let Decision::Limited { .. } = decision {
                return Err(CoreError::RateLimited {
                    retry_after_secs: decision.retry_after_secs(),
                });
            }
        }
        Ok(())
    }

    /// A principal for `user` holding `credential`, with the org's MFA rule applied.
    pub(crate) async fn principal_for(
        &self,
        (org_id, user_id): (uuid::Uuid, uuid::Uuid),
        credential: Credential,
        credential_permissions: Permissions,
        credential_workspace: Option<WorkspaceId>,
        credential_expires_at: Option<DateTime<Utc>>,
        meta: RequestMeta,
    ) -> Result<Principal, CoreError> {
        // One statement: the user, their org and their workspace roles, read fresh on every
        // request (a demotion applies on the next one).
        let user = self.db().principal_row(org_id, user_id).await?;
        Self::principal_of(
            user,
            credential,
            credential_permissions,
            credential_workspace,
            credential_expires_at,
            meta,
        )
    }

    /// The principal of a caller whose standing was read (`principal_row`, or beside their
    /// credential). A credential whose user is gone (removed from the org) no longer
    /// authenticates.
    pub(crate) fn principal_of(
        user: Option<PrincipalRow>,
        credential: Credential,
        credential_permissions: Permissions,
        credential_workspace: Option<WorkspaceId>,
        credential_expires_at: Option<DateTime<Utc>>,
        meta: RequestMeta,
    ) -> Result<Principal, CoreError> {
        let user = user.ok_or(CoreError::Unauthenticated)?;
        let role = parse_role(&user.role)?;
        let workspace_roles = user
            .workspace_roles()?
            .into_iter()
            .filter_map(|(ws, r)| Role::parse(r).map(|r| (WorkspaceId::from(ws), r)))
            .collect();
        Ok(Principal {
            org_id: OrgId::from(user.org_id),
            user_id: UserId::from(user.user_id),
            role,
            credential,
            meta,
            mfa_enrollment_required: user.require_mfa
                && !user.totp_enabled
                && matches!(credential, Credential::Session(_)),
            org_erase_at: user.erase_at,
            org_permissions: role.permissions(),
            workspace_roles,
            credential_permissions,
            credential_workspace,
            credential_expires_at,
        })
    }
}

/// Accounts and credentials (`core.identity()`): registration and invitations, login and
/// sessions, passwords, TOTP, and turning a session or a key into a caller.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub(crate) core: &'a Core,
}

impl Identity<'_> {
    /// The scope's credential checked again, now: a long-lived request (an event stream) calls
    /// this every few seconds, so a logout, a revoked or expired key, a demotion or a removal
    /// ends it. Answers a fresh scope for the same permission, or why it no longer holds.
    pub async fn recheck<P: crate::access::proof::Proof>(
        self,
        scope: &crate::access::Scope<P>,
    ) -> Result<crate::access::Scope<P>, CoreError> {
        let (org, meta, now) = (scope.org_id().uuid(), scope.meta().clone(), Utc::now());
        let principal = match scope.credential() {
            Credential::Session(id) => {
                let row = self
                    .core
                    .db()
                    .session_by_id(org, id.uuid())
                    .await?
                    .ok_or(CoreError::Unauthenticated)?;
                self.core.session_principal(&row, meta, now).await?
            }
            Credential::ApiKey(id) => {
                let row = self
                    .core
                    .db()
                    .api_key_by_id(org, id.uuid())
                    .await?
                    .ok_or(CoreError::Unauthenticated)?;
                self.core.api_key_principal(&row, meta, now).await?
            }
            Credential::Support(id) => {
                let row = self
                    .core
                    .db()
                    .support_key_by_id(org, id.uuid())
                    .await?
                    .ok_or(CoreError::Unauthenticated)?;
                self.core.support_key_principal(&row, meta, now).await?
            }
            Credential::Calendar(id) => self.core.calendar_principal(org, id).await?,
        };
        Ok(principal.authorize::<P>()?)
    }
}

/// Whether a "last used" time is old enough to rewrite: at most one write a minute per
/// credential, so a busy key or session does not write on every request.
pub(crate) fn due_for_touch(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last.is_none_or(|t| now - t > chrono::Duration::seconds(60))
}

pub(crate) fn parse_role(text: &str) -> Result<Role, CoreError> {
    Role::parse(text).ok_or_else(|| {
        CoreError::Storage(meetvault_store::StoreError::Corrupt(format!(
            "unknown role `{text}` in the database"
        )))
    })
}

/// A user as the API shows them.
#[derive(Debug, Clone)]
pub struct UserView {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: String,
    pub name: String,
    pub role: String,
    pub mfa_enabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        Self {
            id: u.id.into(),
            org_id: u.org_id.into(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role.clone(),
            mfa_enabled: u.totp_enabled,
            created_at: u.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            EmailAddress::parse("  Jane@Example.COM ").unwrap().as_str(),
            "jane@example.com"
        );
        for bad in [
            "",
            "jane",
            "@example.com",
            "jane@",
            "jane@localhost",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }
}
