//! Login, browser sessions, logout and CSRF tokens. An unknown email runs the same Argon2id
//! verification as a wrong password (against a dummy hash), and both answer the same.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use meetvault_auth::token::{SessionToken, sha256_hex};
use meetvault_auth::{recovery, totp};
use meetvault_crypto::keys::{self, ct_eq, hmac_sha256};
use meetvault_store::identity::{SessionRow, UserRow};
use uuid::Uuid;

use super::{EmailAddress, Limited, UserView};
use crate::access::proof::OwnAccount;
use crate::access::{Credential, Permissions, Principal, RequestMeta, Scope};
use crate::audit::AuditAction;
use crate::audit::{Event, Outcome, Personal};
use crate::ids::{OrgId, SessionId, UserId};
use crate::{Core, CoreError, ServerKeys};

#[derive(Debug)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    pub totp_code: Option<String>,
    pub recovery_code: Option<String>,
    /// The "known device" cookie from an earlier successful login, if the browser sent one.
    pub device: Option<String>,
    pub meta: RequestMeta,
}

/// A new session. `token` goes into the cookie and nowhere else.
#[derive(Debug)]
pub struct LoginOutcome {
    pub token: SessionToken,
    pub session_id: SessionId,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    /// A fresh known-device cookie value for this account.
    pub device: String,
    pub user: UserView,
}

impl Core {
    /// Checks the TOTP or recovery code of a login; the failure reason if it does not pass.
    async fn second_factor(
        &self,
        user: &UserRow,
        req: &LoginRequest,
    ) -> Result<Option<&'static str>, CoreError> {
        if let Some(code) = req.recovery_code.as_deref() {
            let hash = ServerKeys::mac_hex(&self.keys().recovery, &recovery::normalize(code));
            let used = self
                .db()
                .use_recovery_code(user.org_id, user.id, &hash, Utc::now())
                .await?;
            return Ok((!used).then_some("bad_recovery_code"));
        }
        let Some(code) = req.totp_code.as_deref() else {
            return Ok(Some("mfa_required"));
        };
        let secret = self.totp_secret(user)?;
        let now = u64::try_from(Utc::now().timestamp()).unwrap_or(0);
        let last = user.totp_last_step.and_then(|s| u64::try_from(s).ok());
        let Some(step) = totp::verify(&secret, code, now, last) else {
            return Ok(Some("bad_totp"));
        };
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        let fresh = self
            .db()
            .advance_totp_step(user.org_id, user.id, step)
            .await?;
        Ok((!fresh).then_some("replayed_totp"))
    }

    async fn audit_login_failure(
        &self,
        user: Option<&UserRow>,
        email: &EmailAddress,
        meta: &RequestMeta,
        reason: &'static str,
    ) -> Result<(), CoreError> {
        let mut event = Event::new(
            AuditAction::AuthLogin,
            crate::access::Actor::Anonymous,
            Outcome::Failure,
        );
        event.reason = Some(reason);
        event.org_id = user.map(|u| u.org_id.into());
        event.subject = user.map(|u| u.id.into());
        event.personal = Personal::from_meta(meta, Some(email.as_str()));
        self.audit_refusal(event).await
    }

    /// Creates a session for `user` (login, registration, invitation accept).
    pub(crate) async fn start_session(
        &self,
        user: &UserRow,
        meta: &RequestMeta,
    ) -> Result<LoginOutcome, CoreError> {
        let now = Utc::now();
        let ttl = ChronoDuration::seconds(
            i64::try_from(self.config().auth.session_ttl_secs).unwrap_or(i64::MAX / 2),
        );
        let token = SessionToken::generate();
        let row = SessionRow {
            id: Uuid::new_v4(),
            org_id: user.org_id,
            user_id: user.id,
            created_at: now,
            last_seen_at: now,
            expires_at: now + ttl,
            ip: meta.ip.map(|ip| ip.to_string()),
            user_agent: meta
                .user_agent
                .as_ref()
                .map(|ua| ua.chars().take(512).collect()),
        };
        self.db()
            .insert_session(&row, &sha256_hex(token.expose()))
            .await?;
        let session_id = SessionId::from(row.id);
        Ok(LoginOutcome {
            token,
            session_id,
            csrf_token: self.csrf_token(session_id),
            expires_at: row.expires_at,
            device: self.device_cookie(row.user_id),
            user: UserView::from(user),
        })
    }

    /// The principal of a stored session that has neither expired nor gone idle (an expired
    /// one is deleted), with its user's current roles.
    pub(crate) async fn session_principal(
        &self,
        row: &SessionRow,
        meta: RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<Principal, CoreError> {
        let idle = ChronoDuration::seconds(
            i64::try_from(self.config().auth.session_idle_timeout_secs).unwrap_or(i64::MAX / 2),
        );
        if row.expires_at <= now || row.last_seen_at + idle <= now {
            self.db()
                .delete_session(row.org_id, row.user_id, row.id)
                .await?;
            return Err(CoreError::Unauthenticated);
        }
        self.principal_for(
            (row.org_id, row.user_id),
            Credential::Session(row.id.into()),
            Permissions::all(),
            None,
            None,
            meta,
        )
        .await
    }

    /// The session's CSRF token: an HMAC of its id, so nothing extra is stored.
    pub(crate) fn csrf_token(&self, session: SessionId) -> String {
        hex::encode(hmac_sha256(&self.keys().csrf, session.uuid().as_bytes()))
    }

    /// A known-device cookie value: `<user uuid>.<random>.<mac>`.
    fn device_cookie(&self, user: Uuid) -> String {
        let nonce = hex::encode(keys::SymmetricKey::generate().expose());
        let body = format!("{}.{nonce}", user.simple());
        let mac = hex::encode(hmac_sha256(&self.keys().device, body.as_bytes()));
        format!("{body}.{mac}")
    }

    fn device_is_valid(&self, cookie: &str, user: Uuid) -> bool {
        let Some((body, mac)) = cookie.rsplit_once('.') else {
            return false;
        };
        let expected = hex::encode(hmac_sha256(&self.keys().device, body.as_bytes()));
        ct_eq(expected.as_bytes(), mac.as_bytes())
            && body
                .split_once('.')
                .is_some_and(|(u, _)| u == user.simple().to_string())
    }
}

impl super::Identity<'_> {
    pub async fn login(self, req: LoginRequest) -> Result<LoginOutcome, CoreError> {
        let email = EmailAddress::parse(&req.email)?;
        let user = self.core.db().user_by_email(email.as_str()).await?;
        // A browser that logged in to this account before skips the per-account bucket, so an
        // attacker spending that bucket cannot lock the real user out; the IP bucket still applies.
        let known_device = match (&user, &req.device) {
            (Some(u), Some(cookie)) => self.core.device_is_valid(cookie, u.id),
            _ => false,
        };
        let account = (!known_device).then_some(email.as_str());
        if let Err(e) = self
            .core
            .count_attempt(Limited::Login, req.meta.ip, account)
            .await
        {
            if matches!(e, CoreError::RateLimited { .. }) {
                self.core
                    .audit_login_failure(user.as_ref(), &email, &req.meta, "rate_limited")
                    .await?;
            }
            return Err(e);
        }

        let verification = self
            .core
            .hasher()
            .verify(
                &req.password,
                user.as_ref().map(|u| u.password_hash.as_str()),
            )
            .await
            .map_err(CoreError::internal)?;
        let user = match user {
            Some(u) if verification.ok => u,
            Some(u) => {
                self.core
                    .audit_login_failure(Some(&u), &email, &req.meta, "bad_password")
                    .await?;
                return Err(CoreError::InvalidCredentials);
            }
            None => {
                self.core
                    .audit_login_failure(None, &email, &req.meta, "unknown_user")
                    .await?;
                return Err(CoreError::InvalidCredentials);
            }
        };

        // An org that requires single sign-on refuses its members' passwords (the refusal is
        // audited; an owner's break-glass login too).
        let break_glass = match self.core.check_sso_required(&user).await {
            Ok(b) => b,
            Err(e) => {
                self.core
                    .audit_login_failure(Some(&user), &email, &req.meta, "sso_required")
                    .await?;
                return Err(e);
            }
        };

        if user.totp_enabled {
            let reason = self.core.second_factor(&user, &req).await?;
            if let Some(reason) = reason {
                self.core
                    .audit_login_failure(Some(&user), &email, &req.meta, reason)
                    .await?;
                return Err(CoreError::MfaRequired);
            }
        }

        if verification.needs_rehash {
            // Parameters were raised since this hash was made: upgrade it now that we hold the
            // plaintext. The policy is not re-applied; this is the user's existing password.
            let hash = self
                .core
                .hasher()
                .rehash(&req.password)
                .await
                .map_err(CoreError::internal)?;
            self.core
                .db()
                .set_password_hash(user.org_id, user.id, &hash)
                .await?;
        }

        let outcome = self.core.start_session(&user, &req.meta).await?;
        if break_glass {
            let id = UserId::from(user.id);
            let event = Event::about(
                AuditAction::AuthBreakGlass,
                crate::access::Actor::User(id),
                user.org_id.into(),
                id,
                &req.meta,
                None,
            );
            self.core.audit(event.resource(outcome.session_id)).await?;
        }
        // A zero-access user's key is unwrapped now, while the password is in hand, and kept in
        // memory for this session only.
        self.core
            .unlock_at_login(
                user.org_id,
                user.id,
                outcome.session_id.uuid(),
                &req.password,
            )
            .await?;
        let (org, user_id) = (user.org_id.into(), user.id.into());
        let actor = crate::access::Actor::User(user_id);
        let event = Event::about(AuditAction::AuthLogin, actor, org, user_id, &req.meta, None);
        self.core.audit(event.resource(outcome.session_id)).await?;
        Ok(outcome)
    }

    /// The principal behind a session cookie, or `Unauthenticated` (unknown, expired, idle).
    pub async fn authenticate_session(
        self,
        token: &str,
        meta: RequestMeta,
    ) -> Result<Principal, CoreError> {
        let token = SessionToken::parse(token).map_err(|_| CoreError::Unauthenticated)?;
        let row = self
            .core
            .db()
            .session_by_token_hash(&sha256_hex(token.expose()))
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let now = Utc::now();
        let principal = self.core.session_principal(&row, meta, now).await?;
        if super::due_for_touch(Some(row.last_seen_at), now) {
            self.core.db().touch_session(row.id, now).await?;
        }
        Ok(principal)
    }

    /// Ends the caller's own session.
    pub async fn logout(self, scope: &Scope<OwnAccount>) -> Result<(), CoreError> {
        if let Some(id) = scope.session_id() {
            self.core
                .db()
                .delete_session(scope.org_id().uuid(), scope.user_id().uuid(), id.uuid())
                .await?;
            self.core.vault().lock_session(id.uuid());
            self.core
                .audit(Event::by(scope, AuditAction::AuthLogout).resource(id))
                .await?;
        }
        Ok(())
    }

    /// Constant-time check of a presented CSRF token.
    pub fn csrf_token_matches(self, session: SessionId, presented: &str) -> bool {
        ct_eq(
            self.core.csrf_token(session).as_bytes(),
            presented.as_bytes(),
        )
    }
}

/// For tests and tools: the ids a login produced.
impl LoginOutcome {
    pub fn ids(&self) -> (OrgId, UserId) {
        (self.user.org_id, self.user.id)
    }
}
