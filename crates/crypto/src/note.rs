//! C2SP signed notes with Ed25519 keys (signature type 0x01) and the C2SP tlog-checkpoint body that the audit log signs.
//!
//! Formats: <https://github.com/C2SP/C2SP/blob/main/signed-note.md> and
//! <https://github.com/C2SP/C2SP/blob/main/tlog-checkpoint.md>. Output is
//! byte-compatible with Go's `golang.org/x/mod/sumdb/note`, so standard
//! witnesses and verifiers accept our checkpoints.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::merkle::Hash;

const SIG_TYPE_ED25519: u8 = 0x01;
/// Em dash (U+2014) and a space open every signature line.
const SIG_LINE_PREFIX: &str = "\u{2014} ";
/// The spec requires accepting at least 16; the cap bounds work on hostile input.
const MAX_SIGNATURES: usize = 100;

/// Ed25519 signer that produces C2SP signed notes.
pub struct NoteSigner {
    name: String,
    key_id: u32,
    /// `SigningKey` zeroizes itself on drop (ed25519-dalek `zeroize` feature).
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// Builds a signer from a 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, CryptoError> {
        validate_key_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let key_id = key_id(name, &key.verifying_key().to_bytes());
        Ok(Self {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// Builds a signer with a fresh random key from the thread-local CSPRNG.
    pub fn generate(name: &str) -> Result<Self, CryptoError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(seed.as_mut());
        Self::from_seed(name, &seed)
    }

    /// The seed, for the caller to store (wrapped) and later pass to [`NoteSigner::from_seed`].
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// Key name used in signature lines.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Key id used in signature lines.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The matching public verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// A bare Ed25519 signature of `message`, for documents that are not notes (a deletion
    /// certificate's canonical JSON). No such document is a note text, which holds newlines and
    /// ends with one, while canonical JSON has none, so a signature cannot pass for the other's.
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Signs `text` and returns the whole signed note:
    /// `text + "\n" + "— <name> <base64(key id || signature)>\n"`.
    ///
    /// `text` must be non-empty, end with '\n' and contain no control
    /// characters other than '\n'; it may contain empty lines.
    pub fn sign(&self, text: &str) -> Result<String, CryptoError> {
        validate_text(text)?;
        let signature = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(4 + 64);
        blob.extend_from_slice(&self.key_id.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{text}\n{SIG_LINE_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(blob)
        ))
    }
}

/// Ed25519 public key with its note key name, able to verify signed notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses a verifier key `<name>+<8 hex key id>+<base64(0x01 || 32-byte public key)>`,
    /// checking that the key id matches the name and key.
    pub fn parse(vkey: &str) -> Result<Self, CryptoError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::MalformedVerifierKey(
                "expected <name>+<key id>+<key>",
            ));
        };
        validate_key_name(name)?;
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CryptoError::MalformedVerifierKey(
                "key id is not 8 hex digits",
            ));
        }
        let claimed_id = u32::from_str_radix(id_hex, 16)
            .map_err(|_| CryptoError::MalformedVerifierKey("key id is not 8 hex digits"))?;
        let typed_key = STANDARD
            .decode(key_b64)
            .map_err(|_| CryptoError::MalformedVerifierKey("key is not valid base64"))?;
        // The id commits to the type byte as well, so check it before
        // interpreting the type: a mangled key fails as a mismatch.
        if typed_key.is_empty() {
            return Err(CryptoError::MalformedVerifierKey("key is empty"));
        }
        if key_id_of_typed_key(name, &typed_key) != claimed_id {
            return Err(CryptoError::KeyIdMismatch);
        }
        match typed_key.split_first() {
            Some((&SIG_TYPE_ED25519, raw)) => {
                let raw: [u8; 32] = raw.try_into().map_err(|_| {
                    CryptoError::MalformedVerifierKey("Ed25519 public key must be 32 bytes")
                })?;
                Self::from_public_key(name, &raw)
            }
            Some((&other, _)) => Err(CryptoError::UnsupportedSignatureType(other)),
            None => Err(CryptoError::MalformedVerifierKey("key is empty")),
        }
    }

    /// Builds a verifier from a name and a raw 32-byte Ed25519 public key.
    ///
    /// Rejects non-canonical encodings and small-order points, as Go's
    /// implementation does, since such keys admit forged signatures.
    pub fn from_public_key(name: &str, public_key: &[u8; 32]) -> Result<Self, CryptoError> {
        validate_key_name(name)?;
        if !is_canonical_point_encoding(public_key) {
            return Err(CryptoError::MalformedVerifierKey(
                "non-canonical Ed25519 public key",
            ));
        }
        let key = VerifyingKey::from_bytes(public_key)
            .map_err(|_| CryptoError::MalformedVerifierKey("invalid Ed25519 public key"))?;
        if key.is_weak() {
            return Err(CryptoError::MalformedVerifierKey(
                "small-order Ed25519 public key",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, public_key),
            key,
        })
    }

    /// Formats the verifier key string accepted by [`NoteVerifier::parse`].
    pub fn to_vkey(&self) -> String {
        let mut typed_key = Vec::with_capacity(33);
        typed_key.push(SIG_TYPE_ED25519);
        typed_key.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            STANDARD.encode(typed_key)
        )
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// First 4 bytes (big-endian) of `SHA-256(name || 0x0A || 0x01 || public key)`.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Whether `signature` is this key's Ed25519 signature of `message` (strict verification:
    /// no malleable or small-order forms).
    pub fn verify_bytes(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        self.key
            .verify_strict(message, &Signature::from_bytes(&sig))
            .is_ok()
    }

    /// Verifies a signed note and returns its text (up to and including the newline
    /// before the blank separator line).
    ///
    /// Signature lines from other keys are ignored, as the spec requires; a
    /// line with this key's name and id that fails to verify rejects the note.
    pub fn verify(&self, note: &str) -> Result<String, CryptoError> {
        if note.chars().any(is_forbidden_control) {
            return Err(CryptoError::MalformedNote("contains a control character"));
        }
        let split = note.rfind("\n\n").ok_or(CryptoError::MalformedNote(
            "no blank line before the signatures",
        ))?;
        let (text, signatures) = (&note[..=split], &note[split + 2..]);
        if signatures.is_empty() || !signatures.ends_with('\n') {
            return Err(CryptoError::MalformedNote(
                "signature block is empty or lacks a final newline",
            ));
        }

        let mut verified = false;
        for (count, line) in signatures.split_terminator('\n').enumerate() {
            if count >= MAX_SIGNATURES {
                return Err(CryptoError::MalformedNote("too many signatures"));
            }
            let (name, key_id, signature) = parse_signature_line(line)?;
            if name != self.name || key_id != self.key_id {
                continue;
            }
            let invalid = || CryptoError::InvalidSignature {
                name: self.name.clone(),
                key_id: self.key_id,
            };
            let signature: [u8; 64] = signature.as_slice().try_into().map_err(|_| invalid())?;
            self.key
                .verify_strict(text.as_bytes(), &Signature::from_bytes(&signature))
                .map_err(|_| invalid())?;
            verified = true;
        }
        if !verified {
            return Err(CryptoError::MissingSignature {
                name: self.name.clone(),
                key_id: self.key_id,
            });
        }
        Ok(text.to_owned())
    }
}

/// Splits `— <name> <base64(key id || signature)>` into name, key id and signature bytes.
fn parse_signature_line(line: &str) -> Result<(&str, u32, Vec<u8>), CryptoError> {
    let malformed = || CryptoError::MalformedNote("malformed signature line");
    let rest = line.strip_prefix(SIG_LINE_PREFIX).ok_or_else(malformed)?;
    let (name, b64) = rest.split_once(' ').ok_or_else(malformed)?;
    validate_key_name(name).map_err(|_| malformed())?;
    let mut blob = STANDARD.decode(b64).map_err(|_| malformed())?;
    if blob.len() < 5 {
        return Err(malformed());
    }
    let signature = blob.split_off(4);
    let key_id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
    Ok((name, key_id, signature))
}

/// Rejects names the spec forbids: empty, Unicode whitespace, '+', and control characters.
fn validate_key_name(name: &str) -> Result<(), CryptoError> {
    if name.is_empty() {
        return Err(CryptoError::InvalidKeyName("empty"));
    }
    if name.chars().any(char::is_whitespace) {
        return Err(CryptoError::InvalidKeyName("contains whitespace"));
    }
    if name.contains('+') {
        return Err(CryptoError::InvalidKeyName("contains '+'"));
    }
    if name.chars().any(char::is_control) {
        return Err(CryptoError::InvalidKeyName("contains a control character"));
    }
    Ok(())
}

fn validate_text(text: &str) -> Result<(), CryptoError> {
    if text.is_empty() {
        return Err(CryptoError::InvalidNoteText("empty"));
    }
    if !text.ends_with('\n') {
        return Err(CryptoError::InvalidNoteText("does not end with a newline"));
    }
    if text.chars().any(is_forbidden_control) {
        return Err(CryptoError::InvalidNoteText("contains a control character"));
    }
    Ok(())
}

/// ASCII control characters other than newline are forbidden anywhere in a note.
fn is_forbidden_control(c: char) -> bool {
    c < ' ' && c != '\n'
}

fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut typed_key = [0u8; 33];
    typed_key[0] = SIG_TYPE_ED25519;
    typed_key[1..].copy_from_slice(public_key);
    key_id_of_typed_key(name, &typed_key)
}

/// `SHA-256(name || 0x0A || type byte || key)[:4]` as a big-endian integer.
fn key_id_of_typed_key(name: &str, typed_key: &[u8]) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n'])
        .chain_update(typed_key)
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// An Edwards point encodes `y` in 255 bits; values at or above
/// p = 2^255 - 19 are non-canonical aliases of smaller ones.
fn is_canonical_point_encoding(bytes: &[u8; 32]) -> bool {
    let top = bytes[31] & 0x7f;
    let middle_all_ones = bytes[1..31].iter().all(|&b| b == 0xff);
    !(top == 0x7f && middle_all_ones && bytes[0] >= 0xed)
}

/// Body of a C2SP tlog checkpoint: origin, tree size, root hash and optional extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity, e.g. `meet.example.org/audit`.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// Merkle tree root at `size`.
    pub root: Hash,
    /// Opaque extra lines; each must be non-empty.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// Formats `origin\nsize\nbase64(root)\n` followed by one line per extension.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for extension in &self.extensions {
            text.push_str(extension);
            text.push('\n');
        }
        text
    }

    /// Parses a checkpoint body strictly: non-empty origin, decimal size without
    /// leading zeros, standard base64 of exactly 32 bytes, non-empty extension lines.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let malformed = CryptoError::MalformedCheckpoint;
        if text.chars().any(is_forbidden_control) {
            return Err(malformed("contains a control character"));
        }
        let body = text
            .strip_suffix('\n')
            .ok_or(malformed("does not end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|line| !line.is_empty())
            .ok_or(malformed("missing origin"))?;
        let size_line = lines.next().ok_or(malformed("missing tree size"))?;
        let root_line = lines.next().ok_or(malformed("missing root hash"))?;
        let extensions = lines
            .map(|line| {
                if line.is_empty() {
                    Err(malformed("empty extension line"))
                } else {
                    Ok(line.to_owned())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;

        let canonical_decimal = !size_line.is_empty()
            && size_line.bytes().all(|b| b.is_ascii_digit())
            && (size_line == "0" || !size_line.starts_with('0'));
        if !canonical_decimal {
            return Err(malformed("tree size is not a canonical decimal number"));
        }
        let size = size_line
            .parse::<u64>()
            .map_err(|_| malformed("tree size does not fit in 64 bits"))?;
        let root: Hash = STANDARD
            .decode(root_line)
            .map_err(|_| malformed("root hash is not valid base64"))?
            .try_into()
            .map_err(|_| malformed("root hash is not 32 bytes"))?;

        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

#[cfg(test)]
mod tests;
