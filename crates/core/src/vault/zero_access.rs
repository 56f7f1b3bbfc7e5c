//! Zero-access mode: the user key wrapped by a key derived from the password (Argon2id,
//! parameters stored beside it) and by a recovery key shown once — and by nothing the server
//! holds. The unwrapped key lives in memory for an unlocked session only.

use std::sync::Arc;

use chrono::Utc;
use meetvault_crypto::envelope;
use meetvault_crypto::keys::{SymmetricKey, derive};
use meetvault_crypto::passkey::{self, KdfParams};
use meetvault_store::vault::UserKeyRow;
use rand::RngCore as _;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{bind, key_ref};
use crate::access::proof::OwnAccount;
use crate::access::{RequestMeta, Scope};
use crate::audit::AuditAction;
use crate::audit::Event;
use crate::{Core, CoreError};

/// What the API tells a user about their encryption.
#[derive(Debug, Clone)]
pub struct EncryptionStatus {
    /// `org` (the org key wraps the user key) or `zero_access`.
    pub mode: String,
    /// Whether this instance holds the user's key unlocked for this session.
    pub unlocked: bool,
    pub kdf: Option<KdfView>,
}

#[derive(Debug, Clone)]
pub struct KdfView {
    pub algorithm: &'static str,
    pub memory_kib: i32,
    pub iterations: i32,
    pub parallelism: i32,
}

/// The recovery key, shown once; `Debug` is redacted.
pub struct RecoveryKey(pub Zeroizing<String>);

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey([redacted])")
    }
}

/// Shown beside every recovery key and in the docs.
pub const RECOVERY_WARNING: &str = "Store this recovery key somewhere safe now; it is shown only once. \
    If you forget your password and lose this key, your meeting content cannot be recovered by anyone — \
    not by your administrator and not by the operators of this server.";

fn new_recovery_key() -> (RecoveryKey, SymmetricKey) {
    let mut raw = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(&mut *raw);
    let hex = Zeroizing::new(hex::encode(*raw));
    let shown: String = hex
        .as_bytes()
        .chunks(8)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-");
    let wrap = recovery_wrap_key(&raw);
    (RecoveryKey(Zeroizing::new(shown)), wrap)
}

fn recovery_wrap_key(raw: &[u8; 32]) -> SymmetricKey {
    derive(raw, "meetvault/zero-access-recovery-wrap/v1")
}

/// Parses a recovery key as shown (dashes and spaces ignored, any case).
fn parse_recovery_key(text: &str) -> Option<SymmetricKey> {
    let clean: Zeroizing<String> =
        Zeroizing::new(text.chars().filter(|c| c.is_ascii_hexdigit()).collect());
    if clean.len() != 64
        || text
            .chars()
            .any(|c| !(c.is_ascii_hexdigit() || c == '-' || c.is_whitespace()))
    {
        return None;
    }
    let bytes = Zeroizing::new(hex::decode(clean.as_bytes()).ok()?);
    let raw: Zeroizing<[u8; 32]> = Zeroizing::new(bytes.as_slice().try_into().ok()?);
    Some(recovery_wrap_key(&raw))
}

impl Core {
    fn kdf_params(&self) -> KdfParams {
        let k = &self.config().keys;
        KdfParams::with_cost(
            k.zero_access_memory_kib,
            k.zero_access_iterations,
            k.zero_access_parallelism,
        )
    }

    /// Argon2id off the async executor.
    async fn password_key(password: &str, params: KdfParams) -> Result<SymmetricKey, CoreError> {
        let password = Zeroizing::new(password.as_bytes().to_vec());
        tokio::task::spawn_blocking(move || passkey::derive(&password, &params))
            .await
            .map_err(CoreError::internal)?
            .map_err(CoreError::internal)
    }

    fn stored_params(row: &UserKeyRow) -> Result<KdfParams, CoreError> {
        let (Some(m), Some(t), Some(p), Some(salt)) = (
            row.kdf_memory_kib,
            row.kdf_iterations,
            row.kdf_parallelism,
            row.kdf_salt.as_deref(),
        ) else {
            return Err(CoreError::Integrity(
                "zero-access key has no KDF parameters".into(),
            ));
        };
        let to_u32 = |v: i32| {
            u32::try_from(v).map_err(|_| CoreError::Integrity("negative KDF parameter".into()))
        };
        Ok(KdfParams {
            memory_kib: to_u32(m)?,
            iterations: to_u32(t)?,
            parallelism: to_u32(p)?,
            salt: salt
                .try_into()
                .map_err(|_| CoreError::Integrity("KDF salt is not 16 bytes".into()))?,
        })
    }

    /// Fills in the zero-access wrappings of `row` for `user_key` under `password`.
    async fn wrap_for_password(
        &self,
        row: &mut UserKeyRow,
        user_key: &SymmetricKey,
        password: &str,
    ) -> Result<(), CoreError> {
        let params = self.kdf_params();
        let pw_key = Self::password_key(password, params.clone()).await?;
        let binding = bind(row.org_id, "user_keys", row.user_id, "password_wrap");
        row.password_wrapped = Some(envelope::wrap_key(
            &pw_key,
            key_ref(row.user_id, 0),
            &binding,
            user_key,
        ));
        row.kdf_memory_kib = i32::try_from(params.memory_kib).ok();
        row.kdf_iterations = i32::try_from(params.iterations).ok();
        row.kdf_parallelism = i32::try_from(params.parallelism).ok();
        row.kdf_salt = Some(params.salt.to_vec());
        Ok(())
    }

    fn wrap_for_recovery(row: &mut UserKeyRow, user_key: &SymmetricKey) -> RecoveryKey {
        let (shown, wrap) = new_recovery_key();
        let binding = bind(row.org_id, "user_keys", row.user_id, "recovery_wrap");
        row.recovery_wrapped = Some(envelope::wrap_key(
            &wrap,
            key_ref(row.user_id, 0),
            &binding,
            user_key,
        ));
        shown
    }

    /// Opens a zero-access user key with the password. Every caller has checked the password
    /// against its hash first, so a password that does not open the key means the row is damaged.
    async fn open_with_password(
        &self,
        row: &UserKeyRow,
        password: &str,
    ) -> Result<SymmetricKey, CoreError> {
        let params = Self::stored_params(row)?;
        let pw_key = Self::password_key(password, params).await?;
        let binding = bind(row.org_id, "user_keys", row.user_id, "password_wrap");
        let wrapped = row
            .password_wrapped
            .as_deref()
            .ok_or_else(|| CoreError::Integrity("no password wrapping".into()))?;
        envelope::unwrap_key(&pw_key, &binding, wrapped)
            .map_err(|_| CoreError::Integrity("the password does not open the user key".into()))
    }

    async fn unlock_session(
        &self,
        org: Uuid,
        user: Uuid,
        session: Uuid,
        key: Arc<SymmetricKey>,
    ) -> Result<(), CoreError> {
        let expires_at = self
            .db()
            .sessions_of(org, user)
            .await?
            .into_iter()
            .find(|s| s.id == session)
            .map(|s| s.expires_at)
            .ok_or(CoreError::Unauthenticated)?;
        self.vault().unlock(session, user, key, expires_at);
        Ok(())
    }

    /// At login (password in hand): unlocks a zero-access user's key for the new session.
    pub(crate) async fn unlock_at_login(
        &self,
        org: Uuid,
        user: Uuid,
        session: Uuid,
        password: &str,
    ) -> Result<(), CoreError> {
        let Some(row) = self.db().user_key(org, user).await? else {
            return Ok(());
        };
        if row.mode != "zero_access" {
            return Ok(());
        }
        let key = self.open_with_password(&row, password).await?;
        self.unlock_session(org, user, session, Arc::new(key)).await
    }

    /// On a password change (old password verified): re-wraps a zero-access key under the new
    /// password. No content is re-encrypted.
    pub(crate) async fn rewrap_for_new_password(
        &self,
        org: Uuid,
        user: Uuid,
        old: &str,
        new: &str,
    ) -> Result<(), CoreError> {
        let Some(row) = self.db().user_key(org, user).await? else {
            return Ok(());
        };
        if row.mode != "zero_access" {
            return Ok(());
        }
        let key = self.open_with_password(&row, old).await?;
        let mut next = row.clone();
        self.wrap_for_password(&mut next, &key, new).await?;
        next.updated_at = Utc::now();
        if !self.db().rewrap_user_key(&next, row.updated_at).await? {
            return Err(CoreError::Conflict(
                "your encryption settings changed meanwhile; try again".into(),
            ));
        }
        Ok(())
    }

    async fn recover_account_checked(
        &self,
        email: &crate::auth::EmailAddress,
        recovery_key: &str,
        new_password: String,
        meta: &RequestMeta,
    ) -> Result<RecoveryKey, CoreError> {
        self.count_attempt(
            crate::auth::Limited::Recovery,
            meta.ip,
            Some(email.as_str()),
        )
        .await?;
        let user = self
            .db()
            .user_by_email(email.as_str())
            .await?
            .ok_or(CoreError::InvalidCredentials)?;
        let row = self
            .db()
            .user_key(user.org_id, user.id)
            .await?
            .filter(|r| r.mode == "zero_access")
            .ok_or(CoreError::InvalidCredentials)?;
        let wrap = parse_recovery_key(recovery_key).ok_or(CoreError::InvalidCredentials)?;
        let binding = bind(row.org_id, "user_keys", row.user_id, "recovery_wrap");
        let wrapped = row
            .recovery_wrapped
            .as_deref()
            .ok_or(CoreError::InvalidCredentials)?;
        let key = envelope::unwrap_key(&wrap, &binding, wrapped)
            .map_err(|_| CoreError::InvalidCredentials)?;
        let password = crate::auth::account::new_password(new_password, &user.email, &user.name)?;
        let hash = self
            .hasher()
            .hash(&password)
            .await
            .map_err(CoreError::internal)?;
        let mut next = row.clone();
        self.wrap_for_password(&mut next, &key, password.expose())
            .await?;
        let recovery = Self::wrap_for_recovery(&mut next, &key);
        next.updated_at = Utc::now();
        if !self.db().rewrap_user_key(&next, row.updated_at).await? {
            return Err(CoreError::Conflict(
                "the account changed meanwhile; try again".into(),
            ));
        }
        self.db()
            .set_password_hash(user.org_id, user.id, &hash)
            .await?;
        self.db()
            .delete_sessions_except(user.org_id, user.id, None)
            .await?;
        self.vault().lock_user(user.id, None);
        let actor = crate::access::Actor::User(user.id.into());
        self.audit(Event::about(
            AuditAction::AuthRecoverWithRecoveryKey,
            actor,
            user.org_id.into(),
            user.id.into(),
            meta,
            None,
        ))
        .await?;
        Ok(recovery)
    }
}

impl super::Encryption<'_> {
    pub async fn status(self, scope: &Scope<OwnAccount>) -> Result<EncryptionStatus, CoreError> {
        let row = self
            .core
            .user_key_row(scope.org_id().uuid(), scope.user_id().uuid())
            .await?;
        let unlocked = row.mode == "org"
            || scope.session_id().is_some_and(|s| {
                self.core
                    .vault()
                    .unlocked_sessions(row.user_id)
                    .iter()
                    .any(|(id, _)| *id == s.uuid())
            });
        let kdf = (row.mode == "zero_access").then(|| KdfView {
            algorithm: "argon2id",
            memory_kib: row.kdf_memory_kib.unwrap_or(0),
            iterations: row.kdf_iterations.unwrap_or(0),
            parallelism: row.kdf_parallelism.unwrap_or(0),
        });
        Ok(EncryptionStatus {
            mode: row.mode,
            unlocked,
            kdf,
        })
    }

    /// Turns zero-access on: the user key is re-wrapped under the password and a new recovery
    /// key, and its org-key wrapping is deleted. Returns the recovery key (shown once).
    pub async fn enable_zero_access(
        self,
        scope: &Scope<OwnAccount>,
        password: &str,
    ) -> Result<RecoveryKey, CoreError> {
        let session = scope.session_id().ok_or(CoreError::NotAllowed(
            "zero-access mode is turned on from a browser session".into(),
        ))?;
        self.core.own_user_checked(scope, password).await?;
        let (org, user) = (scope.org_id().uuid(), scope.user_id().uuid());
        let row = self.core.user_key_row(org, user).await?;
        if row.mode == "zero_access" {
            return Err(CoreError::Conflict("zero-access mode is already on".into()));
        }
        let key = self.core.open_user_key(&row).await?;
        let mut next = row.clone();
        next.mode = "zero_access".into();
        next.org_key_version = None;
        next.org_wrapped = None;
        self.core
            .wrap_for_password(&mut next, &key, password)
            .await?;
        let recovery = Core::wrap_for_recovery(&mut next, &key);
        next.updated_at = Utc::now();
        if !self
            .core
            .db()
            .rewrap_user_key(&next, row.updated_at)
            .await?
        {
            return Err(CoreError::Conflict(
                "your encryption settings changed meanwhile; try again".into(),
            ));
        }
        // Its cached copy can no longer be found (the row is not in org mode); let go of it.
        self.core.vault().forget_user_key(org, user);
        self.core
            .unlock_session(org, user, session.uuid(), key)
            .await?;
        self.core
            .audit(Event::by(scope, AuditAction::EncryptionZeroAccessEnabled))
            .await?;
        Ok(recovery)
    }

    /// Turns zero-access off (the org key wraps the user key again); needs the password.
    pub async fn disable_zero_access(
        self,
        scope: &Scope<OwnAccount>,
        password: &str,
    ) -> Result<(), CoreError> {
        self.core.own_user_checked(scope, password).await?;
        let (org, user) = (scope.org_id().uuid(), scope.user_id().uuid());
        let row = self.core.user_key_row(org, user).await?;
        if row.mode != "zero_access" {
            return Err(CoreError::Conflict("zero-access mode is not on".into()));
        }
        let key = self.core.open_with_password(&row, password).await?;
        let (version, org_key) = self.core.org_key(org).await?;
        let mut next = row.clone();
        next.mode = "org".into();
        next.org_key_version = Some(version);
        next.org_wrapped = Some(envelope::wrap_key(
            &org_key,
            key_ref(org, version),
            &bind(org, "user_keys", user, "key"),
            &key,
        ));
        next.password_wrapped = None;
        next.kdf_memory_kib = None;
        next.kdf_iterations = None;
        next.kdf_parallelism = None;
        next.kdf_salt = None;
        next.recovery_wrapped = None;
        next.updated_at = Utc::now();
        if !self
            .core
            .db()
            .rewrap_user_key(&next, row.updated_at)
            .await?
        {
            return Err(CoreError::Conflict(
                "your encryption settings changed meanwhile; try again".into(),
            ));
        }
        self.core.vault().lock_user(user, None);
        self.core
            .audit(Event::by(scope, AuditAction::EncryptionZeroAccessDisabled))
            .await?;
        Ok(())
    }

    /// Unlocks the caller's zero-access key on this instance for this session (after a login on
    /// another instance, or a restart).
    pub async fn unlock_zero_access(
        self,
        scope: &Scope<OwnAccount>,
        password: &str,
    ) -> Result<(), CoreError> {
        let session = scope.session_id().ok_or(CoreError::NotAllowed(
            "unlocking needs a browser session".into(),
        ))?;
        self.core.own_user_checked(scope, password).await?;
        let row = self
            .core
            .user_key_row(scope.org_id().uuid(), scope.user_id().uuid())
            .await?;
        if row.mode != "zero_access" {
            return Ok(());
        }
        let key = self.core.open_with_password(&row, password).await?;
        self.core
            .unlock_session(row.org_id, row.user_id, session.uuid(), Arc::new(key))
            .await?;
        self.core
            .audit(Event::by(scope, AuditAction::EncryptionUnlock))
            .await?;
        Ok(())
    }

    /// Password reset without the old password, for a zero-access user: the recovery key opens
    /// the user key, which is re-wrapped under the new password and a new recovery key (returned,
    /// shown once). Every session ends. A wrong recovery key is "invalid credentials"; it and a
    /// rate-limited attempt are audited (aggregated).
    pub async fn recover_account(
        self,
        email: &str,
        recovery_key: &str,
        new_password: String,
        meta: &RequestMeta,
    ) -> Result<RecoveryKey, CoreError> {
        let email = crate::auth::EmailAddress::parse(email)?;
        let result = self
            .core
            .recover_account_checked(&email, recovery_key, new_password, meta)
            .await;
        let reason = match &result {
            Err(CoreError::InvalidCredentials) => "bad_recovery_key",
            Err(CoreError::RateLimited { .. }) => "rate_limited",
            _ => return result,
        };
        let mut event = Event::refusal(AuditAction::AuthRecoverWithRecoveryKey, reason, meta);
        event.personal.email = Some(email.as_str().to_owned());
        self.core.audit_refusal(event).await?;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_keys_parse_as_shown_and_only_so() {
        let (shown, wrap) = new_recovery_key();
        assert_eq!(shown.0.len(), 64 + 7);
        let parsed = parse_recovery_key(&shown.0).unwrap();
        assert_eq!(parsed.expose(), wrap.expose());
        let spaced = shown.0.replace('-', " ").to_uppercase();
        assert_eq!(parse_recovery_key(&spaced).unwrap().expose(), wrap.expose());
        assert!(parse_recovery_key(&shown.0[..60]).is_none());
        assert!(parse_recovery_key(&format!("{}z", shown.0.as_str())).is_none());
        assert_eq!(format!("{shown:?}"), "RecoveryKey([redacted])");
    }
}
