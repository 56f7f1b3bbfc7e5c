//! The embeddable widget's optional signed visitor identity: an HS256 JWT that the customer's
//! website signs with the widget's secret, verified here before any claim in it is read.
//!
//! This module owns one decision, whether a visitor token is genuine, fresh and meant for this
//! widget, as a plain function over the token, the secret, the widget's audience and `now`. It
//! must never:
//!
//! - use the secret as anything but an HMAC-SHA-256 key: every `alg` except `HS256` is refused
//!   before the secret is touched, so `none`, `HS384` or `RS256` cannot change how it is used;
//! - read a claim before the signature holds (compared in constant time by ring);
//! - accept a token that says two things at once (a repeated JSON key), an encrypted token, a
//!   `crit` extension, or a token valid for more than an hour;
//! - put the token, the secret or a claim into an error. The messages are detailed enough for
//!   a log; a caller shows the visitor only "invalid token".
//!
//! The verified claims are the customer's words, not ours: `name` and `email` may hold any
//! text, markup included, and must be escaped wherever they are shown.

use ring::hmac;
use serde_json::{Map, Value};

use crate::jws::{self, SplitError};
use crate::secret::bounded_text;
use crate::strict_json::{self, StrictJsonError};

/// Longer visitor tokens are refused before they are decoded.
pub const MAX_VISITOR_TOKEN_BYTES: usize = 4096;
/// Clock leeway, in seconds, for `exp`, `iat` and `nbf` (and the one-hour maximum lifetime).
pub const VISITOR_LEEWAY_SECS: i64 = 30;
/// The longest a visitor token may still be valid for: `exp` at most this far after `now`.
pub const MAX_VISITOR_TOKEN_LIFETIME_SECS: i64 = 3600;
/// Longest `sub`, in characters.
pub const MAX_VISITOR_SUB_CHARS: usize = 256;
/// Longest `email`, in characters.
pub const MAX_VISITOR_EMAIL_CHARS: usize = 320;
/// Longest `name`, in characters.
pub const MAX_VISITOR_NAME_CHARS: usize = 200;

/// The one algorithm a visitor token may use.
const ALG: &str = "HS256";

/// Who the customer's website says the visitor is, from a verified visitor token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VisitorClaims {
    /// `sub`: the visitor's id in the customer's system; never empty, at most
    /// [`MAX_VISITOR_SUB_CHARS`] characters.
    pub sub: String,
    /// `email`, as the customer sent it (not checked to be an address; an empty or `null`
    /// email is `None`), at most [`MAX_VISITOR_EMAIL_CHARS`] characters.
    pub email: Option<String>,
    /// `name`, the display name (an empty or `null` name is `None`), at most
    /// [`MAX_VISITOR_NAME_CHARS`] characters.
    pub name: Option<String>,
    /// `exp`: when the token expires, in Unix seconds.
    pub exp: i64,
    /// `iat`: when the token was issued, in Unix seconds, if it says.
    pub iat: Option<i64>,
}

/// Why a visitor token was refused. Messages name the check, never the token, the secret or
/// a claim's value; show callers only "invalid token".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VisitorTokenError {
    /// The widget has no secret configured, so no token can be genuine.
    #[error("the widget's visitor-token secret is empty")]
    EmptySecret,
    /// Longer than [`MAX_VISITOR_TOKEN_BYTES`].
    #[error("the visitor token is larger than {MAX_VISITOR_TOKEN_BYTES} bytes")]
    TooLarge,
    /// A JWE (five parts, or an `enc` header): visitor tokens are signed, not encrypted.
    #[error("the visitor token is encrypted (JWE); it must be a JWS signed with HS256")]
    Encrypted,
    /// Not a compact JWS of base64url parts, or its header is not a JSON object.
    #[error("the visitor token is malformed: {0}")]
    Malformed(&'static str),
    /// `alg` is not `HS256`.
    #[error("the visitor token is signed with {0:?}; only HS256 is accepted")]
    UnsupportedAlg(String),
    /// `typ` is present and is not `JWT`.
    #[error("the visitor token's typ is {0:?}; only JWT is accepted")]
    UnsupportedType(String),
    /// The header has `crit`: extensions we do not understand must not be ignored.
    #[error("the visitor token has critical header extensions (crit), which are not supported")]
    CriticalHeader,
    /// The signature does not verify with the widget's secret.
    #[error("the visitor token's signature does not verify with the widget's secret")]
    BadSignature,
    /// The signed claims are not a JSON object, or repeat a key.
    #[error("the visitor token's claims are malformed: {0}")]
    MalformedClaims(&'static str),
    /// A claim is missing, of the wrong type, empty or too long.
    #[error("the visitor token's {0} claim is missing or invalid")]
    InvalidClaim(&'static str),
    /// `aud` does not name this widget.
    #[error("the visitor token is not meant for this widget (aud)")]
    WrongAudience,
    /// `exp` has passed (beyond the leeway).
    #[error("the visitor token has expired")]
    Expired,
    /// `exp` is more than an hour (plus the leeway) away.
    #[error("the visitor token is valid for more than one hour; sign shorter-lived tokens")]
    LifetimeTooLong,
    /// `iat` is in the future (beyond the leeway).
    #[error("the visitor token is issued in the future (iat); check the clocks")]
    IssuedInFuture,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the visitor token is not valid yet (nbf)")]
    NotYetValid,
}

/// Verifies a visitor token: a compact JWS signed with HS256 under `secret`, whose claims name
/// `audience` and are valid at `now_unix` (Unix seconds, within [`VISITOR_LEEWAY_SECS`]) for at
/// most [`MAX_VISITOR_TOKEN_LIFETIME_SECS`] more. Claims other than `aud`, `exp`, `iat`,
/// `nbf`, `sub`, `email` and `name` are ignored.
pub fn verify_visitor_token(
    token: &str,
    secret: &[u8],
    audience: &str,
    now_unix: i64,
) -> Result<VisitorClaims, VisitorTokenError> {
    if secret.is_empty() {
        return Err(VisitorTokenError::EmptySecret);
    }
    if token.len() > MAX_VISITOR_TOKEN_BYTES {
        return Err(VisitorTokenError::TooLarge);
    }
    let raw = jws::split_raw(token).map_err(|e| match e {
        SplitError::Encrypted => VisitorTokenError::Encrypted,
        SplitError::Malformed(why) => VisitorTokenError::Malformed(why),
    })?;
    check_header(&raw.header)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, raw.signing_input, &raw.signature)
        .map_err(|_| VisitorTokenError::BadSignature)?;

    let claims = strict_json::object(&raw.payload).map_err(|e| {
        VisitorTokenError::MalformedClaims(match e {
            StrictJsonError::Invalid => "they are not JSON",
            StrictJsonError::NotAnObject => "they are not a JSON object",
            StrictJsonError::DuplicateKey => "a key is repeated",
        })
    })?;
    check_audience(&claims, audience)?;
    let times = check_times(&claims, now_unix)?;
    let sub = text(&claims, "sub", MAX_VISITOR_SUB_CHARS)?
        .filter(|s| !s.is_empty())
        .ok_or(VisitorTokenError::InvalidClaim("sub"))?;
    let email = optional_text(&claims, "email", MAX_VISITOR_EMAIL_CHARS)?;
    let name = optional_text(&claims, "name", MAX_VISITOR_NAME_CHARS)?;
    Ok(VisitorClaims {
        sub: sub.to_owned(),
        email,
        name,
        exp: times.exp,
        iat: times.iat,
    })
}

/// The protected header: one JSON object, `alg` exactly HS256, `typ` absent or JWT, no `crit`,
/// no `enc`. Other members (`kid` among them) are ignored: there is one key, the widget's.
fn check_header(bytes: &[u8]) -> Result<(), VisitorTokenError> {
    let header = strict_json::object(bytes).map_err(|e| {
        VisitorTokenError::Malformed(match e {
            StrictJsonError::Invalid => "the header is not JSON",
            StrictJsonError::NotAnObject => "the header is not a JSON object",
            StrictJsonError::DuplicateKey => "the header repeats a key",
        })
    })?;
    if header.contains_key("enc") {
        return Err(VisitorTokenError::Encrypted);
    }
    match header.get("alg") {
        Some(Value::String(alg)) if alg == ALG => {}
        Some(Value::String(alg)) => {
            return Err(VisitorTokenError::UnsupportedAlg(bounded_text(alg, 16)));
        }
        Some(_) => {
            return Err(VisitorTokenError::Malformed(
                "the header's alg is not a string",
            ));
        }
        None => return Err(VisitorTokenError::Malformed("the header has no alg")),
    }
    if header.contains_key("crit") {
        return Err(VisitorTokenError::CriticalHeader);
    }
    match header.get("typ") {
        None => Ok(()),
        Some(Value::String(typ)) if typ.eq_ignore_ascii_case("JWT") => Ok(()),
        Some(Value::String(typ)) => Err(VisitorTokenError::UnsupportedType(bounded_text(typ, 32))),
        Some(_) => Err(VisitorTokenError::Malformed(
            "the header's typ is not a string",
        )),
    }
}

/// `aud` must be `audience`, or an array of strings containing it.
fn check_audience(claims: &Map<String, Value>, audience: &str) -> Result<(), VisitorTokenError> {
    let matches = match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(list)) if !list.is_empty() => {
            let mut found = false;
            for item in list {
                let aud = item
                    .as_str()
                    .ok_or(VisitorTokenError::InvalidClaim("aud"))?;
                found |= aud == audience;
            }
            found
        }
        _ => return Err(VisitorTokenError::InvalidClaim("aud")),
    };
    if matches && !audience.is_empty() {
        Ok(())
    } else {
        Err(VisitorTokenError::WrongAudience)
    }
}

struct Times {
    exp: i64,
    iat: Option<i64>,
}

fn check_times(claims: &Map<String, Value>, now: i64) -> Result<Times, VisitorTokenError> {
    let earliest = now.saturating_sub(VISITOR_LEEWAY_SECS);
    let latest = now.saturating_add(VISITOR_LEEWAY_SECS);
    let exp = integer(claims, "exp")?.ok_or(VisitorTokenError::InvalidClaim("exp"))?;
    if exp <= earliest {
        return Err(VisitorTokenError::Expired);
    }
    if exp > latest.saturating_add(MAX_VISITOR_TOKEN_LIFETIME_SECS) {
        return Err(VisitorTokenError::LifetimeTooLong);
    }
    let iat = integer(claims, "iat")?;
    if iat.is_some_and(|iat| iat > latest) {
        return Err(VisitorTokenError::IssuedInFuture);
    }
    if integer(claims, "nbf")?.is_some_and(|nbf| nbf > latest) {
        return Err(VisitorTokenError::NotYetValid);
    }
    Ok(Times { exp, iat })
}

/// An integer claim in Unix seconds: absent is `None`; anything but a JSON integer that fits
/// an `i64` (a fraction, a string, `null`) is refused.
fn integer(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, VisitorTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or(VisitorTokenError::InvalidClaim(name)),
    }
}

/// A string claim of at most `max` characters: absent is `None`, anything but a string refused.
fn text<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
    max: usize,
) -> Result<Option<&'a str>, VisitorTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if s.chars().nth(max).is_none() => Ok(Some(s)),
        Some(_) => Err(VisitorTokenError::InvalidClaim(name)),
    }
}

/// An optional string claim: `null` and the empty string mean absent.
fn optional_text(
    claims: &Map<String, Value>,
    name: &'static str,
    max: usize,
) -> Result<Option<String>, VisitorTokenError> {
    if claims.get(name).is_some_and(Value::is_null) {
        return Ok(None);
    }
    Ok(text(claims, name, max)?
        .filter(|s| !s.is_empty())
        .map(str::to_owned))
}

#[cfg(test)]
mod tests;
