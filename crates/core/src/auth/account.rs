//! Registration, invitation acceptance, the caller's sessions and password change. A password
//! change ends every other session at once: sessions are looked up on every request, so there
//! is no cached credential to outlive it.

use chrono::{DateTime, Utc};
use meetvault_auth::password::NewPassword;
use meetvault_auth::token::{INVITATION, Token};
use meetvault_store::identity::{InvitationRow, OrgRow, UserRow, WorkspaceRow};
use uuid::Uuid;

use super::login::LoginOutcome;
use super::{EmailAddress, Limited, parse_name};
use crate::CoreError;
use crate::access::proof::{AnyCaller, OwnAccount};
use crate::access::{Actor, RequestMeta, Role, Scope};
use crate::audit::AuditAction;
use crate::audit::{Event, Outcome};
use crate::certificates::CertificateView;
use crate::ids::{InvitationId, OrgId, SessionId, UserId};

#[derive(Debug)]
pub struct RegisterRequest {
    pub email: String,
    pub password: String,
    pub name: String,
    pub org_name: String,
    pub meta: RequestMeta,
}

/// One of the caller's sessions.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: SessionId,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// This is the session making the request.
    pub current: bool,
}

fn registration_closed() -> CoreError {
    CoreError::NotAllowed(
        "registration is by invitation on this server; ask an admin of your organization to invite you".into(),
    )
}

pub(crate) fn new_password(raw: String, email: &str, name: &str) -> Result<NewPassword, CoreError> {
    NewPassword::parse_for(raw, email, name)
        .map_err(|e| CoreError::invalid("password", e.to_string()))
}

impl super::Identity<'_> {
    /// Registers a user with a new organization: the first user of the instance always, later
    /// ones only with `auth.open_registration`. Closed registration refuses before it looks at
    /// the email, so the answer is the same for a known and an unknown one; open registration
    /// must say "already exists" (there is no mail to confirm ownership through), so it is rate
    /// limited like login.
    pub async fn register(self, req: RegisterRequest) -> Result<LoginOutcome, CoreError> {
        let email = EmailAddress::parse(&req.email)?;
        self.core
            .count_attempt(Limited::Register, req.meta.ip, Some(email.as_str()))
            .await?;
        let only_if_first = !self.core.config().auth.open_registration;
        if only_if_first && self.core.db().has_users().await? {
            return Err(registration_closed());
        }
        let name = parse_name("name", &req.name)?;
        let org_name = parse_name("org_name", &req.org_name)?;
        let password = new_password(req.password, email.as_str(), &name)?;
        if self.core.db().email_taken(email.as_str()).await? {
            return Err(CoreError::Conflict(
                "an account with this email already exists; log in instead".into(),
            ));
        }
        let hash = self
            .core
            .hasher()
            .hash(&password)
            .await
            .map_err(CoreError::internal)?;
        let now = Utc::now();
        let org = OrgRow {
            id: Uuid::new_v4(),
            name: org_name,
            require_mfa: false,
            created_at: now,
            erase_at: None,
        };
        let user = UserRow {
            id: Uuid::new_v4(),
            org_id: org.id,
            email: email.as_str().to_owned(),
            name,
            password_hash: hash,
            role: Role::Owner.as_str().to_owned(),
            totp_secret: None,
            totp_enabled: false,
            totp_last_step: None,
            created_at: now,
        };
        let workspace = WorkspaceRow {
            id: Uuid::new_v4(),
            org_id: org.id,
            name: "Default".into(),
            created_at: now,
        };
        // Checked again in the same transaction: two racing first registrations, one owner.
        if !self
            .core
            .db()
            .create_org_with_owner(&org, &user, &workspace, only_if_first)
            .await?
        {
            return Err(registration_closed());
        }
        let (org_id, user_id) = (OrgId::from(org.id), UserId::from(user.id));
        let event = Event::about(
            AuditAction::AuthRegister,
            Actor::User(user_id),
            org_id,
            user_id,
            &req.meta,
            Some(email.as_str()),
        );
        self.core.audit(event.resource(org_id)).await?;
        self.core.start_session(&user, &req.meta).await
    }

    /// Accepts an invitation: creates the invited account and signs it in.
    pub async fn accept_invitation(
        self,
        raw_token: &str,
        name: &str,
        password: String,
        meta: RequestMeta,
    ) -> Result<LoginOutcome, CoreError> {
        let lookup = raw_token.get(..12).unwrap_or(raw_token);
        // Every refusal is audited (aggregated); the answer stays the same "gone" for each.
        let refused = |reason: &'static str, inv: Option<&InvitationRow>| {
            let mut event = Event::refusal(AuditAction::InvitationAccept, reason, &meta);
            event.org_id = inv.map(|i| i.org_id.into());
            event.resource = inv.map(|i| InvitationId::from(i.id).to_string());
            event
        };
        if let Err(e) = self
            .core
            .count_attempt(Limited::InvitationAccept, meta.ip, Some(lookup))
            .await
        {
            if matches!(e, CoreError::RateLimited { .. }) {
                self.core
                    .audit_refusal(refused("rate_limited", None))
                    .await?;
            }
            return Err(e);
        }
        let gone =
            || CoreError::NotFound("invitation (it may have expired, been revoked or been used)");
        let found = match Token::parse(INVITATION, raw_token) {
            Ok(token) => self
                .core
                .db()
                .invitation_by_lookup(token.lookup())
                .await?
                .map(|inv| (token, inv)),
            Err(_) => None,
        };
        let Some((token, inv)) = found else {
            self.core.audit_refusal(refused("bad_token", None)).await?;
            return Err(gone());
        };
        let now = Utc::now();
        let reason =
            if !self
                .core
                .keys()
                .credential_matches(inv.pepper_version, token.expose(), &inv.mac)
            {
                Some("bad_token")
            } else if inv.accepted_at.is_some() {
                Some("used")
            } else if inv.revoked_at.is_some() {
                Some("revoked")
            } else if inv.expires_at <= now {
                Some("expired")
            } else {
                None
            };
        if let Some(reason) = reason {
            self.core.audit_refusal(refused(reason, Some(&inv))).await?;
            return Err(gone());
        }
        let name = parse_name("name", name)?;
        let password = new_password(password, &inv.email, &name)?;
        let hash = self
            .core
            .hasher()
            .hash(&password)
            .await
            .map_err(CoreError::internal)?;
        let user = UserRow {
            id: Uuid::new_v4(),
            org_id: inv.org_id,
            email: inv.email.clone(),
            name,
            password_hash: hash,
            role: inv.role.clone(),
            totp_secret: None,
            totp_enabled: false,
            totp_last_step: None,
            created_at: now,
        };
        if !self.core.db().accept_invitation(inv.id, &user, now).await? {
            return Err(CoreError::Conflict(
                "this invitation was just used, or an account with its email already exists".into(),
            ));
        }
        let user_id = UserId::from(user.id);
        let event = Event::about(
            AuditAction::InvitationAccept,
            Actor::User(user_id),
            inv.org_id.into(),
            user_id,
            &meta,
            Some(&inv.email),
        );
        self.core
            .audit(event.resource(InvitationId::from(inv.id)))
            .await?;
        self.core.start_session(&user, &meta).await
    }

    /// The caller's account.
    pub async fn me(self, scope: &Scope<AnyCaller>) -> Result<super::UserView, CoreError> {
        Ok(super::UserView::from(&self.core.own_user(scope).await?))
    }

    pub async fn sessions(self, scope: &Scope<OwnAccount>) -> Result<Vec<SessionView>, CoreError> {
        let current = scope.session_id().map(SessionId::uuid);
        let rows = self
            .core
            .db()
            .sessions_of(scope.org_id().uuid(), scope.user_id().uuid())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| SessionView {
                id: r.id.into(),
                ip: r.ip,
                user_agent: r.user_agent,
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
                expires_at: r.expires_at,
                current: Some(r.id) == current,
            })
            .collect())
    }

    /// Ends one of the caller's sessions; another user's session id is "not found".
    pub async fn revoke_session(
        self,
        scope: &Scope<OwnAccount>,
        id: SessionId,
    ) -> Result<(), CoreError> {
        if !self
            .core
            .db()
            .delete_session(scope.org_id().uuid(), scope.user_id().uuid(), id.uuid())
            .await?
        {
            return Err(CoreError::NotFound("session"));
        }
        self.core.vault().lock_session(id.uuid());
        self.core
            .audit(Event::by(scope, AuditAction::AuthSessionRevoke).resource(id))
            .await?;
        Ok(())
    }

    /// Erases the caller's account (GDPR erasure) after re-checking their password: every
    /// meeting they own (each certified), their sessions, keys, secrets and memberships, their
    /// audit personal data — and the org with everything in it when they are its last member.
    /// Returns the account's certificate. A last owner with other members is refused (409).
    pub async fn erase_account(
        self,
        scope: &Scope<OwnAccount>,
        password: &str,
    ) -> Result<CertificateView, CoreError> {
        let user = self.core.own_user(scope).await?;
        self.core
            .count_attempt(Limited::PasswordChange, scope.meta().ip, Some(&user.email))
            .await?;
        let user = self.core.own_user_checked(scope, password).await?;
        self.core
            .erase_account(&user, Event::by(scope, AuditAction::AccountErase))
            .await
    }

    /// Changes the caller's password and ends every other session; returns how many ended.
    pub async fn change_password(
        self,
        scope: &Scope<OwnAccount>,
        current: &str,
        new: String,
    ) -> Result<u64, CoreError> {
        let user = self.core.own_user(scope).await?;
        self.core
            .count_attempt(Limited::PasswordChange, scope.meta().ip, Some(&user.email))
            .await?;
        let ok = self
            .core
            .hasher()
            .verify(current, Some(&user.password_hash))
            .await
            .map_err(CoreError::internal)?;
        if !ok.ok {
            let mut event = Event::by(scope, AuditAction::AuthPasswordChange);
            event.outcome = Outcome::Failure;
            event.reason = Some("bad_password");
            self.core.audit_refusal(event).await?;
            return Err(CoreError::invalid(
                "current_password",
                "is not your current password",
            ));
        }
        let password = new_password(new, &user.email, &user.name)?;
        let hash = self
            .core
            .hasher()
            .hash(&password)
            .await
            .map_err(CoreError::internal)?;
        // Zero-access: the user key is re-wrapped under the new password (no content changes).
        self.core
            .rewrap_for_new_password(user.org_id, user.id, current, password.expose())
            .await?;
        self.core
            .db()
            .set_password_hash(user.org_id, user.id, &hash)
            .await?;
        let ended = self.core.end_other_sessions(scope).await?;
        self.core
            .audit(Event::by(scope, AuditAction::AuthPasswordChange))
            .await?;
        Ok(ended)
    }
}
