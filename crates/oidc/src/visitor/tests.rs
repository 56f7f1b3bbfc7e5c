//! Each visitor-token rule refused on its own: one valid token, then one change at a time. The
//! independent check is the jose differential test in `tests/peers/visitor_differential.rs`.

use ring::hmac;
use serde_json::{Value, json};

use super::*;
use crate::jws::encode;
use crate::test_signer::changed;

const NOW: i64 = 1_700_000_000;
const AUD: &str = "wgt_3f9a2c";
const SECRET: &[u8] = b"widget-secret-for-tests-only";
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn claims() -> Value {
    json!({
        "sub": "visitor-42", "email": "ada@example.com", "name": "Ada Lovelace",
        "aud": AUD, "iat": NOW - 5, "exp": NOW + 600,
    })
}

/// The valid claims with `changes` applied; a `null` change removes the claim.
fn with(changes: Value) -> Value {
    changed(claims(), changes)
}

/// Signs exactly the given header and claims texts with HMAC-SHA-256 under `secret`.
fn sign_raw(header: &str, claims: &str, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        encode(header.as_bytes()),
        encode(claims.as_bytes())
    );
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
    format!("{input}.{}", encode(tag.as_ref()))
}

fn sign(claims: &Value) -> String {
    sign_raw(HEADER, &claims.to_string(), SECRET)
}

fn verify(token: &str) -> Result<VisitorClaims, VisitorTokenError> {
    verify_visitor_token(token, SECRET, AUD, NOW)
}

fn check(claims: Value) -> Result<VisitorClaims, VisitorTokenError> {
    verify(&sign(&claims))
}

fn with_header(header: &str) -> Result<VisitorClaims, VisitorTokenError> {
    verify(&sign_raw(header, &claims().to_string(), SECRET))
}

/// Sets `claim` to each of `values` (a `null` stays in the claims as `null`) and expects each
/// token refused for that claim.
fn refused_as_invalid(claim: &'static str, values: &[Value]) {
    for value in values {
        let mut c = claims();
        c[claim] = value.clone();
        assert_eq!(
            check(c),
            Err(VisitorTokenError::InvalidClaim(claim)),
            "{claim}: {value}"
        );
    }
}

#[test]
fn a_valid_token_verifies_into_its_claims() {
    assert_eq!(
        check(claims()).unwrap(),
        VisitorClaims {
            sub: "visitor-42".into(),
            email: Some("ada@example.com".into()),
            name: Some("Ada Lovelace".into()),
            exp: NOW + 600,
            iat: Some(NOW - 5),
        }
    );
    let bare = check(with(json!({"email": null, "name": null, "iat": null}))).unwrap();
    assert_eq!((bare.email, bare.name, bare.iat), (None, None, None));
    // A header without typ, or with typ in another case, and ignored members such as kid.
    for header in [
        r#"{"alg":"HS256"}"#,
        r#"{"typ":"jwt","alg":"HS256"}"#,
        r#"{"alg":"HS256","typ":"Jwt","kid":"k1","x5u":"https://evil.example/k"}"#,
    ] {
        assert!(with_header(header).is_ok(), "{header}");
    }
}

#[test]
fn hostile_and_unicode_texts_come_back_exactly_as_signed() {
    let name = "</script><script>alert(\"x\")</script> Zoë 李小龍 🙂\u{2028}\u{0}";
    let email = "\"><img src=x onerror=alert(1)>@example.com";
    let sub = "user'; DROP TABLE visitors;--";
    let v = check(with(json!({"sub": sub, "email": email, "name": name}))).unwrap();
    assert_eq!(
        (v.sub.as_str(), v.email.as_deref(), v.name.as_deref()),
        (sub, Some(email), Some(name))
    );
}

#[test]
fn null_or_empty_email_and_name_mean_absent() {
    let v = check(with(json!({"email": "", "name": ""}))).unwrap();
    assert_eq!((v.email, v.name), (None, None));
    let mut c = claims();
    c["email"] = Value::Null;
    c["name"] = Value::Null;
    let v = check(c).unwrap();
    assert_eq!((v.email, v.name), (None, None));
}

#[test]
fn unknown_claims_are_ignored() {
    let v = check(with(json!({
        "iss": "https://customer.example", "jti": "j1", "roles": ["admin"],
        "nested": {"a": [1, 2, {"b": null}]}, "email_verified": "yes",
    })))
    .unwrap();
    assert_eq!(v.sub, "visitor-42");
}

#[test]
fn an_empty_secret_is_refused_even_for_a_token_signed_with_it() {
    let token = sign_raw(HEADER, &claims().to_string(), b"");
    assert_eq!(
        verify_visitor_token(&token, b"", AUD, NOW),
        Err(VisitorTokenError::EmptySecret)
    );
}

#[test]
fn a_token_signed_with_another_secret_is_refused() {
    for secret in [
        &b"widget-secret-for-tests-onlY"[..],
        b"widget-secret-for-tests-onl",
        b"widget-secret-for-tests-only!",
        &[0u8; 32],
    ] {
        let token = sign_raw(HEADER, &claims().to_string(), secret);
        assert_eq!(verify(&token), Err(VisitorTokenError::BadSignature));
    }
    // HMAC pads a key shorter than its block with zero bytes (RFC 2104), so trailing zero
    // bytes do not make another key. Harmless: signing still takes the secret itself.
    let padded = sign_raw(
        HEADER,
        &claims().to_string(),
        b"widget-secret-for-tests-only\0",
    );
    assert!(verify(&padded).is_ok());
}

#[test]
fn a_tampered_token_is_refused() {
    let token = sign(&claims());
    let (input, signature) = token.rsplit_once('.').unwrap();
    let (header, _) = input.split_once('.').unwrap();
    // Another payload under the original signature.
    let forged = encode(with(json!({"sub": "admin"})).to_string().as_bytes());
    assert_eq!(
        verify(&format!("{header}.{forged}.{signature}")),
        Err(VisitorTokenError::BadSignature)
    );
    // Every single-character change anywhere but the dots.
    for i in (0..token.len()).filter(|&i| token.as_bytes()[i] != b'.') {
        let mut altered = token.clone().into_bytes();
        altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(verify(&altered).is_err(), "byte {i} altered was accepted");
    }
    // A truncated or dropped signature.
    assert!(verify(&token[..token.len() - 1]).is_err());
    assert_eq!(
        verify(&format!("{input}.")),
        Err(VisitorTokenError::BadSignature)
    );
}

#[test]
fn alg_none_with_an_empty_signature_is_refused() {
    let body = encode(claims().to_string().as_bytes());
    for header in [r#"{"alg":"none"}"#, r#"{"alg":"none","typ":"JWT"}"#] {
        let token = format!("{}.{body}.", encode(header.as_bytes()));
        assert_eq!(
            verify(&token),
            Err(VisitorTokenError::UnsupportedAlg("none".into()))
        );
    }
}

#[test]
fn rs256_signed_by_hmac_with_the_secret_is_refused() {
    // The classic confusion the other way round: a header that names an asymmetric algorithm,
    // signed with the shared secret. The secret is never anything but an HS256 key.
    for alg in ["RS256", "ES256", "PS256", "EdDSA"] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        assert_eq!(
            with_header(&header),
            Err(VisitorTokenError::UnsupportedAlg(alg.into()))
        );
    }
}

#[test]
fn only_hs256_exactly_is_accepted() {
    for alg in ["HS384", "HS512", "hs256", "HS256 ", "", "none", "None"] {
        let header = json!({"alg": alg}).to_string();
        assert_eq!(
            with_header(&header),
            Err(VisitorTokenError::UnsupportedAlg(alg.into())),
            "{alg:?}"
        );
    }
    assert_eq!(
        with_header(r#"{"typ":"JWT"}"#),
        Err(VisitorTokenError::Malformed("the header has no alg"))
    );
    for header in [r#"{"alg":["HS256"]}"#, r#"{"alg":null}"#] {
        assert_eq!(
            with_header(header),
            Err(VisitorTokenError::Malformed(
                "the header's alg is not a string"
            ))
        );
    }
    // An alg chosen to flood a log is cut short.
    let long = "A".repeat(1000);
    let Err(VisitorTokenError::UnsupportedAlg(shown)) =
        with_header(&json!({"alg": long}).to_string())
    else {
        panic!("a long alg was not refused as unsupported");
    };
    assert!(shown.chars().count() <= 17, "{shown}");
}

#[test]
fn typ_if_present_must_be_jwt() {
    for typ in ["at+jwt", "JOSE", "application/jwt", "JWS", ""] {
        let header = json!({"alg": "HS256", "typ": typ}).to_string();
        assert_eq!(
            with_header(&header),
            Err(VisitorTokenError::UnsupportedType(typ.into())),
            "{typ}"
        );
    }
    assert_eq!(
        with_header(r#"{"alg":"HS256","typ":1}"#),
        Err(VisitorTokenError::Malformed(
            "the header's typ is not a string"
        ))
    );
}

#[test]
fn any_crit_is_refused() {
    for header in [
        r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
        r#"{"alg":"HS256","crit":["b64"],"b64":true}"#,
        r#"{"alg":"HS256","crit":[]}"#,
        r#"{"alg":"HS256","crit":null}"#,
    ] {
        assert_eq!(
            with_header(header),
            Err(VisitorTokenError::CriticalHeader),
            "{header}"
        );
    }
}

#[test]
fn a_jwe_is_refused() {
    // Five parts, as `dir` + A256GCM makes them (empty encrypted key).
    let header = encode(br#"{"alg":"dir","enc":"A256GCM"}"#);
    let jwe = format!("{header}..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(verify(&jwe), Err(VisitorTokenError::Encrypted));
    // A three-part token whose header says it is encrypted.
    assert_eq!(
        with_header(r#"{"alg":"HS256","enc":"A256GCM"}"#),
        Err(VisitorTokenError::Encrypted)
    );
}

#[test]
fn a_token_must_have_exactly_three_parts() {
    let token = sign(&claims());
    for shape in [
        String::new(),
        ".".into(),
        "..".into(),
        token.replacen('.', "", 1),
        format!("{token}."),
        format!("{token}.AAAA.AAAA.AAAA"),
    ] {
        assert!(
            matches!(verify(&shape), Err(VisitorTokenError::Malformed(_))),
            "{shape:?}: {:?}",
            verify(&shape)
        );
    }
}

#[test]
fn a_token_over_4096_bytes_is_refused() {
    let mut largest_accepted = 0;
    for pad in 2000.. {
        let token = sign(&with(json!({"pad": "x".repeat(pad)})));
        if token.len() > MAX_VISITOR_TOKEN_BYTES {
            assert_eq!(verify(&token), Err(VisitorTokenError::TooLarge));
            break;
        }
        assert!(verify(&token).is_ok(), "{} bytes", token.len());
        largest_accepted = token.len();
    }
    assert!(
        largest_accepted >= MAX_VISITOR_TOKEN_BYTES - 1,
        "{largest_accepted}"
    );
    // The bound holds before anything is decoded or checked.
    let huge = "A".repeat(MAX_VISITOR_TOKEN_BYTES + 1);
    assert_eq!(verify(&huge), Err(VisitorTokenError::TooLarge));
}

#[test]
fn anything_but_strict_base64url_is_refused() {
    let token = sign(&claims());
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    for (shape, part) in [
        (format!("{header}=.{payload}.{signature}"), "header"),
        (format!("{header}.{payload}=.{signature}"), "payload"),
        (format!("{header}.{payload}.{signature}="), "signature"),
        (
            format!("{header}.{payload}.+{}", &signature[1..]),
            "signature",
        ),
        (
            format!("{header}.{payload}./{}", &signature[1..]),
            "signature",
        ),
        (
            format!("{header}.{} {}.{signature}", &payload[..4], &payload[4..]),
            "payload",
        ),
        (format!("{header}.{payload}.{signature}!"), "signature"),
        // Non-canonical: a 43-character signature whose last character sets unused bits.
        (
            format!("{header}.{payload}.{}B", &signature[..42]),
            "signature",
        ),
        (format!("é{header}.{payload}.{signature}"), "header"),
    ] {
        let why = verify(&shape).unwrap_err();
        assert!(
            matches!(why, VisitorTokenError::Malformed(m) if m.contains(part)),
            "{shape}: {why:?}"
        );
    }
}

#[test]
fn header_and_claims_must_be_json_objects_without_repeated_keys() {
    for (header, why) in [
        (
            r#"{"alg":"HS256","alg":"none"}"#,
            "the header repeats a key",
        ),
        (
            r#"{"alg":"none","alg":"HS256"}"#,
            "the header repeats a key",
        ),
        (r#"["HS256"]"#, "the header is not a JSON object"),
        (r#"{"alg":"HS256"} x"#, "the header is not JSON"),
    ] {
        assert_eq!(
            with_header(header),
            Err(VisitorTokenError::Malformed(why)),
            "{header}"
        );
    }
    let exp = NOW + 600;
    for (body, why) in [
        (
            format!(r#"{{"sub":"a","sub":"admin","aud":"{AUD}","exp":{exp}}}"#),
            "a key is repeated",
        ),
        (
            format!(
                r#"{{"sub":"a","aud":"{AUD}","exp":{exp},"exp":{}}}"#,
                exp + 9999
            ),
            "a key is repeated",
        ),
        (
            format!(r#"{{"sub":"a","aud":"{AUD}","exp":{exp},"x":{{"k":1,"k":2}}}}"#),
            "a key is repeated",
        ),
        (format!(r#"["{AUD}"]"#), "they are not a JSON object"),
        (r#""just a string""#.into(), "they are not a JSON object"),
        ("null".into(), "they are not a JSON object"),
        (String::new(), "they are not JSON"),
        (
            format!(r#"{{"sub":"a","aud":"{AUD}","exp":{exp}}}{{}}"#),
            "they are not JSON",
        ),
    ] {
        assert_eq!(
            verify(&sign_raw(HEADER, &body, SECRET)),
            Err(VisitorTokenError::MalformedClaims(why)),
            "{body}"
        );
    }
}

#[test]
fn exp_is_required_and_checked_with_30_seconds_leeway() {
    assert!(check(with(json!({"exp": NOW - 29, "iat": NOW - 600}))).is_ok());
    for exp in [NOW - 30, NOW - 31, 0, i64::MIN] {
        assert_eq!(
            check(with(json!({"exp": exp, "iat": null}))),
            Err(VisitorTokenError::Expired),
            "{exp}"
        );
    }
    refused_as_invalid(
        "exp",
        &[
            json!(null),
            json!("1700000600"),
            json!(1_700_000_600.5),
            json!(u64::MAX),
        ],
    );
    // Missing, not just null.
    assert_eq!(
        check(with(json!({"exp": null}))),
        Err(VisitorTokenError::InvalidClaim("exp"))
    );
}

#[test]
fn a_token_valid_for_more_than_an_hour_is_refused() {
    let ok = check(with(json!({"exp": NOW + 3600 + 30}))).unwrap();
    assert_eq!(ok.exp, NOW + 3630);
    for exp in [NOW + 3631, NOW + 7200, i64::MAX] {
        assert_eq!(
            check(with(json!({"exp": exp}))),
            Err(VisitorTokenError::LifetimeTooLong),
            "{exp}"
        );
    }
}

#[test]
fn iat_is_optional_but_not_in_the_future() {
    assert_eq!(
        check(with(json!({"iat": NOW + 30}))).unwrap().iat,
        Some(NOW + 30)
    );
    assert_eq!(
        check(with(json!({"iat": NOW + 31}))),
        Err(VisitorTokenError::IssuedInFuture)
    );
    // An old iat is fine while exp holds: the one-hour bound is on exp.
    assert!(check(with(json!({"iat": NOW - 86_400}))).is_ok());
    refused_as_invalid("iat", &[json!("now"), json!(1.5), json!(null)]);
}

#[test]
fn nbf_is_optional_but_checked_with_30_seconds_leeway() {
    assert!(check(with(json!({"nbf": NOW + 30}))).is_ok());
    assert!(check(with(json!({"nbf": NOW - 1000}))).is_ok());
    assert_eq!(
        check(with(json!({"nbf": NOW + 31}))),
        Err(VisitorTokenError::NotYetValid)
    );
    assert_eq!(
        check(with(json!({"nbf": "soon"}))),
        Err(VisitorTokenError::InvalidClaim("nbf"))
    );
}

#[test]
fn aud_must_name_this_widget_as_a_string_or_in_an_array() {
    assert!(check(with(json!({"aud": [AUD]}))).is_ok());
    assert!(check(with(json!({"aud": ["wgt_other", AUD]}))).is_ok());
    for aud in [
        json!("wgt_other"),
        json!("WGT_3F9A2C"),
        json!(["wgt_other"]),
        json!(" wgt_3f9a2c"),
    ] {
        assert_eq!(
            check(with(json!({"aud": aud}))),
            Err(VisitorTokenError::WrongAudience),
            "{aud}"
        );
    }
    refused_as_invalid(
        "aud",
        &[
            json!(null),
            json!([]),
            json!(42),
            json!([AUD, 42]),
            json!({"aud": AUD}),
        ],
    );
    // No widget has the empty audience, even if a token names it.
    let empty = sign(&with(json!({"aud": ""})));
    assert_eq!(
        verify_visitor_token(&empty, SECRET, "", NOW),
        Err(VisitorTokenError::WrongAudience)
    );
}

#[test]
fn sub_is_required_non_empty_and_at_most_256_characters() {
    // 256 characters of four bytes each: the bound counts characters, not bytes.
    let longest = "🙂".repeat(256);
    assert_eq!(check(with(json!({"sub": longest}))).unwrap().sub, longest);
    refused_as_invalid(
        "sub",
        &[
            json!(null),
            json!(""),
            json!(7),
            json!(["a"]),
            json!("s".repeat(257)),
        ],
    );
    // Missing, not just null.
    assert_eq!(
        check(with(json!({"sub": null}))),
        Err(VisitorTokenError::InvalidClaim("sub"))
    );
}

#[test]
fn email_and_name_are_strings_of_bounded_length() {
    let email = format!("{}@x.example", "é".repeat(320 - 10));
    let name = "李".repeat(200);
    let v = check(with(json!({"email": email, "name": name}))).unwrap();
    assert_eq!(
        (v.email.unwrap(), v.name.unwrap()),
        (email.clone(), name.clone())
    );
    refused_as_invalid(
        "email",
        &[json!(format!("e{email}")), json!(1), json!(["a@b.example"])],
    );
    refused_as_invalid(
        "name",
        &[
            json!(format!("n{name}")),
            json!(false),
            json!({"first": "Ada"}),
        ],
    );
}

#[test]
fn extreme_clocks_do_not_overflow() {
    let base = check(claims()).unwrap();
    let token = sign(&with(
        json!({"exp": i64::MAX, "iat": i64::MIN, "nbf": i64::MIN}),
    ));
    assert_eq!(
        verify_visitor_token(&token, SECRET, AUD, i64::MAX),
        Ok(VisitorClaims {
            exp: i64::MAX,
            iat: Some(i64::MIN),
            ..base.clone()
        })
    );
    let token = sign(&with(json!({"exp": i64::MIN + 1, "iat": null})));
    assert_eq!(
        verify_visitor_token(&token, SECRET, AUD, i64::MIN),
        Ok(VisitorClaims {
            exp: i64::MIN + 1,
            iat: None,
            ..base
        })
    );
}

#[test]
fn errors_name_the_check_not_the_token_or_its_claims() {
    let secret_looking = "sk_live_visible_in_logs";
    let cases = [
        check(with(
            json!({"sub": format!("{secret_looking}{}", "s".repeat(300))}),
        )),
        check(with(json!({"aud": secret_looking}))),
        verify_visitor_token(&sign(&claims()), secret_looking.as_bytes(), AUD, NOW),
        verify_visitor_token(&sign(&claims()), SECRET, secret_looking, NOW),
    ];
    for result in cases {
        let message = result.unwrap_err().to_string();
        assert!(!message.contains(secret_looking), "{message}");
        assert!(!message.contains("visitor-42"), "{message}");
    }
}
