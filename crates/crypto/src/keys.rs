//! Symmetric key material: the zeroizing key type, HKDF-SHA256 derivation, HMAC-SHA256, constant-time comparison and XChaCha20-Poly1305 sealing.

use std::fmt;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::CryptoError;

/// Leading byte of every sealed blob, so the format can change without
/// misreading data written by an older build.
const SEAL_VERSION: u8 = 0x01;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// 256-bit symmetric key, zeroized on drop; `Debug` prints `[redacted]`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SymmetricKey([u8; 32]);

impl fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl SymmetricKey {
    /// Wraps existing key bytes; the caller should zeroize its own copy.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Fresh random key from the thread-local CSPRNG.
    pub fn generate() -> Self {
        let mut key = Self([0; 32]);
        rand::rng().fill_bytes(&mut key.0);
        key
    }

    /// The raw key bytes, for handing to a primitive; do not log or copy them.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

/// HKDF-SHA256 (no salt) from root key material, with `context` as the HKDF info naming
/// the purpose, e.g. `"meetvault/audit-signing-key-wrap/v1"`.
///
/// Deterministic; different contexts give independent keys.
pub fn derive(root: &[u8], context: &str) -> SymmetricKey {
    let hkdf = Hkdf::<Sha256>::new(None, root);
    let mut key = SymmetricKey([0; 32]);
    // HKDF-SHA256 can expand up to 255 * 32 bytes; 32 is always in range.
    let Ok(()) = hkdf.expand(context.as_bytes(), &mut key.0) else {
        unreachable!("HKDF-SHA256 output of 32 bytes is within the RFC 5869 limit")
    };
    key
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &SymmetricKey, message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so construction cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key.expose()) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Constant-time equality; returns false on length mismatch (lengths are not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.ct_eq(b).into()
}

/// Encrypts and authenticates `plaintext`, binding `aad`, with XChaCha20-Poly1305 and a
/// random 24-byte nonce (large enough that random nonces never collide in practice).
///
/// Output: `0x01 (version) || nonce || ciphertext || tag`.
///
/// # Panics
///
/// If `plaintext` exceeds the cipher's limit of about 256 GiB per message.
pub fn seal(key: &SymmetricKey, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);

    let header_len = 1 + NONCE_LEN;
    let mut sealed = Vec::with_capacity(header_len + plaintext.len() + TAG_LEN);
    sealed.push(SEAL_VERSION);
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(plaintext);
    let body = &mut sealed[header_len..];
    let Ok(tag) = cipher.encrypt_in_place_detached(XNonce::from_slice(&nonce), aad, body) else {
        // Returning `sealed` here would leak plaintext, and a fallible
        // signature would burden every caller for a 256 GiB edge case.
        panic!("plaintext exceeds the XChaCha20-Poly1305 message size limit")
    };
    sealed.extend_from_slice(&tag);
    sealed
}

/// Reverses [`seal`]. Wrong key, wrong `aad`, corruption, truncation or an unknown
/// version all return an error; the plaintext is zeroized when dropped.
pub fn open(
    key: &SymmetricKey,
    sealed: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (&version, rest) = sealed.split_first().ok_or(CryptoError::SealedTooShort)?;
    if version != SEAL_VERSION {
        return Err(CryptoError::UnsupportedSealVersion(version));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::SealedTooShort);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place(XNonce::from_slice(nonce), aad, &mut *buffer)
        .map_err(|_| CryptoError::DecryptionFailed)?;
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn seal_open_round_trip() {
        let key = SymmetricKey::generate();
        for plaintext in [&b""[..], b"x", &[0x5a; 1000][..]] {
            let sealed = seal(&key, plaintext, b"meeting 42");
            assert_eq!(sealed.len(), 1 + NONCE_LEN + plaintext.len() + TAG_LEN);
            assert_eq!(sealed[0], SEAL_VERSION);
            assert_eq!(
                open(&key, &sealed, b"meeting 42").unwrap().as_slice(),
                plaintext
            );
        }
    }

    #[test]
    fn sealing_twice_uses_fresh_nonces() {
        let key = SymmetricKey::generate();
        let a = seal(&key, b"same", b"");
        let b = seal(&key, b"same", b"");
        assert_ne!(a[1..1 + NONCE_LEN], b[1..1 + NONCE_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn open_rejects_wrong_key_aad_version_and_truncation() {
        let key = SymmetricKey::generate();
        let sealed = seal(&key, b"secret minutes", b"aad");

        let other = SymmetricKey::generate();
        assert_eq!(
            open(&other, &sealed, b"aad"),
            Err(CryptoError::DecryptionFailed)
        );
        assert_eq!(
            open(&key, &sealed, b"aae"),
            Err(CryptoError::DecryptionFailed)
        );

        let mut wrong_version = sealed.clone();
        wrong_version[0] = 0x02;
        assert_eq!(
            open(&key, &wrong_version, b"aad"),
            Err(CryptoError::UnsupportedSealVersion(0x02))
        );

        for len in 0..sealed.len() {
            let result = open(&key, &sealed[..len], b"aad");
            assert!(
                matches!(
                    result,
                    Err(CryptoError::SealedTooShort | CryptoError::DecryptionFailed)
                ),
                "truncated to {len}"
            );
        }

        for i in 1..sealed.len() {
            let mut corrupted = sealed.clone();
            corrupted[i] ^= 0x01;
            assert_eq!(
                open(&key, &corrupted, b"aad"),
                Err(CryptoError::DecryptionFailed),
                "byte {i}"
            );
        }
    }

    /// draft-irtf-cfrg-xchacha-03 appendix A.3.1, wrapped in our envelope, so
    /// `open` is shown to interoperate with other XChaCha20-Poly1305 implementations.
    #[test]
    fn open_accepts_the_xchacha_draft_vector() {
        let key: [u8; 32] =
            unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
                .try_into()
                .unwrap();
        let mut sealed = vec![SEAL_VERSION];
        sealed.extend(unhex("404142434445464748494a4b4c4d4e4f5051525354555657"));
        sealed.extend(unhex(
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb\
             731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452\
             2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9\
             21f9664c97637da9768812f615c68b13b52e",
        ));
        sealed.extend(unhex("c0875924c1c7987947deafd8780acf49"));
        let aad = unhex("50515253c0c1c2c3c4c5c6c7");
        let plaintext = open(&SymmetricKey::from_bytes(key), &sealed, &aad).unwrap();
        assert_eq!(
            plaintext.as_slice(),
            b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip \
              for the future, sunscreen would be it."
        );
    }

    #[test]
    fn derive_is_deterministic_and_context_separated() {
        let root = [0x11u8; 32];
        let a = derive(&root, "meetvault/audit-signing-key-wrap/v1");
        let b = derive(&root, "meetvault/audit-signing-key-wrap/v1");
        let c = derive(&root, "meetvault/recording-key-wrap/v1");
        let d = derive(&[0x12u8; 32], "meetvault/audit-signing-key-wrap/v1");
        assert_eq!(a.expose(), b.expose());
        assert_ne!(a.expose(), c.expose());
        assert_ne!(a.expose(), d.expose());
        assert_ne!(a.expose(), &root);
    }

    /// RFC 5869 test case 3 (SHA-256, empty salt and info): the first 32 bytes of its OKM.
    #[test]
    fn derive_matches_rfc5869_test_case_3() {
        let key = derive(&[0x0b; 22], "");
        assert_eq!(
            hex::encode(key.expose()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
        );
    }

    #[test]
    fn hmac_depends_on_key_and_message() {
        let key = SymmetricKey::from_bytes([1; 32]);
        let mac = hmac_sha256(&key, b"message");
        assert_eq!(mac, hmac_sha256(&key, b"message"));
        assert_ne!(mac, hmac_sha256(&key, b"messagf"));
        assert_ne!(
            mac,
            hmac_sha256(&SymmetricKey::from_bytes([2; 32]), b"message")
        );
    }

    #[test]
    fn ct_eq_compares_contents_and_lengths() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(ct_eq(b"", b""));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(!ct_eq(b"abcd", b"abc"));
        assert!(!ct_eq(b"", b"a"));
    }

    #[test]
    fn debug_is_redacted() {
        let key = SymmetricKey::from_bytes([0xab; 32]);
        let debug = format!("{key:?}");
        assert_eq!(debug, "[redacted]");
        assert!(!debug.contains("171"));
        assert!(!debug.to_lowercase().contains("ab"));
        assert_eq!(format!("{:?}", SymmetricKey::generate()), "[redacted]");
    }
}
