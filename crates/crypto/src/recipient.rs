//! Public-key sealing for data that arrives while its owner is away: HPKE (RFC 9180) base mode,
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305. The server holds the public key
//! and can write; only the holder of the secret key (wrapped under the user key, which a
//! zero-access user unlocks with their password) can read.
//!
//! Format: `0x03 || encapsulated key (32) || ciphertext || tag`.

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use zeroize::Zeroizing;

use crate::CryptoError;

const VERSION: u8 = 0x03;
const ENC_LEN: usize = 32;

type Kem = X25519HkdfSha256;

/// An X25519 public key that data can be sealed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientPublic([u8; 32]);

impl RecipientPublic {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::Malformed("a public key is 32 bytes"))?;
        Ok(Self(array))
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The matching X25519 secret key; zeroized on drop, `Debug` redacted.
pub struct RecipientSecret(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for RecipientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl RecipientSecret {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::Malformed("a secret key is 32 bytes"))?;
        Ok(Self(Zeroizing::new(array)))
    }
    /// The raw bytes, for wrapping under the user key; never log them.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A fresh key pair.
pub fn generate() -> (RecipientSecret, RecipientPublic) {
    let (secret, public) = Kem::gen_keypair(&mut rand::rng());
    let mut bytes = Zeroizing::new([0u8; 32]);
    bytes.copy_from_slice(&secret.to_bytes());
    let mut public_bytes = [0u8; 32];
    public_bytes.copy_from_slice(&public.to_bytes());
    (RecipientSecret(bytes), RecipientPublic(public_bytes))
}

/// Seals `plaintext` to `public`; `info` and `aad` bind it to its record (both must match on open).
pub fn seal(
    public: &RecipientPublic,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(&public.0)
        .map_err(|_| CryptoError::Malformed("invalid X25519 public key"))?;
    let (encapped, ciphertext) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem, _>(
        &OpModeS::Base,
        &pk,
        info,
        plaintext,
        aad,
        &mut rand::rng(),
    )
    .map_err(|_| CryptoError::Malformed("HPKE seal failed"))?;
    let mut out = Vec::with_capacity(1 + ENC_LEN + ciphertext.len());
    out.push(VERSION);
    out.extend_from_slice(&encapped.to_bytes());
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Opens what [`seal`] made; any other key, `info`, `aad` or a flipped bit is an error.
pub fn open(
    secret: &RecipientSecret,
    info: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (&version, rest) = sealed.split_first().ok_or(CryptoError::SealedTooShort)?;
    if version != VERSION {
        return Err(CryptoError::UnsupportedSealVersion(version));
    }
    if rest.len() < ENC_LEN + 16 {
        return Err(CryptoError::SealedTooShort);
    }
    let (enc, ciphertext) = rest.split_at(ENC_LEN);
    let encapped = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc)
        .map_err(|_| CryptoError::DecryptionFailed)?;
    let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(&secret.0[..])
        .map_err(|_| CryptoError::Malformed("invalid X25519 secret key"))?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Base,
        &sk,
        &encapped,
        info,
        ciphertext,
        aad,
    )
    .map(Zeroizing::new)
    .map_err(|_| CryptoError::DecryptionFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_its_secret_and_binding() {
        let (secret, public) = generate();
        let sealed = seal(&public, b"org/meeting_keys/m1/dek", b"v1", b"a meeting key").unwrap();
        assert_eq!(
            open(&secret, b"org/meeting_keys/m1/dek", b"v1", &sealed)
                .unwrap()
                .as_slice(),
            b"a meeting key"
        );
        assert_eq!(
            open(&secret, b"org/meeting_keys/m2/dek", b"v1", &sealed),
            Err(CryptoError::DecryptionFailed)
        );
        assert_eq!(
            open(&secret, b"org/meeting_keys/m1/dek", b"v2", &sealed),
            Err(CryptoError::DecryptionFailed)
        );
        let (other, _) = generate();
        assert_eq!(
            open(&other, b"org/meeting_keys/m1/dek", b"v1", &sealed),
            Err(CryptoError::DecryptionFailed)
        );
        for i in 1..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 4;
            assert!(
                open(&secret, b"org/meeting_keys/m1/dek", b"v1", &bad).is_err(),
                "byte {i}"
            );
        }
        let restored = RecipientSecret::from_bytes(secret.expose()).unwrap();
        assert!(open(&restored, b"org/meeting_keys/m1/dek", b"v1", &sealed).is_ok());
        assert_eq!(format!("{secret:?}"), "[redacted]");
    }
}
