//! npm `jose` makes widget visitor tokens and judges each with its own `jwtVerify` (HS256 only,
//! our audience, 30 s of leeway, `exp` and `sub` required, at most an hour old by `iat` where
//! there is one, `typ` JWT where there is one). Our `verify_visitor_token` must reach the
//! verdict this file expects for every token, under a random 32-byte secret and a short ASCII
//! one, and jose's wherever jose's rules are ours; where they legitimately differ, the case
//! says why, and the test checks that they still do.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use meetvault_oidc::visitor::{VisitorClaims, VisitorTokenError, verify_visitor_token};
use serde_json::{Value, json};

use crate::node::{node_script, stdout_of};

const NOW: i64 = 1_760_000_000;
const AUDIENCE: &str = "wgt_01JB8Z3Q9X";
const ASCII_SECRET: &[u8] = b"hunter2";

/// How jose's verdict relates to ours.
#[derive(Clone, Copy)]
enum Jose {
    /// jose's rules are ours here: it must reach the same verdict.
    Agrees,
    /// jose legitimately decides otherwise, for this reason.
    Differs(&'static str),
}

use Jose::{Agrees, Differs};
use VisitorTokenError as E;

const LENGTHS: &str = "jose does not bound the length of claims; ours bounds sub to 256, \
                       email to 320 and name to 200 characters";
const BASE64: &str = "the base64 decoder under jose (Node's atob) ignores padding and unused \
                      bits, so other spellings of the same signature verify; ours accepts only \
                      the one canonical base64url spelling, so a token cannot be re-spelled";

type Expected = (&'static str, Result<(), VisitorTokenError>, Jose);

/// Every case the script makes, by name: our verdict, and how jose's relates to it.
fn cases() -> Vec<Expected> {
    let not_base64 = || E::Malformed("the signature is not base64url");
    let alg = |name: &str| Err(E::UnsupportedAlg(name.into()));
    vec![
        ("valid", Ok(()), Agrees),
        ("valid, hostile texts", Ok(()), Agrees),
        ("valid, only sub aud exp", Ok(()), Agrees),
        ("valid, typ jwt in lower case", Ok(()), Agrees),
        (
            "typ at+jwt",
            Err(E::UnsupportedType("at+jwt".into())),
            Agrees,
        ),
        (
            "typ application/jwt",
            Err(E::UnsupportedType("application/jwt".into())),
            Differs(
                "RFC 7515 4.1.9 makes application/jwt the same media type as JWT and jose \
                 accepts it; ours accepts typ JWT only (in any case)",
            ),
        ),
        ("aud array with ours", Ok(()), Agrees),
        ("aud array without ours", Err(E::WrongAudience), Agrees),
        ("wrong aud", Err(E::WrongAudience), Agrees),
        ("missing aud", Err(E::InvalidClaim("aud")), Agrees),
        ("expired", Err(E::Expired), Agrees),
        ("expired within leeway", Ok(()), Agrees),
        (
            "exp 2 hours ahead",
            Err(E::LifetimeTooLong),
            Differs(
                "jose bounds a token's age only through maxTokenAge on iat, and this token \
                 was issued now; ours bounds what is left of its life, exp - now, to an hour",
            ),
        ),
        ("exp at the one-hour limit", Ok(()), Agrees),
        (
            "exp fractional",
            Err(E::InvalidClaim("exp")),
            Differs("jose takes any JSON number as a date; ours requires whole seconds"),
        ),
        ("missing exp", Err(E::InvalidClaim("exp")), Agrees),
        ("iat in future", Err(E::IssuedInFuture), Agrees),
        ("nbf in future", Err(E::NotYetValid), Agrees),
        ("nbf within leeway", Ok(()), Agrees),
        ("missing sub", Err(E::InvalidClaim("sub")), Agrees),
        ("sub of 256 characters", Ok(()), Agrees),
        (
            "sub of 257 characters",
            Err(E::InvalidClaim("sub")),
            Differs(LENGTHS),
        ),
        (
            "name of 201 characters",
            Err(E::InvalidClaim("name")),
            Differs(LENGTHS),
        ),
        (
            "email of 321 characters",
            Err(E::InvalidClaim("email")),
            Differs(LENGTHS),
        ),
        ("wrong secret", Err(E::BadSignature), Agrees),
        ("alg none", alg("none"), Agrees),
        ("RS256 signed with an RSA key", alg("RS256"), Agrees),
        (
            "RS256 header signed by HMAC with the secret",
            alg("RS256"),
            Agrees,
        ),
        ("HS384", alg("HS384"), Agrees),
        ("crit x-custom", Err(E::CriticalHeader), Agrees),
        (
            "crit b64",
            Err(E::CriticalHeader),
            Differs(
                "jose understands the b64 extension (RFC 7797) and accepts b64: true listed \
                 in crit; ours refuses every crit",
            ),
        ),
        ("JWE", Err(E::Encrypted), Agrees),
        (
            "oversized",
            Err(E::TooLarge),
            Differs("jose has no size limit; ours refuses tokens over 4096 bytes unread"),
        ),
        ("tampered payload", Err(E::BadSignature), Agrees),
        (
            "signature padded with =",
            Err(not_base64()),
            Differs(BASE64),
        ),
        (
            "signature in non-canonical base64url",
            Err(not_base64()),
            Differs(BASE64),
        ),
        ("signature in base64 with +", Err(not_base64()), Agrees),
        (
            "repeated sub",
            Err(E::MalformedClaims("a key is repeated")),
            Differs(
                "JSON.parse keeps the last of repeated keys, so jose reads sub admin; ours \
                 refuses claims that say two things at once",
            ),
        ),
        (
            "claims are an array",
            Err(E::MalformedClaims("they are not a JSON object")),
            Agrees,
        ),
    ]
}

struct Made {
    name: String,
    secret: String,
    token: String,
    jose_ok: bool,
    jose_error: Option<String>,
    claims: Value,
}

fn make_with_jose(secrets: &[(&str, &[u8])]) -> Vec<Made> {
    let input = json!({
        "now": NOW,
        "audience": AUDIENCE,
        "secrets": secrets
            .iter()
            .map(|(label, secret)| json!({"label": label, "b64": URL_SAFE_NO_PAD.encode(secret)}))
            .collect::<Vec<_>>(),
    });
    let mut command = node_script("node/visitor-tokens.mjs");
    command.env("VISITOR_INPUT", input.to_string());
    let stdout = String::from_utf8(stdout_of(command, "visitor-tokens.mjs"))
        .expect("visitor-tokens.mjs prints UTF-8");
    stdout
        .lines()
        .map(|line| {
            let v: Value =
                serde_json::from_str(line).expect("visitor-tokens.mjs prints JSON lines");
            Made {
                name: v["name"].as_str().unwrap().to_owned(),
                secret: v["secret"].as_str().unwrap().to_owned(),
                token: v["token"].as_str().unwrap().to_owned(),
                jose_ok: v["jose_ok"].as_bool().unwrap(),
                jose_error: v["jose_error"].as_str().map(str::to_owned),
                claims: v["claims"].clone(),
            }
        })
        .collect()
}

/// The claims jose signed, as our verifier should return them.
fn as_signed(claims: &Value) -> VisitorClaims {
    let text = |name: &str| {
        claims[name]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    VisitorClaims {
        sub: claims["sub"].as_str().unwrap().to_owned(),
        email: text("email"),
        name: text("name"),
        exp: claims["exp"].as_i64().unwrap(),
        iat: claims["iat"].as_i64(),
    }
}

#[test]
fn visitor_tokens_made_by_jose_get_our_verdict_and_jose_agrees_where_its_rules_are_ours() {
    let random: [u8; 32] = rand::random();
    let secrets: [(&str, &[u8]); 2] = [("random", &random), ("ascii", ASCII_SECRET)];
    let made = make_with_jose(&secrets);
    let cases = cases();

    let mut seen = BTreeSet::new();
    for case in &made {
        let (label, name) = (case.secret.as_str(), case.name.as_str());
        let (_, expect, jose) = cases
            .iter()
            .find(|(n, _, _)| *n == name)
            .unwrap_or_else(|| {
                panic!("visitor-tokens.mjs made a case this test does not know: {name:?}")
            });
        let secret = secrets.iter().find(|(l, _)| *l == label).unwrap().1;
        let other = secrets.iter().find(|(l, _)| *l != label).unwrap().1;
        let ours = verify_visitor_token(&case.token, secret, AUDIENCE, NOW);
        match (&ours, expect) {
            (Ok(claims), Ok(())) => {
                assert_eq!(claims, &as_signed(&case.claims), "{name} ({label})");
                assert_eq!(
                    verify_visitor_token(&case.token, other, AUDIENCE, NOW),
                    Err(E::BadSignature),
                    "{name} ({label}) under the other secret"
                );
            }
            (Err(got), Err(want)) => assert_eq!(got, want, "{name} ({label})"),
            _ => panic!("{name} ({label}): expected {expect:?}, got {ours:?}"),
        }
        let jose_says = format!("jose said {:?}", case.jose_error.as_deref().unwrap_or("ok"));
        match jose {
            Agrees => assert_eq!(
                case.jose_ok,
                ours.is_ok(),
                "{name} ({label}): jose disagrees with {ours:?}; {jose_says}"
            ),
            Differs(why) => assert_ne!(
                case.jose_ok,
                ours.is_ok(),
                "{name} ({label}): documented as a difference ({why}), but jose now agrees \
                 with {ours:?}; {jose_says}. Mark the case Agrees."
            ),
        }
        assert!(seen.insert((name, label)), "{name} ({label}) made twice");
    }

    // Every case was made, under each secret.
    for (name, _, _) in &cases {
        for (label, _) in &secrets {
            assert!(
                seen.contains(&(*name, *label)),
                "{name} ({label}) was not made"
            );
        }
    }
    assert_eq!(seen.len(), cases.len() * secrets.len());
}
