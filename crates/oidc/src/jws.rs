//! The compact JWS container of an ID token (and, through [`split_raw`], of a visitor token):
//! three segments (five would be a JWE), the protected header, and the algorithms we verify.
//! Never takes a key from the token: `jwk`, `jku`, `x5u` and `x5c` headers are ignored, the key
//! always comes from our [`Jwks`].
//!
//! [`Jwks`]: crate::Jwks

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// The algorithm names a provider may list that we verify.
pub(crate) const SUPPORTED_ALGS: [&str; 5] = ["RS256", "PS256", "ES256", "EdDSA", "Ed25519"];

/// A signature algorithm we verify. Anything else (`none`, `HS*`, `RS384`, …) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// ECDSA on P-256 with SHA-256, signature as fixed-size `r || s`.
    Es256,
    /// Ed25519 (`EdDSA`, or the fully specified `Ed25519` of RFC 9864).
    Ed25519,
}

impl Alg {
    /// The algorithm for a JOSE `alg` value, if we accept it.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "PS256" => Some(Self::Ps256),
            "ES256" => Some(Self::Es256),
            "EdDSA" | "Ed25519" => Some(Self::Ed25519),
            _ => None,
        }
    }
}

/// The parts of a compact JWS, decoded, with the signing input kept as it was received.
pub(crate) struct CompactJws<'a> {
    pub header: Header,
    pub signing_input: &'a [u8],
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// The protected header fields we read. Unknown fields are ignored; key-carrying fields
/// (`jwk`, `jku`, `x5u`, `x5c`) are deliberately not read.
#[derive(Deserialize)]
pub(crate) struct Header {
    pub alg: String,
    pub kid: Option<String>,
    pub typ: Option<String>,
    pub crit: Option<serde_json::Value>,
    pub enc: Option<serde_json::Value>,
}

/// Why the container was refused (before any key is looked up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SplitError {
    Encrypted,
    Malformed(&'static str),
}

/// The three parts of a compact JWS, base64url-decoded but not interpreted, with the signing
/// input kept as it was received. The header is still JSON text and the signature may be empty:
/// callers decide what to make of both.
pub(crate) struct RawJws<'a> {
    pub header: Vec<u8>,
    pub signing_input: &'a [u8],
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Splits a compact JWS into its three decoded parts. Five parts (four dots) is a JWE.
pub(crate) fn split_raw(token: &str) -> Result<RawJws<'_>, SplitError> {
    let dots = token.bytes().filter(|&b| b == b'.').count();
    if dots == 4 {
        return Err(SplitError::Encrypted);
    }
    let mut parts = token.splitn(3, '.');
    let (Some(h), Some(p), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SplitError::Malformed("a compact JWS has three parts"));
    };
    if dots != 2 {
        return Err(SplitError::Malformed("a compact JWS has three parts"));
    }
    let header = decode(h).ok_or(SplitError::Malformed("the header is not base64url"))?;
    let payload = decode(p).ok_or(SplitError::Malformed("the payload is not base64url"))?;
    let signature = decode(s).ok_or(SplitError::Malformed("the signature is not base64url"))?;
    let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];
    Ok(RawJws {
        header,
        signing_input,
        payload,
        signature,
    })
}

/// Splits a compact JWS and reads its header, refusing an empty signature and an `enc` header.
pub(crate) fn split(token: &str) -> Result<CompactJws<'_>, SplitError> {
    let raw = split_raw(token)?;
    if raw.signature.is_empty() {
        return Err(SplitError::Malformed("the signature is empty"));
    }
    let header: Header = serde_json::from_slice(&raw.header)
        .map_err(|_| SplitError::Malformed("the header is not a JSON object with an alg"))?;
    if header.enc.is_some() {
        return Err(SplitError::Encrypted);
    }
    Ok(CompactJws {
        header,
        signing_input: raw.signing_input,
        payload: raw.payload,
        signature: raw.signature,
    })
}

/// Strict base64url without padding (the decoder refuses `=` and non-canonical trailing bits).
pub(crate) fn decode(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment).ok()
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
