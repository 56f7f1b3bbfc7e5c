//! Connecting, refreshing, revoking: the OAuth flows against both fakes.

use chrono::{TimeDelta, Utc};
use meetvault_calendar::fake::FakeProviders;
use meetvault_calendar::oauth::{self, PkceVerifier};
use meetvault_calendar::{CalendarError, ProviderKind, SyncOptions, sync};

use crate::support::{connect, http, provider};

#[tokio::test]
async fn connecting_exchanges_the_code_for_tokens_with_pkce() {
    let fake = FakeProviders::start().await.unwrap();
    for kind in [ProviderKind::Google, ProviderKind::Microsoft] {
        let (_, tokens) = connect(&fake, kind).await;
        assert!(!tokens.access_token.expose().is_empty());
        assert!(!tokens.refresh_token.expose().is_empty());
        assert!(tokens.expires_at > Utc::now() + TimeDelta::minutes(50));
        assert!(!tokens.needs_refresh(Utc::now()));
        let printed = format!("{tokens:?}");
        assert!(!printed.contains(tokens.access_token.expose()), "{kind:?}");
        assert!(!printed.contains(tokens.refresh_token.expose()), "{kind:?}");
    }
}

#[tokio::test]
async fn a_code_redeemed_with_another_verifier_is_refused() {
    let fake = FakeProviders::start().await.unwrap();
    for kind in [ProviderKind::Google, ProviderKind::Microsoft] {
        let provider = provider(&fake, kind);
        let url = oauth::authorization_url(&provider, "s", &PkceVerifier::generate()).unwrap();
        let (code, _) = fake.consent(&url).await.unwrap();
        let err = oauth::exchange_code(
            &http(),
            &provider,
            &code,
            &PkceVerifier::generate(),
            Utc::now(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, CalendarError::CodeRejected),
            "{kind:?}: {err:?}"
        );
        // The code is single-use even after a failed attempt.
        let err = oauth::exchange_code(
            &http(),
            &provider,
            &code,
            &PkceVerifier::generate(),
            Utc::now(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, CalendarError::CodeRejected),
            "{kind:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn tokens_are_refreshed_five_minutes_before_expiry() {
    let fake = FakeProviders::start().await.unwrap();
    fake.set_access_token_ttl(600);
    for kind in [ProviderKind::Google, ProviderKind::Microsoft] {
        let (provider, tokens) = connect(&fake, kind).await;
        let now = Utc::now();
        assert!(
            oauth::refresh_if_needed(&http(), &provider, &tokens, now)
                .await
                .unwrap()
                .is_none()
        );
        let later = tokens.expires_at - TimeDelta::minutes(4);
        let fresh = oauth::refresh_if_needed(&http(), &provider, &tokens, later)
            .await
            .unwrap()
            .expect("refreshed");
        assert_ne!(fresh.access_token, tokens.access_token);
        match kind {
            // Google omits the refresh token on refresh: the old one is kept.
            ProviderKind::Google => assert_eq!(fresh.refresh_token, tokens.refresh_token),
            // Microsoft rotates it.
            ProviderKind::Microsoft => assert_ne!(fresh.refresh_token, tokens.refresh_token),
        }
        // The new access token works.
        sync(
            &http(),
            &provider,
            &fresh.access_token,
            None,
            Utc::now(),
            &SyncOptions::default(),
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_revoked_grant_is_reported_as_revoked() {
    let fake = FakeProviders::start().await.unwrap();
    for kind in [ProviderKind::Google, ProviderKind::Microsoft] {
        let (provider, tokens) = connect(&fake, kind).await;
        fake.revoke_grants(kind);
        let err = oauth::refresh(&http(), &provider, &tokens, Utc::now())
            .await
            .unwrap_err();
        assert!(matches!(err, CalendarError::Revoked), "{kind:?}: {err:?}");
        let err = sync(
            &http(),
            &provider,
            &tokens.access_token,
            None,
            Utc::now(),
            &SyncOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, CalendarError::Unauthorized),
            "{kind:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn disconnecting_google_revokes_the_grant_and_microsoft_needs_no_call() {
    let fake = FakeProviders::start().await.unwrap();
    let (google, tokens) = connect(&fake, ProviderKind::Google).await;
    oauth::revoke(&http(), &google, &tokens).await.unwrap();
    let err = oauth::refresh(&http(), &google, &tokens, Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, CalendarError::Revoked));
    // Revoking twice is not an error (Google says invalid_token).
    oauth::revoke(&http(), &google, &tokens).await.unwrap();

    let (microsoft, tokens) = connect(&fake, ProviderKind::Microsoft).await;
    oauth::revoke(&http(), &microsoft, &tokens).await.unwrap();
}

#[tokio::test]
async fn an_expired_access_token_is_unauthorized() {
    let fake = FakeProviders::start().await.unwrap();
    fake.set_access_token_ttl(0);
    let (provider, tokens) = connect(&fake, ProviderKind::Google).await;
    assert!(tokens.needs_refresh(Utc::now()));
    let err = sync(
        &http(),
        &provider,
        &tokens.access_token,
        None,
        Utc::now(),
        &SyncOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CalendarError::Unauthorized), "{err:?}");
}
