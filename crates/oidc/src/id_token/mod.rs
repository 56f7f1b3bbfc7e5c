//! ID-token verification: the compact JWS, its signature with a key from our JWKS, then the
//! claims (iss, aud, azp, exp, iat, nbf, nonce) against what this login expects. Claims are read
//! only after the signature holds.

mod claims;
#[cfg(test)]
mod tests;

use std::fmt;

use subtle::ConstantTimeEq as _;

pub use claims::IdClaims;

use crate::issuer::{IssuerMismatch, IssuerRule};
use crate::jwks::{Jwks, KeyLookupError};
use crate::jws::{self, Alg, SplitError};
use crate::secret::bounded_text;

/// Larger ID tokens are refused before they are decoded.
pub const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;
/// Default clock leeway for exp, iat and nbf.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;
/// Default oldest `iat` accepted: a fresh login, not a replayed old token.
pub const DEFAULT_MAX_AGE_SECS: u64 = 600;

/// What one login expects of its ID token.
#[derive(Clone)]
pub struct Expectations {
    issuer: IssuerRule,
    client_id: String,
    nonce: String,
    leeway_secs: u64,
    max_age_secs: u64,
}

impl Expectations {
    /// The issuer rule, our client id, and the nonce this login sent.
    pub fn new(issuer: IssuerRule, client_id: impl Into<String>, nonce: impl Into<String>) -> Self {
        Self {
            issuer,
            client_id: client_id.into(),
            nonce: nonce.into(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
            max_age_secs: DEFAULT_MAX_AGE_SECS,
        }
    }

    /// Clock leeway for exp, iat and nbf (default [`DEFAULT_LEEWAY_SECS`]).
    pub fn with_leeway(mut self, secs: u64) -> Self {
        self.leeway_secs = secs;
        self
    }

    /// The oldest `iat` accepted, in seconds before now (default [`DEFAULT_MAX_AGE_SECS`]).
    pub fn with_max_age(mut self, secs: u64) -> Self {
        self.max_age_secs = secs;
        self
    }
}

impl fmt::Debug for Expectations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expectations")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("nonce", &"[redacted]")
            .field("leeway_secs", &self.leeway_secs)
            .field("max_age_secs", &self.max_age_secs)
            .finish()
    }
}

/// Why an ID token was refused. Messages name the check, never the token or its claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    /// Longer than [`MAX_ID_TOKEN_BYTES`].
    #[error("the ID token is larger than {MAX_ID_TOKEN_BYTES} bytes")]
    TooLarge,
    /// A JWE (five parts, or an `enc` header): we only take signed tokens.
    #[error("the ID token is encrypted (JWE); configure the provider to send signed ID tokens")]
    Encrypted,
    /// Not a compact JWS, or its header or payload is not JSON.
    #[error("the ID token is malformed: {0}")]
    Malformed(&'static str),
    /// `alg` is not RS256, PS256, ES256 or EdDSA (`none` and `HS*` are refused here).
    #[error("the ID token is signed with {0:?}, which meetvault does not accept")]
    UnsupportedAlg(String),
    /// The header has `crit`: extensions we do not understand must not be ignored.
    #[error("the ID token has critical header extensions (crit), which meetvault does not support")]
    CriticalHeader,
    /// The header's `typ` says it is an access token, not an ID token.
    #[error("the token is not an ID token (typ {0:?})")]
    WrongType(String),
    /// No key in the set has this id: refetch the JWKS once (the provider may have rotated).
    #[error(
        "no key in the provider's key set matches the ID token (kid {kid:?}); refetch the key set"
    )]
    UnknownKey {
        /// The token's key id (bounded), if it named one.
        kid: Option<String>,
    },
    /// The token names no key and several keys could have signed it.
    #[error("the ID token names no key (kid) and the key set has several that fit")]
    AmbiguousKey,
    /// The named key is of another type than the token's `alg`, or declares another `alg`.
    #[error("the ID token's algorithm does not match the type of its key")]
    KeyAlgMismatch,
    /// The named key was in the set but was set aside (for example an RSA key under 2048 bits).
    #[error("the ID token's key is not acceptable: {0}")]
    KeyRefused(&'static str),
    /// The signature does not verify.
    #[error("the ID token's signature does not verify")]
    BadSignature,
    /// A required claim is missing or of the wrong type.
    #[error("the ID token's {0} claim is missing or invalid")]
    InvalidClaim(&'static str),
    /// `iss` does not match the provider.
    #[error("the ID token's issuer: {0}")]
    Issuer(#[from] IssuerMismatch),
    /// `aud` does not contain our client id.
    #[error("the ID token is not meant for this client (aud)")]
    Audience,
    /// `azp` is not our client id, or is missing while there are several audiences.
    #[error("the ID token's authorized party (azp) is not this client")]
    AuthorizedParty,
    /// `exp` has passed (beyond the leeway).
    #[error("the ID token has expired")]
    Expired,
    /// `iat` is in the future (beyond the leeway): the provider's or our clock is wrong.
    #[error("the ID token is issued in the future; check the server clock")]
    IssuedInFuture,
    /// `iat` is older than the maximum age.
    #[error("the ID token was issued too long ago")]
    TooOld,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the ID token is not valid yet (nbf)")]
    NotYetValid,
    /// `nonce` is missing or not this login's: a replayed or injected token.
    #[error("the ID token's nonce does not match this login")]
    Nonce,
}

/// Verifies a compact-JWS ID token with a key from `jwks` and checks its claims against
/// `expect` at `now` (Unix seconds). On [`IdTokenError::UnknownKey`], refetch the JWKS once and
/// call again.
pub fn verify_id_token(
    token: &str,
    jwks: &Jwks,
    expect: &Expectations,
    now: u64,
) -> Result<IdClaims, IdTokenError> {
    if token.len() > MAX_ID_TOKEN_BYTES {
        return Err(IdTokenError::TooLarge);
    }
    let jws = jws::split(token).map_err(|e| match e {
        SplitError::Encrypted => IdTokenError::Encrypted,
        SplitError::Malformed(why) => IdTokenError::Malformed(why),
    })?;
    let header = &jws.header;
    let alg = Alg::from_name(&header.alg)
        .ok_or_else(|| IdTokenError::UnsupportedAlg(bounded_text(&header.alg, 16)))?;
    if header.crit.is_some() {
        return Err(IdTokenError::CriticalHeader);
    }
    if let Some(typ) = &header.typ {
        let typ = typ.to_ascii_lowercase();
        if typ == "at+jwt" || typ == "application/at+jwt" {
            return Err(IdTokenError::WrongType(typ));
        }
    }
    let key = jwks
        .select(header.kid.as_deref(), alg)
        .map_err(|e| match e {
            KeyLookupError::Unknown => IdTokenError::UnknownKey {
                kid: header.kid.as_deref().map(|k| bounded_text(k, 64)),
            },
            KeyLookupError::Ambiguous => IdTokenError::AmbiguousKey,
            KeyLookupError::AlgMismatch => IdTokenError::KeyAlgMismatch,
            KeyLookupError::SetAside(why) => IdTokenError::KeyRefused(why),
        })?;
    if !key.verify(alg, jws.signing_input, &jws.signature) {
        return Err(IdTokenError::BadSignature);
    }

    let claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&jws.payload)
            .map_err(|_| IdTokenError::Malformed("the payload is not a JSON object"))?;
    check_claims(&claims, expect, now)?;
    IdClaims::from_verified(claims)
}

fn check_claims(
    claims: &serde_json::Map<String, serde_json::Value>,
    expect: &Expectations,
    now: u64,
) -> Result<(), IdTokenError> {
    let iss = string(claims, "iss")?.ok_or(IdTokenError::InvalidClaim("iss"))?;
    let tid = string(claims, "tid")?;
    expect.issuer.check_token(iss, tid)?;

    let audiences: Vec<&str> = match claims.get("aud") {
        Some(serde_json::Value::String(aud)) => vec![aud.as_str()],
        Some(serde_json::Value::Array(list)) if !list.is_empty() => list
            .iter()
            .map(|a| a.as_str().ok_or(IdTokenError::InvalidClaim("aud")))
            .collect::<Result<_, _>>()?,
        _ => return Err(IdTokenError::InvalidClaim("aud")),
    };
    if !audiences.contains(&expect.client_id.as_str()) {
        return Err(IdTokenError::Audience);
    }
    match string(claims, "azp")? {
        Some(azp) if azp != expect.client_id => return Err(IdTokenError::AuthorizedParty),
        None if audiences.len() > 1 => return Err(IdTokenError::AuthorizedParty),
        _ => {}
    }

    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let leeway = i64::try_from(expect.leeway_secs).unwrap_or(i64::MAX);
    let max_age = i64::try_from(expect.max_age_secs).unwrap_or(i64::MAX);
    let exp = numeric_date(claims, "exp")?.ok_or(IdTokenError::InvalidClaim("exp"))?;
    if exp.saturating_add(leeway) <= now {
        return Err(IdTokenError::Expired);
    }
    let iat = numeric_date(claims, "iat")?.ok_or(IdTokenError::InvalidClaim("iat"))?;
    if iat > now.saturating_add(leeway) {
        return Err(IdTokenError::IssuedInFuture);
    }
    if now.saturating_sub(iat) > max_age.saturating_add(leeway) {
        return Err(IdTokenError::TooOld);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && nbf > now.saturating_add(leeway)
    {
        return Err(IdTokenError::NotYetValid);
    }

    let nonce = string(claims, "nonce")?.ok_or(IdTokenError::Nonce)?;
    if !bool::from(nonce.as_bytes().ct_eq(expect.nonce.as_bytes())) || expect.nonce.is_empty() {
        return Err(IdTokenError::Nonce);
    }
    Ok(())
}

/// A string claim: absent is `None`, present but not a string is an error.
fn string<'a>(
    claims: &'a serde_json::Map<String, serde_json::Value>,
    name: &'static str,
) -> Result<Option<&'a str>, IdTokenError> {
    match claims.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(IdTokenError::InvalidClaim(name)),
    }
}

/// A NumericDate (RFC 7519 2): seconds, possibly fractional; fractions are dropped.
fn numeric_date(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: &'static str,
) -> Result<Option<i64>, IdTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 1e15)
                    .map(|f| f.floor() as i64)
            })
            .map(Some)
            .ok_or(IdTokenError::InvalidClaim(name)),
        Some(_) => Err(IdTokenError::InvalidClaim(name)),
    }
}
