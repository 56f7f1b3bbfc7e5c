//! Deletion certificates (`core.certificates()`): every deletion ends in one, signed with the
//! instance's Ed25519 audit key and its HMAC certificate secret, its hash appended to the audit
//! Merkle log and covered by a signed checkpoint at once, so it verifies offline and cannot be
//! altered or withdrawn unnoticed. The document and its offline check are `document`.
//!
//! A deletion writes its certificate row first (pending, with what it counted), then deletes,
//! then issues: a deletion a crash cut off is finished — and certified once — when it is
//! retried, or by the sweeper ([`Core::finish_pending_deletions`]).

pub(crate) mod bucket;
pub mod document;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use meetvault_crypto::keys;
use meetvault_crypto::merkle;
use meetvault_store::StoreError;
use meetvault_store::certificates::{CertificateRow, IssuedCertificate};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::access::Actor;
use crate::access::Scope;
use crate::access::proof::AuditRead;
use crate::audit::{AuditAction, Event, Outcome};
use crate::ids::{CertificateId, OrgId};
use crate::{Core, CoreError};

pub use document::{
    Certificate, Checks, Deleted, DestroyedKey, Envelope, Inclusion, Issuer, Retained, Signatures,
    Subject,
};

/// An issued certificate as the API shows it: the envelope, and what the instance's own checks
/// of it found just now (so a row altered in the database shows as failing).
#[derive(Debug, Clone)]
pub struct CertificateView {
    pub id: CertificateId,
    pub org_id: OrgId,
    pub subject_kind: String,
    pub subject_id: Uuid,
    pub issued_at: DateTime<Utc>,
    pub envelope: Envelope,
    pub checks: Checks,
}

/// The certificates service.
#[derive(Debug, Clone, Copy)]
pub struct Certificates<'a> {
    pub(crate) core: &'a Core,
}

impl Certificates<'_> {
    /// Any certificate by id, for the public verification route: a certificate holds ids,
    /// counts and hashes, never content. A deletion still in progress is "not found" yet.
    pub async fn public(self, id: CertificateId) -> Result<CertificateView, CoreError> {
        let row = self
            .core
            .db()
            .certificate(id.uuid())
            .await?
            .filter(|r| r.state == "issued")
            .ok_or(CoreError::NotFound("certificate"))?;
        self.core.certificate_view(&row).await
    }

    /// One of the org's certificates.
    pub async fn get(
        self,
        scope: &Scope<AuditRead>,
        id: CertificateId,
    ) -> Result<CertificateView, CoreError> {
        let row = self
            .core
            .db()
            .certificate(id.uuid())
            .await?
            .filter(|r| r.state == "issued" && r.org_id == scope.org_id().uuid())
            .ok_or(CoreError::NotFound("certificate"))?;
        self.core.certificate_view(&row).await
    }

    /// The org's certificates, newest first; `before` continues a page.
    pub async fn list(
        self,
        scope: &Scope<AuditRead>,
        before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<CertificateView>, CoreError> {
        let rows = self
            .core
            .db()
            .certificates(
                scope.org_id().uuid(),
                before.map(|t| t.timestamp_millis()),
                i64::from(limit.clamp(1, 200)),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.core.certificate_view(&row).await?);
        }
        Ok(out)
    }
}

/// What every certificate keeps: itself.
pub(crate) fn this_certificate_kept() -> Retained {
    Retained {
        kind: "certificate".into(),
        count: Some(1),
        reason: "this certificate, which holds ids, counts and hashes only, outlives the data and the account".into(),
    }
}

/// The audit entries a deletion that erases no audit subject keeps.
pub(crate) fn audit_entries_kept() -> Retained {
    Retained {
        kind: "audit_entries".into(),
        count: None,
        reason: "the append-only audit log keeps what was done (ids and actions, no content)"
            .into(),
    }
}

/// A fresh subject salt.
pub(crate) fn fresh_salt() -> [u8; 16] {
    use rand::RngCore as _;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    salt
}

impl Core {
    /// Writes the pending certificate of a deletion about to start (or finds the one a
    /// cut-off deletion of the same subject wrote): `draft` is what it counted, ids and
    /// counts only.
    pub(crate) async fn begin_certificate(
        &self,
        org: Uuid,
        subject_kind: &str,
        subject_id: Uuid,
        draft: &impl serde::Serialize,
    ) -> Result<CertificateRow, CoreError> {
        let pending = CertificateRow {
            id: Uuid::new_v4(),
            org_id: org,
            subject_kind: subject_kind.into(),
            subject_id,
            state: "pending".into(),
            draft: Some(serde_json::to_string(draft).map_err(CoreError::internal)?),
            body: None,
            ed25519: None,
            hmac: None,
            digest: None,
            audit_seq: None,
            inclusion: None,
            created_at: Utc::now().timestamp_millis(),
            issued_at: None,
        };
        Ok(self.db().begin_certificate(&pending).await?)
    }

    /// The issuer block of this instance's certificates.
    pub(crate) fn certificate_issuer(&self) -> Issuer {
        let verifier = self.signer().verifier();
        Issuer {
            url: self
                .config()
                .server
                .public_url
                .as_ref()
                .map(|u| u.as_str().trim_end_matches('/').to_owned()),
            origin: self.signer().origin().to_owned(),
            key_name: verifier.name().to_owned(),
            key_id: format!("{:08x}", verifier.key_id()),
        }
    }

    /// Signs and issues a pending certificate: both signatures over the canonical bytes, a
    /// `certificate.issue` audit entry committing to their SHA-256, a checkpoint covering it
    /// (a deletion is a write; the proof is ready with the answer), then the row.
    pub(crate) async fn issue_certificate(
        &self,
        row: &CertificateRow,
        actor: Actor,
        certificate: &Certificate,
    ) -> Result<CertificateView, CoreError> {
        let value = serde_json::to_value(certificate).map_err(CoreError::internal)?;
        let bytes =
            document::canonical(&value).map_err(|e| CoreError::internal(StoreError::Corrupt(e)))?;
        let digest: [u8; 32] = Sha256::digest(bytes.as_bytes()).into();
        let ed25519 = self.signer().sign_bytes(bytes.as_bytes());
        let hmac = keys::hmac_sha256(&self.keys().certificate_mac, bytes.as_bytes());
        let mut event = Event::new(AuditAction::CertificateIssue, actor, Outcome::Success);
        event.org_id = Some(OrgId::from(row.org_id));
        event.resource = Some(certificate.id.clone());
        event.digest = Some(digest);
        let seq = self.audit(event).await?;
        self.sign_checkpoint_if_grown().await?;
        let inclusion = self
            .certificate_inclusion(row.org_id, seq)
            .await?
            .ok_or_else(|| {
                CoreError::internal(StoreError::Corrupt(
                    "no checkpoint covers the certificate just logged".into(),
                ))
            })?;
        let issued = IssuedCertificate {
            body: bytes,
            ed25519: ed25519.to_vec(),
            hmac: hmac.to_vec(),
            digest: digest.to_vec(),
            audit_seq: seq,
            inclusion: serde_json::to_string(&inclusion).map_err(CoreError::internal)?,
            issued_at: Utc::now().timestamp_millis(),
        };
        self.db().issue_certificate(row.id, &issued).await?;
        let row = self.db().certificate(row.id).await?.ok_or_else(|| {
            CoreError::internal(StoreError::Corrupt("certificate vanished".into()))
        })?;
        self.certificate_view(&row).await
    }

    /// The envelope of an issued row, with the inclusion proof stored when it was issued (no
    /// walk of the log: the public route costs a row read), and the instance's own checks of it
    /// (signature, HMAC, proof).
    pub(crate) async fn certificate_view(
        &self,
        row: &CertificateRow,
    ) -> Result<CertificateView, CoreError> {
        let corrupt = |what: &str| {
            CoreError::internal(StoreError::Corrupt(format!(
                "certificate {}: {what}",
                row.id
            )))
        };
        let body = row.body.as_deref().ok_or_else(|| corrupt("no body"))?;
        let certificate: serde_json::Value =
            serde_json::from_str(body).map_err(|_| corrupt("body is not JSON"))?;
        let inclusion: Option<Inclusion> = match row.inclusion.as_deref() {
            Some(text) => Some(serde_json::from_str(text).map_err(|_| corrupt("bad inclusion"))?),
            None => None,
        };
        let verifier = self.signer().verifier();
        let envelope = Envelope {
            certificate,
            digest: hex::encode(row.digest.as_deref().unwrap_or_default()),
            signatures: Signatures {
                ed25519: STANDARD.encode(row.ed25519.as_deref().unwrap_or_default()),
                hmac_sha256: hex::encode(row.hmac.as_deref().unwrap_or_default()),
            },
            public_key: STANDARD.encode(verifier.public_key()),
            inclusion,
        };
        let checks = document::verify(
            &envelope,
            &verifier,
            None,
            Some(&self.keys().certificate_mac),
        );
        Ok(CertificateView {
            id: CertificateId::from(row.id),
            org_id: OrgId::from(row.org_id),
            subject_kind: row.subject_kind.clone(),
            subject_id: row.subject_id,
            issued_at: row
                .issued_at
                .and_then(DateTime::from_timestamp_millis)
                .unwrap_or_default(),
            envelope,
            checks,
        })
    }

    /// The inclusion proof of audit entry `seq` against the latest signed checkpoint (none
    /// when no checkpoint covers it yet).
    async fn certificate_inclusion(
        &self,
        org: Uuid,
        seq: i64,
    ) -> Result<Option<Inclusion>, CoreError> {
        let Some(cp) = self.db().latest_checkpoint().await? else {
            return Ok(None);
        };
        if cp.tree_size < seq {
            return Ok(None);
        }
        let Some(entry) = self.db().audit_entry(org, seq).await? else {
            return Ok(None);
        };
        let leaves = self.leaves(cp.tree_size).await?;
        let index = u64::try_from(seq - 1).unwrap_or(0);
        let Some(proof) = merkle::inclusion_proof(&leaves, index) else {
            return Ok(None);
        };
        Ok(Some(Inclusion {
            seq,
            leaf_index: index,
            entry: entry.entry,
            tree_size: u64::try_from(cp.tree_size).unwrap_or(0),
            root_hash: hex::encode(&cp.root_hash),
            proof: proof.iter().map(hex::encode).collect(),
            checkpoint: cp.note,
        }))
    }
}
