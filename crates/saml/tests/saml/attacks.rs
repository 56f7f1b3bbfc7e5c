//! The attack corpus: responses signed by pysaml2, then altered the way attackers alter them
//! (the signature-wrapping variants of "On Breaking SAML", tampering, injection, XXE), each of
//! which must be refused with the error that names the problem.

use chrono::Utc;
use meetvault_saml::{SamlError, Validation, validate_response, validate_response_xml};

use crate::pysaml2_idp::{decoded, encoded, sign_in, validate, validate_with};
use crate::tools::{Idp, Respond, sp};

const ASSERTION_OPEN: &str = "<ns1:Assertion ";
const ASSERTION_CLOSE: &str = "</ns1:Assertion>";
const SIGNATURE_OPEN: &str = "<ns2:Signature";
const SIGNATURE_CLOSE: &str = "</ns2:Signature>";

/// A fresh pysaml2 response (decoded) and the id of the request it answers.
fn signed(sign: &'static str) -> (String, String) {
    let (request, response) = sign_in(
        Idp::rsa(),
        &Respond {
            sign,
            ..Respond::default()
        },
    );
    (request.id, decoded(&response))
}

fn check(request_id: &str, xml: &str) -> Result<meetvault_saml::Assertion, SamlError> {
    validate(Idp::rsa(), request_id, &encoded(xml))
}

fn check_response_signed(
    request_id: &str,
    xml: &str,
) -> Result<meetvault_saml::Assertion, SamlError> {
    validate_with(Idp::rsa(), request_id, &encoded(xml), |v| {
        v.require_signed_assertion = false
    })
}

/// (start, end) of the first `open`…`close` element in `xml`, from `from` on.
fn span(xml: &str, open: &str, close: &str, from: usize) -> (usize, usize) {
    let start = from + xml[from..].find(open).unwrap();
    let end = start + xml[start..].find(close).unwrap() + close.len();
    (start, end)
}

fn assertion_span(xml: &str) -> (usize, usize) {
    span(xml, ASSERTION_OPEN, ASSERTION_CLOSE, 0)
}

/// The assertion's signature (relative to the assertion text).
fn signature_in(assertion: &str) -> (usize, usize) {
    span(assertion, SIGNATURE_OPEN, SIGNATURE_CLOSE, 0)
}

fn id_of(element: &str) -> String {
    let start = element.find(" ID=\"").unwrap() + 5;
    let end = start + element[start..].find('"').unwrap();
    element[start..end].to_owned()
}

/// The evil twin: another subject, another ID, no signature.
fn evil_assertion(assertion: &str) -> String {
    let (s, e) = signature_in(assertion);
    let unsigned = format!("{}{}", &assertion[..s], &assertion[e..]);
    unsigned
        .replace(&id_of(assertion), "evil-assertion")
        .replace("alice@example.org", "mallory@example.org")
}

/// `assertion` with `signature` placed where a signature goes (after the Issuer).
fn with_signature(assertion: &str, signature: &str) -> String {
    let at = assertion.find("</ns1:Issuer>").unwrap() + "</ns1:Issuer>".len();
    format!("{}{signature}{}", &assertion[..at], &assertion[at..])
}

fn strip_signature(assertion: &str) -> String {
    let (s, e) = signature_in(assertion);
    format!("{}{}", &assertion[..s], &assertion[e..])
}

#[test]
fn tampering_with_the_signed_name_id_is_detected() {
    let (id, xml) = signed("assertion");
    let tampered = xml.replacen(
        ">alice@example.org</ns1:NameID>",
        ">mallory@example.org</ns1:NameID>",
        1,
    );
    assert_ne!(tampered, xml);
    assert_eq!(check(&id, &tampered), Err(SamlError::DigestMismatch));
}

#[test]
fn tampering_with_a_signed_attribute_is_detected() {
    let (id, xml) = signed("assertion");
    let tampered = xml.replacen(
        ">member</ns1:AttributeValue>",
        ">admin</ns1:AttributeValue>",
        1,
    );
    assert_ne!(tampered, xml);
    assert_eq!(check(&id, &tampered), Err(SamlError::DigestMismatch));
}

#[test]
fn tampering_with_signed_info_is_detected() {
    let (id, xml) = signed("assertion");
    // Pointing the reference at nothing else but editing the digest value breaks SignedInfo.
    let (a, b) = assertion_span(&xml);
    let assertion = &xml[a..b];
    let digest_start = assertion.find("<ns2:DigestValue>").unwrap() + "<ns2:DigestValue>".len();
    let mut altered = assertion.to_owned();
    altered.replace_range(digest_start..digest_start + 1, "A");
    if altered == assertion {
        altered.replace_range(digest_start..digest_start + 1, "B");
    }
    let result = check(&id, &format!("{}{}{}", &xml[..a], altered, &xml[b..]));
    assert!(
        matches!(
            result,
            Err(SamlError::DigestMismatch | SamlError::BadSignature)
        ),
        "{result:?}"
    );
}

// --- Signature wrapping (XSW1–XSW8 of "On Breaking SAML", and variants) -------------------

/// XSW1: an evil Response whose Signature carries the original signed Response in an Object.
#[test]
fn xsw1_original_response_inside_the_signature_is_refused() {
    let (id, xml) = signed("response");
    let body = xml
        .trim_start_matches("<?xml version=\"1.0\"?>")
        .trim_start();
    let response_id = id_of(body);
    let (ss, se) = span(body, SIGNATURE_OPEN, SIGNATURE_CLOSE, 0);
    let evil_signature = format!(
        "{}<ns2:Object>{}</ns2:Object>{}",
        &body[ss..se - SIGNATURE_CLOSE.len()],
        body,
        SIGNATURE_CLOSE
    );
    let evil = format!("{}{}{}", &body[..ss], evil_signature, &body[se..])
        .replacen(&response_id, "evil-response", 1)
        .replacen("alice@example.org", "mallory@example.org", 1);
    let result = check_response_signed(&id, &evil);
    assert!(result.is_err(), "accepted: {result:?}");
    assert!(
        matches!(
            result,
            Err(SamlError::DuplicateId(_) | SamlError::Malformed(_))
        ),
        "{result:?}"
    );
}

/// XSW2: as XSW1, with the original Response a sibling placed before the Signature.
#[test]
fn xsw2_detached_original_response_is_refused() {
    let (id, xml) = signed("response");
    let body = xml
        .trim_start_matches("<?xml version=\"1.0\"?>")
        .trim_start();
    let response_id = id_of(body);
    let (ss, _) = span(body, SIGNATURE_OPEN, SIGNATURE_CLOSE, 0);
    let evil = format!("{}{}{}", &body[..ss], body, &body[ss..])
        .replacen(&response_id, "evil-response", 1)
        .replacen("alice@example.org", "mallory@example.org", 1);
    let result = check_response_signed(&id, &evil);
    assert!(
        matches!(
            result,
            Err(SamlError::DuplicateId(_) | SamlError::Malformed(_))
        ),
        "{result:?}"
    );
}

/// XSW3: an evil assertion before the signed one.
#[test]
fn xsw3_evil_assertion_before_the_signed_one_is_refused() {
    let (id, xml) = signed("assertion");
    let (a, b) = assertion_span(&xml);
    let evil = evil_assertion(&xml[a..b]);
    let attacked = format!("{}{}{}", &xml[..a], evil, &xml[a..]);
    assert_eq!(check(&id, &attacked), Err(SamlError::AssertionCount(2)));
}

/// XSW4: the evil assertion wraps the signed one.
#[test]
fn xsw4_evil_assertion_wrapping_the_signed_one_is_refused() {
    let (id, xml) = signed("assertion");
    let (a, b) = assertion_span(&xml);
    let evil = evil_assertion(&xml[a..b]);
    let wrapped = evil.replacen(
        ASSERTION_CLOSE,
        &format!("{}{ASSERTION_CLOSE}", &xml[a..b]),
        1,
    );
    let attacked = format!("{}{}{}", &xml[..a], wrapped, &xml[b..]);
    assert_eq!(check(&id, &attacked), Err(SamlError::AssertionCount(2)));
}

/// XSW5: the signature moved into the evil assertion, the unsigned original appended last.
#[test]
fn xsw5_signature_moved_to_the_evil_assertion_is_refused() {
    let (id, xml) = signed("assertion");
    let (a, b) = assertion_span(&xml);
    let original = &xml[a..b];
    let (ss, se) = signature_in(original);
    let evil = with_signature(&evil_assertion(original), &original[ss..se]);
    let attacked = format!(
        "{}{}{}",
        &xml[..a],
        evil,
        xml[b..].replacen(
            "</ns0:Response>",
            &format!("{}</ns0:Response>", strip_signature(original)),
            1
        )
    );
    assert_eq!(check(&id, &attacked), Err(SamlError::AssertionCount(2)));
}

/// XSW6: the evil assertion carries the signature, the original sits inside that signature.
#[test]
fn xsw6_original_inside_the_moved_signature_is_refused() {
    let (id, xml) = signed("assertion");
    let (a, b) = assertion_span(&xml);
    let original = &xml[a..b];
    let (ss, se) = signature_in(original);
    let signature = &original[ss..se];
    let carrying = signature.replacen(SIGNATURE_CLOSE, &format!("{original}{SIGNATURE_CLOSE}"), 1);
    let evil = with_signature(&evil_assertion(original), &carrying);
    let attacked = format!("{}{}{}", &xml[..a], evil, &xml[b..]);
    // The copied signature's own Id now appears twice, which is found first.
    let result = check(&id, &attacked);
    assert!(
        matches!(
            result,
            Err(SamlError::DuplicateId(_) | SamlError::AssertionCount(2))
        ),
        "{result:?}"
    );
}

/// XSW7: the original hidden in samlp:Extensions, an unsigned evil assertion in its place.
#[test]
fn xsw7_original_hidden_in_extensions_is_refused() {
    let (id, xml) = signed("assertion");
    let (a, b) = assertion_span(&xml);
    let original = &xml[a..b];
    let status = xml.find("<ns0:Status>").unwrap();
    let attacked = format!(
        "{}<ns0:Extensions>{original}</ns0:Extensions>{}{}{}",
        &xml[..status],
        &xml[status..a],
        evil_assertion(original),
        &xml[b..]
    );
    assert_eq!(check(&id, &attacked), Err(SamlError::AssertionCount(2)));
}

/// XSW8: the evil assertion's signature holds the unsigned original in a ds:Object.
#[test]
fn xsw8_original_in_a_signature_object_is_refused() {
    let (id, xml) = signed("assertion");
    let (a, b) = assertion_span(&xml);
    let original = &xml[a..b];
    let (ss, se) = signature_in(original);
    let object = format!(
        "<ns2:Object>{}</ns2:Object>{SIGNATURE_CLOSE}",
        strip_signature(original)
    );
    let signature = original[ss..se].replacen(SIGNATURE_CLOSE, &object, 1);
    let evil = with_signature(&evil_assertion(original), &signature);
    let attacked = format!("{}{}{}", &xml[..a], evil, &xml[b..]);
    assert_eq!(check(&id, &attacked), Err(SamlError::AssertionCount(2)));
}

/// One assertion only, but its ID copied onto an evil element elsewhere: duplicate IDs are
/// refused wherever they are.
#[test]
fn a_duplicated_id_anywhere_is_refused() {
    let (id, xml) = signed("assertion");
    let (a, b) = assertion_span(&xml);
    let assertion_id = id_of(&xml[a..b]);
    let status = xml.find("<ns0:Status>").unwrap();
    let attacked = format!(
        "{}<ns0:Extensions><x:Decoy xmlns:x=\"urn:x\" ID=\"{assertion_id}\"/></ns0:Extensions>{}",
        &xml[..status],
        &xml[status..]
    );
    assert_eq!(
        check(&id, &attacked),
        Err(SamlError::DuplicateId(assertion_id))
    );
}

/// The assertion's signature moved up to the Response (it still names the assertion's ID).
#[test]
fn a_signature_moved_away_from_what_it_signs_is_refused() {
    let (id, xml) = signed("assertion");
    let (a, b) = assertion_span(&xml);
    let original = &xml[a..b];
    let (ss, se) = signature_in(original);
    let status = xml.find("<ns0:Status>").unwrap();
    let attacked = format!(
        "{}{}{}{}{}",
        &xml[..status],
        &original[ss..se],
        &xml[status..a],
        strip_signature(original),
        &xml[b..]
    );
    let result = validate_with(Idp::rsa(), &id, &encoded(&attacked), |v| {
        v.require_signed_assertion = false
    });
    assert!(
        matches!(result, Err(SamlError::SignatureStructure(_))),
        "{result:?}"
    );
}

#[test]
fn a_signature_with_an_object_is_refused() {
    let (id, xml) = signed("assertion");
    let attacked = xml.replacen(
        SIGNATURE_CLOSE,
        &format!("<ns2:Object>x</ns2:Object>{SIGNATURE_CLOSE}"),
        1,
    );
    assert!(matches!(
        check(&id, &attacked),
        Err(SamlError::SignatureStructure(_))
    ));
}

// --- Protocol fields outside the signed assertion ------------------------------------------

#[test]
fn wrong_destination_on_the_response_is_refused() {
    let (id, xml) = signed("assertion");
    let attacked = xml.replacen(crate::tools::ACS_URL, "https://evil.test.invalid/acs", 1);
    assert!(matches!(
        check(&id, &attacked),
        Err(SamlError::Destination { .. })
    ));
}

#[test]
fn wrong_issuer_on_the_response_is_refused() {
    let (id, xml) = signed("assertion");
    let attacked = xml.replacen(
        "https://idp.test.invalid/metadata",
        "https://evil.test.invalid/",
        1,
    );
    assert!(matches!(
        check(&id, &attacked),
        Err(SamlError::Issuer { .. })
    ));
}

#[test]
fn an_error_status_is_reported_with_its_code_only() {
    let xml = concat!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="r" Version="2.0" "#,
        r#"IssueInstant="2024-01-01T00:00:00Z"><samlp:Status><samlp:StatusCode "#,
        r#"Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode "#,
        r#"Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode>"#,
        r#"<samlp:StatusMessage>internal stack trace here</samlp:StatusMessage></samlp:Status></samlp:Response>"#
    );
    let err = check("_r", xml).unwrap_err();
    assert_eq!(
        err,
        SamlError::Status {
            code: "Responder/AuthnFailed".into()
        }
    );
    assert!(!err.to_string().contains("stack trace"));
}

#[test]
fn an_encrypted_assertion_is_refused_with_advice() {
    let (id, xml) = signed("assertion");
    let (a, b) = assertion_span(&xml);
    let attacked = format!(
        "{}<ns1:EncryptedAssertion><xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\"/></ns1:EncryptedAssertion>{}",
        &xml[..a],
        &xml[b..]
    );
    let err = check(&id, &attacked).unwrap_err();
    assert_eq!(err, SamlError::EncryptedAssertion);
    assert!(
        err.to_string()
            .contains("turn off assertion encryption at the IdP")
    );
}

#[test]
fn a_response_without_an_assertion_is_refused() {
    let (id, xml) = signed("assertion");
    let (a, b) = assertion_span(&xml);
    assert_eq!(
        check(&id, &format!("{}{}", &xml[..a], &xml[b..])),
        Err(SamlError::AssertionCount(0))
    );
}

// --- Parsing --------------------------------------------------------------------------------

#[test]
fn xxe_and_billion_laughs_are_refused() {
    let xxe = concat!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">&xxe;</samlp:Response>"
    );
    assert_eq!(check("_r", xxe), Err(SamlError::Dtd));
    let mut laughs = String::from("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        laughs.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
    }
    laughs.push_str("]><lolz>&lol9;</lolz>");
    assert_eq!(check("_r", &laughs), Err(SamlError::Dtd));
    // An entity reference without a declaration is simply not well-formed.
    let undeclared = "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">&xxe;</samlp:Response>";
    assert!(matches!(check("_r", undeclared), Err(SamlError::Xml(_))));
}

#[test]
fn a_doctype_inserted_into_a_signed_response_is_refused() {
    let (id, xml) = signed("assertion");
    let attacked = xml.replacen(
        "<?xml version=\"1.0\"?>",
        "<?xml version=\"1.0\"?><!DOCTYPE x []>",
        1,
    );
    assert_eq!(check(&id, &attacked), Err(SamlError::Dtd));
}

#[test]
fn oversize_and_garbage_input_is_refused() {
    let big = format!("<a>{}</a>", "x".repeat(300 * 1024));
    assert!(matches!(check("_r", &big), Err(SamlError::TooLarge { .. })));
    let sp = sp();
    let pending = ["_r".to_owned()];
    let validation = Validation::new(&sp, &Idp::rsa().metadata, &pending, Utc::now());
    assert!(matches!(
        validate_response(&"QUFB".repeat(200_000), &validation),
        Err(SamlError::TooLarge { .. })
    ));
    assert_eq!(
        validate_response("not base64!", &validation),
        Err(SamlError::Base64)
    );
    let deep = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
    assert!(matches!(
        validate_response_xml(&deep, &validation),
        Err(SamlError::Xml(_))
    ));
}

// --- Comment injection ------------------------------------------------------------------------

/// A comment inside a signed NameID does not change the signature (canonical form drops it),
/// so the whole text must be returned, never the part before the comment.
#[test]
fn a_comment_inside_the_name_id_does_not_truncate_it() {
    let idp = Idp::rsa();
    let opts = Respond {
        name_id: "admin@example.org.evil.test".into(),
        identity: vec![("mail", vec!["admin@example.org.evil.test".into()])],
        ..Respond::default()
    };
    let (request, response) = sign_in(idp, &opts);
    let injected = decoded(&response).replace(
        "admin@example.org.evil.test",
        "admin@example.org<!---->.evil.test",
    );
    assert_eq!(injected.matches("<!---->").count(), 2);
    let assertion = validate(idp, &request.id, &encoded(&injected)).unwrap();
    assert_eq!(assertion.name_id, "admin@example.org.evil.test");
    let user = meetvault_saml::AttributeMap::default().extract(&assertion);
    assert_eq!(user.email.as_deref(), Some("admin@example.org.evil.test"));
}
