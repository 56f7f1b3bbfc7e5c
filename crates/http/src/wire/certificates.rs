//! Deletion certificates as the API returns them: the envelope `meetvault certificate verify`
//! reads (the certificate, its digest, signatures, the signing key and the audit inclusion
//! proof), with the id and what the instance's own checks found.

use chrono::{DateTime, Utc};
use meetvault_core::certificates::{CertificateView, Inclusion, Signatures};
use serde::Serialize;
use utoipa::ToSchema;

use super::ids;

/// A deletion certificate and the proof that the audit log holds it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateEnvelope {
    #[schema(value_type = ids::CertificateId)]
    pub id: meetvault_core::ids::CertificateId,
    pub issued_at: DateTime<Utc>,
    /// The signed document, exactly as signed: its RFC 8785 canonical JSON is what both
    /// signatures cover.
    #[schema(value_type = CertificateBody)]
    pub certificate: serde_json::Value,
    /// Hex SHA-256 of the canonical bytes (the audit entry commits to it).
    pub digest: String,
    pub signatures: CertificateSignatures,
    /// The raw Ed25519 public key, base64; trust the one at
    /// `/.well-known/meetvault-signing-key`, not this copy.
    pub public_key: String,
    /// The `certificate.issue` audit entry and its inclusion proof against the checkpoint
    /// signed when the certificate was issued (later checkpoints are consistent with it:
    /// `GET /api/v1/audit/checkpoint`, `meetvault audit verify`).
    pub inclusion: Option<CertificateInclusion>,
    /// What the instance's own check of this certificate found just now.
    pub verified: CertificateChecks,
}

/// The two signatures over the canonical bytes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateSignatures {
    /// Base64 Ed25519 signature with the instance's signing key.
    pub ed25519: String,
    /// Hex HMAC-SHA256 under the instance's certificate secret (only the instance checks it).
    pub hmac_sha256: String,
}

/// An RFC 9162 inclusion proof of the certificate's audit entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateInclusion {
    pub seq: i64,
    pub leaf_index: u64,
    /// The audit entry's canonical text: `certificate.issue` of this id, with `digest`.
    pub entry: String,
    pub tree_size: u64,
    pub root_hash: String,
    pub proof: Vec<String>,
    /// The signed checkpoint note (C2SP) the proof leads to.
    pub checkpoint: String,
}

/// Each check: the digest, the Ed25519 signature, the HMAC and the inclusion proof.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateChecks {
    pub ok: bool,
    pub digest: bool,
    pub ed25519: bool,
    pub hmac_sha256: Option<bool>,
    pub inclusion: Option<bool>,
    /// What failed, in words.
    pub problems: Vec<String>,
}

/// The certificate document (`meetvault.deletion-certificate/v1`); see docs/lifecycle.md.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[allow(dead_code)] // The schema of `certificate`, which is sent as signed.
pub struct CertificateBody {
    /// `meetvault.deletion-certificate/v1`
    pub format: String,
    pub id: String,
    pub issuer: CertificateIssuer,
    pub subject: CertificateSubject,
    /// The part deleted (`recordings`, `transcripts`, `bot_data`) when retention deleted one
    /// part of a meeting; absent when the whole subject was deleted.
    pub part: Option<String>,
    /// The retention policy that deleted it (`retention: transcripts 30 days (org)`); absent
    /// when someone asked.
    pub policy: Option<String>,
    /// The certificates of the deletions this one includes (an account's meetings); absent
    /// when none.
    pub includes: Option<Vec<String>>,
    pub deleted: Vec<CertificateDeleted>,
    pub keys_destroyed: Vec<CertificateKey>,
    pub retained: Vec<CertificateRetained>,
    /// Who asked: `usr_…`, `key_…`, `system`.
    pub actor: String,
    pub requested_at: String,
    pub completed_at: String,
    /// The deletion's own audit entry.
    pub audit_seq: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CertificateIssuer {
    pub url: Option<String>,
    pub origin: String,
    pub key_name: String,
    pub key_id: String,
}

/// `digest` is hex SHA-256(salt ‖ kind ‖ "\n" ‖ id ‖ "\n" ‖ name): it reveals nothing, and
/// whoever knows the subject's name (a meeting's title; a participant's email, lowercased) can
/// confirm it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CertificateSubject {
    /// `meeting`, `account`, `org` or `participant` (a deletion request's).
    pub kind: String,
    pub id: String,
    pub org: String,
    pub salt: String,
    pub digest: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CertificateDeleted {
    pub kind: String,
    pub count: u64,
    pub bytes: Option<u64>,
    /// `crypto_shred`, `row_delete`, `object_delete`, joined by `+`.
    pub method: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CertificateKey {
    pub key: String,
    pub version: u32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CertificateRetained {
    pub kind: String,
    pub count: Option<u64>,
    pub reason: String,
}

/// An org's certificates, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateList {
    pub certificates: Vec<CertificateEnvelope>,
    /// Pass as `before` for the next page (absent: the last page).
    pub next_before: Option<DateTime<Utc>>,
}

impl From<CertificateView> for CertificateEnvelope {
    fn from(v: CertificateView) -> Self {
        let Signatures {
            ed25519,
            hmac_sha256,
        } = v.envelope.signatures;
        Self {
            id: v.id,
            issued_at: v.issued_at,
            certificate: v.envelope.certificate,
            digest: v.envelope.digest,
            signatures: CertificateSignatures {
                ed25519,
                hmac_sha256,
            },
            public_key: v.envelope.public_key,
            inclusion: v
                .envelope
                .inclusion
                .map(|i: Inclusion| CertificateInclusion {
                    seq: i.seq,
                    leaf_index: i.leaf_index,
                    entry: i.entry,
                    tree_size: i.tree_size,
                    root_hash: i.root_hash,
                    proof: i.proof,
                    checkpoint: i.checkpoint,
                }),
            verified: CertificateChecks {
                ok: v.checks.ok(),
                digest: v.checks.digest,
                ed25519: v.checks.ed25519,
                hmac_sha256: v.checks.hmac_sha256,
                inclusion: v.checks.inclusion,
                problems: v.checks.problems,
            },
        }
    }
}
