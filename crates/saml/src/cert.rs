//! Reads the public key out of an X.509 certificate (DER) with a minimal, bounds-checked DER
//! walker: Certificate → tbsCertificate → subjectPublicKeyInfo. Validity dates, issuer and
//! extensions are not looked at: the key is trusted because the operator put the certificate
//! in the IdP metadata, not because of a chain.

use crate::error::SamlError;

/// A public key an IdP signs with.
#[derive(Clone, PartialEq, Eq)]
pub enum SigningKey {
    /// PKCS#1 RSAPublicKey DER (what `ring` verifies with).
    Rsa(Vec<u8>),
    /// An uncompressed P-256 point (0x04 ‖ X ‖ Y).
    EcP256(Vec<u8>),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigningKey::Rsa(k) => write!(f, "SigningKey::Rsa({} bytes)", k.len()),
            SigningKey::EcP256(_) => write!(f, "SigningKey::EcP256"),
        }
    }
}

const TAG_SEQUENCE: u8 = 0x30;
const TAG_OID: u8 = 0x06;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_VERSION: u8 = 0xa0;

// 1.2.840.113549.1.1.1
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
// 1.2.840.10045.2.1
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
// 1.2.840.10045.3.1.7
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn bad(what: &str) -> SamlError {
    SamlError::Certificate(what.to_owned())
}

/// One DER element: (tag, contents, rest of the input).
fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), SamlError> {
    let (&tag, rest) = input.split_first().ok_or_else(|| bad("truncated DER"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("unsupported DER tag"));
    }
    let (&first, rest) = rest.split_first().ok_or_else(|| bad("truncated DER"))?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad("bad DER length"));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(bad("truncated DER"));
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

fn expect(input: &[u8], want: u8) -> Result<(&[u8], &[u8]), SamlError> {
    let (tag, body, rest) = tlv(input)?;
    if tag != want {
        return Err(bad("unexpected DER structure"));
    }
    Ok((body, rest))
}

const TAG_INTEGER: u8 = 0x02;
/// ring verifies RSA signatures from 2048-bit keys up; say so when the metadata is read rather
/// than failing every sign-in with "bad signature".
const MIN_RSA_BITS: usize = 2048;

fn check_rsa_size(rsa_public_key: &[u8]) -> Result<(), SamlError> {
    let (fields, _) = expect(rsa_public_key, TAG_SEQUENCE)?;
    let (modulus, _) = expect(fields, TAG_INTEGER)?;
    let significant = modulus.iter().skip_while(|b| **b == 0).count();
    let bits = significant * 8;
    if bits < MIN_RSA_BITS {
        return Err(SamlError::Certificate(format!(
            "the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"
        )));
    }
    Ok(())
}

/// The signing key in a DER certificate.
pub(crate) fn public_key_from_der(der: &[u8]) -> Result<SigningKey, SamlError> {
    let (cert, _) = expect(der, TAG_SEQUENCE)?;
    let (mut tbs, _) = expect(cert, TAG_SEQUENCE)?;
    if tbs.first() == Some(&TAG_VERSION) {
        tbs = tlv(tbs)?.2;
    }
    // serialNumber, signature, issuer, validity, subject
    for _ in 0..5 {
        tbs = tlv(tbs)?.2;
    }
    let (spki, _) = expect(tbs, TAG_SEQUENCE)?;
    let (algorithm, rest) = expect(spki, TAG_SEQUENCE)?;
    let (key_bits, _) = expect(rest, TAG_BIT_STRING)?;
    let (oid, params) = expect(algorithm, TAG_OID)?;
    let key = match key_bits.split_first() {
        Some((0, key)) => key.to_vec(),
        _ => return Err(bad("bad public key bit string")),
    };
    if oid == OID_RSA {
        check_rsa_size(&key)?;
        Ok(SigningKey::Rsa(key))
    } else if oid == OID_EC {
        let (curve, _) = expect(params, TAG_OID)?;
        if curve != OID_P256 {
            return Err(bad("only the P-256 elliptic curve is supported"));
        }
        if key.len() != 65 || key[0] != 0x04 {
            return Err(bad("the EC public key is not an uncompressed P-256 point"));
        }
        Ok(SigningKey::EcP256(key))
    } else {
        Err(bad("the key type is neither RSA nor EC P-256"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn der(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if body.len() < 0x80 {
            out.push(u8::try_from(body.len()).unwrap());
        } else {
            let len = u16::try_from(body.len()).unwrap().to_be_bytes();
            out.extend([0x82, len[0], len[1]]);
        }
        out.extend_from_slice(body);
        out
    }

    /// A certificate skeleton around an RSA key with a modulus of `modulus_bytes` bytes.
    fn rsa_cert(modulus_bytes: usize) -> Vec<u8> {
        let mut modulus = vec![0u8];
        modulus.extend(std::iter::repeat_n(0xc3, modulus_bytes));
        let rsa_key = der(
            TAG_SEQUENCE,
            &[der(TAG_INTEGER, &modulus), der(TAG_INTEGER, &[1, 0, 1])].concat(),
        );
        let mut bits = vec![0u8];
        bits.extend(rsa_key);
        let algorithm = der(
            TAG_SEQUENCE,
            &[der(TAG_OID, OID_RSA), vec![0x05, 0x00]].concat(),
        );
        let spki = der(
            TAG_SEQUENCE,
            &[algorithm, der(TAG_BIT_STRING, &bits)].concat(),
        );
        let empty = der(TAG_SEQUENCE, &[]);
        let tbs = der(
            TAG_SEQUENCE,
            &[
                der(TAG_INTEGER, &[1]),
                empty.clone(),
                empty.clone(),
                empty.clone(),
                empty,
                spki,
            ]
            .concat(),
        );
        der(TAG_SEQUENCE, &tbs)
    }

    #[test]
    fn reads_an_rsa_key_and_refuses_short_ones() {
        assert!(matches!(
            public_key_from_der(&rsa_cert(256)),
            Ok(SigningKey::Rsa(_))
        ));
        let short = public_key_from_der(&rsa_cert(128)).unwrap_err();
        assert!(short.to_string().contains("1024 bits"), "{short}");
    }

    #[test]
    fn truncated_and_garbage_der_is_refused_without_panicking() {
        let cert = rsa_cert(256);
        for cut in [0, 1, 2, 5, 40, cert.len() - 1] {
            assert!(public_key_from_der(&cert[..cut]).is_err(), "cut at {cut}");
        }
        assert!(public_key_from_der(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
