//! The instance's audit signing key: Ed25519, generated on first start, kept on disk only
//! sealed under a key derived from the instance key (`DATA_DIR/keys/audit-signing.key.sealed`).

use std::path::Path;

use meetvault_crypto::keys::{self, SymmetricKey};
use meetvault_crypto::note::{NoteSigner, NoteVerifier};
use meetvault_store::{StoreError, keyfile};

use crate::CoreError;

/// The signer and the checkpoint origin it signs for.
#[derive(Debug)]
pub struct AuditSigner {
    signer: NoteSigner,
    origin: String,
}

const AAD: &[u8] = b"meetvault audit signing key v1";

impl AuditSigner {
    /// Loads the sealed seed at `path`, or generates and seals one there.
    pub fn load_or_generate(
        path: &Path,
        wrap: &SymmetricKey,
        origin: Option<String>,
        public_url: Option<&url::Url>,
    ) -> Result<Self, CoreError> {
        let sealed = keyfile::load_or_create(path, || {
            let fresh = SymmetricKey::generate();
            keys::seal(wrap, fresh.expose(), AAD)
        })?;
        let seed = keys::open(wrap, &sealed, AAD).map_err(|_| {
            CoreError::Storage(StoreError::Corrupt(format!(
                "{} cannot be unsealed with this instance key; restore the matching instance.key",
                path.display()
            )))
        })?;
        let seed = <[u8; 32]>::try_from(seed.as_slice()).map_err(|_| {
            CoreError::Storage(StoreError::Corrupt(format!(
                "{} holds a bad seed",
                path.display()
            )))
        })?;
        // Unset origin: the public host, or (stable per instance) a fingerprint of this key.
        let origin = match (origin, public_url.and_then(|u| u.host_str())) {
            (Some(o), _) => o,
            (None, Some(host)) => format!("{host}/meetvault/audit"),
            (None, None) => {
                let probe =
                    NoteSigner::from_seed("meetvault", &seed).map_err(CoreError::internal)?;
                let pk = probe.verifier().public_key();
                format!("meetvault/{}", hex::encode(&pk[..8]))
            }
        };
        let signer =
            NoteSigner::from_seed(&key_name(&origin), &seed).map_err(CoreError::internal)?;
        Ok(Self { signer, origin })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    /// A bare Ed25519 signature (deletion certificates' canonical JSON; see
    /// `NoteSigner::sign_bytes` for why it cannot pass for a note's).
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.signer.sign_bytes(message)
    }

    pub fn sign(&self, text: &str) -> Result<String, meetvault_crypto::CryptoError> {
        self.signer.sign(text)
    }
}

/// The key name: the origin with characters a note key name may not hold replaced.
fn key_name(origin: &str) -> String {
    origin
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '+' {
                '-'
            } else {
                c
            }
        })
        .collect()
}
