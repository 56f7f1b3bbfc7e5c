//! Test-only token signer (ring): RSA from a fixed test key, fresh P-256 and Ed25519 keys, and
//! the JWKS that publishes them. The independent check is the jose differential test in
//! `tests/`; this signer only exercises each refusal on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Value, json};

use crate::jwks::Jwks;
use crate::jws::encode;

/// A 2048-bit RSA key (DER RSAPrivateKey) made with `openssl genpkey` for these tests only.
const RSA_DER: &[u8] = include_bytes!("testdata/rsa2048-test-only.der");

pub(crate) enum Key {
    Rsa(RsaKeyPair),
    P256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

pub(crate) struct Signer {
    pub kid: String,
    pub key: Key,
}

impl Signer {
    pub fn rsa(kid: &str) -> Self {
        Self {
            kid: kid.into(),
            key: Key::Rsa(RsaKeyPair::from_der(RSA_DER).unwrap()),
        }
    }

    pub fn p256(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        Self {
            kid: kid.into(),
            key: Key::P256(EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap()),
        }
    }

    pub fn ed25519(kid: &str) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        Self {
            kid: kid.into(),
            key: Key::Ed25519(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()),
        }
    }

    /// The algorithm this key signs with by default.
    pub fn alg(&self) -> &'static str {
        match self.key {
            Key::Rsa(_) => "RS256",
            Key::P256(_) => "ES256",
            Key::Ed25519(_) => "EdDSA",
        }
    }

    pub fn jwk(&self) -> Value {
        match &self.key {
            Key::Rsa(k) => {
                let c = signature::RsaPublicKeyComponents::<Vec<u8>>::from(k.public());
                json!({"kty": "RSA", "kid": self.kid, "n": encode(&c.n), "e": encode(&c.e)})
            }
            Key::P256(k) => {
                let point = k.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "kid": self.kid,
                       "x": encode(&point[1..33]), "y": encode(&point[33..])})
            }
            Key::Ed25519(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "kid": self.kid,
                       "x": encode(k.public_key().as_ref())})
            }
        }
    }

    /// A token with header `{"alg": <default>, "kid": <kid>}`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&json!({"alg": self.alg(), "kid": self.kid}), claims)
    }

    /// A token with this exact header, signed according to its `alg` (RS256 or PS256 for RSA).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            encode(header.to_string().as_bytes()),
            encode(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let sig = match &self.key {
            Key::Rsa(k) => {
                let padding: &dyn signature::RsaEncoding = if header["alg"] == "PS256" {
                    &signature::RSA_PSS_SHA256
                } else {
                    &signature::RSA_PKCS1_SHA256
                };
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(padding, &rng, input.as_bytes(), &mut sig).unwrap();
                sig
            }
            Key::P256(k) => k.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
            Key::Ed25519(k) => k.sign(input.as_bytes()).as_ref().to_vec(),
        };
        format!("{input}.{}", encode(&sig))
    }
}

/// `base` with `changes` applied, claim by claim; a `null` change removes the claim.
pub(crate) fn changed(mut base: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

pub(crate) fn jwks(signers: &[&Signer]) -> Jwks {
    let keys: Vec<Value> = signers.iter().map(|s| s.jwk()).collect();
    Jwks::parse(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
}
