//! PKCE (RFC 7636) with S256 only: the verifier (a secret) and its challenge.

use std::fmt;

use rand::CryptoRng;
use ring::digest;
use zeroize::Zeroize as _;

use crate::jws::encode;
use crate::secret::SecretString;

/// The only challenge method we send.
pub const CODE_CHALLENGE_METHOD: &str = "S256";

/// A PKCE code verifier: 43–128 characters of `[A-Za-z0-9-._~]`. Secret until the token request.
#[derive(Clone, PartialEq, Eq)]
pub struct PkceVerifier(SecretString);

/// The S256 challenge of a verifier: `base64url(SHA-256(verifier))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

/// A string that is not a PKCE verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a PKCE code verifier is 43 to 128 characters of A-Z a-z 0-9 - . _ ~")]
pub struct PkceError;

impl PkceVerifier {
    /// A fresh verifier: 32 random bytes, base64url (43 characters).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        let verifier = Self::from_bytes(&bytes);
        bytes.zeroize();
        verifier
    }

    /// The verifier for 32 bytes of key material (used by the derived, stateless login).
    pub(crate) fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(SecretString::new(encode(bytes)))
    }

    /// Parses a verifier (RFC 7636 4.1).
    pub fn parse(value: impl Into<String>) -> Result<Self, PkceError> {
        let value = SecretString::new(value.into());
        let s = value.expose();
        let unreserved =
            |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if (43..=128).contains(&s.len()) && s.bytes().all(unreserved) {
            Ok(Self(value))
        } else {
            Err(PkceError)
        }
    }

    /// The verifier, for the token request.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// Its S256 challenge, for the authorization request.
    pub fn challenge(&self) -> CodeChallenge {
        CodeChallenge(encode(
            digest::digest(&digest::SHA256, self.expose().as_bytes()).as_ref(),
        ))
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

impl CodeChallenge {
    /// The challenge as sent in `code_challenge`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier = PkceVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(
            verifier.challenge().as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        // The verifier of the appendix is the base64url of these 32 octets.
        let octets: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        assert_eq!(PkceVerifier::from_bytes(&octets), verifier);
    }

    #[test]
    fn generated_verifiers_are_valid_and_differ() {
        let a = PkceVerifier::generate(&mut rand::rng());
        let b = PkceVerifier::generate(&mut rand::rng());
        assert_eq!(a.expose().len(), 43);
        assert!(PkceVerifier::parse(a.expose().to_owned()).is_ok());
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "PkceVerifier([redacted])");
    }

    #[test]
    fn parse_enforces_length_and_alphabet() {
        assert_eq!(PkceVerifier::parse("a".repeat(42)), Err(PkceError));
        assert!(PkceVerifier::parse("a".repeat(43)).is_ok());
        assert!(PkceVerifier::parse("a".repeat(128)).is_ok());
        assert_eq!(PkceVerifier::parse("a".repeat(129)), Err(PkceError));
        assert_eq!(
            PkceVerifier::parse(format!("{}+", "a".repeat(43))),
            Err(PkceError)
        );
        assert_eq!(
            PkceVerifier::parse(format!("{}=", "a".repeat(43))),
            Err(PkceError)
        );
    }
}
