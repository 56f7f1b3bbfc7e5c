//! The crate's single error type, shared by every fallible operation in `meetvault-crypto`.

use thiserror::Error;

/// Everything that can go wrong in this crate.
///
/// Reasons are static strings so callers can match on variants without
/// parsing messages, and so no secret material can end up in an error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A signed-note key name is empty or contains whitespace, '+' or control characters.
    #[error("invalid key name: {0}")]
    InvalidKeyName(&'static str),
    /// A verifier key string is not `<name>+<8 hex key id>+<base64 key>`.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// A verifier key's id does not match the hash of its name and public key.
    #[error("verifier key id does not match its name and public key")]
    KeyIdMismatch,
    /// A verifier key uses a signature type other than Ed25519 (0x01).
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedSignatureType(u8),
    /// Text handed to the signer cannot be represented as a signed note.
    #[error("invalid note text: {0}")]
    InvalidNoteText(&'static str),
    /// A signed note does not follow the C2SP signed-note syntax.
    #[error("malformed signed note: {0}")]
    MalformedNote(&'static str),
    /// A signature line from the expected key failed to verify.
    #[error("invalid signature for key {name}+{key_id:08x}")]
    InvalidSignature {
        /// Key name from the signature line.
        name: String,
        /// Key id from the signature line.
        key_id: u32,
    },
    /// The note carries no signature from the expected key.
    #[error("note has no signature from key {name}+{key_id:08x}")]
    MissingSignature {
        /// Name of the key that was expected to sign.
        name: String,
        /// Id of the key that was expected to sign.
        key_id: u32,
    },
    /// A checkpoint body does not follow the C2SP tlog-checkpoint format.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// Saved frontier state does not describe a valid tree.
    #[error("malformed frontier: {0}")]
    MalformedFrontier(&'static str),
    /// Sealed data is shorter than the version byte, nonce and tag.
    #[error("sealed data is truncated")]
    SealedTooShort,
    /// Sealed data starts with a format version this build does not know.
    #[error("unsupported sealed-data version 0x{0:02x}")]
    UnsupportedSealVersion(u8),
    /// Authentication failed: wrong key, wrong associated data or corrupted data.
    #[error("decryption failed")]
    DecryptionFailed,
    /// Input is not in the expected shape.
    #[error("malformed input: {0}")]
    Malformed(&'static str),
    /// An encrypted blob ends early (cut at or inside a segment).
    #[error("encrypted blob is truncated")]
    StreamTruncated,
    /// One segment of an encrypted blob failed authentication (altered, reordered or swapped).
    #[error("encrypted blob segment {index} failed authentication")]
    SegmentFailed {
        /// Index of the failing segment.
        index: u64,
    },
}
