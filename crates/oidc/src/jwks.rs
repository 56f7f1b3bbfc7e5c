//! The provider's public keys (JWKS): RSA (2048–8192 bits), EC P-256 and Ed25519 signing keys.
//! Keys we cannot use (encryption keys, other types and curves, weak RSA) are set aside with a
//! reason rather than failing the whole set. Fetching (and refetching once on an unknown `kid`)
//! is the caller's job.

use std::fmt;

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;

use crate::jws::{Alg, decode};
use crate::secret::bounded_text;

/// Larger key sets are refused before they are parsed.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// More keys than this in one set is not a real provider.
pub const MAX_JWKS_KEYS: usize = 100;
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// A parsed key set: the usable signing keys, and the ones set aside with why.
#[derive(Clone)]
pub struct Jwks {
    keys: Vec<Jwk>,
    set_aside: Vec<(Option<String>, &'static str)>,
}

/// One usable public signing key.
#[derive(Clone)]
pub struct Jwk {
    kid: Option<String>,
    alg: Option<String>,
    material: Material,
}

#[derive(Clone)]
enum Material {
    /// Big-endian modulus and exponent, without leading zeros (as ring wants them).
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// The uncompressed point `0x04 || x || y`.
    P256 {
        point: Vec<u8>,
    },
    Ed25519 {
        x: Vec<u8>,
    },
}

/// Why a key set was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// The set is larger than [`MAX_JWKS_BYTES`].
    #[error("the key set (JWKS) is larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    /// Not a JSON object with a `keys` array (of at most [`MAX_JWKS_KEYS`]).
    #[error("the key set (JWKS) is not valid: {0}")]
    Malformed(&'static str),
    /// Not one key in the set is a signing key we can use.
    #[error("the key set (JWKS) has no usable signing key (RSA ≥ 2048 bits, P-256 or Ed25519)")]
    NoUsableKey,
}

/// Why no key was found for a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyLookupError {
    /// No key has this id (or, without an id, no key fits): refetch the set once.
    Unknown,
    /// Several keys fit a token that names none.
    Ambiguous,
    /// The key with this id is of another type than the token's algorithm, or declares another `alg`.
    AlgMismatch,
    /// The key with this id was set aside when the set was parsed.
    SetAside(&'static str),
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawKey {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

impl Jwks {
    /// Parses a JWKS document.
    pub fn parse(bytes: &[u8]) -> Result<Self, JwksError> {
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge);
        }
        let raw: RawSet = serde_json::from_slice(bytes)
            .map_err(|_| JwksError::Malformed("expected a JSON object with a keys array"))?;
        if raw.keys.len() > MAX_JWKS_KEYS {
            return Err(JwksError::Malformed("too many keys"));
        }
        let mut keys = Vec::new();
        let mut set_aside = Vec::new();
        for value in raw.keys {
            let Ok(raw) = serde_json::from_value::<RawKey>(value) else {
                set_aside.push((None, "not a JSON Web Key"));
                continue;
            };
            let kid = raw.kid.clone();
            match Jwk::from_raw(raw) {
                Ok(key) => keys.push(key),
                Err(reason) => set_aside.push((kid, reason)),
            }
        }
        if keys.is_empty() {
            return Err(JwksError::NoUsableKey);
        }
        Ok(Self { keys, set_aside })
    }

    /// The usable keys.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// The key to verify a token signed with `alg`, named `kid` (or naming no key).
    pub(crate) fn select(&self, kid: Option<&str>, alg: Alg) -> Result<&Jwk, KeyLookupError> {
        match kid {
            Some(kid) => {
                let mut named = self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid));
                let Some(first) = named.next() else {
                    return match self
                        .set_aside
                        .iter()
                        .find(|(k, _)| k.as_deref() == Some(kid))
                    {
                        Some((_, reason)) => Err(KeyLookupError::SetAside(reason)),
                        None => Err(KeyLookupError::Unknown),
                    };
                };
                std::iter::once(first)
                    .chain(named)
                    .find(|k| k.fits(alg))
                    .ok_or(KeyLookupError::AlgMismatch)
            }
            None => {
                let mut fitting = self.keys.iter().filter(|k| k.fits(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(key), None) => Ok(key),
                    (Some(_), Some(_)) => Err(KeyLookupError::Ambiguous),
                    (None, _) => Err(KeyLookupError::Unknown),
                }
            }
        }
    }
}

impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwks")
            .field("keys", &self.keys)
            .field("set_aside", &self.set_aside)
            .finish()
    }
}

impl Jwk {
    /// The key id, if the provider gave one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key type: `RSA`, `EC` (P-256) or `OKP` (Ed25519).
    pub fn kty(&self) -> &'static str {
        match self.material {
            Material::Rsa { .. } => "RSA",
            Material::P256 { .. } => "EC",
            Material::Ed25519 { .. } => "OKP",
        }
    }

    fn from_raw(raw: RawKey) -> Result<Self, &'static str> {
        if raw.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err("not a signing key (use)");
        }
        if raw
            .key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
        {
            return Err("not a verification key (key_ops)");
        }
        let material = match (raw.kty.as_str(), raw.crv.as_deref()) {
            ("RSA", _) => {
                let n = strip_zeros(field(raw.n.as_deref())?);
                let e = strip_zeros(field(raw.e.as_deref())?);
                let bits = bit_len(&n);
                if bits < MIN_RSA_BITS {
                    return Err("RSA modulus shorter than 2048 bits");
                }
                if bits > MAX_RSA_BITS {
                    return Err("RSA modulus longer than 8192 bits");
                }
                if e.is_empty() {
                    return Err("RSA exponent is zero");
                }
                Material::Rsa { n, e }
            }
            ("EC", Some("P-256")) => {
                let x = field(raw.x.as_deref())?;
                let y = field(raw.y.as_deref())?;
                if x.len() != 32 || y.len() != 32 {
                    return Err("P-256 coordinates are not 32 bytes");
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Material::P256 { point }
            }
            ("OKP", Some("Ed25519")) => {
                let x = field(raw.x.as_deref())?;
                if x.len() != 32 {
                    return Err("Ed25519 key is not 32 bytes");
                }
                Material::Ed25519 { x }
            }
            ("EC" | "OKP", _) => return Err("unsupported curve"),
            _ => return Err("unsupported key type"),
        };
        Ok(Self {
            kid: raw.kid,
            alg: raw.alg,
            material,
        })
    }

    /// Whether this key may verify `alg`: its type matches, and its own `alg`, if it declares
    /// one, is the same. This is what stops an RSA key being used for another algorithm.
    fn fits(&self, alg: Alg) -> bool {
        let type_fits = matches!(
            (&self.material, alg),
            (Material::Rsa { .. }, Alg::Rs256 | Alg::Ps256)
                | (Material::P256 { .. }, Alg::Es256)
                | (Material::Ed25519 { .. }, Alg::Ed25519)
        );
        type_fits
            && self
                .alg
                .as_deref()
                .is_none_or(|a| Alg::from_name(a) == Some(alg))
    }

    /// Verifies `signature` over `message` with this key and `alg` (which must fit the key).
    pub(crate) fn verify(&self, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
        let result = match (&self.material, alg) {
            (Material::Rsa { n, e }, Alg::Rs256) => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            ),
            (Material::Rsa { n, e }, Alg::Ps256) => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PSS_2048_8192_SHA256,
                message,
                signature,
            ),
            (Material::P256 { point }, Alg::Es256) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
            }
            (Material::Ed25519 { x }, Alg::Ed25519) => {
                UnparsedPublicKey::new(&signature::ED25519, x).verify(message, signature)
            }
            _ => return false,
        };
        result.is_ok()
    }
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Jwk");
        d.field("kid", &self.kid.as_deref().map(|k| bounded_text(k, 64)));
        d.field("kty", &self.kty());
        if let Material::Rsa { n, .. } = &self.material {
            d.field("bits", &bit_len(n));
        }
        d.field("alg", &self.alg).finish()
    }
}

fn field(value: Option<&str>) -> Result<Vec<u8>, &'static str> {
    value
        .and_then(decode)
        .ok_or("a key parameter is missing or not base64url")
}

fn strip_zeros(bytes: Vec<u8>) -> Vec<u8> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

/// The bit length of a big-endian number without leading zero bytes.
fn bit_len(n: &[u8]) -> usize {
    match n.first() {
        Some(&top) => (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws::encode;

    fn rsa_jwk(kid: &str, bytes: usize) -> String {
        let mut n = vec![0xc5u8; bytes];
        n[bytes - 1] = 0x01;
        format!(
            r#"{{"kty":"RSA","kid":"{kid}","n":"{}","e":"AQAB"}}"#,
            encode(&n)
        )
    }

    fn ed_jwk(kid: &str, extra: &str) -> String {
        format!(
            r#"{{"kty":"OKP","crv":"Ed25519","kid":"{kid}","x":"{}"{extra}}}"#,
            encode(&[7; 32])
        )
    }

    fn set(keys: &[String]) -> Vec<u8> {
        format!(r#"{{"keys":[{}]}}"#, keys.join(",")).into_bytes()
    }

    #[test]
    fn sets_aside_weak_rsa_encryption_and_unknown_keys() {
        let jwks = Jwks::parse(&set(&[
            rsa_jwk("weak", 128),
            rsa_jwk("good", 256),
            ed_jwk("enc", r#","use":"enc""#),
            r#"{"kty":"oct","kid":"sym","k":"c2VjcmV0"}"#.to_owned(),
            r#"{"kty":"EC","crv":"secp256k1","kid":"k1","x":"AA","y":"AA"}"#.to_owned(),
            r#"{"kty":"OKP","crv":"X25519","kid":"x","x":"AA"}"#.to_owned(),
            r#"{"nokty":true}"#.to_owned(),
        ]))
        .unwrap();
        assert_eq!(jwks.keys().len(), 1);
        assert_eq!(jwks.keys()[0].kid(), Some("good"));
        assert_eq!(
            jwks.select(Some("weak"), Alg::Rs256).unwrap_err(),
            KeyLookupError::SetAside("RSA modulus shorter than 2048 bits")
        );
        assert_eq!(
            jwks.select(Some("nope"), Alg::Rs256).unwrap_err(),
            KeyLookupError::Unknown
        );
    }

    #[test]
    fn a_2048_bit_modulus_with_a_leading_zero_byte_is_accepted() {
        let mut n = vec![0u8; 257];
        n[1] = 0x80;
        let key = format!(
            r#"{{"kty":"RSA","kid":"z","n":"{}","e":"AQAB"}}"#,
            encode(&n)
        );
        let jwks = Jwks::parse(&set(&[key])).unwrap();
        assert_eq!(
            format!("{:?}", jwks.keys()[0]),
            r#"Jwk { kid: Some("z"), kty: "RSA", bits: 2048, alg: None }"#
        );
    }

    #[test]
    fn a_set_without_usable_keys_is_refused() {
        assert_eq!(
            Jwks::parse(&set(&[rsa_jwk("weak", 128)])).unwrap_err(),
            JwksError::NoUsableKey
        );
        assert!(matches!(Jwks::parse(b"[]"), Err(JwksError::Malformed(_))));
        let big = vec![b' '; MAX_JWKS_BYTES + 1];
        assert_eq!(Jwks::parse(&big).unwrap_err(), JwksError::TooLarge);
    }

    #[test]
    fn key_type_and_declared_alg_must_fit() {
        let jwks =
            Jwks::parse(&set(&[rsa_jwk("r", 256), ed_jwk("e", r#","alg":"EdDSA""#)])).unwrap();
        assert_eq!(
            jwks.select(Some("r"), Alg::Es256).unwrap_err(),
            KeyLookupError::AlgMismatch
        );
        assert_eq!(
            jwks.select(Some("e"), Alg::Rs256).unwrap_err(),
            KeyLookupError::AlgMismatch
        );
        assert!(jwks.select(Some("e"), Alg::Ed25519).is_ok());
        let pinned = r#"{"kty":"RSA","kid":"p","alg":"RS256","n":"NNNN","e":"AQAB"}"#
            .replace("NNNN", &encode(&[0xc5; 256]));
        let jwks = Jwks::parse(&set(&[pinned])).unwrap();
        assert_eq!(
            jwks.select(Some("p"), Alg::Ps256).unwrap_err(),
            KeyLookupError::AlgMismatch
        );
        assert!(jwks.select(Some("p"), Alg::Rs256).is_ok());
    }

    #[test]
    fn without_kid_exactly_one_fitting_key_is_used() {
        let jwks = Jwks::parse(&set(&[rsa_jwk("r", 256), ed_jwk("e", "")])).unwrap();
        assert_eq!(jwks.select(None, Alg::Ed25519).unwrap().kid(), Some("e"));
        assert_eq!(
            jwks.select(None, Alg::Es256).unwrap_err(),
            KeyLookupError::Unknown
        );
        let jwks = Jwks::parse(&set(&[rsa_jwk("r1", 256), rsa_jwk("r2", 256)])).unwrap();
        assert_eq!(
            jwks.select(None, Alg::Rs256).unwrap_err(),
            KeyLookupError::Ambiguous
        );
    }
}
