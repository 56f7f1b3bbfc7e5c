//! The browser-bound, signed `state` that makes the login stateless on the server yet
//! CSRF-proof. Nothing is stored: the nonce and the PKCE verifier are derived from the key, the
//! state and the browser's secret cookie, so neither can be computed without both.
//!
//! ```text
//! payload  = base64url(JSON of LoginState)
//! tag      = HMAC(key, "meetvault-oidc/state/v1"   0 payload)
//!         || HMAC(key, "meetvault-oidc/browser/v1" 0 payload 0 SHA-256(browser_secret))
//! state    = payload "." base64url(tag)
//! nonce    = base64url(HMAC(key, "meetvault-oidc/nonce/v1" 0 payload 0 browser_secret))
//! verifier = base64url(HMAC(key, "meetvault-oidc/pkce/v1"  0 payload 0 browser_secret))
//! ```
//!
//! Two tags instead of one: the first proves the payload is ours, the second that it came back
//! in the browser that started the login, so an operator can tell tampering from a lost or
//! foreign cookie (a SameSite or third-party-cookie problem). The caller sends the browser
//! secret as a `__Host-` cookie (Secure, HttpOnly, SameSite=Lax, Path=/) and never logs it.

mod return_to;

use std::fmt;

use rand::CryptoRng;
use ring::{digest, hmac};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize as _, Zeroizing};

pub use return_to::{ReturnTo, ReturnToError};

use crate::jws::{decode, encode};
use crate::pkce::{CodeChallenge, PkceVerifier};
use crate::secret::SecretString;

/// How long a login may take, by default.
pub const DEFAULT_LOGIN_TTL_SECS: u64 = 600;
/// Longer `state` values are refused before any work.
pub const MAX_STATE_LEN: usize = 4096;

const STATE_LABEL: &[u8] = b"meetvault-oidc/state/v1";
const BROWSER_LABEL: &[u8] = b"meetvault-oidc/browser/v1";
const NONCE_LABEL: &[u8] = b"meetvault-oidc/nonce/v1";
const PKCE_LABEL: &[u8] = b"meetvault-oidc/pkce/v1";

/// The 32-byte key that signs states and derives nonces and verifiers. The caller derives it
/// from its master key (a purpose-specific subkey); it is wiped when dropped.
pub struct StateKey(Zeroizing<[u8; 32]>);

/// What a login carries through the provider and back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginState {
    #[serde(rename = "p")]
    provider: String,
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    org: Option<String>,
    #[serde(rename = "r")]
    return_to: ReturnTo,
    #[serde(rename = "iat")]
    issued_at: u64,
    #[serde(rename = "exp")]
    expires_at: u64,
}

/// A started login: send the browser to the provider with `state`, `nonce` and
/// `code_challenge`, and set `browser_secret` as its cookie.
#[derive(Debug)]
pub struct Begun {
    /// The `state` parameter.
    pub state: String,
    /// The browser's secret, for a `__Host-` cookie. Never log it.
    pub browser_secret: SecretString,
    /// The `nonce` parameter.
    pub nonce: String,
    /// The PKCE verifier (not sent now; derived again at the callback).
    pub pkce_verifier: PkceVerifier,
    /// The `code_challenge` parameter (S256).
    pub code_challenge: CodeChallenge,
}

/// A login that came back in the browser that started it, in time.
#[derive(Debug)]
pub struct Finished {
    /// What the login carried.
    pub login_state: LoginState,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier for the token request.
    pub pkce_verifier: PkceVerifier,
}

/// Why a returning login was refused. Never contains the state, the cookie or derived secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The state is not one we could have made.
    #[error("the login state is malformed; start the login again")]
    Malformed,
    /// The state's signature does not verify: altered, or signed with another key.
    #[error("the login state was altered or signed with another key; start the login again")]
    Tampered,
    /// The browser did not send the login cookie.
    #[error(
        "the login cookie is missing: the browser did not send it back (blocked cookies, \
         another browser, or a plain-http origin); start the login again"
    )]
    MissingBrowserSecret,
    /// The state is ours but the cookie is not the one of the browser that started the login:
    /// a login CSRF attempt, or a login finished in another browser.
    #[error("this login was started in another browser; start the login again")]
    OtherBrowser,
    /// The login took longer than allowed.
    #[error("the login took too long; start the login again")]
    Expired,
}

/// Key material of the wrong length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a state key is exactly 32 bytes")]
pub struct StateKeyLengthError;

impl StateKey {
    /// A key from 32 bytes the caller derived for this purpose.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A key from a slice, which must be 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, StateKeyLengthError> {
        let mut key = [0u8; 32];
        if bytes.len() != key.len() {
            return Err(StateKeyLengthError);
        }
        key.copy_from_slice(bytes);
        let this = Self::new(key);
        key.zeroize();
        Ok(this)
    }

    /// Starts a login: a fresh browser secret, the signed state, and the derived nonce and
    /// PKCE verifier.
    pub fn begin<R: CryptoRng + ?Sized>(&self, login: LoginState, rng: &mut R) -> Begun {
        let mut random = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(random.as_mut());
        let browser_secret = SecretString::new(encode(random.as_ref()));
        // Serializing a struct of strings and integers cannot fail; an empty payload would only
        // make a state that `finish` refuses.
        let payload = encode(&serde_json::to_vec(&login).unwrap_or_default());
        let (state_tag, browser_tag) = self.tags(&payload, browser_secret.expose());
        let mut tag = Vec::with_capacity(64);
        tag.extend_from_slice(state_tag.as_ref());
        tag.extend_from_slice(browser_tag.as_ref());
        let state = format!("{payload}.{}", encode(&tag));
        let nonce = self.nonce(&payload, browser_secret.expose());
        let pkce_verifier = self.pkce_verifier(&payload, browser_secret.expose());
        let code_challenge = pkce_verifier.challenge();
        Begun {
            state,
            browser_secret,
            nonce,
            pkce_verifier,
            code_challenge,
        }
    }

    /// Finishes a login at the callback: `state` from the query, `browser_secret` from the
    /// cookie (empty if there was none), `now` in Unix seconds.
    pub fn finish(
        &self,
        state: &str,
        browser_secret: &str,
        now: u64,
    ) -> Result<Finished, StateError> {
        if state.len() > MAX_STATE_LEN {
            return Err(StateError::Malformed);
        }
        let (payload, tag) = state.split_once('.').ok_or(StateError::Malformed)?;
        let tag = decode(tag)
            .filter(|t| t.len() == 64)
            .ok_or(StateError::Malformed)?;
        let (state_tag, browser_tag) = tag.split_at(32);
        let key = self.hmac_key();
        hmac::verify(&key, &message(STATE_LABEL, payload, None), state_tag)
            .map_err(|_| StateError::Tampered)?;
        if browser_secret.is_empty() {
            return Err(StateError::MissingBrowserSecret);
        }
        let binding = digest::digest(&digest::SHA256, browser_secret.as_bytes());
        hmac::verify(
            &key,
            &message(BROWSER_LABEL, payload, Some(binding.as_ref())),
            browser_tag,
        )
        .map_err(|_| StateError::OtherBrowser)?;

        let json = decode(payload).ok_or(StateError::Malformed)?;
        let login_state: LoginState =
            serde_json::from_slice(&json).map_err(|_| StateError::Malformed)?;
        if now >= login_state.expires_at {
            return Err(StateError::Expired);
        }
        Ok(Finished {
            login_state,
            nonce: self.nonce(payload, browser_secret),
            pkce_verifier: self.pkce_verifier(payload, browser_secret),
        })
    }

    fn hmac_key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, self.0.as_ref())
    }

    fn tags(&self, payload: &str, browser_secret: &str) -> (hmac::Tag, hmac::Tag) {
        let key = self.hmac_key();
        let binding = digest::digest(&digest::SHA256, browser_secret.as_bytes());
        (
            hmac::sign(&key, &message(STATE_LABEL, payload, None)),
            hmac::sign(
                &key,
                &message(BROWSER_LABEL, payload, Some(binding.as_ref())),
            ),
        )
    }

    fn nonce(&self, payload: &str, browser_secret: &str) -> String {
        let tag = hmac::sign(
            &self.hmac_key(),
            &message(NONCE_LABEL, payload, Some(browser_secret.as_bytes())),
        );
        encode(tag.as_ref())
    }

    fn pkce_verifier(&self, payload: &str, browser_secret: &str) -> PkceVerifier {
        let tag = hmac::sign(
            &self.hmac_key(),
            &message(PKCE_LABEL, payload, Some(browser_secret.as_bytes())),
        );
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(tag.as_ref());
        PkceVerifier::from_bytes(&bytes)
    }
}

/// `label 0 payload [0 extra]`: the payload is base64url and the label has no zero byte, so
/// the parts cannot be shifted into one another.
fn message(label: &[u8], payload: &str, extra: Option<&[u8]>) -> Zeroizing<Vec<u8>> {
    let mut m = Vec::with_capacity(label.len() + payload.len() + 34);
    m.extend_from_slice(label);
    m.push(0);
    m.extend_from_slice(payload.as_bytes());
    if let Some(extra) = extra {
        m.push(0);
        m.extend_from_slice(extra);
    }
    Zeroizing::new(m)
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateKey([redacted])")
    }
}

impl LoginState {
    /// A login for `provider` (and `org`, for an organisation's own provider), returning to
    /// `return_to`, started at `now` (Unix seconds), valid for [`DEFAULT_LOGIN_TTL_SECS`].
    pub fn new(
        provider: impl Into<String>,
        org: Option<String>,
        return_to: ReturnTo,
        now: u64,
    ) -> Self {
        Self {
            provider: provider.into(),
            org,
            return_to,
            issued_at: now,
            expires_at: now.saturating_add(DEFAULT_LOGIN_TTL_SECS),
        }
    }

    /// Another lifetime than the default.
    pub fn with_ttl(mut self, secs: u64) -> Self {
        self.expires_at = self.issued_at.saturating_add(secs);
        self
    }

    /// The provider id the login was started for.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The organisation, if the provider is an organisation's own.
    pub fn org(&self) -> Option<&str> {
        self.org.as_deref()
    }

    /// Where to send the user after the login (a path on this site).
    pub fn return_to(&self) -> &ReturnTo {
        &self.return_to
    }

    /// When the login started (Unix seconds).
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// When the login stops being accepted (Unix seconds).
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

#[cfg(test)]
mod tests;
