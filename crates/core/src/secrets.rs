//! Server-side keys derived from the instance key (`DATA_DIR/keys/instance.key`), one per
//! purpose, so no purpose can be turned against another and no extra key files are needed.
//! Issue 6's key hierarchy will wrap the root; the derivation contexts stay.

use meetvault_crypto::keys::{SymmetricKey, derive, hmac_sha256};

/// The current pepper version for stored key MACs. A rotation adds a version and keeps the old
/// ones for verification; rows record which version made their MAC.
pub const PEPPER_VERSION: i32 = 1;

#[derive(Debug)]
pub struct ServerKeys {
    /// Peppers for API keys, support keys and invitation tokens, by version.
    peppers: Vec<(i32, SymmetricKey)>,
    /// Keys rate-limit buckets by an HMAC of the account, never the raw email.
    pub account_limit: SymmetricKey,
    /// Derives each session's CSRF token from its id.
    pub csrf: SymmetricKey,
    /// Seals TOTP secrets at rest.
    pub totp_seal: SymmetricKey,
    /// MACs recovery codes for storage.
    pub recovery: SymmetricKey,
    /// Wraps the audit signing key on disk.
    pub audit_signing_wrap: SymmetricKey,
    /// Wraps per-subject audit keys in the database.
    pub audit_subject_wrap: SymmetricKey,
    /// MACs "known device" cookies.
    pub device: SymmetricKey,
    /// Derives a webhook message's id from its event and endpoint (stable across retries and
    /// instances, unguessable from outside).
    pub webhook_ids: SymmetricKey,
    /// The certificate secret: the HMAC-SHA256 signature every deletion certificate carries
    /// besides its Ed25519 one (only this instance can check it).
    pub certificate_mac: SymmetricKey,
}

impl ServerKeys {
    pub fn derive(root: &[u8; 32]) -> Self {
        Self {
            peppers: vec![(1, derive(root, "meetvault/credential-pepper/v1"))],
            account_limit: derive(root, "meetvault/account-rate-limit/v1"),
            csrf: derive(root, "meetvault/csrf/v1"),
            totp_seal: derive(root, "meetvault/totp-seal/v1"),
            recovery: derive(root, "meetvault/recovery-code/v1"),
            audit_signing_wrap: derive(root, "meetvault/audit-signing-key-wrap/v1"),
            audit_subject_wrap: derive(root, "meetvault/audit-subject-key-wrap/v1"),
            device: derive(root, "meetvault/device-cookie/v1"),
            webhook_ids: derive(root, "meetvault/webhook-message-id/v1"),
            certificate_mac: derive(root, "meetvault/certificate-hmac/v1"),
        }
    }

    /// HMAC-SHA256 of a credential under the pepper of `version` (None if that version is unknown).
    pub fn credential_mac(&self, version: i32, secret: &str) -> Option<[u8; 32]> {
        self.peppers
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, key)| hmac_sha256(key, secret.as_bytes()))
    }

    /// Whether `secret` is the credential whose stored MAC (made under pepper `version`) is
    /// `stored`: constant time, and false for an unknown pepper version or a length mismatch.
    pub fn credential_matches(&self, version: i32, secret: &str, stored: &[u8]) -> bool {
        self.credential_mac(version, secret)
            .is_some_and(|mac| meetvault_crypto::keys::ct_eq(&mac, stored))
    }

    /// The MAC under the current pepper, with its version.
    pub fn current_credential_mac(&self, secret: &str) -> (i32, [u8; 32]) {
        let mac = self
            .credential_mac(PEPPER_VERSION, secret)
            .unwrap_or_else(|| hmac_sha256(&self.peppers[0].1, secret.as_bytes()));
        (PEPPER_VERSION, mac)
    }

    /// Hex HMAC of a value under one of the purpose keys.
    pub fn mac_hex(key: &SymmetricKey, value: &str) -> String {
        hex::encode(hmac_sha256(key, value.as_bytes()))
    }
}
