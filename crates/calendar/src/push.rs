//! What both providers' push notifications share: [`PushSecret`], from which the Google
//! channel tokens and Graph `clientState` values are derived (HMAC-SHA256), so the server stores
//! no per-channel secret and an incoming notification proves itself by a value only we can
//! compute; and the rules for a notification address.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha2::Sha256;
use url::{Host, Url};
use zeroize::Zeroizing;

use crate::error::CalendarError;
use crate::secret::SecretString;

/// Why a notification is refused (answer 4xx and do nothing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// A header or field the provider always sends is missing or unreadable.
    #[error("the notification lacks {0}")]
    Missing(&'static str),
    /// The channel token or client state does not match.
    #[error("the notification's token does not match")]
    BadToken,
    /// The body is not the documented shape, or too large.
    #[error("the notification is malformed")]
    Malformed,
    /// A validation token longer than any Graph sends.
    #[error("the validation token is too long")]
    TooLong,
}

/// The key channel tokens and client states are derived from (32 bytes, from the server's key
/// hierarchy). `Debug` prints `[redacted]`; wiped when dropped.
pub struct PushSecret(Zeroizing<[u8; 32]>);

impl PushSecret {
    /// Wraps key material.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A random key (tests; the server derives a stable one).
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        Self(bytes)
    }

    fn derive(&self, label: &str, value: &str) -> SecretString {
        // The key is 32 bytes, which HMAC always accepts; the fallback only satisfies the type.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.0.as_ref()) else {
            return SecretString::new(String::new());
        };
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        SecretString::new(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// The `token` of the Google channel `channel_id` (43 characters; Google allows 256).
    pub fn google_channel_token(&self, channel_id: &str) -> SecretString {
        self.derive("meetvault-calendar google channel v1", channel_id)
    }

    /// The `clientState` of a Graph subscription bound to `binding` (the server's connection
    /// id, say; 43 characters, Graph allows 128).
    pub fn graph_client_state(&self, binding: &str) -> SecretString {
        self.derive("meetvault-calendar graph subscription v1", binding)
    }
}

impl fmt::Debug for PushSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PushSecret([redacted])")
    }
}

/// A notification address must be https (both providers require it); plain http is allowed
/// only to loopback, for tests.
pub(crate) fn check_address(url: &Url) -> Result<(), CalendarError> {
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d == "localhost",
        None => false,
    };
    let ok = (url.scheme() == "https" || (url.scheme() == "http" && loopback))
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
        && url.as_str().len() <= 2048;
    if ok {
        Ok(())
    } else {
        Err(CalendarError::Invalid(
            "a notification address must be an https URL without credentials",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_differ_by_purpose_and_input_and_are_redacted() {
        let s = PushSecret::from_bytes([7; 32]);
        let a = s.google_channel_token("chan-1");
        assert_eq!(a, s.google_channel_token("chan-1"));
        assert_ne!(a, s.google_channel_token("chan-2"));
        assert_ne!(a.expose(), s.graph_client_state("chan-1").expose());
        assert_ne!(
            a,
            PushSecret::from_bytes([8; 32]).google_channel_token("chan-1")
        );
        assert_eq!(a.expose().len(), 43);
        assert_eq!(format!("{s:?}"), "PushSecret([redacted])");
    }

    #[test]
    fn addresses_must_be_https_except_loopback() {
        for ok in [
            "https://mv.example/hooks/google",
            "http://127.0.0.1:8080/h",
            "http://[::1]/h",
        ] {
            assert!(check_address(&Url::parse(ok).unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "http://mv.example/h",
            "https://u:p@mv.example/h",
            "ftp://mv.example/h",
            "http://10.0.0.1/h",
        ] {
            assert!(check_address(&Url::parse(bad).unwrap()).is_err(), "{bad}");
        }
    }
}
