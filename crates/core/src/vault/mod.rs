//! Encryption at rest: the key hierarchy and the operations on it.
//!
//! ```text
//! master key (local file, or AWS KMS; or the org's own KMS key)
//!   └─ org key (per org, versioned)            org_keys.wrapped
//!        └─ user key (per user)                user_keys.org_wrapped      ─┐ zero-access: instead
//!             ├─ X25519 secret (HPKE)          user_keys.secret_key_wrapped │ password_wrapped +
//!             ├─ user secrets (fields)         user_secrets.value           │ recovery_wrapped
//!             └─ meeting key (per meeting,     meeting_keys.wrapped        ─┘
//!                versioned; or HPKE-sealed to the user's public key while a zero-access owner is away)
//!                  ├─ fields: title, participant names/emails, transcript speaker/text
//!                  └─ blobs: recordings (STREAM segments)
//! ```
//!
//! Unwrapped org keys are cached in memory (they are re-derivable from the master key at any
//! time); unwrapped zero-access user keys live only in [`Unlocked`], keyed by session, for the
//! session's life.

mod content;
mod key_cache;
mod master;
mod zero_access;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use meetvault_crypto::envelope::{self, Binding, KeyRef};
use meetvault_crypto::kek::{Kek, KekContext, KekWrapped};
use meetvault_crypto::keys::SymmetricKey;
use meetvault_crypto::recipient::{self, RecipientPublic, RecipientSecret};
use meetvault_store::vault::{MeetingKeyRow, OrgKeyRow, UserKeyRow};
use uuid::Uuid;

pub use content::{MeetingKeys, SecretView, Secrets};
pub(crate) use content::{check_text, decrypt_stream, encrypt_stream};
pub use master::{
    RotationProgress, RotationReport, begin_local_master_rotation, finish_local_master_rotation,
};
pub(crate) use master::{kms_client, master_from_config};
pub use zero_access::{EncryptionStatus, RECOVERY_WARNING, RecoveryKey};

use crate::ids::{MeetingId, OrgId};
use crate::{Core, CoreError};

/// The vault's in-memory state: the master key, cached org keys, unlocked zero-access keys.
#[derive(Debug)]
pub struct Vault {
    master: Arc<dyn Kek>,
    kms: Option<meetvault_kms::AwsKms>,
    org_keys: Mutex<HashMap<(Uuid, i32), Arc<SymmetricKey>>>,
    /// Org-mode user keys and the meeting keys under them, opened recently ([`key_cache`]).
    user_keys: key_cache::KeyCache,
    meeting_keys: key_cache::KeyCache,
    unlocked: Mutex<HashMap<Uuid, Unlocked>>,
}

/// A zero-access user key, unwrapped for one session.
#[derive(Debug)]
struct Unlocked {
    user: Uuid,
    key: Arc<SymmetricKey>,
    expires_at: DateTime<Utc>,
}

pub(crate) fn bind(
    org: Uuid,
    table: &'static str,
    row: Uuid,
    field: &'static str,
) -> Binding<'static> {
    Binding {
        org: org.into_bytes(),
        table,
        row: row.into_bytes(),
        field,
    }
}

pub(crate) fn key_ref(id: Uuid, version: i32) -> KeyRef {
    KeyRef {
        id: id.into_bytes(),
        version: u32::try_from(version).unwrap_or(0),
    }
}

/// A ciphertext that does not open: a clear, content-free error.
pub(crate) fn integrity(
    what: &str,
) -> impl FnOnce(meetvault_crypto::CryptoError) -> CoreError + '_ {
    move |e| CoreError::Integrity(format!("{what}: {e}"))
}

impl Vault {
    pub(crate) fn new(master: Arc<dyn Kek>, kms: Option<meetvault_kms::AwsKms>) -> Self {
        Self {
            master,
            kms,
            org_keys: Mutex::default(),
            user_keys: key_cache::KeyCache::default(),
            meeting_keys: key_cache::KeyCache::default(),
            unlocked: Mutex::default(),
        }
    }

    pub fn master(&self) -> &Arc<dyn Kek> {
        &self.master
    }

    fn cached_org_key(&self, org: Uuid, version: i32) -> Option<Arc<SymmetricKey>> {
        self.org_keys.lock().ok()?.get(&(org, version)).cloned()
    }

    fn cache_org_key(&self, org: Uuid, version: i32, key: SymmetricKey) -> Arc<SymmetricKey> {
        let key = Arc::new(key);
        if let Ok(mut cache) = self.org_keys.lock() {
            cache.insert((org, version), key.clone());
        }
        key
    }

    pub(crate) fn forget_org_keys(&self, org: Uuid) {
        if let Ok(mut cache) = self.org_keys.lock() {
            cache.retain(|(o, _), _| *o != org);
        }
        self.user_keys.forget_org(org);
        self.meeting_keys.forget_org(org);
    }

    /// Drops a meeting's keys held here (it was shredded: no instance can look them up again,
    /// since the rows they are found by are gone; this instance also lets go of the bytes now).
    pub(crate) fn forget_meeting_keys(&self, org: Uuid, meeting: Uuid) {
        self.meeting_keys.forget(org, meeting);
    }

    /// Drops a user's key held here (their mode changed).
    pub(crate) fn forget_user_key(&self, org: Uuid, user: Uuid) {
        self.user_keys.forget(org, user);
    }

    /// How many unwrapped user and meeting keys this instance holds (for tests).
    pub fn cached_key_count(&self) -> (usize, usize) {
        (self.user_keys.len(), self.meeting_keys.len())
    }

    pub(crate) fn unlock(
        &self,
        session: Uuid,
        user: Uuid,
        key: Arc<SymmetricKey>,
        expires_at: DateTime<Utc>,
    ) {
        if let Ok(mut map) = self.unlocked.lock() {
            map.retain(|_, u| u.expires_at > Utc::now());
            map.insert(
                session,
                Unlocked {
                    user,
                    key,
                    expires_at,
                },
            );
        }
    }

    /// Drops the unlocked key of one session (logout, revoke).
    pub(crate) fn lock_session(&self, session: Uuid) {
        if let Ok(mut map) = self.unlocked.lock() {
            map.remove(&session);
        }
    }

    /// Drops every unlocked key of a user except the one of `keep`.
    pub(crate) fn lock_user(&self, user: Uuid, keep: Option<Uuid>) {
        if let Ok(mut map) = self.unlocked.lock() {
            map.retain(|session, u| u.user != user || Some(*session) == keep);
        }
    }

    /// Sessions of `user` holding an unlocked key here, newest expiry first.
    fn unlocked_sessions(&self, user: Uuid) -> Vec<(Uuid, Arc<SymmetricKey>)> {
        let now = Utc::now();
        let Ok(map) = self.unlocked.lock() else {
            return Vec::new();
        };
        let mut found: Vec<_> = map
            .iter()
            .filter(|(_, u)| u.user == user && u.expires_at > now)
            .map(|(s, u)| (*s, u.key.clone(), u.expires_at))
            .collect();
        found.sort_by_key(|(_, _, e)| std::cmp::Reverse(*e));
        found.into_iter().map(|(s, k, _)| (s, k)).collect()
    }

    /// How many zero-access keys this instance holds unlocked (for tests and metrics).
    pub fn unlocked_count(&self) -> usize {
        self.unlocked.lock().map(|m| m.len()).unwrap_or(0)
    }
}

impl Core {
    pub fn vault(&self) -> &Vault {
        &self.inner.vault
    }

    /// The master key an org's key is wrapped under: its own KMS key, or the instance's.
    async fn kek_for_org(&self, org: Uuid) -> Result<Arc<dyn Kek>, CoreError> {
        match self.db().org_kms_key(org).await? {
            Some(key_id) => Ok(Arc::new(self.org_kms(&key_id)?)),
            None => Ok(self.vault().master.clone()),
        }
    }

    /// The master key that can open `wrapped`.
    fn kek_for_wrapped(&self, wrapped: &KekWrapped) -> Result<Arc<dyn Kek>, CoreError> {
        let master = &self.vault().master;
        if wrapped.provider == master.provider()
            && (wrapped.provider == "local" || wrapped.key_id == master.current_key_id())
        {
            return Ok(master.clone());
        }
        match wrapped.provider.as_str() {
            "aws-kms" => Ok(Arc::new(self.org_kms(&wrapped.key_id)?)),
            other => Err(CoreError::KeyUnavailable(format!(
                "an org key is wrapped by the \"{other}\" master key provider, which this instance is not configured for (keys.provider)"
            ))),
        }
    }

    /// Seals `plain` under the org's newest key, bound to (org, table, row, field): a setting's
    /// secret the server must use without a user present (a webhook secret, a bucket's key).
    pub(crate) async fn seal_org_field(
        &self,
        org: Uuid,
        table: &'static str,
        row: Uuid,
        field: &'static str,
        plain: &[u8],
    ) -> Result<Vec<u8>, CoreError> {
        let (version, key) = self.org_key(org).await?;
        Ok(envelope::encrypt(
            &key,
            key_ref(org, version),
            &bind(org, table, row, field),
            plain,
        ))
    }

    /// Opens what [`Core::seal_org_field`] sealed (under whichever org key version it names).
    pub(crate) async fn open_org_field(
        &self,
        org: Uuid,
        table: &'static str,
        row: Uuid,
        field: &'static str,
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, CoreError> {
        let kref = envelope::key_ref(sealed).map_err(integrity(table))?;
        let key = self
            .org_key_version(org, i32::try_from(kref.version).unwrap_or(0))
            .await?;
        envelope::decrypt(&key, &bind(org, table, row, field), sealed).map_err(integrity(table))
    }

    /// The newest org key, created (version 1) on first use.
    pub(crate) async fn org_key(&self, org: Uuid) -> Result<(i32, Arc<SymmetricKey>), CoreError> {
        let rows = self.db().org_keys(org).await?;
        if let Some(newest) = rows.first() {
            return Ok((newest.version, self.open_org_key(newest).await?));
        }
        let kek = self.kek_for_org(org).await?;
        let context = KekContext {
            org: org.into_bytes(),
            org_key_version: 1,
        };
        let (key, wrapped) = kek.generate(&context).await.map_err(kek_error)?;
        let row = org_key_row(org, 1, wrapped);
        if self.db().insert_org_key(&row).await? {
            tracing::info!(org = %org, provider = kek.provider(), "org key created");
            return Ok((1, self.vault().cache_org_key(org, 1, key)));
        }
        // Another instance created it first: use theirs.
        let rows = self.db().org_keys(org).await?;
        let newest = rows
            .first()
            .ok_or_else(|| CoreError::Integrity("org key vanished".into()))?;
        Ok((newest.version, self.open_org_key(newest).await?))
    }

    pub(crate) async fn org_key_version(
        &self,
        org: Uuid,
        version: i32,
    ) -> Result<Arc<SymmetricKey>, CoreError> {
        if let Some(key) = self.vault().cached_org_key(org, version) {
            return Ok(key);
        }
        let rows = self.db().org_keys(org).await?;
        let row = rows
            .iter()
            .find(|r| r.version == version)
            .ok_or_else(|| CoreError::Integrity(format!("org key version {version} is missing")))?;
        self.open_org_key(row).await
    }

    async fn open_org_key(&self, row: &OrgKeyRow) -> Result<Arc<SymmetricKey>, CoreError> {
        if let Some(key) = self.vault().cached_org_key(row.org_id, row.version) {
            return Ok(key);
        }
        let wrapped = kek_wrapped(row);
        let kek = self.kek_for_wrapped(&wrapped)?;
        let context = KekContext {
            org: row.org_id.into_bytes(),
            org_key_version: u32::try_from(row.version).unwrap_or(0),
        };
        let key = kek.unwrap(&wrapped, &context).await.map_err(kek_error)?;
        Ok(self.vault().cache_org_key(row.org_id, row.version, key))
    }

    /// The user's key row, created (org mode, with an X25519 key pair) on first use.
    pub(crate) async fn user_key_row(
        &self,
        org: Uuid,
        user: Uuid,
    ) -> Result<UserKeyRow, CoreError> {
        if let Some(row) = self.db().user_key(org, user).await? {
            return Ok(row);
        }
        let (version, org_key) = self.org_key(org).await?;
        let key = SymmetricKey::generate();
        let (secret, public) = recipient::generate();
        let row = UserKeyRow {
            user_id: user,
            org_id: org,
            mode: "org".into(),
            org_key_version: Some(version),
            org_wrapped: Some(envelope::wrap_key(
                &org_key,
                key_ref(org, version),
                &bind(org, "user_keys", user, "key"),
                &key,
            )),
            password_wrapped: None,
            kdf_memory_kib: None,
            kdf_iterations: None,
            kdf_parallelism: None,
            kdf_salt: None,
            recovery_wrapped: None,
            public_key: public.as_bytes().to_vec(),
            secret_key_wrapped: envelope::encrypt(
                &key,
                key_ref(user, 1),
                &bind(org, "user_keys", user, "x25519"),
                secret.expose(),
            ),
            updated_at: Utc::now(),
        };
        self.db().insert_user_key(&row).await?;
        self.db()
            .user_key(org, user)
            .await?
            .ok_or_else(|| CoreError::Integrity("user key vanished".into()))
    }

    /// The user's key, if this instance can open it now: always for org mode; for zero-access,
    /// only while one of the user's sessions is unlocked here (and still exists).
    pub(crate) async fn user_key(
        &self,
        org: Uuid,
        user: Uuid,
    ) -> Result<Arc<SymmetricKey>, CoreError> {
        let row = self.user_key_row(org, user).await?;
        self.open_user_key(&row).await
    }

    pub(crate) async fn open_user_key(
        &self,
        row: &UserKeyRow,
    ) -> Result<Arc<SymmetricKey>, CoreError> {
        if row.mode == "org" {
            let (Some(version), Some(wrapped)) = (row.org_key_version, row.org_wrapped.as_deref())
            else {
                return Err(CoreError::Integrity(
                    "user key row has no org wrapping".into(),
                ));
            };
            let cache = &self.vault().user_keys;
            if let Some(key) = cache.get(row.org_id, row.user_id, version, wrapped) {
                return Ok(key);
            }
            let org_key = self.org_key_version(row.org_id, version).await?;
            let key = Arc::new(
                envelope::unwrap_key(
                    &org_key,
                    &bind(row.org_id, "user_keys", row.user_id, "key"),
                    wrapped,
                )
                .map_err(integrity("user key"))?,
            );
            cache.put(row.org_id, row.user_id, version, wrapped, key.clone());
            return Ok(key);
        }
        let live: Vec<Uuid> = self
            .db()
            .sessions_of(row.org_id, row.user_id)
            .await?
            .into_iter()
            .filter(|s| s.expires_at > Utc::now())
            .map(|s| s.id)
            .collect();
        for (session, key) in self.vault().unlocked_sessions(row.user_id) {
            if live.contains(&session) {
                return Ok(key);
            }
            self.vault().lock_session(session);
        }
        Err(CoreError::Locked)
    }

    fn user_secret_key(
        &self,
        row: &UserKeyRow,
        user_key: &SymmetricKey,
    ) -> Result<RecipientSecret, CoreError> {
        let bytes = envelope::decrypt(
            user_key,
            &bind(row.org_id, "user_keys", row.user_id, "x25519"),
            &row.secret_key_wrapped,
        )
        .map_err(integrity("user X25519 key"))?;
        RecipientSecret::from_bytes(&bytes).map_err(integrity("user X25519 key"))
    }

    /// The key new content of a meeting is written under. If the owner's key is locked (a
    /// zero-access owner who is away), a new key version is made and HPKE-sealed to the owner's
    /// public key: the server can write with it now but cannot open it again later.
    pub(crate) async fn meeting_write_key(
        &self,
        org: Uuid,
        meeting: Uuid,
        owner: Uuid,
    ) -> Result<(KeyRef, SymmetricKey), CoreError> {
        let row = self.user_key_row(org, owner).await?;
        let binding = bind(org, "meeting_keys", meeting, "dek");
        let user_key = match self.open_user_key(&row).await {
            Ok(key) => Some(key),
            Err(CoreError::Locked) => None,
            Err(e) => return Err(e),
        };
        if let Some(user_key) = &user_key {
            let keys = self.db().meeting_keys(org, meeting).await?;
            if let Some(newest) = keys.last() {
                let key = self.open_meeting_key(&row, user_key, newest)?;
                return Ok((key_ref(meeting, newest.version), key));
            }
        }
        let dek = SymmetricKey::generate();
        let (wrap, wrapped) = match &user_key {
            Some(user_key) => (
                "user",
                envelope::wrap_key(user_key, key_ref(owner, 1), &binding, &dek),
            ),
            None => {
                let public = RecipientPublic::from_bytes(&row.public_key)
                    .map_err(integrity("user public key"))?;
                let sealed =
                    recipient::seal(&public, &binding.encode(), b"meeting-key", dek.expose())
                        .map_err(integrity("sealing a meeting key"))?;
                ("sealed", sealed)
            }
        };
        let version = self
            .db()
            .add_meeting_key(&MeetingKeyRow {
                meeting_id: meeting,
                version: 0,
                org_id: org,
                owner_id: owner,
                wrap: wrap.into(),
                wrapped,
                created_at: Utc::now(),
            })
            .await?;
        Ok((key_ref(meeting, version), dek))
    }

    fn open_meeting_key(
        &self,
        owner: &UserKeyRow,
        user_key: &SymmetricKey,
        row: &MeetingKeyRow,
    ) -> Result<SymmetricKey, CoreError> {
        let binding = bind(row.org_id, "meeting_keys", row.meeting_id, "dek");
        match row.wrap.as_str() {
            "user" => envelope::unwrap_key(user_key, &binding, &row.wrapped)
                .map_err(integrity("meeting key")),
            "sealed" => {
                let secret = self.user_secret_key(owner, user_key)?;
                let bytes =
                    recipient::open(&secret, &binding.encode(), b"meeting-key", &row.wrapped)
                        .map_err(integrity("sealed meeting key"))?;
                let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    CoreError::Integrity("sealed meeting key is not 32 bytes".into())
                })?;
                Ok(SymmetricKey::from_bytes(array))
            }
            other => Err(CoreError::Integrity(format!(
                "unknown meeting key wrapping {other:?}"
            ))),
        }
    }

    /// The keys to read a meeting's content on behalf of `scope`. Zero-access content is its
    /// owner's alone: while the owner is signed in, only the owner's own credentials (their
    /// sessions, and the API and support keys they made) can read it; org admins, viewers and
    /// every other user's keys get `ZeroAccessOwnerOnly`, unlocked or not.
    pub(crate) async fn meeting_keys_for<P: crate::access::proof::WorkspaceScoped>(
        &self,
        scope: &crate::access::Scope<P>,
        row: &meetvault_store::vault::MeetingRow,
    ) -> Result<MeetingKeys, CoreError> {
        self.check_content_reader(scope, row).await?;
        self.meeting_read_keys(row.org_id, row.id, row.owner_id)
            .await
    }

    /// The zero-access rule of [`meeting_keys_for`](Self::meeting_keys_for) alone, without
    /// opening any key (for event streams, which carry content too).
    pub(crate) async fn check_content_reader<P: crate::access::proof::WorkspaceScoped>(
        &self,
        scope: &crate::access::Scope<P>,
        row: &meetvault_store::vault::MeetingRow,
    ) -> Result<(), CoreError> {
        if scope.user_id().uuid() != row.owner_id
            && self
                .db()
                .user_key(row.org_id, row.owner_id)
                .await?
                .is_some_and(|k| k.mode == "zero_access")
        {
            return Err(CoreError::ZeroAccessOwnerOnly);
        }
        Ok(())
    }

    /// Every key version of a meeting, for reading. `Locked` while a zero-access owner is away;
    /// `Integrity` once the meeting has been shredded.
    pub(crate) async fn meeting_read_keys(
        &self,
        org: Uuid,
        meeting: Uuid,
        owner: Uuid,
    ) -> Result<MeetingKeys, CoreError> {
        // One statement for the owner's key and the meeting's; a meeting with keys always has
        // an owner with one (it wrapped them).
        let Some((owner_row, rows)) = self
            .db()
            .owner_key_with_meeting_keys(org, owner, meeting)
            .await?
        else {
            return Ok(MeetingKeys::empty(meeting));
        };
        if rows.is_empty() {
            return Ok(MeetingKeys::empty(meeting));
        }
        if let Some(keys) = self.cached_meeting_keys(&owner_row, &rows) {
            return Ok(MeetingKeys::new(meeting, keys));
        }
        let user_key = self.open_user_key(&owner_row).await?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            keys.push((
                key_ref(meeting, row.version),
                self.open_meeting_key_cached(&owner_row, &user_key, row)?,
            ));
        }
        Ok(MeetingKeys::new(meeting, keys))
    }

    /// Every version of a meeting's key from the cache, found by the rows just read; `None` if
    /// any is missing, or the owner is not in org mode (zero-access keys are never cached).
    fn cached_meeting_keys(
        &self,
        owner: &UserKeyRow,
        rows: &[MeetingKeyRow],
    ) -> Option<Vec<(KeyRef, Arc<SymmetricKey>)>> {
        if owner.mode != "org" {
            return None;
        }
        let cache = &self.vault().meeting_keys;
        rows.iter()
            .map(|r| {
                (r.wrap == "user")
                    .then(|| cache.get(r.org_id, r.meeting_id, r.version, &r.wrapped))
                    .flatten()
                    .map(|k| (key_ref(r.meeting_id, r.version), k))
            })
            .collect()
    }

    /// [`open_meeting_key`](Self::open_meeting_key), held in the cache when its owner is in
    /// org mode and it is wrapped under their key.
    fn open_meeting_key_cached(
        &self,
        owner: &UserKeyRow,
        user_key: &SymmetricKey,
        row: &MeetingKeyRow,
    ) -> Result<Arc<SymmetricKey>, CoreError> {
        let key = Arc::new(self.open_meeting_key(owner, user_key, row)?);
        if owner.mode == "org" && row.wrap == "user" {
            self.vault().meeting_keys.put(
                row.org_id,
                row.meeting_id,
                row.version,
                &row.wrapped,
                key.clone(),
            );
        }
        Ok(key)
    }

    /// [`meeting_keys_for`](Self::meeting_keys_for) for a page of meetings at a fixed cost: one
    /// statement for every meeting's key versions, one for their owners' key rows, each owner's
    /// key opened once. Per meeting, its keys or why they stay shut (`Locked`,
    /// `ZeroAccessOwnerOnly`); a failure to read at all is the whole call's.
    pub(crate) async fn meeting_keys_for_page<P: crate::access::proof::WorkspaceScoped>(
        &self,
        scope: &crate::access::Scope<P>,
        rows: &[meetvault_store::vault::MeetingRow],
    ) -> Result<Vec<Result<MeetingKeys, CoreError>>, CoreError> {
        let org = scope.org_id().uuid();
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut owners: Vec<Uuid> = rows.iter().map(|r| r.owner_id).collect();
        owners.sort_unstable();
        owners.dedup();
        let mut key_rows: HashMap<Uuid, Vec<MeetingKeyRow>> = HashMap::new();
        for row in self.db().meeting_keys_of(org, &ids).await? {
            key_rows.entry(row.meeting_id).or_default().push(row);
        }
        let owner_rows: HashMap<Uuid, UserKeyRow> = self
            .db()
            .user_keys_of(org, &owners)
            .await?
            .into_iter()
            .map(|r| (r.user_id, r))
            .collect();
        // Each owner's key, opened once: `None` while a zero-access owner is away.
        let mut opened: HashMap<Uuid, Option<Arc<SymmetricKey>>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let owner_row = owner_rows.get(&row.owner_id);
            if scope.user_id().uuid() != row.owner_id
                && owner_row.is_some_and(|k| k.mode == "zero_access")
            {
                out.push(Err(CoreError::ZeroAccessOwnerOnly));
                continue;
            }
            let Some(versions) = key_rows.get(&row.id) else {
                out.push(Ok(MeetingKeys::empty(row.id)));
                continue;
            };
            let Some(owner_row) = owner_row else {
                // Keys without their owner's key row: the one-meeting path says why.
                out.push(self.meeting_read_keys(org, row.id, row.owner_id).await);
                continue;
            };
            if let Some(keys) = self.cached_meeting_keys(owner_row, versions) {
                out.push(Ok(MeetingKeys::new(row.id, keys)));
                continue;
            }
            let user_key = match opened.get(&row.owner_id) {
                Some(key) => key.clone(),
                None => {
                    let key = match self.open_user_key(owner_row).await {
                        Ok(key) => Some(key),
                        Err(CoreError::Locked) => None,
                        Err(e) => return Err(e),
                    };
                    opened.insert(row.owner_id, key.clone());
                    key
                }
            };
            let Some(user_key) = user_key else {
                out.push(Err(CoreError::Locked));
                continue;
            };
            let mut keys = Vec::with_capacity(versions.len());
            for v in versions {
                keys.push((
                    key_ref(row.id, v.version),
                    self.open_meeting_key_cached(owner_row, &user_key, v)?,
                ));
            }
            out.push(Ok(MeetingKeys::new(row.id, keys)));
        }
        Ok(out)
    }
}

/// Encryption at rest as operators and users manage it (`core.encryption()`): the org's
/// encryption status and KMS key, zero-access mode and its recovery, key rotation, and
/// crypto-shredding a meeting.
#[derive(Debug, Clone, Copy)]
pub struct Encryption<'a> {
    pub(crate) core: &'a Core,
}

impl Encryption<'_> {
    /// Crypto-shredding: destroys every key version of a meeting, so each of its ciphertexts —
    /// in this database, in backups, in blob versions — is unreadable. Idempotent.
    pub(crate) async fn shred_meeting_keys(
        self,
        org: OrgId,
        meeting: MeetingId,
    ) -> Result<u64, CoreError> {
        let destroyed = self
            .core
            .db()
            .destroy_meeting_keys(org.uuid(), meeting.uuid())
            .await?;
        self.core
            .vault()
            .forget_meeting_keys(org.uuid(), meeting.uuid());
        Ok(destroyed)
    }
}

fn org_key_row(org: Uuid, version: i32, wrapped: KekWrapped) -> OrgKeyRow {
    OrgKeyRow {
        org_id: org,
        version,
        kek_provider: wrapped.provider,
        kek_key_id: wrapped.key_id,
        kek_version: i32::try_from(wrapped.version).unwrap_or(i32::MAX),
        wrapped: wrapped.ciphertext,
        created_at: Utc::now(),
    }
}

fn kek_wrapped(row: &OrgKeyRow) -> KekWrapped {
    KekWrapped {
        provider: row.kek_provider.clone(),
        key_id: row.kek_key_id.clone(),
        version: u32::try_from(row.kek_version).unwrap_or(0),
        ciphertext: row.wrapped.clone(),
    }
}

pub(crate) fn kek_error(e: meetvault_crypto::kek::KekError) -> CoreError {
    tracing::error!(error = %e, "master key operation failed");
    CoreError::KeyUnavailable(e.to_string())
}
