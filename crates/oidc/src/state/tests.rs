//! The signed state: round trip, and each refusal on its own.

use super::*;

const NOW: u64 = 1_700_000_000;

fn key() -> StateKey {
    StateKey::new([42; 32])
}

fn login() -> LoginState {
    LoginState::new(
        "google",
        Some("org_1".into()),
        ReturnTo::parse("/meetings").unwrap(),
        NOW,
    )
}

#[test]
fn a_login_finishes_in_the_browser_that_started_it() {
    let begun = key().begin(login(), &mut rand::rng());
    let finished = key()
        .finish(&begun.state, begun.browser_secret.expose(), NOW + 30)
        .unwrap();
    assert_eq!(finished.login_state, login());
    assert_eq!(finished.nonce, begun.nonce);
    assert_eq!(finished.pkce_verifier, begun.pkce_verifier);
    assert_eq!(finished.pkce_verifier.challenge(), begun.code_challenge);
    assert_eq!(begun.nonce.len(), 43);
    assert!(PkceVerifier::parse(begun.pkce_verifier.expose().to_owned()).is_ok());
}

#[test]
fn each_login_has_its_own_secret_nonce_and_verifier() {
    let a = key().begin(login(), &mut rand::rng());
    let b = key().begin(login(), &mut rand::rng());
    assert_ne!(a.browser_secret, b.browser_secret);
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(a.pkce_verifier, b.pkce_verifier);
    assert_ne!(a.state, b.state);
}

#[test]
fn another_browsers_cookie_is_refused() {
    let victim = key().begin(login(), &mut rand::rng());
    let attacker = key().begin(login(), &mut rand::rng());
    // Login CSRF: the attacker's state arrives with the victim's cookie.
    assert_eq!(
        key()
            .finish(&attacker.state, victim.browser_secret.expose(), NOW)
            .unwrap_err(),
        StateError::OtherBrowser
    );
    assert_eq!(
        key().finish(&victim.state, "", NOW).unwrap_err(),
        StateError::MissingBrowserSecret
    );
}

#[test]
fn an_expired_login_is_refused() {
    let begun = key().begin(login().with_ttl(60), &mut rand::rng());
    let secret = begun.browser_secret.expose();
    assert!(key().finish(&begun.state, secret, NOW + 59).is_ok());
    assert_eq!(
        key().finish(&begun.state, secret, NOW + 60).unwrap_err(),
        StateError::Expired
    );
    let default = key().begin(login(), &mut rand::rng());
    assert_eq!(
        key()
            .finish(
                &default.state,
                default.browser_secret.expose(),
                NOW + DEFAULT_LOGIN_TTL_SECS
            )
            .unwrap_err(),
        StateError::Expired
    );
}

#[test]
fn an_altered_state_is_refused() {
    let begun = key().begin(login(), &mut rand::rng());
    let secret = begun.browser_secret.expose();
    let (payload, tag) = begun.state.split_once('.').unwrap();

    // A payload of the attacker's choosing with the original tag.
    let mut evil = login();
    evil.return_to = ReturnTo::parse("/admin").unwrap();
    let evil_payload = encode(&serde_json::to_vec(&evil).unwrap());
    assert_eq!(
        key()
            .finish(&format!("{evil_payload}.{tag}"), secret, NOW)
            .unwrap_err(),
        StateError::Tampered
    );
    // Every single-character change of the tag.
    for i in 0..tag.len() {
        let mut t = tag.as_bytes().to_vec();
        t[i] = if t[i] == b'A' { b'B' } else { b'A' };
        let state = format!("{payload}.{}", String::from_utf8(t).unwrap());
        assert!(key().finish(&state, secret, NOW).is_err(), "tag byte {i}");
    }
    // Signed with another key.
    assert_eq!(
        StateKey::new([7; 32])
            .finish(&begun.state, secret, NOW)
            .unwrap_err(),
        StateError::Tampered
    );
}

#[test]
fn malformed_states_are_refused() {
    let secret = "x".repeat(43);
    for bad in [
        "",
        ".",
        "abc",
        "abc.def",
        "a.b.c",
        &"a".repeat(MAX_STATE_LEN + 1),
    ] {
        assert_eq!(
            key().finish(bad, &secret, NOW).unwrap_err(),
            StateError::Malformed,
            "{bad:?}"
        );
    }
}

#[test]
fn secrets_do_not_print() {
    let begun = key().begin(login(), &mut rand::rng());
    let debug = format!("{begun:?} {:?}", key());
    assert!(!debug.contains(begun.browser_secret.expose()));
    assert!(!debug.contains(begun.pkce_verifier.expose()));
    assert!(debug.contains("StateKey([redacted])"));
    let err = key()
        .finish(&begun.state, "other", NOW)
        .unwrap_err()
        .to_string();
    assert!(!err.contains(&begun.state));
}

#[test]
fn key_from_slice_wants_32_bytes() {
    assert!(StateKey::from_slice(&[1; 32]).is_ok());
    assert_eq!(
        StateKey::from_slice(&[1; 31]).unwrap_err(),
        StateKeyLengthError
    );
}
