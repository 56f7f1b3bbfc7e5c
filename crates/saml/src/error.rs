//! The one error type of the crate. Messages say what an operator (or the IdP's administrator)
//! should fix; they never echo the document beyond a short, truncated identifier.

/// Everything that can go wrong while reading metadata or validating a response.
///
/// The messages are safe to log; they are not meant for an anonymous client (map them to a
/// generic "sign-in failed" there).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SamlError {
    /// The SAMLResponse form field is not valid base64.
    #[error("the SAMLResponse is not valid base64")]
    Base64,
    /// The document is larger than the limit.
    #[error("the SAML document is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// A DOCTYPE was found: DTDs (and so entity declarations) are never accepted.
    #[error(
        "the SAML document contains a DTD (<!DOCTYPE>); DTDs and entity declarations are refused"
    )]
    Dtd,
    /// The XML is not well-formed, or too deep or has too many nodes.
    #[error("the SAML document is not well-formed XML: {0}")]
    Xml(String),
    /// The document is XML but not the SAML structure we expect.
    #[error("the SAML document is malformed: {0}")]
    Malformed(String),
    /// The IdP metadata cannot be used.
    #[error("the IdP metadata is unusable: {0}")]
    Metadata(String),
    /// A certificate in the metadata cannot be parsed or uses an unsupported key.
    #[error("an IdP signing certificate is unusable: {0}")]
    Certificate(String),
    /// The IdP answered with a non-success status.
    #[error("the IdP refused the sign-in with status {code}")]
    Status { code: String },
    /// The IdP encrypted the assertion.
    #[error("encrypted assertions are not supported; turn off assertion encryption at the IdP")]
    EncryptedAssertion,
    /// No assertion, or more than one.
    #[error("the response must carry exactly one assertion, it has {0}")]
    AssertionCount(usize),
    /// Nothing that covers the assertion is signed.
    #[error("the assertion is not signed; configure the IdP to sign assertions")]
    Unsigned,
    /// A Signature element is placed, shaped or referenced in a way we refuse.
    #[error("the XML signature is refused: {0}")]
    SignatureStructure(String),
    /// An algorithm we do not accept (or not under the current settings).
    #[error("the XML signature uses an algorithm that is not accepted: {0}")]
    Algorithm(String),
    /// The digest of the signed element does not match: the document was changed.
    #[error("the signed element was modified after signing (digest mismatch)")]
    DigestMismatch,
    /// The signature value does not verify with any key from the IdP metadata.
    #[error("the signature does not verify with any signing key in the IdP metadata")]
    BadSignature,
    /// The same ID appears twice in the document.
    #[error("the ID {0:?} appears more than once in the document")]
    DuplicateId(String),
    /// Issuer differs from the IdP entity ID in the metadata.
    #[error("the issuer {found:?} is not the configured IdP {expected:?}")]
    Issuer { expected: String, found: String },
    /// Response Destination differs from our ACS URL.
    #[error("the response is addressed to {found:?}, not to this ACS URL {expected:?}")]
    Destination { expected: String, found: String },
    /// The SP entity ID is not among the audiences.
    #[error("the assertion is not meant for this SP: its audience does not include {expected:?}")]
    Audience { expected: String },
    /// The bearer SubjectConfirmationData Recipient differs from our ACS URL.
    #[error("the assertion's recipient is {found:?}, not this ACS URL {expected:?}")]
    Recipient { expected: String, found: String },
    /// Outside the validity window (after clock skew).
    #[error(
        "the assertion is not valid at this time: {0}; check the clocks of the IdP and this server"
    )]
    Expired(String),
    /// Not yet valid.
    #[error("the assertion is not yet valid: {0}; check the clocks of the IdP and this server")]
    NotYetValid(String),
    /// InResponseTo does not name a request we issued (or is missing).
    #[error("the response does not answer a sign-in request issued here: {0}")]
    InResponseTo(String),
    /// No bearer subject confirmation.
    #[error("the assertion has no usable bearer SubjectConfirmation: {0}")]
    SubjectConfirmation(String),
    /// No AuthnStatement.
    #[error("the assertion has no AuthnStatement")]
    NoAuthnStatement,
    /// The assertion ID was seen before.
    #[error("the assertion was already used (replay)")]
    Replay,
}

/// Shortens a value taken from the document before it goes into an error message.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}
