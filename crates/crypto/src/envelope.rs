//! Field encryption and key wrapping: every ciphertext names the key that made it (id and
//! version) and is bound to where it lives (org, table, row, field), so a ciphertext copied to
//! another row, field or org fails to decrypt instead of yielding the wrong plaintext.
//!
//! Format (`0x02` envelope): `0x02 || key id (16) || key version (u32 BE) || nonce (24) ||
//! ciphertext || tag (16)`, XChaCha20-Poly1305 with a random 192-bit nonce. The associated
//! data is the encoded [`Binding`] followed by the 21-byte header, so neither the binding nor
//! the key reference can be changed without the tag failing.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::keys::SymmetricKey;

/// First byte of a field ciphertext or wrapped key.
pub const ENVELOPE_VERSION: u8 = 0x02;
/// Bytes before the ciphertext: version, key id, key version, nonce.
pub const HEADER_LEN: usize = 1 + 16 + 4 + NONCE_LEN;
/// Bytes a field grows by when encrypted.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Which key made a ciphertext: the id of the key's owner (an org, user or meeting id) and the
/// key's version. Stored in clear so a reader knows which key to fetch; authenticated, so it
/// cannot be altered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyRef {
    pub id: [u8; 16],
    pub version: u32,
}

impl KeyRef {
    pub const ENCODED_LEN: usize = 20;

    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[..16].copy_from_slice(&self.id);
        out[16..].copy_from_slice(&self.version.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CryptoError> {
        let bytes: &[u8; Self::ENCODED_LEN] = bytes
            .get(..Self::ENCODED_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(CryptoError::Malformed("key reference is truncated"))?;
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[..16]);
        let version = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        Ok(Self { id, version })
    }
}

/// Where a ciphertext belongs. Encoded unambiguously (fixed-size ids, length-prefixed names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    pub org: [u8; 16],
    pub table: &'a str,
    pub row: [u8; 16],
    pub field: &'a str,
}

impl Binding<'_> {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.table.len() + self.field.len());
        out.extend_from_slice(b"meetvault/binding/v1");
        out.extend_from_slice(&self.org);
        push_str(&mut out, self.table);
        out.extend_from_slice(&self.row);
        push_str(&mut out, self.field);
        out
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    // Table and field names are short identifiers chosen in code; saturate rather than panic.
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn aad(binding: &Binding<'_>, header: &[u8]) -> Vec<u8> {
    let mut aad = binding.encode();
    aad.extend_from_slice(&header[..1 + KeyRef::ENCODED_LEN]);
    aad
}

/// Encrypts one value under `key` (named by `key_ref`), bound to `binding`.
///
/// # Panics
///
/// If `plaintext` exceeds the cipher's limit of about 256 GiB.
pub fn encrypt(
    key: &SymmetricKey,
    key_ref: KeyRef,
    binding: &Binding<'_>,
    plaintext: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.push(ENVELOPE_VERSION);
    out.extend_from_slice(&key_ref.encode());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    out.extend_from_slice(&nonce);
    let aad = aad(binding, &out);
    out.extend_from_slice(plaintext);
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let Ok(tag) =
        cipher.encrypt_in_place_detached(XNonce::from_slice(&nonce), &aad, &mut out[HEADER_LEN..])
    else {
        panic!("plaintext exceeds the XChaCha20-Poly1305 message size limit")
    };
    out.extend_from_slice(&tag);
    out
}

/// The key a ciphertext names, read without decrypting (so the caller can fetch that key).
pub fn key_ref(ciphertext: &[u8]) -> Result<KeyRef, CryptoError> {
    match ciphertext.first() {
        None => Err(CryptoError::SealedTooShort),
        Some(&ENVELOPE_VERSION) => KeyRef::decode(&ciphertext[1..]),
        Some(&other) => Err(CryptoError::UnsupportedSealVersion(other)),
    }
}

/// Reverses [`encrypt`]. A wrong key, another binding, any flipped bit or a truncation is an
/// error; the plaintext is zeroized when dropped.
pub fn decrypt(
    key: &SymmetricKey,
    binding: &Binding<'_>,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    key_ref(ciphertext)?;
    if ciphertext.len() < OVERHEAD {
        return Err(CryptoError::SealedTooShort);
    }
    let aad = aad(binding, ciphertext);
    let nonce = &ciphertext[1 + KeyRef::ENCODED_LEN..HEADER_LEN];
    let mut buffer = Zeroizing::new(ciphertext[HEADER_LEN..].to_vec());
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    cipher
        .decrypt_in_place(XNonce::from_slice(nonce), &aad, &mut *buffer)
        .map_err(|_| CryptoError::DecryptionFailed)?;
    Ok(buffer)
}

/// Decrypts a UTF-8 text field.
pub fn decrypt_string(
    key: &SymmetricKey,
    binding: &Binding<'_>,
    ciphertext: &[u8],
) -> Result<String, CryptoError> {
    let bytes = decrypt(key, binding, ciphertext)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| CryptoError::Malformed("field is not UTF-8"))
}

/// Wraps a child key under its parent (key wrapping is field encryption of the key bytes).
pub fn wrap_key(
    parent: &SymmetricKey,
    parent_ref: KeyRef,
    binding: &Binding<'_>,
    child: &SymmetricKey,
) -> Vec<u8> {
    encrypt(parent, parent_ref, binding, child.expose())
}

/// Unwraps a key made by [`wrap_key`].
pub fn unwrap_key(
    parent: &SymmetricKey,
    binding: &Binding<'_>,
    wrapped: &[u8],
) -> Result<SymmetricKey, CryptoError> {
    let bytes = decrypt(parent, binding, wrapped)?;
    let array: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::Malformed("a wrapped key is not 32 bytes"))?;
    Ok(SymmetricKey::from_bytes(array))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: [u8; 16] = [1; 16];
    const ROW: [u8; 16] = [2; 16];
    const REF: KeyRef = KeyRef {
        id: [3; 16],
        version: 7,
    };

    fn binding(field: &str) -> Binding<'_> {
        Binding {
            org: ORG,
            table: "transcript_segments",
            row: ROW,
            field,
        }
    }

    #[test]
    fn round_trip_names_its_key() {
        let key = SymmetricKey::generate();
        for plaintext in [&b""[..], b"canary", &[0x42; 5000][..]] {
            let ct = encrypt(&key, REF, &binding("text"), plaintext);
            assert_eq!(ct.len(), plaintext.len() + OVERHEAD);
            assert_eq!(key_ref(&ct).unwrap(), REF);
            assert_eq!(
                decrypt(&key, &binding("text"), &ct).unwrap().as_slice(),
                plaintext
            );
        }
    }

    #[test]
    fn another_row_field_table_or_org_fails() {
        let key = SymmetricKey::generate();
        let ct = encrypt(&key, REF, &binding("text"), b"secret");
        let others = [
            Binding {
                row: [9; 16],
                ..binding("text")
            },
            Binding {
                org: [9; 16],
                ..binding("text")
            },
            Binding {
                table: "chat_messages",
                ..binding("text")
            },
            binding("speaker"),
        ];
        for other in others {
            assert_eq!(
                decrypt(&key, &other, &ct),
                Err(CryptoError::DecryptionFailed),
                "{other:?}"
            );
        }
    }

    #[test]
    fn altered_key_reference_or_any_bit_fails() {
        let key = SymmetricKey::generate();
        let ct = encrypt(&key, REF, &binding("text"), b"secret minutes");
        for i in 1..ct.len() {
            let mut bad = ct.clone();
            bad[i] ^= 0x80;
            assert_eq!(
                decrypt(&key, &binding("text"), &bad),
                Err(CryptoError::DecryptionFailed),
                "byte {i}"
            );
        }
        for len in 0..ct.len() {
            assert!(
                decrypt(&key, &binding("text"), &ct[..len]).is_err(),
                "truncated to {len}"
            );
        }
        let mut bad = ct.clone();
        bad[0] = 0x01;
        assert_eq!(
            decrypt(&key, &binding("text"), &bad),
            Err(CryptoError::UnsupportedSealVersion(1))
        );
        assert_eq!(
            decrypt(&SymmetricKey::generate(), &binding("text"), &ct),
            Err(CryptoError::DecryptionFailed)
        );
    }

    #[test]
    fn binding_encoding_is_unambiguous() {
        let a = Binding {
            table: "ab",
            field: "c",
            ..binding("")
        }
        .encode();
        let b = Binding {
            table: "a",
            field: "bc",
            ..binding("")
        }
        .encode();
        assert_ne!(a, b);
    }

    #[test]
    fn wrapped_keys_round_trip_and_check_length() {
        let parent = SymmetricKey::generate();
        let child = SymmetricKey::generate();
        let wrapped = wrap_key(&parent, REF, &binding("dek"), &child);
        assert_eq!(
            unwrap_key(&parent, &binding("dek"), &wrapped)
                .unwrap()
                .expose(),
            child.expose()
        );
        let short = encrypt(&parent, REF, &binding("dek"), &[0u8; 31]);
        assert!(matches!(
            unwrap_key(&parent, &binding("dek"), &short),
            Err(CryptoError::Malformed(_))
        ));
    }
}
