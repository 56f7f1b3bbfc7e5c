//! Master keys: building the configured provider, the AWS KMS adapter, an org's own KMS key,
//! and rotation (master and org keys) by re-wrapping children, never re-encrypting content.

use std::collections::BTreeMap;
use std::sync::Arc;

use meetvault_config::{Config, KeyProvider};
use meetvault_crypto::envelope;
use meetvault_crypto::kek::{Kek, KekContext, KekError, KekWrapped, LocalKek};
use meetvault_crypto::keys::SymmetricKey;
use meetvault_kms::{AwsKms, AwsKmsSettings, KmsError};
use meetvault_store::keyfile;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{bind, integrity, kek_error, kek_wrapped, key_ref, org_key_row};
use crate::access::Scope;
use crate::access::proof::OrgManage;
use crate::audit::AuditAction;
use crate::audit::Event;
use crate::ids::OrgId;
use crate::{Core, CoreError};

/// AWS KMS (or a KMS-compatible API) as a master key: org keys come from GenerateDataKey and
/// are opened with Decrypt, bound to the org by an encryption context.
#[derive(Debug, Clone)]
pub(crate) struct AwsKmsKek {
    client: AwsKms,
    key_id: String,
}

fn context(ctx: &KekContext) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "meetvault:org".to_owned(),
            Uuid::from_bytes(ctx.org).to_string(),
        ),
        (
            "meetvault:org-key-version".to_owned(),
            ctx.org_key_version.to_string(),
        ),
    ])
}

fn kms_error(e: KmsError) -> KekError {
    match e {
        KmsError::Unreachable(m) | KmsError::Config(m) => {
            KekError::Unavailable(format!("AWS KMS: {m}"))
        }
        other => KekError::Rejected(format!("AWS KMS: {other}")),
    }
}

#[async_trait::async_trait]
impl Kek for AwsKmsKek {
    fn provider(&self) -> &'static str {
        "aws-kms"
    }
    fn current_key_id(&self) -> String {
        self.key_id.clone()
    }
    fn current_version(&self) -> u32 {
        0
    }
    async fn generate(&self, ctx: &KekContext) -> Result<(SymmetricKey, KekWrapped), KekError> {
        let data = self
            .client
            .generate_data_key(&self.key_id, &context(ctx))
            .await
            .map_err(kms_error)?;
        let key = SymmetricKey::from_bytes(*data.plaintext);
        let wrapped = KekWrapped {
            provider: "aws-kms".into(),
            key_id: self.key_id.clone(),
            version: 0,
            ciphertext: data.ciphertext,
        };
        Ok((key, wrapped))
    }
    async fn wrap(&self, key: &SymmetricKey, ctx: &KekContext) -> Result<KekWrapped, KekError> {
        let ciphertext = self
            .client
            .encrypt(&self.key_id, key.expose(), &context(ctx))
            .await
            .map_err(kms_error)?;
        Ok(KekWrapped {
            provider: "aws-kms".into(),
            key_id: self.key_id.clone(),
            version: 0,
            ciphertext,
        })
    }
    async fn unwrap(
        &self,
        wrapped: &KekWrapped,
        ctx: &KekContext,
    ) -> Result<SymmetricKey, KekError> {
        let plain = self
            .client
            .decrypt(&wrapped.ciphertext, Some(&wrapped.key_id), &context(ctx))
            .await
            .map_err(kms_error)?;
        let array: [u8; 32] = plain.as_slice().try_into().map_err(|_| {
            KekError::Rejected("AWS KMS returned a key that is not 32 bytes".into())
        })?;
        Ok(SymmetricKey::from_bytes(array))
    }
}

/// The KMS client from `[keys.aws_kms]`, if configured.
pub(crate) fn kms_client(config: &Config) -> Result<Option<AwsKms>, CoreError> {
    let Some(k) = &config.keys.aws_kms else {
        return Ok(None);
    };
    let settings = AwsKmsSettings {
        endpoint: k.endpoint.clone(),
        region: k.region.clone(),
        access_key_id: k
            .access_key_id
            .as_ref()
            .map(|s| s.expose().to_owned())
            .unwrap_or_default(),
        secret_access_key: Zeroizing::new(
            k.secret_access_key
                .as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
        ),
        session_token: k
            .session_token
            .as_ref()
            .map(|s| Zeroizing::new(s.expose().to_owned())),
    };
    AwsKms::new(settings)
        .map(Some)
        .map_err(|e| CoreError::KeyUnavailable(format!("keys.aws_kms: {e}")))
}

/// Builds the configured master key: the local key file (generated on first start) or the
/// given key, or AWS KMS.
pub(crate) fn master_from_config(
    config: &Config,
    kms: Option<&AwsKms>,
) -> Result<Arc<dyn Kek>, CoreError> {
    match config.keys.provider {
        KeyProvider::Local => {
            let versions = match &config.keys.master_key {
                Some(hex_key) => {
                    let bytes =
                        Zeroizing::new(hex::decode(hex_key.expose().trim()).unwrap_or_default());
                    let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                        CoreError::KeyUnavailable(
                            "keys.master_key must be 64 hex digits (a 256-bit key)".into(),
                        )
                    })?;
                    vec![(1, SymmetricKey::from_bytes(array))]
                }
                None => keyfile::load_or_generate_versioned(&config.master_key_path())?
                    .into_iter()
                    .map(|(v, k)| (v, SymmetricKey::from_bytes(*k.expose())))
                    .collect(),
            };
            Ok(Arc::new(LocalKek::new(versions).map_err(kek_error)?))
        }
        KeyProvider::AwsKms => {
            let client = kms
                .cloned()
                .ok_or_else(|| CoreError::KeyUnavailable("[keys.aws_kms] is missing".into()))?;
            let key_id = config
                .keys
                .aws_kms
                .as_ref()
                .and_then(|k| k.key_id.clone())
                .ok_or_else(|| {
                    CoreError::KeyUnavailable("keys.aws_kms.key_id is missing".into())
                })?;
            Ok(Arc::new(AwsKmsKek { client, key_id }))
        }
    }
}

/// Adds a new local master key version before a rotation (unless one is already pending);
/// returns the versions now in the file. Refuses a key given in configuration.
pub fn begin_local_master_rotation(config: &Config) -> Result<Vec<u32>, CoreError> {
    if config.keys.master_key.is_some() {
        return Err(CoreError::NotAllowed(
            "the master key is given in configuration (keys.master_key); put it in a key file (keys.master_key_file) to rotate it here".into(),
        ));
    }
    let path = config.master_key_path();
    let keys = keyfile::load_or_generate_versioned(&path)?;
    if keys.len() > 1 {
        return Ok(keys.iter().map(|(v, _)| *v).collect());
    }
    let next = keys.last().map_or(1, |(v, _)| v + 1);
    let fresh = keyfile::KeyMaterial::random();
    let mut all: Vec<(u32, &keyfile::KeyMaterial)> = keys.iter().map(|(v, k)| (*v, k)).collect();
    all.push((next, &fresh));
    keyfile::write_versioned(&path, &all)?;
    Ok(all.iter().map(|(v, _)| *v).collect())
}

/// Drops every local master key version but the newest once nothing uses them.
pub fn finish_local_master_rotation(config: &Config) -> Result<(), CoreError> {
    let path = config.master_key_path();
    let keys = keyfile::load_or_generate_versioned(&path)?;
    if let Some((v, k)) = keys.last() {
        keyfile::write_versioned(&path, &[(*v, k)])?;
    }
    Ok(())
}

/// Where a rotation stands, for a progress bar.
pub trait RotationProgress: Send + Sync {
    fn update(&self, done: u64, total: u64);
}

impl<F: Fn(u64, u64) + Send + Sync> RotationProgress for F {
    fn update(&self, done: u64, total: u64) {
        self(done, total)
    }
}

/// What a rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RotationReport {
    /// Keys re-wrapped by this run.
    pub rewrapped: u64,
    /// Keys already under the target (done by an interrupted earlier run, or never old).
    pub already_current: u64,
    /// Old versions deleted at the end.
    pub retired: u64,
}

impl Core {
    pub(crate) fn org_kms(&self, key_id: &str) -> Result<AwsKmsKek, CoreError> {
        let client = self.vault().kms.clone().ok_or_else(|| {
            CoreError::KeyUnavailable(
                "this org's key is in AWS KMS, but [keys.aws_kms] is not configured".into(),
            )
        })?;
        Ok(AwsKmsKek {
            client,
            key_id: key_id.to_owned(),
        })
    }

    async fn rewrap_org_key_row(
        &self,
        row: &meetvault_store::vault::OrgKeyRow,
        target: &dyn Kek,
    ) -> Result<(), CoreError> {
        let wrapped = kek_wrapped(row);
        let context = KekContext {
            org: row.org_id.into_bytes(),
            org_key_version: u32::try_from(row.version).unwrap_or(0),
        };
        let key = self
            .kek_for_wrapped(&wrapped)?
            .unwrap(&wrapped, &context)
            .await
            .map_err(kek_error)?;
        let rewrapped = target.wrap(&key, &context).await.map_err(kek_error)?;
        self.db()
            .rewrap_org_key(&org_key_row(row.org_id, row.version, rewrapped))
            .await?;
        Ok(())
    }
}

impl super::Encryption<'_> {
    /// Re-wraps every org key that is not under the current master key (orgs with their own KMS
    /// key keep it). Content is untouched. Safe to interrupt and re-run.
    pub async fn rotate_master(
        self,
        progress: &dyn RotationProgress,
    ) -> Result<RotationReport, CoreError> {
        let rows = self.core.db().all_org_keys().await?;
        let total = rows.len() as u64;
        let mut report = RotationReport::default();
        for (i, row) in rows.iter().enumerate() {
            let target = self.core.kek_for_org(row.org_id).await?;
            let wrapped = kek_wrapped(row);
            if target.is_current(&wrapped) {
                report.already_current += 1;
            } else {
                self.core.rewrap_org_key_row(row, &*target).await?;
                report.rewrapped += 1;
            }
            progress.update(i as u64 + 1, total);
        }
        Ok(report)
    }

    /// Rotates an org's key: a new version, every user key re-wrapped under it, then the old
    /// versions deleted. Re-running after an interruption finishes the same rotation.
    pub async fn rotate_org_key(
        self,
        org: OrgId,
        progress: &dyn RotationProgress,
    ) -> Result<RotationReport, CoreError> {
        let org = org.uuid();
        let rows = self.core.db().org_keys(org).await?;
        let target = match rows.as_slice() {
            [] => self.core.org_key(org).await?.0,
            [only] => {
                let version = only.version + 1;
                let kek = self.core.kek_for_org(org).await?;
                let context = KekContext {
                    org: org.into_bytes(),
                    org_key_version: u32::try_from(version).unwrap_or(0),
                };
                let (_, wrapped) = kek.generate(&context).await.map_err(kek_error)?;
                self.core
                    .db()
                    .insert_org_key(&org_key_row(org, version, wrapped))
                    .await?;
                version
            }
            // More than one version: an earlier rotation was interrupted; finish it.
            [newest, ..] => newest.version,
        };
        let target_key = self.core.org_key_version(org, target).await?;
        let users = self.core.db().user_keys_before(org, target).await?;
        let total = users.len() as u64;
        let mut report = RotationReport::default();
        for (i, row) in users.iter().enumerate() {
            let (Some(version), Some(wrapped)) = (row.org_key_version, row.org_wrapped.as_deref())
            else {
                continue;
            };
            let binding = bind(org, "user_keys", row.user_id, "key");
            let old = self.core.org_key_version(org, version).await?;
            let key =
                envelope::unwrap_key(&old, &binding, wrapped).map_err(integrity("user key"))?;
            let mut next = row.clone();
            next.org_key_version = Some(target);
            next.org_wrapped = Some(envelope::wrap_key(
                &target_key,
                key_ref(org, target),
                &binding,
                &key,
            ));
            next.updated_at = chrono::Utc::now();
            if self
                .core
                .db()
                .rewrap_user_key(&next, row.updated_at)
                .await?
            {
                report.rewrapped += 1;
            }
            progress.update(i as u64 + 1, total);
        }
        // Content sealed directly under the org key moves too, before the old versions go.
        self.core.reseal_org_glossary(org, target).await?;
        report.retired = self.core.db().retire_org_keys(org, target).await?;
        self.core.vault().forget_org_keys(org);
        Ok(report)
    }

    /// Every org id with a key (for `keys rotate-org --all`).
    pub async fn orgs_with_keys(self) -> Result<Vec<OrgId>, CoreError> {
        let mut orgs: Vec<OrgId> = self
            .core
            .db()
            .all_org_keys()
            .await?
            .into_iter()
            .map(|r| OrgId::from(r.org_id))
            .collect();
        orgs.dedup();
        Ok(orgs)
    }

    /// Whether this server can use an org's own KMS key (`[keys.aws_kms]` is configured), and
    /// the key the org brought, if any.
    pub async fn org_kms_key(
        self,
        scope: &Scope<OrgManage>,
    ) -> Result<(bool, Option<String>), CoreError> {
        let key = self.core.db().org_kms_key(scope.org_id().uuid()).await?;
        Ok((self.core.vault().kms.is_some(), key))
    }

    /// Brings (or, with `None`, gives back) the org's own KMS key: the key is tried first, then
    /// every org key version is re-wrapped under it. Owner only (checked by the caller's scope).
    pub async fn set_org_kms_key(
        self,
        scope: &Scope<OrgManage>,
        key_id: Option<String>,
    ) -> Result<(), CoreError> {
        let org = scope.org_id().uuid();
        if let Some(key_id) = &key_id {
            if key_id.trim().is_empty() || key_id.len() > 2048 {
                return Err(CoreError::invalid(
                    "kms_key_id",
                    "must be a KMS key id, alias or ARN",
                ));
            }
            let kek = self.core.org_kms(key_id)?;
            let probe = KekContext {
                org: org.into_bytes(),
                org_key_version: 0,
            };
            let (key, wrapped) = kek.generate(&probe).await.map_err(|e| {
                CoreError::invalid("kms_key_id", format!("meetvault cannot use this key: {e}"))
            })?;
            let back = kek.unwrap(&wrapped, &probe).await.map_err(|e| {
                CoreError::invalid(
                    "kms_key_id",
                    format!("meetvault cannot decrypt with this key: {e}"),
                )
            })?;
            if !meetvault_crypto::keys::ct_eq(key.expose(), back.expose()) {
                return Err(CoreError::invalid(
                    "kms_key_id",
                    "the key did not round-trip",
                ));
            }
        }
        self.core.org_key(org).await?;
        self.core
            .db()
            .set_org_kms_key(org, key_id.as_deref())
            .await?;
        let target = self.core.kek_for_org(org).await?;
        for row in self.core.db().org_keys(org).await? {
            if !target.is_current(&kek_wrapped(&row)) {
                self.core.rewrap_org_key_row(&row, &*target).await?;
            }
        }
        let mut event = Event::by(scope, AuditAction::EncryptionOrgKmsKey);
        event.reason = Some(if key_id.is_some() { "set" } else { "cleared" });
        self.core.audit(event).await?;
        Ok(())
    }
}
