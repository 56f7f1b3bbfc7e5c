//! Validates a SAML Response received on the ACS endpoint (HTTP-POST binding) and returns the
//! one assertion in it. Owns the defence against signature wrapping: everything returned is
//! read from the very element node whose signature was verified, IDs must be unique, and the
//! response must hold exactly one assertion, a direct child of the Response.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use roxmltree::{Document, Node};

use crate::dsig::verify_enveloped;
use crate::error::{SamlError, clip};
use crate::metadata::{IdpMetadata, SpConfig};
use crate::xml::{
    ID_NAMES, NS_DS, NS_SAML, NS_SAMLP, at_most_one, children, decode_base64, exactly_one, is,
    parse, simple_text, text_content,
};

/// Decoded responses over this size are refused.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const NAMEID_ENTITY: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";

/// What a response must satisfy. Build it with [`Validation::new`] and adjust the public
/// fields whose defaults do not fit.
#[derive(Debug, Clone)]
pub struct Validation<'a> {
    /// Our entity ID (must be an Audience) and ACS URL (Destination, Recipient).
    pub sp: &'a SpConfig,
    /// The IdP: the only accepted Issuer and the only trusted keys.
    pub idp: &'a IdpMetadata,
    /// The ids of the AuthnRequests we issued and not yet consumed.
    pub expected_request_ids: &'a [String],
    /// Accept responses that answer no request (IdP-initiated sign-in). Off by default:
    /// unsolicited responses are easier to inject.
    pub allow_idp_initiated: bool,
    /// The time to check validity windows against.
    pub now: DateTime<Utc>,
    /// Tolerated clock difference with the IdP (default 2 minutes).
    pub clock_skew: Duration,
    /// Accept SHA-1 digests and RSA-SHA1 signatures (default: refused).
    pub allow_sha1: bool,
    /// Require a signature on the assertion itself (default). When false, a signed Response
    /// that contains the assertion is enough.
    pub require_signed_assertion: bool,
}

impl<'a> Validation<'a> {
    /// The strict defaults: SP-initiated only, 2 minutes of skew, no SHA-1, signed assertion.
    pub fn new(
        sp: &'a SpConfig,
        idp: &'a IdpMetadata,
        expected_request_ids: &'a [String],
        now: DateTime<Utc>,
    ) -> Self {
        Validation {
            sp,
            idp,
            expected_request_ids,
            allow_idp_initiated: false,
            now,
            clock_skew: Duration::minutes(2),
            allow_sha1: false,
            require_signed_assertion: true,
        }
    }
}

/// The authenticated statement about the user.
///
/// Replay protection is the caller's: store `id` until `not_on_or_after` and refuse an
/// assertion whose id is already stored (see [`crate::ReplayCache`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The assertion's ID (the replay-cache key).
    pub id: String,
    /// The IdP entity ID that issued it.
    pub issuer: String,
    /// The subject's NameID (whole text content).
    pub name_id: String,
    /// The NameID Format, if given.
    pub name_id_format: Option<String>,
    /// The AuthnStatement SessionIndex, for single logout.
    pub session_index: Option<String>,
    /// The request this answers (`None` for an IdP-initiated sign-in).
    pub in_response_to: Option<String>,
    /// Until when the assertion may be presented: keep its id in the replay cache until then.
    pub not_on_or_after: DateTime<Utc>,
    /// Attributes in document order: (Name, values).
    pub attributes: Vec<(String, Vec<String>)>,
}

/// Decodes the `SAMLResponse` form field (base64) and validates the response.
pub fn validate_response(
    b64_post_body: &str,
    ctx: &Validation<'_>,
) -> Result<Assertion, SamlError> {
    // base64 is 4/3 of the decoded size; leave room for line breaks.
    let encoded_limit = MAX_RESPONSE_BYTES / 3 * 4 + MAX_RESPONSE_BYTES / 32 + 16;
    if b64_post_body.len() > encoded_limit {
        return Err(SamlError::TooLarge {
            size: b64_post_body.len() / 4 * 3,
            limit: MAX_RESPONSE_BYTES,
        });
    }
    let bytes = decode_base64(b64_post_body).map_err(|()| SamlError::Base64)?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(SamlError::TooLarge {
            size: bytes.len(),
            limit: MAX_RESPONSE_BYTES,
        });
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| SamlError::Xml("the document is not UTF-8".into()))?;
    validate_response_xml(text, ctx)
}

/// Validates a decoded response document.
pub fn validate_response_xml(xml: &str, ctx: &Validation<'_>) -> Result<Assertion, SamlError> {
    if xml.len() > MAX_RESPONSE_BYTES {
        return Err(SamlError::TooLarge {
            size: xml.len(),
            limit: MAX_RESPONSE_BYTES,
        });
    }
    let doc = parse(xml)?;
    let response = doc.root_element();
    if !is(response, NS_SAMLP, "Response") {
        return Err(SamlError::Malformed(
            "the document element is not a samlp:Response".into(),
        ));
    }
    let assertion = check_structure(&doc)?;
    check_status(response)?;
    let assertion = assertion.ok_or(SamlError::AssertionCount(0))?;
    if assertion.parent() != Some(response) {
        return Err(SamlError::Malformed(
            "the Assertion is not a direct child of the Response".into(),
        ));
    }
    check_signatures(response, assertion, ctx)?;
    check_response(response, ctx)?;
    read_assertion(assertion, response, ctx)
}

/// Whole-document checks that defeat wrapping: unique IDs, one Response, at most one
/// Assertion (returned), no EncryptedAssertion, and Signatures only where we look for them.
fn check_structure<'a, 'i>(doc: &'a Document<'i>) -> Result<Option<Node<'a, 'i>>, SamlError> {
    let mut ids = HashSet::new();
    let mut assertions = Vec::new();
    let root = doc.root_element();
    for node in doc.descendants().filter(Node::is_element) {
        for name in ID_NAMES {
            if let Some(id) = node.attribute(name)
                && !ids.insert(id)
            {
                return Err(SamlError::DuplicateId(clip(id)));
            }
        }
        if is(node, NS_SAML, "EncryptedAssertion") {
            return Err(SamlError::EncryptedAssertion);
        }
        if is(node, NS_SAML, "Assertion") {
            assertions.push(node);
        }
        if is(node, NS_SAMLP, "Response") && node != root {
            return Err(SamlError::Malformed(
                "a Response inside the Response".into(),
            ));
        }
    }
    if assertions.len() > 1 {
        return Err(SamlError::AssertionCount(assertions.len()));
    }
    let assertion = assertions.first().copied();
    for sig in doc.descendants().filter(|n| is(*n, NS_DS, "Signature")) {
        let parent = sig.parent();
        if parent != Some(root) && parent != assertion {
            return Err(SamlError::SignatureStructure(
                "a Signature outside the Response and Assertion elements".into(),
            ));
        }
    }
    Ok(assertion)
}

fn check_status(response: Node<'_, '_>) -> Result<(), SamlError> {
    let status = exactly_one(response, NS_SAMLP, "Status")?;
    let code = exactly_one(status, NS_SAMLP, "StatusCode")?;
    let value = code.attribute("Value").unwrap_or("");
    if value == STATUS_SUCCESS {
        return Ok(());
    }
    let short = |v: &str| clip(v.rsplit(':').next().unwrap_or(v));
    let mut code_text = short(value);
    if let Some(sub) = at_most_one(code, NS_SAMLP, "StatusCode")?.and_then(|s| s.attribute("Value"))
    {
        code_text.push('/');
        code_text.push_str(&short(sub));
    }
    Err(SamlError::Status { code: code_text })
}

fn check_signatures(
    response: Node<'_, '_>,
    assertion: Node<'_, '_>,
    ctx: &Validation<'_>,
) -> Result<(), SamlError> {
    let keys = &ctx.idp.signing_keys;
    let response_sig = at_most_one(response, NS_DS, "Signature")?;
    let assertion_sig = at_most_one(assertion, NS_DS, "Signature")?;
    // Every signature present must verify: a bad one is never ignored.
    if let Some(sig) = assertion_sig {
        verify_enveloped(assertion, sig, keys, ctx.allow_sha1)?;
    }
    if let Some(sig) = response_sig {
        verify_enveloped(response, sig, keys, ctx.allow_sha1)?;
    }
    let covered =
        assertion_sig.is_some() || (!ctx.require_signed_assertion && response_sig.is_some());
    if covered {
        Ok(())
    } else {
        Err(SamlError::Unsigned)
    }
}

fn check_response(response: Node<'_, '_>, ctx: &Validation<'_>) -> Result<(), SamlError> {
    if response.attribute("Version") != Some("2.0") {
        return Err(SamlError::Malformed("the Response is not SAML 2.0".into()));
    }
    if let Some(destination) = response.attribute("Destination")
        && destination != ctx.sp.acs_url
    {
        return Err(SamlError::Destination {
            expected: ctx.sp.acs_url.clone(),
            found: clip(destination),
        });
    }
    if let Some(issuer) = at_most_one(response, NS_SAML, "Issuer")? {
        check_issuer(issuer, ctx)?;
    }
    if let Some(irt) = response.attribute("InResponseTo") {
        check_in_response_to(Some(irt), ctx)?;
    }
    Ok(())
}

fn check_issuer(issuer: Node<'_, '_>, ctx: &Validation<'_>) -> Result<String, SamlError> {
    if let Some(format) = issuer.attribute("Format")
        && format != NAMEID_ENTITY
    {
        return Err(SamlError::Malformed(
            "the Issuer Format is not an entity".into(),
        ));
    }
    let value = simple_text(issuer)?;
    let value = value.trim();
    if value != ctx.idp.entity_id {
        return Err(SamlError::Issuer {
            expected: ctx.idp.entity_id.clone(),
            found: clip(value),
        });
    }
    Ok(value.to_owned())
}

fn check_in_response_to(irt: Option<&str>, ctx: &Validation<'_>) -> Result<(), SamlError> {
    match irt {
        Some(id) if ctx.expected_request_ids.iter().any(|e| e == id) => Ok(()),
        Some(id) => Err(SamlError::InResponseTo(format!(
            "InResponseTo {:?} is not a pending request (expired, already used, or forged)",
            clip(id)
        ))),
        None if ctx.allow_idp_initiated => Ok(()),
        None => Err(SamlError::InResponseTo(
            "it has no InResponseTo (IdP-initiated sign-in is not enabled)".into(),
        )),
    }
}

fn time(node: Node<'_, '_>, name: &str) -> Result<Option<DateTime<Utc>>, SamlError> {
    node.attribute(name)
        .map(|v| {
            DateTime::parse_from_rfc3339(v.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| SamlError::Malformed(format!("{name} is not a valid xs:dateTime")))
        })
        .transpose()
}

/// Reads and checks the assertion, all from its own node.
fn read_assertion(
    assertion: Node<'_, '_>,
    response: Node<'_, '_>,
    ctx: &Validation<'_>,
) -> Result<Assertion, SamlError> {
    let skew = ctx.clock_skew;
    let now = ctx.now;
    if assertion.attribute("Version") != Some("2.0") {
        return Err(SamlError::Malformed("the Assertion is not SAML 2.0".into()));
    }
    let id = assertion
        .attribute("ID")
        .ok_or_else(|| SamlError::Malformed("the Assertion has no ID".into()))?
        .to_owned();
    let issuer = check_issuer(exactly_one(assertion, NS_SAML, "Issuer")?, ctx)?;

    // Subject: the NameID and a bearer confirmation for us.
    let subject = exactly_one(assertion, NS_SAML, "Subject")?;
    if children(subject, NS_SAML, "EncryptedID").next().is_some() {
        return Err(SamlError::EncryptedAssertion);
    }
    let name_id_node = exactly_one(subject, NS_SAML, "NameID")?;
    let name_id = simple_text(name_id_node)?.trim().to_owned();
    if name_id.is_empty() {
        return Err(SamlError::Malformed("the NameID is empty".into()));
    }
    let name_id_format = name_id_node.attribute("Format").map(str::to_owned);
    let (in_response_to, confirmation_expiry) = check_bearer(subject, ctx)?;
    if let Some(response_irt) = response.attribute("InResponseTo")
        && in_response_to.as_deref() != Some(response_irt)
    {
        return Err(SamlError::InResponseTo(
            "the Response and its assertion answer different requests".into(),
        ));
    }

    // Conditions: validity window and audience.
    let conditions = exactly_one(assertion, NS_SAML, "Conditions")?;
    let not_before = time(conditions, "NotBefore")?;
    let not_on_or_after = time(conditions, "NotOnOrAfter")?;
    if let Some(nb) = not_before
        && now + skew < nb
    {
        return Err(SamlError::NotYetValid(format!(
            "Conditions NotBefore is {nb}"
        )));
    }
    if let Some(noa) = not_on_or_after
        && now - skew >= noa
    {
        return Err(SamlError::Expired(format!(
            "Conditions NotOnOrAfter was {noa}"
        )));
    }
    let restrictions: Vec<_> = children(conditions, NS_SAML, "AudienceRestriction").collect();
    if restrictions.is_empty()
        || !restrictions.iter().all(|r| {
            children(*r, NS_SAML, "Audience").any(|a| text_content(a).trim() == ctx.sp.entity_id)
        })
    {
        return Err(SamlError::Audience {
            expected: ctx.sp.entity_id.clone(),
        });
    }

    // Authentication.
    let authn = children(assertion, NS_SAML, "AuthnStatement")
        .next()
        .ok_or(SamlError::NoAuthnStatement)?;
    if let Some(session_end) = time(authn, "SessionNotOnOrAfter")?
        && now - skew >= session_end
    {
        return Err(SamlError::Expired(format!(
            "the IdP session ended at {session_end}"
        )));
    }
    let session_index = authn.attribute("SessionIndex").map(str::to_owned);

    let mut attributes: Vec<(String, Vec<String>)> = Vec::new();
    for statement in children(assertion, NS_SAML, "AttributeStatement") {
        if children(statement, NS_SAML, "EncryptedAttribute")
            .next()
            .is_some()
        {
            return Err(SamlError::EncryptedAssertion);
        }
        for attribute in children(statement, NS_SAML, "Attribute") {
            let name = attribute
                .attribute("Name")
                .ok_or_else(|| SamlError::Malformed("an Attribute has no Name".into()))?;
            let values: Vec<String> = children(attribute, NS_SAML, "AttributeValue")
                .map(text_content)
                .collect();
            match attributes.iter_mut().find(|(n, _)| n == name) {
                Some((_, existing)) => existing.extend(values),
                None => attributes.push((name.to_owned(), values)),
            }
        }
    }

    let expiry = match not_on_or_after {
        Some(noa) => noa.min(confirmation_expiry),
        None => confirmation_expiry,
    };
    Ok(Assertion {
        id,
        issuer,
        name_id,
        name_id_format,
        session_index,
        in_response_to,
        not_on_or_after: expiry,
        attributes,
    })
}

/// Finds a bearer SubjectConfirmation meant for us; returns its InResponseTo and NotOnOrAfter.
/// When none fits, the error of the first bearer confirmation is the one reported.
fn check_bearer(
    subject: Node<'_, '_>,
    ctx: &Validation<'_>,
) -> Result<(Option<String>, DateTime<Utc>), SamlError> {
    let mut first_error = None;
    for confirmation in children(subject, NS_SAML, "SubjectConfirmation") {
        if confirmation.attribute("Method") != Some(CM_BEARER) {
            continue;
        }
        match check_one_bearer(confirmation, ctx) {
            Ok(found) => return Ok(found),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| {
        SamlError::SubjectConfirmation("no SubjectConfirmation with the bearer method".into())
    }))
}

fn check_one_bearer(
    confirmation: Node<'_, '_>,
    ctx: &Validation<'_>,
) -> Result<(Option<String>, DateTime<Utc>), SamlError> {
    let data = at_most_one(confirmation, NS_SAML, "SubjectConfirmationData")?.ok_or_else(|| {
        SamlError::SubjectConfirmation(
            "the bearer confirmation has no SubjectConfirmationData".into(),
        )
    })?;
    let recipient = data.attribute("Recipient").unwrap_or("");
    if recipient != ctx.sp.acs_url {
        return Err(SamlError::Recipient {
            expected: ctx.sp.acs_url.clone(),
            found: clip(recipient),
        });
    }
    let not_on_or_after = time(data, "NotOnOrAfter")?.ok_or_else(|| {
        SamlError::SubjectConfirmation("SubjectConfirmationData has no NotOnOrAfter".into())
    })?;
    if ctx.now - ctx.clock_skew >= not_on_or_after {
        return Err(SamlError::Expired(format!(
            "SubjectConfirmationData NotOnOrAfter was {not_on_or_after}"
        )));
    }
    if let Some(nb) = time(data, "NotBefore")?
        && ctx.now + ctx.clock_skew < nb
    {
        return Err(SamlError::NotYetValid(format!(
            "SubjectConfirmationData NotBefore is {nb}"
        )));
    }
    let irt = data.attribute("InResponseTo");
    check_in_response_to(irt, ctx)?;
    Ok((irt.map(str::to_owned), not_on_or_after))
}
