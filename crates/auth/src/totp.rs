//! RFC 6238 time-based one-time passwords (HMAC-SHA1, 30-second steps, 6 digits), with
//! replay protection by step number and the otpauth:// URI for enrolment QR codes.

use std::fmt;

use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha1::Sha1;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::base32;

const STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;
const MODULUS: u32 = 1_000_000;
/// RFC 4226 recommends 160 bits, matching the HMAC-SHA1 block use.
const SECRET_BYTES: usize = 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TotpError {
    #[error("the secret is not valid base32")]
    InvalidBase32,
    #[error("the secret is empty")]
    Empty,
}

/// A TOTP shared secret. Zeroized on drop; `Debug` shows nothing of it.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding, as authenticator apps show and accept it.
    pub fn to_base32(&self) -> String {
        base32::encode(base32::RFC4648, &self.0)
    }

    /// Accepts lower case, spaces and `=` padding, since people copy secrets by hand.
    pub fn from_base32(s: &str) -> Result<Self, TotpError> {
        let bytes = Zeroizing::new(base32::decode_rfc4648(s).ok_or(TotpError::InvalidBase32)?);
        if bytes.is_empty() {
            return Err(TotpError::Empty);
        }
        Ok(Self(bytes))
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

/// The 30-second step a Unix time falls in.
pub fn step_at(unix_time: u64) -> u64 {
    unix_time / STEP_SECONDS
}

/// The 6-digit code (zero-padded) valid at `unix_time`.
pub fn code_at(secret: &TotpSecret, unix_time: u64) -> String {
    format!(
        "{:0width$}",
        hotp(secret, step_at(unix_time)),
        width = DIGITS
    )
}

/// RFC 4226 HOTP value for a counter, reduced to `DIGITS` digits.
fn hotp(secret: &TotpSecret, counter: u64) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret.as_bytes()) else {
        // HMAC takes keys of any length; this arm exists only to avoid an unwrap.
        return u32::MAX;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let value = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    value % MODULUS
}

/// Accepts the code for the current step or one step either side (clock drift), returning
/// the matched step so the caller can store it as `last_used_step`. A step at or before
/// `last_used_step` is refused, so a code cannot be replayed, even within its window.
/// Spaces in the input are ignored; anything but exactly 6 digits is refused. All window
/// candidates are compared in constant time, without stopping at the first match.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_time: u64,
    last_used_step: Option<u64>,
) -> Option<u64> {
    let typed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(unix_time);
    let mut matched = None;
    for step in [
        current.checked_sub(1),
        Some(current),
        current.checked_add(1),
    ]
    .into_iter()
    .flatten()
    {
        let expected = format!("{:0width$}", hotp(secret, step), width = DIGITS);
        let equal: bool = expected.as_bytes().ct_eq(typed.as_bytes()).into();
        let fresh = last_used_step.is_none_or(|last| step > last);
        if equal && fresh {
            matched = Some(step);
        }
    }
    matched
}

/// The `otpauth://` URI authenticator apps read from a QR code. Issuer and account are
/// percent-encoded; the issuer appears both as label prefix and parameter, as Google
/// Authenticator's key-uri format recommends.
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        account = percent_encode(account),
        secret = secret.to_base32(),
    )
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec())
    }

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, eight_digits) in vectors {
            assert_eq!(code_at(&rfc_secret(), time), &eight_digits[2..], "t={time}");
        }
    }

    #[test]
    fn accepts_current_and_adjacent_steps_only() {
        let secret = TotpSecret::generate();
        let now = 1_700_000_000;
        let step = step_at(now);
        assert_eq!(
            verify(&secret, &code_at(&secret, now), now, None),
            Some(step)
        );
        assert_eq!(
            verify(&secret, &code_at(&secret, now - 30), now, None),
            Some(step - 1)
        );
        assert_eq!(
            verify(&secret, &code_at(&secret, now + 30), now, None),
            Some(step + 1)
        );
        for far in [now - 60, now + 60, now - 3600] {
            let code = code_at(&secret, far);
            // Skip the rare case where the far code coincides with one in the window.
            if [now - 30, now, now + 30]
                .iter()
                .all(|&t| code_at(&secret, t) != code)
            {
                assert_eq!(verify(&secret, &code, now, None), None, "t={far}");
            }
        }
    }

    #[test]
    fn replayed_or_older_steps_are_rejected() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let code = code_at(&secret, now);
        let step = verify(&secret, &code, now, None).unwrap();
        assert_eq!(verify(&secret, &code, now, Some(step)), None);
        assert_eq!(verify(&secret, &code, now + 10, Some(step)), None);
        // A code for the previous step is refused once a later one was used.
        let previous = code_at(&secret, now - 30);
        assert_eq!(verify(&secret, &previous, now, Some(step)), None);
        // The next step is still fine.
        let next = code_at(&secret, now + 30);
        assert_eq!(verify(&secret, &next, now + 30, Some(step)), Some(step + 1));
    }

    #[test]
    fn input_format_is_checked() {
        let secret = rfc_secret();
        let now = 59;
        assert_eq!(verify(&secret, "287 082", now, None), Some(1));
        assert_eq!(verify(&secret, " 287082 ", now, None), Some(1));
        for bad in [
            "28708",
            "2870820",
            "28708a",
            "",
            "94287082",
            "287-082",
            "٢٨٧٠٨٢",
        ] {
            assert_eq!(verify(&secret, bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn works_at_the_epoch() {
        let secret = rfc_secret();
        assert_eq!(verify(&secret, &code_at(&secret, 0), 0, None), Some(0));
    }

    #[test]
    fn base32_round_trip() {
        let secret = TotpSecret::generate();
        assert_eq!(secret.as_bytes().len(), 20);
        let encoded = secret.to_base32();
        assert_eq!(encoded.len(), 32);
        let decoded = TotpSecret::from_base32(&encoded).unwrap();
        assert_eq!(decoded.as_bytes(), secret.as_bytes());
        let lower = encoded.to_lowercase();
        assert_eq!(
            TotpSecret::from_base32(&lower).unwrap().as_bytes(),
            secret.as_bytes()
        );
        assert_eq!(rfc_secret().to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            TotpSecret::from_base32("GEZD1").unwrap_err(),
            TotpError::InvalidBase32
        );
        assert_eq!(TotpSecret::from_base32("").unwrap_err(), TotpError::Empty);
    }

    #[test]
    fn otpauth_uri_is_percent_encoded() {
        let uri = otpauth_uri(&rfc_secret(), "Meet Vault", "jane+x@example.org");
        assert_eq!(
            uri,
            "otpauth://totp/Meet%20Vault:jane%2Bx%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Meet%20Vault&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(percent_encode("a:b/é"), "a%3Ab%2F%C3%A9");
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let secret = rfc_secret();
        let shown = format!("{secret:?}");
        assert!(!shown.contains("1234567890"));
        assert!(!shown.contains("GEZDGNBV"));
        assert!(!shown.contains("49, 50"));
        assert!(shown.contains("[redacted]"));
    }
}
