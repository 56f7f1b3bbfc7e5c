//! A deletion certificate as a document: its fields, its canonical bytes (RFC 8785), the
//! envelope it travels in (signatures, the audit inclusion proof) and the offline check of all
//! of it. Pure: the CLI's `certificate verify` runs [`verify`] on a file with no server.
//!
//! What is signed is the canonical JSON of `certificate` exactly as the envelope holds it (a
//! field added or changed anywhere in it breaks both signatures). The Ed25519 signature is the
//! instance's audit signing key over those bytes, so any Ed25519 tool checks it with the key at
//! `/.well-known/meetvault-signing-key`; the certificate's SHA-256 is committed to by a
//! `certificate.issue` entry of the audit Merkle log, and the envelope proves that entry's
//! inclusion under a checkpoint signed by the same key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use meetvault_crypto::jcs;
use meetvault_crypto::keys::{self, SymmetricKey};
use meetvault_crypto::merkle::{self, Hash};
use meetvault_crypto::note::{Checkpoint, NoteVerifier};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::audit::Entry;

/// The `format` of version 1.
pub const FORMAT: &str = "meetvault.deletion-certificate/v1";

/// The certificate itself: what was deleted, how, when, by whom; never any content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    pub format: String,
    pub id: String,
    pub issuer: Issuer,
    pub subject: Subject,
    /// The part of the subject deleted (`recordings`, `transcripts`, `bot_data`), when not the
    /// whole of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// The policy that deleted it, when one did (`retention: transcripts 30 days (org)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The certificates of the deletions this one includes (an account's meetings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<String>,
    pub deleted: Vec<Deleted>,
    pub keys_destroyed: Vec<DestroyedKey>,
    pub retained: Vec<Retained>,
    /// Who asked, as the audit log names actors (`user:usr_…`, `api_key:key_…`, `system`).
    pub actor: String,
    pub requested_at: String,
    pub completed_at: String,
    /// The sequence number of the deletion's own audit entry.
    pub audit_seq: i64,
}

/// Who issued it: the instance's public URL (when configured), its audit log's origin, and the
/// signing key's note name and id (`/.well-known/meetvault-signing-key` serves that key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issuer {
    pub url: Option<String>,
    pub origin: String,
    pub key_name: String,
    /// The note key id, 8 hex digits.
    pub key_id: String,
}

/// What was deleted: kind and id, and a salted hash that reveals nothing by itself but lets
/// whoever knows the subject (a meeting's title) confirm it is theirs:
/// `hex(SHA-256(salt ‖ kind ‖ "\n" ‖ id ‖ "\n" ‖ name))`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub kind: String,
    pub id: String,
    pub org: String,
    /// Hex, 16 random bytes.
    pub salt: String,
    pub digest: String,
}

/// One kind of thing deleted: how many, how many bytes where that means something, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deleted {
    pub kind: String,
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// `crypto_shred`, `row_delete`, `object_delete`, joined by `+` when several apply.
    pub method: String,
}

/// A key destroyed: which key and version (destroying it is what makes every ciphertext under
/// it unreadable, backups included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestroyedKey {
    pub key: String,
    pub version: u32,
}

/// Something kept on purpose, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retained {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    pub reason: String,
}

/// A certificate with its signatures and the proof that the audit log holds its hash: what
/// the API returns and what `meetvault certificate verify` reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    pub certificate: Value,
    /// Hex SHA-256 of the canonical bytes.
    pub digest: String,
    pub signatures: Signatures,
    /// The raw Ed25519 public key (base64), for convenience: trust the one the instance
    /// publishes, not this copy.
    pub public_key: String,
    pub inclusion: Option<Inclusion>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Signatures {
    /// Base64 Ed25519 signature of the canonical bytes.
    pub ed25519: String,
    /// Hex HMAC-SHA256 of the canonical bytes under the instance's certificate secret.
    pub hmac_sha256: String,
}

/// The `certificate.issue` audit entry and its inclusion proof against a signed checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inclusion {
    pub seq: i64,
    pub leaf_index: u64,
    /// The entry's canonical text (it names the certificate and carries its digest).
    pub entry: String,
    pub tree_size: u64,
    /// Hex.
    pub root_hash: String,
    /// Hex sibling hashes, leaf to root.
    pub proof: Vec<String>,
    /// The signed checkpoint note the proof leads to.
    pub checkpoint: String,
}

/// The canonical bytes of a certificate value.
pub fn canonical(certificate: &Value) -> Result<String, String> {
    jcs::canonicalize(certificate).map_err(|e| e.to_string())
}

/// The subject digest (see [`Subject`]).
pub fn subject_digest(salt: &[u8], kind: &str, id: &str, name: &str) -> String {
    hex::encode(
        Sha256::new()
            .chain_update(salt)
            .chain_update(kind.as_bytes())
            .chain_update(b"\n")
            .chain_update(id.as_bytes())
            .chain_update(b"\n")
            .chain_update(name.as_bytes())
            .finalize(),
    )
}

/// What each check found. `hmac_sha256` is `None` offline (only the instance holds the secret);
/// `inclusion` is `None` when the envelope carries no proof.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Checks {
    pub digest: bool,
    pub ed25519: bool,
    pub hmac_sha256: Option<bool>,
    pub inclusion: Option<bool>,
    /// Each failure in words, for people.
    pub problems: Vec<String>,
}

impl Checks {
    /// Whether everything that was checked holds (and the signature and digest always are).
    pub fn ok(&self) -> bool {
        self.digest
            && self.ed25519
            && self.hmac_sha256 != Some(false)
            && self.inclusion != Some(false)
    }
}

/// Checks an envelope: the digest of the canonical bytes, the Ed25519 signature with `key`, the
/// HMAC when the secret is given, and the inclusion proof (against `checkpoint` when given,
/// else the envelope's own; either must be signed by `key`).
pub fn verify(
    envelope: &Envelope,
    key: &NoteVerifier,
    checkpoint: Option<&str>,
    hmac_key: Option<&SymmetricKey>,
) -> Checks {
    let mut checks = Checks::default();
    let bytes = match canonical(&envelope.certificate) {
        Ok(b) => b,
        Err(e) => {
            checks
                .problems
                .push(format!("the certificate has no canonical form: {e}"));
            return checks;
        }
    };
    let digest: [u8; 32] = Sha256::digest(bytes.as_bytes()).into();
    checks.digest = keys::ct_eq(hex::encode(digest).as_bytes(), envelope.digest.as_bytes());
    if !checks.digest {
        checks.problems.push(
            "digest: the SHA-256 of the certificate's canonical bytes is not the one recorded"
                .into(),
        );
    }
    checks.ed25519 = STANDARD
        .decode(&envelope.signatures.ed25519)
        .is_ok_and(|sig| key.verify_bytes(bytes.as_bytes(), &sig));
    if !checks.ed25519 {
        checks.problems.push(format!(
            "ed25519: the signature does not verify with key {} {:08x}",
            key.name(),
            key.key_id()
        ));
    }
    if let Some(secret) = hmac_key {
        let mac = keys::hmac_sha256(secret, bytes.as_bytes());
        let ok = keys::ct_eq(
            hex::encode(mac).as_bytes(),
            envelope.signatures.hmac_sha256.as_bytes(),
        );
        if !ok {
            checks
                .problems
                .push("hmac_sha256: the HMAC does not match the certificate secret".into());
        }
        checks.hmac_sha256 = Some(ok);
    }
    if let Some(inclusion) = &envelope.inclusion {
        let found = check_inclusion(envelope, inclusion, &digest, key, checkpoint);
        if let Err(problem) = &found {
            checks.problems.push(format!("inclusion: {problem}"));
        }
        checks.inclusion = Some(found.is_ok());
    }
    checks
}

fn check_inclusion(
    envelope: &Envelope,
    inclusion: &Inclusion,
    digest: &[u8; 32],
    key: &NoteVerifier,
    checkpoint: Option<&str>,
) -> Result<(), String> {
    let entry = Entry::parse(&inclusion.entry)
        .map_err(|e| format!("the audit entry is not a v1 entry ({e})"))?;
    let id = envelope
        .certificate
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if entry.action != "certificate.issue" || entry.resource.as_deref() != Some(id) {
        return Err(format!(
            "the audit entry is `{}` of {:?}, not the issue of {id}",
            entry.action, entry.resource
        ));
    }
    if entry.digest.as_deref() != Some(hex::encode(digest).as_str()) {
        return Err("the audit entry commits to another digest".into());
    }
    if entry.seq != inclusion.seq
        || inclusion.leaf_index != u64::try_from(entry.seq - 1).unwrap_or(u64::MAX)
    {
        return Err("the entry's sequence number and the leaf index disagree".into());
    }
    let note = checkpoint.unwrap_or(&inclusion.checkpoint);
    let text = key
        .verify(note)
        .map_err(|e| format!("the checkpoint does not verify with the key: {e}"))?;
    let cp = Checkpoint::parse(&text).map_err(|e| format!("the checkpoint: {e}"))?;
    if let Some(origin) = envelope
        .certificate
        .pointer("/issuer/origin")
        .and_then(Value::as_str)
        && cp.origin != origin
    {
        return Err(format!(
            "the checkpoint is of log {}, the certificate's issuer is {origin}",
            cp.origin
        ));
    }
    if cp.size != inclusion.tree_size {
        return Err(format!(
            "the proof is for tree size {}, the checkpoint for {}: fetch the certificate again for a proof against that checkpoint",
            inclusion.tree_size, cp.size
        ));
    }
    if hex::encode(cp.root) != inclusion.root_hash {
        return Err("the proof's root is not the checkpoint's".into());
    }
    let proof = inclusion
        .proof
        .iter()
        .map(|h| {
            hex::decode(h)
                .ok()
                .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
                .ok_or_else(|| "a proof hash is not 32 bytes of hex".to_owned())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = merkle::leaf_hash(inclusion.entry.as_bytes());
    if !merkle::verify_inclusion(&leaf, inclusion.leaf_index, cp.size, &proof, &cp.root) {
        return Err("the entry is not in the tree the checkpoint signs".into());
    }
    Ok(())
}
