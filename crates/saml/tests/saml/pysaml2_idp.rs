//! Round trips with pysaml2 as the IdP: our metadata and AuthnRequest in, its signed Response
//! out; our validation must accept it and read the same user.

use chrono::{Duration, Utc};
use meetvault_saml::{
    Assertion, AttributeMap, AuthnRequest, InMemoryReplayCache, ReplayCache, SamlError, SpConfig,
    Validation, validate_response,
};
use ring::rand::SystemRandom;

use crate::tools::{Idp, Respond, SP_ENTITY, sp};

/// A fresh request from our SP, answered by `idp` as `opts` says.
pub fn sign_in(idp: &Idp, opts: &Respond) -> (AuthnRequest, String) {
    let sp = sp();
    let request = AuthnRequest::new(&sp, &idp.metadata, Utc::now(), &SystemRandom::new()).unwrap();
    let response = idp.respond(&sp, &request, opts);
    (request, response)
}

/// Validates with the defaults, as the ACS endpoint would.
pub fn validate(idp: &Idp, request_id: &str, response: &str) -> Result<Assertion, SamlError> {
    validate_with(idp, request_id, response, |_| {})
}

pub fn validate_with(
    idp: &Idp,
    request_id: &str,
    response: &str,
    adjust: impl FnOnce(&mut Validation<'_>),
) -> Result<Assertion, SamlError> {
    let sp = sp();
    let pending = [request_id.to_owned()];
    let mut validation = Validation::new(&sp, &idp.metadata, &pending, Utc::now());
    adjust(&mut validation);
    validate_response(response, &validation)
}

pub fn decoded(b64: &str) -> String {
    use base64::Engine as _;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap(),
    )
    .unwrap()
}

pub fn encoded(xml: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(xml)
}

#[test]
fn signed_assertion_from_pysaml2_is_accepted_and_read() {
    let idp = Idp::rsa();
    let (request, response) = sign_in(idp, &Respond::default());
    let assertion = validate(idp, &request.id, &response)
        .unwrap_or_else(|e| panic!("{e}\n{}", decoded(&response)));
    assert_eq!(assertion.name_id, "alice@example.org");
    assert_eq!(
        assertion.name_id_format.as_deref(),
        Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    );
    assert_eq!(assertion.issuer, idp.metadata.entity_id);
    assert_eq!(
        assertion.in_response_to.as_deref(),
        Some(request.id.as_str())
    );
    assert!(assertion.session_index.is_some());
    assert!(assertion.not_on_or_after > Utc::now());
    assert!(assertion.not_on_or_after <= Utc::now() + Duration::minutes(16));
    let user = AttributeMap::default().extract(&assertion);
    assert_eq!(user.email.as_deref(), Some("alice@example.org"));
    assert_eq!(user.name.as_deref(), Some("Alice Example"));
    assert_eq!(user.roles, ["member"]);
}

#[test]
fn the_same_assertion_is_accepted_once_by_the_replay_cache() {
    let idp = Idp::rsa();
    let (request, response) = sign_in(idp, &Respond::default());
    let assertion = validate(idp, &request.id, &response).unwrap();
    let mut cache = InMemoryReplayCache::default();
    let now = Utc::now();
    cache
        .check_and_store(&assertion.id, assertion.not_on_or_after, now)
        .unwrap();
    let again = validate(idp, &request.id, &response).unwrap();
    assert_eq!(
        cache.check_and_store(&again.id, again.not_on_or_after, now),
        Err(SamlError::Replay)
    );
}

#[test]
fn signed_response_alone_is_refused_by_default_and_accepted_when_allowed() {
    let idp = Idp::rsa();
    let (request, response) = sign_in(
        idp,
        &Respond {
            sign: "response",
            ..Respond::default()
        },
    );
    assert_eq!(
        validate(idp, &request.id, &response),
        Err(SamlError::Unsigned)
    );
    let assertion = validate_with(idp, &request.id, &response, |v| {
        v.require_signed_assertion = false
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", decoded(&response)));
    assert_eq!(assertion.name_id, "alice@example.org");
}

#[test]
fn response_and_assertion_both_signed_is_accepted() {
    let idp = Idp::rsa();
    let (request, response) = sign_in(
        idp,
        &Respond {
            sign: "both",
            ..Respond::default()
        },
    );
    let assertion = validate(idp, &request.id, &response)
        .unwrap_or_else(|e| panic!("{e}\n{}", decoded(&response)));
    assert_eq!(assertion.name_id, "alice@example.org");
}

#[test]
fn unsigned_response_is_refused() {
    let idp = Idp::rsa();
    let (request, response) = sign_in(
        idp,
        &Respond {
            sign: "none",
            ..Respond::default()
        },
    );
    assert_eq!(
        validate(idp, &request.id, &response),
        Err(SamlError::Unsigned)
    );
}

#[test]
fn unicode_many_and_long_attribute_values_survive() {
    let idp = Idp::rsa();
    let long = "x".repeat(10_000);
    let opts = Respond {
        name_id: "zoë.ångström@example.org".into(),
        identity: vec![
            ("mail", vec!["zoe@example.org".into()]),
            (
                "displayName",
                vec!["Zoë Ångström — 山田 太郎 & <co> \"quoted\" 🎉".into()],
            ),
            (
                "role",
                vec![
                    "admin".into(),
                    "member".into(),
                    "viewer".into(),
                    long.clone(),
                ],
            ),
        ],
        ..Respond::default()
    };
    let (request, response) = sign_in(idp, &opts);
    let assertion = validate(idp, &request.id, &response)
        .unwrap_or_else(|e| panic!("{e}\n{}", decoded(&response)));
    assert_eq!(assertion.name_id, "zoë.ångström@example.org");
    let user = AttributeMap::default().extract(&assertion);
    assert_eq!(
        user.name.as_deref(),
        Some("Zoë Ångström — 山田 太郎 & <co> \"quoted\" 🎉")
    );
    assert_eq!(user.roles, ["admin", "member", "viewer", long.as_str()]);
}

#[test]
fn sha1_signatures_are_refused_by_default_and_accepted_when_allowed() {
    let idp = Idp::rsa();
    let opts = Respond {
        sign_alg: Some("http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
        digest_alg: Some("http://www.w3.org/2000/09/xmldsig#sha1"),
        ..Respond::default()
    };
    let (request, response) = sign_in(idp, &opts);
    assert!(matches!(
        validate(idp, &request.id, &response),
        Err(SamlError::Algorithm(_))
    ));
    let assertion = validate_with(idp, &request.id, &response, |v| v.allow_sha1 = true).unwrap();
    assert_eq!(assertion.name_id, "alice@example.org");
}

#[test]
fn ecdsa_p256_signatures_are_accepted() {
    let idp = Idp::new("ec-idp", "ec");
    let opts = Respond {
        sign_alg: Some("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"),
        ..Respond::default()
    };
    let (request, response) = sign_in(&idp, &opts);
    let assertion = validate(&idp, &request.id, &response)
        .unwrap_or_else(|e| panic!("{e}\n{}", decoded(&response)));
    assert_eq!(assertion.name_id, "alice@example.org");
}

#[test]
fn idp_initiated_response_needs_the_flag() {
    let idp = Idp::rsa();
    let (_, response) = sign_in(
        idp,
        &Respond {
            unsolicited: true,
            ..Respond::default()
        },
    );
    assert!(matches!(
        validate(idp, "_none", &response),
        Err(SamlError::InResponseTo(_))
    ));
    let assertion = validate_with(idp, "_none", &response, |v| v.allow_idp_initiated = true)
        .unwrap_or_else(|e| panic!("{e}\n{}", decoded(&response)));
    assert_eq!(assertion.in_response_to, None);
}

#[test]
fn response_to_an_unknown_request_is_refused() {
    let idp = Idp::rsa();
    let (_, response) = sign_in(idp, &Respond::default());
    assert!(matches!(
        validate(idp, "_someone_else", &response),
        Err(SamlError::InResponseTo(_))
    ));
    // Having the flag on does not make a wrong InResponseTo acceptable.
    assert!(matches!(
        validate_with(idp, "_x", &response, |v| v.allow_idp_initiated = true),
        Err(SamlError::InResponseTo(_))
    ));
}

#[test]
fn expired_and_not_yet_valid_assertions_are_refused() {
    let idp = Idp::rsa();
    let (request, response) = sign_in(idp, &Respond::default());
    let later = validate_with(idp, &request.id, &response, |v| {
        v.now = Utc::now() + Duration::minutes(30)
    });
    assert!(matches!(later, Err(SamlError::Expired(_))), "{later:?}");
    let earlier = validate_with(idp, &request.id, &response, |v| {
        v.now = Utc::now() - Duration::minutes(10)
    });
    assert!(
        matches!(earlier, Err(SamlError::NotYetValid(_))),
        "{earlier:?}"
    );
    // Within the skew, both edges pass.
    validate_with(idp, &request.id, &response, |v| {
        v.now = Utc::now() - Duration::seconds(90)
    })
    .unwrap();
}

#[test]
fn assertion_for_another_audience_is_refused() {
    let idp = Idp::rsa();
    let other = SpConfig::new(
        "https://other-sp.test.invalid/metadata",
        crate::tools::ACS_URL,
    );
    let request =
        AuthnRequest::new(&other, &idp.metadata, Utc::now(), &SystemRandom::new()).unwrap();
    let response = idp.respond(&other, &request, &Respond::default());
    assert_eq!(
        validate(idp, &request.id, &response),
        Err(SamlError::Audience {
            expected: SP_ENTITY.into()
        })
    );
}

#[test]
fn response_for_another_acs_is_refused() {
    let idp = Idp::rsa();
    let other = SpConfig::new(SP_ENTITY, "https://elsewhere.test.invalid/acs");
    let request =
        AuthnRequest::new(&other, &idp.metadata, Utc::now(), &SystemRandom::new()).unwrap();
    let response = idp.respond(&other, &request, &Respond::default());
    assert!(matches!(
        validate(idp, &request.id, &response),
        Err(SamlError::Destination { .. })
    ));
    // The Response element is not signed here: pointing its Destination back at us leaves the
    // signed assertion's Recipient, which still names the other ACS.
    let xml = decoded(&response).replace(
        "Destination=\"https://elsewhere.test.invalid/acs\"",
        &format!("Destination=\"{}\"", crate::tools::ACS_URL),
    );
    assert!(matches!(
        validate(idp, &request.id, &encoded(&xml)),
        Err(SamlError::Recipient { .. })
    ));
}

#[test]
fn a_key_not_in_the_metadata_is_refused_even_with_its_certificate_in_keyinfo() {
    // Same entity ID, its own key; pysaml2 puts that key's certificate in KeyInfo.
    let trusted = Idp::rsa();
    let rogue = Idp::new("rogue", "rsa");
    let (request, response) = sign_in(&rogue, &Respond::default());
    assert!(decoded(&response).contains("X509Certificate"));
    assert_eq!(
        validate(trusted, &request.id, &response),
        Err(SamlError::BadSignature)
    );
}
