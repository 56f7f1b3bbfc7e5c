//! Each ID-token check refused on its own: one valid token, then one change at a time.

use ring::hmac;
use serde_json::{Value, json};

use super::*;
use crate::issuer::entra_issuer;
use crate::jws::encode;
use crate::test_signer::{Signer, changed, jwks};

const NOW: u64 = 1_700_000_000;
const ISS: &str = "https://op.example";
const CLIENT: &str = "client-1";
const NONCE: &str = "n-0S6_WzA2Mj";

fn expect() -> Expectations {
    Expectations::new(IssuerRule::Exact(ISS.into()), CLIENT, NONCE)
}

fn claims() -> Value {
    json!({
        "iss": ISS, "sub": "user-1", "aud": CLIENT, "exp": NOW + 300, "iat": NOW - 5,
        "nonce": NONCE, "email": "ada@example.com", "email_verified": true, "name": "Ada Lovelace",
    })
}

fn with(changes: Value) -> Value {
    changed(claims(), changes)
}

fn check(claims: Value) -> Result<IdClaims, IdTokenError> {
    let signer = Signer::ed25519("ed");
    verify_id_token(&signer.sign(&claims), &jwks(&[&signer]), &expect(), NOW)
}

#[test]
fn a_valid_token_of_each_algorithm_verifies() {
    let rsa = Signer::rsa("rsa");
    let ec = Signer::p256("ec");
    let ed = Signer::ed25519("ed");
    let set = jwks(&[&rsa, &ec, &ed]);
    let ps256 = rsa.sign_with_header(&json!({"alg": "PS256", "kid": "rsa"}), &claims());
    for token in [
        rsa.sign(&claims()),
        ps256,
        ec.sign(&claims()),
        ed.sign(&claims()),
    ] {
        let id = verify_id_token(&token, &set, &expect(), NOW).unwrap();
        assert_eq!(id.issuer(), ISS);
        assert_eq!(id.subject(), "user-1");
        assert_eq!(id.email(), Some("ada@example.com"));
        assert!(id.email_verified());
        assert_eq!(id.name(), Some("Ada Lovelace"));
    }
}

#[test]
fn wrong_audience_is_refused() {
    assert_eq!(
        check(with(json!({"aud": "other"}))).unwrap_err(),
        IdTokenError::Audience
    );
    assert_eq!(
        check(with(json!({"aud": ["a", "b"]}))).unwrap_err(),
        IdTokenError::Audience
    );
    assert_eq!(
        check(with(json!({"aud": []}))).unwrap_err(),
        IdTokenError::InvalidClaim("aud")
    );
    assert_eq!(
        check(with(json!({"aud": null}))).unwrap_err(),
        IdTokenError::InvalidClaim("aud")
    );
}

#[test]
fn azp_is_required_with_several_audiences_and_must_be_us() {
    let many = json!([CLIENT, "api://other"]);
    assert_eq!(
        check(with(json!({"aud": many}))).unwrap_err(),
        IdTokenError::AuthorizedParty
    );
    assert!(check(with(json!({"aud": many, "azp": CLIENT}))).is_ok());
    assert_eq!(
        check(with(json!({"aud": many, "azp": "api://other"}))).unwrap_err(),
        IdTokenError::AuthorizedParty
    );
    assert_eq!(
        check(with(json!({"azp": "other"}))).unwrap_err(),
        IdTokenError::AuthorizedParty
    );
    assert!(check(with(json!({"aud": [CLIENT]}))).is_ok());
}

#[test]
fn time_claims_are_checked_with_leeway() {
    assert_eq!(
        check(with(json!({"exp": NOW - 61}))).unwrap_err(),
        IdTokenError::Expired
    );
    assert!(check(with(json!({"exp": NOW - 59}))).is_ok());
    assert_eq!(
        check(with(json!({"exp": null}))).unwrap_err(),
        IdTokenError::InvalidClaim("exp")
    );
    assert_eq!(
        check(with(json!({"exp": "soon"}))).unwrap_err(),
        IdTokenError::InvalidClaim("exp")
    );
    assert!(check(with(json!({"exp": (NOW + 300) as f64 + 0.5}))).is_ok());

    assert_eq!(
        check(with(json!({"iat": NOW + 61}))).unwrap_err(),
        IdTokenError::IssuedInFuture
    );
    assert!(check(with(json!({"iat": NOW + 59}))).is_ok());
    assert_eq!(
        check(with(json!({"iat": null}))).unwrap_err(),
        IdTokenError::InvalidClaim("iat")
    );
    assert_eq!(
        check(with(json!({"iat": NOW - 661}))).unwrap_err(),
        IdTokenError::TooOld
    );
    assert!(check(with(json!({"iat": NOW - 600}))).is_ok());

    assert_eq!(
        check(with(json!({"nbf": NOW + 61}))).unwrap_err(),
        IdTokenError::NotYetValid
    );
    assert!(check(with(json!({"nbf": NOW + 59}))).is_ok());
}

#[test]
fn leeway_and_max_age_are_configurable() {
    let signer = Signer::ed25519("ed");
    let set = jwks(&[&signer]);
    let token = signer.sign(&with(json!({"exp": NOW - 10, "iat": NOW - 100})));
    assert!(verify_id_token(&token, &set, &expect(), NOW).is_ok());
    let strict = expect().with_leeway(0).with_max_age(50);
    assert_eq!(
        verify_id_token(&token, &set, &strict, NOW).unwrap_err(),
        IdTokenError::Expired
    );
    let token = signer.sign(&with(json!({"iat": NOW - 100})));
    assert_eq!(
        verify_id_token(&token, &set, &strict, NOW).unwrap_err(),
        IdTokenError::TooOld
    );
}

#[test]
fn nonce_must_be_this_logins() {
    assert_eq!(
        check(with(json!({"nonce": "other"}))).unwrap_err(),
        IdTokenError::Nonce
    );
    assert_eq!(
        check(with(json!({"nonce": null}))).unwrap_err(),
        IdTokenError::Nonce
    );
    assert_eq!(
        check(with(json!({"nonce": format!("{NONCE}x")}))).unwrap_err(),
        IdTokenError::Nonce
    );
}

#[test]
fn issuer_and_subject_are_required() {
    assert_eq!(
        check(with(json!({"iss": "https://evil.example"}))).unwrap_err(),
        IdTokenError::Issuer(IssuerMismatch::WrongIssuer)
    );
    assert_eq!(
        check(with(json!({"iss": null}))).unwrap_err(),
        IdTokenError::InvalidClaim("iss")
    );
    assert_eq!(
        check(with(json!({"sub": null}))).unwrap_err(),
        IdTokenError::InvalidClaim("sub")
    );
    assert_eq!(
        check(with(json!({"sub": ""}))).unwrap_err(),
        IdTokenError::InvalidClaim("sub")
    );
}

#[test]
fn entra_multi_tenant_tokens_check_iss_against_tid() {
    let tid = "9122040d-6c67-4c5b-b112-36a304b66dad";
    let signer = Signer::rsa("rsa");
    let set = jwks(&[&signer]);
    let expect = Expectations::new(IssuerRule::entra_multi_tenant(None), CLIENT, NONCE);
    let token = signer.sign(&with(
        json!({"iss": entra_issuer(tid), "tid": tid, "email_verified": null}),
    ));
    let id = verify_id_token(&token, &set, &expect, NOW).unwrap();
    assert_eq!(id.tenant(), Some(tid));
    assert!(
        !id.email_verified(),
        "Entra sends no email_verified: not verified"
    );
    let other = "00000000-0000-0000-0000-000000000001";
    let token = signer.sign(&with(json!({"iss": entra_issuer(other), "tid": tid})));
    assert_eq!(
        verify_id_token(&token, &set, &expect, NOW).unwrap_err(),
        IdTokenError::Issuer(IssuerMismatch::WrongIssuer)
    );
}

#[test]
fn email_verified_is_true_only_when_the_provider_says_so() {
    let verified = |v: Value| {
        check(with(json!({"email_verified": v})))
            .unwrap()
            .email_verified()
    };
    assert!(verified(json!(true)));
    assert!(verified(json!("true")));
    assert!(!verified(json!(false)));
    assert!(!verified(json!("false")));
    assert!(!verified(json!(1)));
    assert!(!verified(json!("TRUE")));
    assert!(!verified(Value::Null));
    let edov = check(with(json!({"email_verified": null, "xms_edov": true}))).unwrap();
    assert!(edov.email_verified());
    let google = check(with(json!({"hd": "example.com"}))).unwrap();
    assert_eq!(google.hosted_domain(), Some("example.com"));
    assert_eq!(google.raw()["hd"], "example.com");
}

#[test]
fn alg_none_and_hmac_are_refused() {
    let rsa = Signer::rsa("rsa");
    let set = jwks(&[&rsa]);
    let body = encode(claims().to_string().as_bytes());

    let none = format!("{}.{body}.", encode(br#"{"alg":"none"}"#));
    assert!(matches!(
        verify_id_token(&none, &set, &expect(), NOW),
        Err(IdTokenError::Malformed(_))
    ));
    let none = format!("{}.{body}.AAAA", encode(br#"{"alg":"none","kid":"rsa"}"#));
    assert_eq!(
        verify_id_token(&none, &set, &expect(), NOW).unwrap_err(),
        IdTokenError::UnsupportedAlg("none".into())
    );

    // The classic confusion: HS256 keyed with the RSA public key as the verifier knows it.
    let header = encode(br#"{"alg":"HS256","kid":"rsa"}"#);
    let input = format!("{header}.{body}");
    for secret in [
        rsa.jwk().to_string().into_bytes(),
        rsa.jwk()["n"].as_str().unwrap().as_bytes().to_vec(),
    ] {
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &secret),
            input.as_bytes(),
        );
        let token = format!("{input}.{}", encode(tag.as_ref()));
        assert_eq!(
            verify_id_token(&token, &set, &expect(), NOW).unwrap_err(),
            IdTokenError::UnsupportedAlg("HS256".into())
        );
    }
    let rs512 = rsa.sign_with_header(&json!({"alg": "RS512", "kid": "rsa"}), &claims());
    assert_eq!(
        verify_id_token(&rs512, &set, &expect(), NOW).unwrap_err(),
        IdTokenError::UnsupportedAlg("RS512".into())
    );
}

#[test]
fn alg_must_fit_the_key_type() {
    let rsa = Signer::rsa("rsa");
    let ec = Signer::p256("ec");
    let set = jwks(&[&rsa, &ec]);
    let es_on_rsa = ec.sign_with_header(&json!({"alg": "ES256", "kid": "rsa"}), &claims());
    assert_eq!(
        verify_id_token(&es_on_rsa, &set, &expect(), NOW).unwrap_err(),
        IdTokenError::KeyAlgMismatch
    );
    let rs_on_ec = rsa.sign_with_header(&json!({"alg": "RS256", "kid": "ec"}), &claims());
    assert_eq!(
        verify_id_token(&rs_on_ec, &set, &expect(), NOW).unwrap_err(),
        IdTokenError::KeyAlgMismatch
    );
}

#[test]
fn an_unknown_kid_asks_for_a_refetch() {
    let old = Signer::ed25519("2024");
    let new = Signer::ed25519("2025");
    let token = new.sign(&claims());
    assert_eq!(
        verify_id_token(&token, &jwks(&[&old]), &expect(), NOW).unwrap_err(),
        IdTokenError::UnknownKey {
            kid: Some("2025".into())
        }
    );
    assert!(verify_id_token(&token, &jwks(&[&old, &new]), &expect(), NOW).is_ok());
}

#[test]
fn without_kid_the_only_fitting_key_is_used() {
    let ed = Signer::ed25519("ed");
    let rsa = Signer::rsa("rsa");
    let token = ed.sign_with_header(&json!({"alg": "EdDSA"}), &claims());
    assert!(verify_id_token(&token, &jwks(&[&ed, &rsa]), &expect(), NOW).is_ok());
    let other = Signer::ed25519("ed2");
    assert_eq!(
        verify_id_token(&token, &jwks(&[&ed, &other]), &expect(), NOW).unwrap_err(),
        IdTokenError::AmbiguousKey
    );
}

#[test]
fn a_key_embedded_in_the_header_is_never_used() {
    let ours = Signer::ed25519("ed");
    let attacker = Signer::ed25519("ed");
    let header = json!({"alg": "EdDSA", "kid": "ed", "jwk": attacker.jwk(), "jku": "https://evil.example/jwks"});
    let token = attacker.sign_with_header(&header, &claims());
    assert_eq!(
        verify_id_token(&token, &jwks(&[&ours]), &expect(), NOW).unwrap_err(),
        IdTokenError::BadSignature
    );
}

#[test]
fn tampered_payload_or_signature_is_refused() {
    let signer = Signer::p256("ec");
    let set = jwks(&[&signer]);
    let token = signer.sign(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let evil = encode(with(json!({"sub": "admin"})).to_string().as_bytes());
    let swapped = format!("{}.{evil}.{}", parts[0], parts[2]);
    assert_eq!(
        verify_id_token(&swapped, &set, &expect(), NOW).unwrap_err(),
        IdTokenError::BadSignature
    );
    let mut sig = crate::jws::decode(parts[2]).unwrap();
    sig[10] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], encode(&sig));
    assert_eq!(
        verify_id_token(&flipped, &set, &expect(), NOW).unwrap_err(),
        IdTokenError::BadSignature
    );
    let truncated = format!("{}.{}.{}", parts[0], parts[1], encode(&sig[..63]));
    assert_eq!(
        verify_id_token(&truncated, &set, &expect(), NOW).unwrap_err(),
        IdTokenError::BadSignature
    );
}

#[test]
fn jwe_crit_typ_and_shape_are_refused() {
    let signer = Signer::ed25519("ed");
    let set = jwks(&[&signer]);
    let jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d";
    assert_eq!(
        verify_id_token(jwe, &set, &expect(), NOW).unwrap_err(),
        IdTokenError::Encrypted
    );
    let crit = signer.sign_with_header(
        &json!({"alg": "EdDSA", "kid": "ed", "crit": ["exp"], "exp": 1}),
        &claims(),
    );
    assert_eq!(
        verify_id_token(&crit, &set, &expect(), NOW).unwrap_err(),
        IdTokenError::CriticalHeader
    );
    let at = signer.sign_with_header(
        &json!({"alg": "EdDSA", "kid": "ed", "typ": "at+JWT"}),
        &claims(),
    );
    assert!(matches!(
        verify_id_token(&at, &set, &expect(), NOW),
        Err(IdTokenError::WrongType(_))
    ));
    for bad in ["", "a.b", "a.b.c.d", "!!.b.c", "e30.e30.AAAA"] {
        assert!(
            matches!(
                verify_id_token(bad, &set, &expect(), NOW),
                Err(IdTokenError::Malformed(_))
            ),
            "{bad}"
        );
    }
    let padded = format!("{}=", signer.sign(&claims()));
    assert!(matches!(
        verify_id_token(&padded, &set, &expect(), NOW),
        Err(IdTokenError::Malformed(_))
    ));
    let not_object = signer.sign(&json!(["iss"]));
    assert!(matches!(
        verify_id_token(&not_object, &set, &expect(), NOW),
        Err(IdTokenError::Malformed(_))
    ));
}

#[test]
fn oversize_tokens_are_refused_before_parsing() {
    let signer = Signer::ed25519("ed");
    let token = signer.sign(&with(json!({"pad": "x".repeat(MAX_ID_TOKEN_BYTES)})));
    assert_eq!(
        verify_id_token(&token, &jwks(&[&signer]), &expect(), NOW).unwrap_err(),
        IdTokenError::TooLarge
    );
}

#[test]
fn a_weak_rsa_key_is_named_not_unknown() {
    let ed = Signer::ed25519("ed");
    let small_n = encode(&[0xc5; 128]);
    let set = Jwks::parse(
        json!({"keys": [ed.jwk(), {"kty": "RSA", "kid": "weak", "n": small_n, "e": "AQAB"}]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let token = format!(
        "{}.{}.AAAA",
        encode(br#"{"alg":"RS256","kid":"weak"}"#),
        encode(b"{}")
    );
    assert!(matches!(
        verify_id_token(&token, &set, &expect(), NOW),
        Err(IdTokenError::KeyRefused(_))
    ));
}

#[test]
fn errors_do_not_echo_the_token() {
    let signer = Signer::ed25519("ed");
    let token = signer.sign(&with(json!({"nonce": "secret-nonce-value"})));
    let err = verify_id_token(&token, &jwks(&[&signer]), &expect(), NOW).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("secret-nonce-value") && !shown.contains(&token[..20]));
    assert!(!format!("{:?}", expect()).contains(NONCE));
}
