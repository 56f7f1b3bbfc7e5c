//! Connecting by consent against the fakes: the authorization URL each provider gets, the code
//! traded once for the verifier that matches its challenge, long-lived tokens where the
//! provider has no refresh, and the refresh grant.

#![allow(clippy::unwrap_used)]

mod common;

use common::http;
use meetvault_integrations::fake::Fake;
use meetvault_integrations::oauth::{self, ConnectApp, PkceVerifier};
use meetvault_integrations::{Credential, IntegrationError, Kind, SecretString};

fn app(fake: &Fake, kind: Kind) -> ConnectApp {
    ConnectApp {
        authorize_url: fake.url("oauth/authorize"),
        token_url: fake.url(if kind == Kind::Notion {
            "v1/oauth/token"
        } else {
            "oauth/token"
        }),
        client_id: meetvault_integrations::fake::CLIENT_ID.into(),
        client_secret: SecretString::new(meetvault_integrations::fake::CLIENT_SECRET),
        redirect_uri: "https://mv.example/api/v1/integrations/oauth/callback"
            .parse()
            .unwrap(),
        scopes: oauth::default_scopes(kind).into(),
    }
}

#[tokio::test]
async fn a_code_is_traded_once_for_the_verifier_that_matches_its_challenge() {
    let fake = Fake::start(Kind::Linear).await.unwrap();
    let app = app(&fake, Kind::Linear);
    let verifier = PkceVerifier::generate();
    let url = oauth::authorization_url(Kind::Linear, &app, "st4te", &verifier);
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "read,write");
    assert_eq!(q["state"], "st4te");
    assert_eq!(q["code_challenge"], verifier.challenge());
    let (code, state) = fake.consent(url.as_str()).await.unwrap();
    assert_eq!(state, "st4te");
    // Another verifier is refused (and spends the code).
    let wrong = PkceVerifier::generate();
    let err = oauth::exchange_code(&http(), Kind::Linear, &app, &code, &wrong)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::Rejected { status: 400, .. }),
        "{err:?}"
    );
    let (code, _) = fake.consent(url.as_str()).await.unwrap();
    let credential = oauth::exchange_code(&http(), Kind::Linear, &app, &code, &verifier)
        .await
        .unwrap();
    let Credential::OAuth(tokens) = credential else {
        panic!("a refresh token was handed out")
    };
    let form = &fake.requests_to("/oauth/token")[1].body;
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["redirect_uri"], app.redirect_uri.as_str());
    assert_eq!(form["code_verifier"], verifier.expose());
    // Once only.
    let err = oauth::exchange_code(&http(), Kind::Linear, &app, &code, &verifier)
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::Rejected { .. }), "{err:?}");
    // The refresh grant rotates Linear's refresh token.
    let refreshed = oauth::refresh(&http(), &fake.oauth_app(), &tokens)
        .await
        .unwrap();
    assert_ne!(refreshed.refresh_token, tokens.refresh_token);
    fake.revoke_grants();
    let err = oauth::refresh(&http(), &fake.oauth_app(), &refreshed)
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::Revoked), "{err:?}");
}

#[tokio::test]
async fn each_provider_gets_what_it_needs_for_a_lasting_grant() {
    let fake = Fake::start(Kind::Notion).await.unwrap();
    let verifier = PkceVerifier::generate();
    for (kind, param, value) in [
        (Kind::GoogleDrive, "access_type", "offline"),
        (Kind::GoogleDrive, "prompt", "consent"),
        (Kind::Jira, "audience", "api.atlassian.com"),
        (Kind::Notion, "owner", "user"),
    ] {
        let url = oauth::authorization_url(kind, &app(&fake, kind), "s", &verifier);
        assert!(
            url.query_pairs().any(|(k, v)| k == param && v == value),
            "{kind:?}: {url}"
        );
    }
    // Notion: Basic client authentication, a JSON body, and a token that does not expire.
    let app = app(&fake, Kind::Notion);
    let url = oauth::authorization_url(Kind::Notion, &app, "s", &verifier);
    let (code, _) = fake.consent(url.as_str()).await.unwrap();
    let credential = oauth::exchange_code(&http(), Kind::Notion, &app, &code, &verifier)
        .await
        .unwrap();
    assert!(matches!(credential, Credential::Token(_)));
    let r = &fake.requests_to("/v1/oauth/token")[0];
    assert!(r.header("authorization").unwrap().starts_with("Basic "));
    assert_eq!(r.body["grant_type"], "authorization_code");
    assert!(
        r.body.get("client_secret").is_none(),
        "the secret is in the header only"
    );
}
