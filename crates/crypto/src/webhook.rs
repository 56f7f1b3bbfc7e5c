//! Standard Webhooks v1 (<https://www.standardwebhooks.com>): the signature over
//! `{webhook-id}.{webhook-timestamp}.{body}` that a receiver checks, as meetvault sends it and as
//! `meetvault webhook verify` checks it.
//!
//! - Symmetric: a `whsec_` secret (base64 of 32 random bytes), HMAC-SHA256, signatures `v1,<base64>`.
//! - Asymmetric: an Ed25519 key pair, `whsk_` (base64 of the 32-byte seed) and `whpk_` (base64 of
//!   the public key), signatures `v1a,<base64>`.
//!
//! During a rotation the `webhook-signature` header carries several signatures separated by
//! spaces; a receiver accepts the message when any one of them verifies under a key it holds.
//! Verification also refuses a timestamp more than the tolerance (5 minutes by default) away from
//! now, which bounds replays.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// How far a message's timestamp may be from the receiver's clock, by default (the spec's).
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// A signing key of an endpoint: an HMAC secret or an Ed25519 key pair. `Debug` prints no key.
#[derive(Clone)]
pub enum SigningSecret {
    Hmac(Zeroizing<Vec<u8>>),
    Ed25519(Box<SigningKey>),
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hmac(_) => f.write_str("SigningSecret::Hmac([redacted])"),
            Self::Ed25519(_) => f.write_str("SigningSecret::Ed25519([redacted])"),
        }
    }
}

/// A key a receiver verifies with: the shared HMAC secret, or the sender's Ed25519 public key.
#[derive(Clone)]
pub enum VerifyKey {
    Hmac(Zeroizing<Vec<u8>>),
    Ed25519(VerifyingKey),
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hmac(_) => f.write_str("VerifyKey::Hmac([redacted])"),
            Self::Ed25519(k) => write!(f, "VerifyKey::Ed25519({})", public_string(k)),
        }
    }
}

/// Why a key string or a message was refused. Never carries a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error(
        "not a webhook key: expected whsec_… (a shared secret), whpk_… (a public key) or whsk_… (a signing key) followed by base64"
    )]
    BadKey,
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    #[error("webhook-timestamp is not a Unix time in seconds")]
    BadTimestamp,
    #[error(
        "the message is too old ({0} s older than the tolerance allows): a replay, or a clock far off"
    )]
    TooOld(i64),
    #[error("the message's timestamp is {0} s in the future beyond the tolerance: a clock far off")]
    TooNew(i64),
    #[error("no signature in webhook-signature verifies with this key")]
    NoMatch,
}

impl SigningSecret {
    /// A new random HMAC secret (32 bytes).
    pub fn generate_hmac() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; 32]);
        rand::rng().fill_bytes(&mut bytes);
        Self::Hmac(bytes)
    }

    /// A new random Ed25519 key pair.
    pub fn generate_ed25519() -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(seed.as_mut());
        Self::Ed25519(Box::new(SigningKey::from_bytes(&seed)))
    }

    /// Reads `whsec_…` or `whsk_…`.
    pub fn parse(s: &str) -> Result<Self, WebhookError> {
        if let Some(b64) = s.strip_prefix("whsec_") {
            let bytes = decode_b64(b64)?;
            if bytes.is_empty() {
                return Err(WebhookError::BadKey);
            }
            return Ok(Self::Hmac(bytes));
        }
        if let Some(b64) = s.strip_prefix("whsk_") {
            let bytes = decode_b64(b64)?;
            let seed: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| WebhookError::BadKey)?;
            return Ok(Self::Ed25519(Box::new(SigningKey::from_bytes(&seed))));
        }
        Err(WebhookError::BadKey)
    }

    /// The key as a string (`whsec_…` or `whsk_…`): secret; shown to its owner once.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        Zeroizing::new(match self {
            Self::Hmac(b) => format!("whsec_{}", STANDARD.encode(b)),
            Self::Ed25519(k) => format!("whsk_{}", STANDARD.encode(k.to_bytes())),
        })
    }

    /// What a receiver verifies with: the same secret, or the public key.
    pub fn verify_key(&self) -> VerifyKey {
        match self {
            Self::Hmac(b) => VerifyKey::Hmac(b.clone()),
            Self::Ed25519(k) => VerifyKey::Ed25519(k.verifying_key()),
        }
    }

    /// The public key (`whpk_…`) of an Ed25519 secret; none for HMAC.
    pub fn public_string(&self) -> Option<String> {
        match self {
            Self::Hmac(_) => None,
            Self::Ed25519(k) => Some(public_string(&k.verifying_key())),
        }
    }

    /// The signature of one message: `v1,<base64>` or `v1a,<base64>`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let content = signed_content(msg_id, timestamp, body);
        match self {
            Self::Hmac(key) => format!("v1,{}", STANDARD.encode(hmac(key, &content))),
            Self::Ed25519(k) => format!("v1a,{}", STANDARD.encode(k.sign(&content).to_bytes())),
        }
    }
}

impl VerifyKey {
    /// Reads `whsec_…` (shared secret), `whpk_…` (public key) or `whsk_…` (its public half).
    pub fn parse(s: &str) -> Result<Self, WebhookError> {
        if let Some(b64) = s.strip_prefix("whpk_") {
            let bytes = decode_b64(b64)?;
            let raw: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| WebhookError::BadKey)?;
            return VerifyingKey::from_bytes(&raw)
                .map(Self::Ed25519)
                .map_err(|_| WebhookError::BadKey);
        }
        SigningSecret::parse(s).map(|k| k.verify_key())
    }
}

/// The three headers of a delivery, as received.
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Checks a received message: headers present, timestamp within `tolerance_secs` of `now`
/// (Unix seconds), and one of the signatures verifying under one of `keys` (constant time).
pub fn verify(
    keys: &[VerifyKey],
    headers: Headers<'_>,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), WebhookError> {
    let id = headers
        .id
        .ok_or(WebhookError::MissingHeader("webhook-id"))?;
    let ts = headers
        .timestamp
        .ok_or(WebhookError::MissingHeader("webhook-timestamp"))?;
    let signature = headers
        .signature
        .ok_or(WebhookError::MissingHeader("webhook-signature"))?;
    let timestamp: i64 = ts.trim().parse().map_err(|_| WebhookError::BadTimestamp)?;
    // Saturating: a hostile timestamp (i64::MIN) or tolerance must not overflow.
    let tolerance = tolerance_secs.max(0);
    let (earliest, latest) = (now.saturating_sub(tolerance), now.saturating_add(tolerance));
    if timestamp < earliest {
        return Err(WebhookError::TooOld(earliest.saturating_sub(timestamp)));
    }
    if timestamp > latest {
        return Err(WebhookError::TooNew(timestamp.saturating_sub(latest)));
    }
    let content = signed_content(id, timestamp, body);
    let mut ok = false;
    for item in signature.split(' ').filter(|s| !s.is_empty()) {
        let Some((version, b64)) = item.split_once(',') else {
            continue;
        };
        let Ok(sig) = STANDARD.decode(b64) else {
            continue;
        };
        for key in keys {
            ok |= match (version, key) {
                ("v1", VerifyKey::Hmac(secret)) => {
                    bool::from(hmac(secret, &content).as_slice().ct_eq(&sig))
                }
                ("v1a", VerifyKey::Ed25519(public)) => Signature::from_slice(&sig)
                    .is_ok_and(|s| public.verify_strict(&content, &s).is_ok()),
                _ => false,
            };
        }
    }
    if ok {
        Ok(())
    } else {
        Err(WebhookError::NoMatch)
    }
}

fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(msg_id.len() + body.len() + 24);
    content.extend_from_slice(msg_id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.to_string().as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    content
}

fn hmac(key: &[u8], content: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so construction cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(content);
    mac.finalize().into_bytes().into()
}

fn decode_b64(s: &str) -> Result<Zeroizing<Vec<u8>>, WebhookError> {
    let s = s.trim();
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .map(Zeroizing::new)
        .map_err(|_| WebhookError::BadKey)
}

fn public_string(k: &VerifyingKey) -> String {
    format!("whpk_{}", STANDARD.encode(k.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_the_reference_example() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> Headers<'a> {
        Headers {
            id: Some(id),
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    #[test]
    fn verifies_and_refuses() {
        let body = br#"{"type":"bot.done"}"#;
        for secret in [
            SigningSecret::generate_hmac(),
            SigningSecret::generate_ed25519(),
        ] {
            let key = secret.verify_key();
            let sig = secret.sign("msg_1", 1000, body);
            let other = SigningSecret::generate_hmac().sign("msg_1", 1000, body);
            let both = format!("{other} {sig}");
            assert_eq!(
                verify(
                    std::slice::from_ref(&key),
                    headers("msg_1", "1000", &both),
                    body,
                    1100,
                    300
                ),
                Ok(())
            );
            // Round trip through the strings a user copies.
            let again = VerifyKey::parse(
                &secret
                    .public_string()
                    .unwrap_or_else(|| secret.to_secret_string().to_string()),
            )
            .unwrap();
            assert_eq!(
                verify(&[again], headers("msg_1", "1000", &sig), body, 1000, 300),
                Ok(())
            );
            let k = [key];
            assert_eq!(
                verify(
                    &k,
                    headers("msg_1", "1000", &sig),
                    b"{\"type\":\"bot.dona\"}",
                    1000,
                    300
                ),
                Err(WebhookError::NoMatch)
            );
            assert_eq!(
                verify(&k, headers("msg_2", "1000", &sig), body, 1000, 300),
                Err(WebhookError::NoMatch)
            );
            assert_eq!(
                verify(&k, headers("msg_1", "1000", &other), body, 1000, 300),
                Err(WebhookError::NoMatch)
            );
            assert_eq!(
                verify(&k, headers("msg_1", "1000", &sig), body, 1360, 300),
                Err(WebhookError::TooOld(60))
            );
            assert_eq!(
                verify(&k, headers("msg_1", "1000", &sig), body, 600, 300),
                Err(WebhookError::TooNew(100))
            );
            assert_eq!(
                verify(&k, headers("msg_1", "1e3", &sig), body, 1000, 300),
                Err(WebhookError::BadTimestamp)
            );
            let missing = Headers {
                signature: None,
                ..headers("msg_1", "1000", &sig)
            };
            assert_eq!(
                verify(&k, missing, body, 1000, 300),
                Err(WebhookError::MissingHeader("webhook-signature"))
            );
        }
    }

    #[test]
    fn hostile_numbers_do_not_overflow() {
        let secret = SigningSecret::generate_hmac();
        let k = [secret.verify_key()];
        let sig = secret.sign("msg_1", 1000, b"{}");
        for ts in [i64::MIN.to_string(), i64::MAX.to_string()] {
            assert!(verify(&k, headers("msg_1", &ts, &sig), b"{}", 1000, 300).is_err());
        }
        assert!(verify(&k, headers("msg_1", "1000", &sig), b"{}", 0, i64::MAX).is_ok());
        assert!(
            verify(
                &k,
                headers("msg_1", "1000", &sig),
                b"{}",
                i64::MIN,
                i64::MAX
            )
            .is_err()
        );
        assert!(verify(&k, headers("msg_1", "1000", &sig), b"{}", 1000, -5).is_ok());
    }

    #[test]
    fn refuses_bad_keys_and_hides_them() {
        for bad in [
            "",
            "whsec_",
            "whsec_!!!",
            "sk_abc",
            "whsk_AAAA",
            "whpk_AAAA",
        ] {
            assert!(VerifyKey::parse(bad).is_err(), "{bad}");
        }
        let secret = SigningSecret::generate_hmac();
        let text = secret.to_secret_string();
        assert!(!format!("{secret:?}").contains(&text[6..]));
        assert!(!format!("{:?}", secret.verify_key()).contains(&text[6..]));
    }
}
