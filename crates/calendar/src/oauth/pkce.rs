//! PKCE (RFC 7636) with S256 only: the verifier (a secret the caller keeps with the `state`
//! until the callback) and its challenge.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroize as _;

use crate::secret::SecretString;

/// A PKCE code verifier: 43–128 characters of `[A-Za-z0-9-._~]`.
#[derive(Clone, PartialEq, Eq)]
pub struct PkceVerifier(SecretString);

impl PkceVerifier {
    /// A fresh verifier: 32 random bytes, base64url (43 characters).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let verifier = Self(SecretString::new(URL_SAFE_NO_PAD.encode(bytes)));
        bytes.zeroize();
        verifier
    }

    /// A stored verifier, checked against RFC 7636 4.1.
    pub fn parse(value: impl Into<String>) -> Option<Self> {
        let value = SecretString::new(value.into());
        let s = value.expose();
        let unreserved =
            |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        ((43..=128).contains(&s.len()) && s.bytes().all(unreserved)).then_some(Self(value))
    }

    /// The verifier, for the token request and for storing with the `state`.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// Its S256 challenge: `base64url(SHA-256(verifier))`.
    pub fn challenge(&self) -> String {
        challenge_of(self.expose())
    }
}

/// The S256 challenge of a verifier (the fake's token endpoint checks with it too).
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let v = PkceVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(v.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn generated_verifiers_are_valid_distinct_and_redacted() {
        let a = PkceVerifier::generate();
        let b = PkceVerifier::generate();
        assert_eq!(a.expose().len(), 43);
        assert!(PkceVerifier::parse(a.expose()).is_some());
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "PkceVerifier([redacted])");
        assert!(PkceVerifier::parse("a".repeat(42)).is_none());
        assert!(PkceVerifier::parse(format!("{}+", "a".repeat(43))).is_none());
    }
}
