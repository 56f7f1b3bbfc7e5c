//! TOTP (RFC 6238) enrolment with recovery codes, and its removal. Secrets are sealed at rest;
//! recovery codes are stored as MACs. Enabling or removing MFA ends every other session.

use chrono::Utc;
use meetvault_auth::recovery;
use meetvault_auth::totp::{self, TotpSecret};
use meetvault_crypto::keys;
use meetvault_store::identity::UserRow;

use crate::access::Scope;
use crate::access::proof::{OwnAccount, Proof};
use crate::audit::AuditAction;
use crate::audit::Event;
use crate::ids::SessionId;
use crate::{Core, CoreError, ServerKeys};

/// What the user scans into an authenticator app. Shown once.
#[derive(Debug)]
pub struct TotpEnrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

/// Shown once when MFA is switched on.
#[derive(Debug)]
pub struct TotpEnabled {
    pub recovery_codes: Vec<String>,
}

const RECOVERY_CODES: usize = 10;

impl Core {
    /// Ends every session of the caller but the one making the request; returns how many.
    pub(crate) async fn end_other_sessions(
        &self,
        scope: &Scope<OwnAccount>,
    ) -> Result<u64, CoreError> {
        let keep = scope.session_id().map(SessionId::uuid);
        self.vault().lock_user(scope.user_id().uuid(), keep);
        Ok(self
            .db()
            .delete_sessions_except(scope.org_id().uuid(), scope.user_id().uuid(), keep)
            .await?)
    }

    /// The caller's user row after re-checking their password (for changes that need it).
    pub(crate) async fn own_user_checked(
        &self,
        scope: &Scope<OwnAccount>,
        password: &str,
    ) -> Result<UserRow, CoreError> {
        let user = self.own_user(scope).await?;
        let ok = self
            .hasher()
            .verify(password, Some(&user.password_hash))
            .await
            .map_err(CoreError::internal)?;
        if !ok.ok {
            return Err(CoreError::invalid(
                "password",
                "is not your current password",
            ));
        }
        Ok(user)
    }

    pub(crate) async fn own_user<P: Proof>(&self, scope: &Scope<P>) -> Result<UserRow, CoreError> {
        self.db()
            .user(scope.org_id().uuid(), scope.user_id().uuid())
            .await?
            .ok_or(CoreError::Unauthenticated)
    }

    pub(crate) fn totp_secret(&self, user: &UserRow) -> Result<TotpSecret, CoreError> {
        let sealed = user
            .totp_secret
            .as_deref()
            .ok_or_else(|| CoreError::Conflict("two-factor authentication is not set up".into()))?;
        let plain = keys::open(&self.keys().totp_seal, sealed, user.id.as_bytes())
            .map_err(CoreError::internal)?;
        Ok(TotpSecret::from_bytes(plain.to_vec()))
    }
}

impl super::Identity<'_> {
    /// Starts enrolment: a fresh secret, stored sealed and not yet active.
    pub async fn totp_begin(self, scope: &Scope<OwnAccount>) -> Result<TotpEnrolment, CoreError> {
        let user = self.core.own_user(scope).await?;
        if user.totp_enabled {
            return Err(CoreError::Conflict(
                "two-factor authentication is already on; turn it off first to re-enrol".into(),
            ));
        }
        let secret = TotpSecret::generate();
        let sealed = keys::seal(
            &self.core.keys().totp_seal,
            secret.as_bytes(),
            user.id.as_bytes(),
        );
        self.core
            .db()
            .set_totp(user.org_id, user.id, Some(&sealed), false)
            .await?;
        Ok(TotpEnrolment {
            secret: secret.to_base32(),
            otpauth_uri: totp::otpauth_uri(&secret, "meetvault", &user.email),
        })
    }

    /// Confirms enrolment with a current code; returns the recovery codes (shown once).
    pub async fn totp_confirm(
        self,
        scope: &Scope<OwnAccount>,
        code: &str,
    ) -> Result<TotpEnabled, CoreError> {
        let user = self.core.own_user(scope).await?;
        if user.totp_enabled || user.totp_secret.is_none() {
            return Err(CoreError::Conflict(
                "no enrolment is in progress; start one first".into(),
            ));
        }
        let secret = self.core.totp_secret(&user)?;
        let now = u64::try_from(Utc::now().timestamp()).unwrap_or(0);
        let Some(step) = totp::verify(&secret, code, now, None) else {
            return Err(CoreError::invalid(
                "code",
                "does not match; check the time on your device and try the current code",
            ));
        };
        self.core
            .db()
            .set_totp(user.org_id, user.id, user.totp_secret.as_deref(), true)
            .await?;
        self.core
            .db()
            .advance_totp_step(
                user.org_id,
                user.id,
                i64::try_from(step).unwrap_or(i64::MAX),
            )
            .await?;
        let codes = recovery::generate(RECOVERY_CODES);
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| ServerKeys::mac_hex(&self.core.keys().recovery, &recovery::normalize(c)))
            .collect();
        self.core
            .db()
            .replace_recovery_codes(user.org_id, user.id, &hashes)
            .await?;
        self.core.end_other_sessions(scope).await?;
        self.core
            .audit(Event::by(scope, AuditAction::AuthMfaEnable))
            .await?;
        Ok(TotpEnabled {
            recovery_codes: codes,
        })
    }

    /// Turns MFA off after re-checking the password; ends every other session.
    pub async fn totp_disable(
        self,
        scope: &Scope<OwnAccount>,
        password: &str,
    ) -> Result<(), CoreError> {
        let user = self.core.own_user_checked(scope, password).await?;
        self.core
            .db()
            .set_totp(user.org_id, user.id, None, false)
            .await?;
        self.core
            .db()
            .replace_recovery_codes(user.org_id, user.id, &[])
            .await?;
        self.core.end_other_sessions(scope).await?;
        self.core
            .audit(Event::by(scope, AuditAction::AuthMfaDisable))
            .await?;
        Ok(())
    }
}
