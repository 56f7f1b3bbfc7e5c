//! Verifies one enveloped XML signature against the element that holds it, with keys from the
//! IdP metadata only. Never reads a key from the signature's KeyInfo, never follows a Reference
//! to anything but the parent element, and accepts only the transforms SAML needs.

use ring::digest;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use roxmltree::Node;

use crate::c14n::{C14nOptions, canonicalize};
use crate::cert::SigningKey;
use crate::error::{SamlError, clip};
use crate::xml::{NS_DS, NS_EXC_C14N, decode_base64, exactly_one, id_attribute, is};

const C14N_EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const C14N_EXC_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";

const DIGEST_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const DIGEST_SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const DIGEST_SHA512: &str = "http://www.w3.org/2001/04/xmlenc#sha512";

fn structure(what: impl Into<String>) -> SamlError {
    SamlError::SignatureStructure(what.into())
}

/// Verifies `signature`, which must be a direct child of `signed` and reference it by its ID.
pub(crate) fn verify_enveloped(
    signed: Node<'_, '_>,
    signature: Node<'_, '_>,
    keys: &[SigningKey],
    allow_sha1: bool,
) -> Result<(), SamlError> {
    if signature.parent() != Some(signed) {
        return Err(structure(
            "the Signature is not a child of the element it signs",
        ));
    }

    // Signature = SignedInfo, SignatureValue, KeyInfo? — and nothing else: an Object is where
    // wrapping attacks hide content, and SAML has no use for one.
    let mut elements = signature.children().filter(Node::is_element);
    let signed_info = elements
        .next()
        .filter(|n| is(*n, NS_DS, "SignedInfo"))
        .ok_or_else(|| structure("SignedInfo must come first in Signature"))?;
    let signature_value = elements
        .next()
        .filter(|n| is(*n, NS_DS, "SignatureValue"))
        .ok_or_else(|| structure("SignatureValue must follow SignedInfo"))?;
    for extra in elements {
        if !is(extra, NS_DS, "KeyInfo") {
            return Err(structure(format!(
                "unexpected {} in Signature",
                clip(extra.tag_name().name())
            )));
        }
    }

    // SignedInfo = CanonicalizationMethod, SignatureMethod, exactly one Reference.
    let mut parts = signed_info.children().filter(Node::is_element);
    let c14n_method = parts
        .next()
        .filter(|n| is(*n, NS_DS, "CanonicalizationMethod"))
        .ok_or_else(|| structure("CanonicalizationMethod must come first in SignedInfo"))?;
    let signature_method = parts
        .next()
        .filter(|n| is(*n, NS_DS, "SignatureMethod"))
        .ok_or_else(|| structure("SignatureMethod must follow CanonicalizationMethod"))?;
    let reference = parts
        .next()
        .filter(|n| is(*n, NS_DS, "Reference"))
        .ok_or_else(|| structure("SignedInfo has no Reference"))?;
    if parts.next().is_some() {
        return Err(structure("SignedInfo must hold exactly one Reference"));
    }

    let signed_info_c14n = c14n_options(c14n_method)?;
    let signature_alg = signature_method.attribute("Algorithm").unwrap_or("");

    // The Reference must point at the parent element, by an ID that is really its ID.
    let id = id_attribute(signed).ok_or_else(|| structure("the signed element has no ID"))?;
    let uri = reference.attribute("URI").unwrap_or("");
    if uri.strip_prefix('#') != Some(id) {
        return Err(structure(
            "the Reference does not point at the element that holds the Signature",
        ));
    }
    let reference_c14n = reference_transforms(reference)?;
    let digest_method = exactly_one(reference, NS_DS, "DigestMethod")?;
    let digest_alg = match digest_method.attribute("Algorithm").unwrap_or("") {
        DIGEST_SHA256 => &digest::SHA256,
        DIGEST_SHA512 => &digest::SHA512,
        DIGEST_SHA1 if allow_sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        DIGEST_SHA1 => {
            return Err(SamlError::Algorithm(
                "SHA-1 digests are refused; configure the IdP to use SHA-256".into(),
            ));
        }
        other => return Err(SamlError::Algorithm(format!("digest {}", clip(other)))),
    };
    // Algorithms are checked before any work, so a SHA-1 document fails for its algorithm.
    let verifier = verification_algorithm(signature_alg, allow_sha1)?;

    let digest_value = decode_base64(&crate::xml::text_content(exactly_one(
        reference,
        NS_DS,
        "DigestValue",
    )?))
    .map_err(|()| structure("DigestValue is not base64"))?;
    let canonical = canonicalize(signed, Some(signature.id()), &reference_c14n);
    let computed = digest::digest(digest_alg, canonical.as_bytes());
    if computed.as_ref() != digest_value.as_slice() {
        return Err(SamlError::DigestMismatch);
    }

    let signature_bytes = decode_base64(&crate::xml::text_content(signature_value))
        .map_err(|()| structure("SignatureValue is not base64"))?;
    let signed_info_bytes = canonicalize(signed_info, None, &signed_info_c14n);
    let verified = keys.iter().any(|key| match (key, verifier) {
        (SigningKey::Rsa(k), Verifier::Rsa(alg)) => UnparsedPublicKey::new(alg, k)
            .verify(signed_info_bytes.as_bytes(), &signature_bytes)
            .is_ok(),
        (SigningKey::EcP256(k), Verifier::Ec(alg)) => UnparsedPublicKey::new(alg, k)
            .verify(signed_info_bytes.as_bytes(), &signature_bytes)
            .is_ok(),
        _ => false,
    });
    if verified {
        Ok(())
    } else {
        Err(SamlError::BadSignature)
    }
}

#[derive(Clone, Copy)]
enum Verifier {
    Rsa(&'static dyn VerificationAlgorithm),
    Ec(&'static dyn VerificationAlgorithm),
}

fn verification_algorithm(uri: &str, allow_sha1: bool) -> Result<Verifier, SamlError> {
    Ok(match uri {
        RSA_SHA256 => Verifier::Rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        RSA_SHA512 => Verifier::Rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
        // XML-DSig ECDSA values are r ‖ s, fixed width.
        ECDSA_SHA256 => Verifier::Ec(&signature::ECDSA_P256_SHA256_FIXED),
        RSA_SHA1 if allow_sha1 => {
            Verifier::Rsa(&signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY)
        }
        RSA_SHA1 => {
            return Err(SamlError::Algorithm(
                "RSA-SHA1 signatures are refused; configure the IdP to use RSA-SHA256".into(),
            ));
        }
        other => return Err(SamlError::Algorithm(format!("signature {}", clip(other)))),
    })
}

/// Reads an exclusive canonicalization method (and its PrefixList).
fn c14n_options(method: Node<'_, '_>) -> Result<C14nOptions, SamlError> {
    let with_comments = match method.attribute("Algorithm").unwrap_or("") {
        C14N_EXC => false,
        C14N_EXC_COMMENTS => true,
        other => {
            return Err(SamlError::Algorithm(format!(
                "canonicalization {}; only exclusive C14N is accepted",
                clip(other)
            )));
        }
    };
    let mut inclusive_prefixes = Vec::new();
    for child in method.children().filter(Node::is_element) {
        if !is(child, NS_EXC_C14N, "InclusiveNamespaces") {
            return Err(structure("unexpected element in a canonicalization method"));
        }
        let list = child.attribute("PrefixList").unwrap_or("");
        inclusive_prefixes.extend(list.split_ascii_whitespace().map(str::to_owned));
    }
    Ok(C14nOptions {
        with_comments,
        inclusive_prefixes,
    })
}

/// Transforms must be: enveloped-signature, then exclusive C14N. A same-document reference by
/// bare ID ("#id") drops comments before the transforms run (XML-DSig 4.3.3.3), so the
/// WithComments variant canonicalizes without them here.
fn reference_transforms(reference: Node<'_, '_>) -> Result<C14nOptions, SamlError> {
    let transforms = exactly_one(reference, NS_DS, "Transforms")?;
    let list: Vec<Node<'_, '_>> = transforms.children().filter(Node::is_element).collect();
    if list.iter().any(|t| !is(*t, NS_DS, "Transform")) {
        return Err(structure("unexpected element in Transforms"));
    }
    match list.as_slice() {
        [enveloped, c14n] if enveloped.attribute("Algorithm") == Some(ENVELOPED) => {
            let mut options = c14n_options(*c14n)?;
            options.with_comments = false;
            Ok(options)
        }
        _ => Err(SamlError::Algorithm(
            "the Reference transforms must be enveloped-signature then exclusive C14N".into(),
        )),
    }
}
