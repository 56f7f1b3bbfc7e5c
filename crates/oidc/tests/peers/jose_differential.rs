//! npm `jose` signs ID tokens with RSA (RS256, PS256), P-256 and Ed25519 keys; our verifier must
//! accept each with the claims jose wrote, and refuse every byte-altered copy.

use meetvault_oidc::{Expectations, IdTokenError, IssuerRule, Jwks, verify_id_token};
use serde_json::Value;

use crate::node::{node_script, stdout_of};

struct Signed {
    now: u64,
    jwks: Jwks,
    tokens: Vec<Value>,
}

fn sign_with_jose() -> Signed {
    let stdout = stdout_of(node_script("node/jose-sign.mjs"), "jose-sign.mjs");
    let doc: Value = serde_json::from_slice(&stdout).expect("jose-sign.mjs prints JSON");
    let jwks = Jwks::parse(doc["jwks"].to_string().as_bytes()).expect("jose's JWKS parses");
    Signed {
        now: doc["now"].as_u64().unwrap(),
        jwks,
        tokens: doc["tokens"].as_array().unwrap().clone(),
    }
}

fn expectations(expect: &Value) -> Expectations {
    Expectations::new(
        IssuerRule::Exact(expect["issuer"].as_str().unwrap().into()),
        expect["client_id"].as_str().unwrap(),
        expect["nonce"].as_str().unwrap(),
    )
}

#[test]
fn tokens_signed_by_jose_verify_with_the_claims_jose_wrote() {
    let signed = sign_with_jose();
    // The encryption key and the secp256k1 key are set aside, the four signing keys kept.
    assert_eq!(signed.jwks.keys().len(), 4, "{:?}", signed.jwks);
    assert_eq!(signed.tokens.len(), 6);
    for case in &signed.tokens {
        let name = case["name"].as_str().unwrap();
        let expect = &case["expect"];
        let token = case["token"].as_str().unwrap();
        let claims = verify_id_token(token, &signed.jwks, &expectations(expect), signed.now)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(claims.issuer(), expect["issuer"], "{name}");
        assert_eq!(claims.subject(), expect["sub"], "{name}");
        assert_eq!(claims.email(), expect["email"].as_str(), "{name}");
        assert_eq!(claims.name(), expect["name"].as_str(), "{name}");
        assert_eq!(claims.given_name(), expect["given_name"].as_str(), "{name}");
        assert_eq!(
            claims.family_name(),
            expect["family_name"].as_str(),
            "{name}"
        );
        assert_eq!(claims.hosted_domain(), expect["hd"].as_str(), "{name}");
        assert_eq!(claims.tenant(), expect["tid"].as_str(), "{name}");
        let verified = expect["email_verified"] == Value::Bool(true)
            || expect["email_verified"] == "true"
            || expect["xms_edov"] == Value::Bool(true);
        assert_eq!(claims.email_verified(), verified, "{name}");
        if let Some(groups) = expect.get("groups") {
            assert_eq!(&claims.raw()["groups"], groups, "{name}");
            assert_eq!(&claims.raw()["address"], &expect["address"], "{name}");
        }
    }
}

#[test]
fn every_altered_copy_of_a_jose_token_is_refused() {
    let signed = sign_with_jose();
    let mut checked = 0;
    for case in &signed.tokens {
        let name = case["name"].as_str().unwrap();
        let expect = expectations(&case["expect"]);
        let token = case["token"].as_str().unwrap();
        let bytes = token.as_bytes();
        // Every position of the header and signature, and every 13th of the (long) payload.
        let dots: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b'.').collect();
        for i in (0..bytes.len()).filter(|&i| i < dots[0] || i > dots[1] || i % 13 == 0) {
            if bytes[i] == b'.' {
                continue;
            }
            let mut altered = bytes.to_vec();
            altered[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(altered).unwrap();
            let result = verify_id_token(&altered, &signed.jwks, &expect, signed.now);
            assert!(result.is_err(), "{name}: altered byte {i} was accepted");
            checked += 1;
        }
        // Truncated signature, dropped signature, and the wrong nonce.
        let cut = &token[..token.len() - 4];
        assert!(
            verify_id_token(cut, &signed.jwks, &expect, signed.now).is_err(),
            "{name}"
        );
        let unsigned = &token[..=dots[1]];
        assert!(
            verify_id_token(unsigned, &signed.jwks, &expect, signed.now).is_err(),
            "{name}"
        );
        let other = Expectations::new(
            IssuerRule::Exact(case["expect"]["issuer"].as_str().unwrap().into()),
            case["expect"]["client_id"].as_str().unwrap(),
            "another-nonce",
        );
        assert_eq!(
            verify_id_token(token, &signed.jwks, &other, signed.now).unwrap_err(),
            IdTokenError::Nonce,
            "{name}"
        );
    }
    assert!(checked > 1000, "only {checked} altered copies checked");
}
