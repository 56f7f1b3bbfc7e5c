//! Push: Google channels and Graph subscriptions, with a receiver that verifies them.

use chrono::{TimeDelta, Utc};
use meetvault_calendar::fake::FakeProviders;
use meetvault_calendar::google::push as gpush;
use meetvault_calendar::graph::push as mpush;
use meetvault_calendar::{CalendarError, ProviderKind, PushSecret};

use crate::support::{connect, http, receiver};

#[tokio::test]
async fn google_watch_handshake_notification_and_stop() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, ProviderKind::Google).await;
    let key = [9u8; 32];
    let (base, received) = receiver(PushSecret::from_bytes(key), "unused").await;
    let address = base.join("google").unwrap();
    let channel = gpush::watch(
        &http(),
        &provider,
        &tokens.access_token,
        &address,
        &PushSecret::from_bytes(key),
        TimeDelta::days(30),
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(channel.expires_at <= Utc::now() + TimeDelta::days(7) + TimeDelta::minutes(1));
    assert_eq!(received.wait_for(1).await, vec!["google:Sync:1"]);

    assert_eq!(fake.notify_google().await, vec![200]);
    assert_eq!(received.wait_for(2).await[1], "google:Exists:2");

    gpush::stop(&http(), &provider, &tokens.access_token, &channel)
        .await
        .unwrap();
    assert_eq!(fake.google_channels(), 0);
    // Stopping again: Google no longer knows it, which counts as stopped.
    gpush::stop(&http(), &provider, &tokens.access_token, &channel)
        .await
        .unwrap();
}

#[tokio::test]
async fn google_notifications_with_a_wrong_channel_token_are_refused() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, ProviderKind::Google).await;
    // The receiver verifies with another key than the channel was opened with.
    let (base, received) = receiver(PushSecret::from_bytes([1; 32]), "unused").await;
    gpush::watch(
        &http(),
        &provider,
        &tokens.access_token,
        &base.join("google").unwrap(),
        &PushSecret::from_bytes([2; 32]),
        TimeDelta::days(1),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(fake.notify_google().await, vec![401]);
    assert!(received.all().is_empty());
}

#[tokio::test]
async fn google_watch_refuses_a_plain_http_address() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, ProviderKind::Google).await;
    let err = gpush::watch(
        &http(),
        &provider,
        &tokens.access_token,
        &url::Url::parse("http://mv.example/hooks/google").unwrap(),
        &PushSecret::generate(),
        TimeDelta::days(1),
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CalendarError::Invalid(_)));
    assert_eq!(fake.google_channels(), 0);
}

#[tokio::test]
async fn graph_subscription_passes_validation_then_notifications_verify() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, ProviderKind::Microsoft).await;
    let secret = PushSecret::from_bytes([5; 32]);
    let (base, received) = receiver(PushSecret::from_bytes([5; 32]), "conn-42").await;
    let sub = mpush::subscribe(
        &http(),
        &provider,
        &tokens.access_token,
        &base.join("graph").unwrap(),
        &secret.graph_client_state("conn-42"),
        TimeDelta::days(10),
        Utc::now(),
    )
    .await
    .unwrap();
    // Asked for ten days, clamped under Graph's limit for Outlook events.
    assert!(sub.expires_at <= Utc::now() + TimeDelta::minutes(mpush::MAX_SUBSCRIPTION_MINUTES));
    assert_eq!(fake.graph_subscriptions().len(), 1);

    assert_eq!(
        fake.notify_graph("updated", "AAMkAGI1=", None).await,
        vec![202]
    );
    assert_eq!(received.wait_for(1).await, vec!["graph:updated:AAMkAGI1="]);
    // A forged clientState is refused.
    assert_eq!(
        fake.notify_graph("created", "AAMkAGI2=", Some("forged"))
            .await,
        vec![403]
    );
    assert_eq!(received.all().len(), 1);

    let renewed = mpush::renew(
        &http(),
        &provider,
        &tokens.access_token,
        &sub.id,
        TimeDelta::days(2),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(renewed.id, sub.id);
    assert!(renewed.expires_at > Utc::now() + TimeDelta::hours(47));

    mpush::unsubscribe(&http(), &provider, &tokens.access_token, &sub.id)
        .await
        .unwrap();
    assert!(fake.graph_subscriptions().is_empty());
    let err = mpush::renew(
        &http(),
        &provider,
        &tokens.access_token,
        &sub.id,
        TimeDelta::days(2),
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, CalendarError::Provider { status: 404, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn graph_subscription_fails_when_the_receiver_does_not_echo_the_token() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, ProviderKind::Microsoft).await;
    let secret = PushSecret::generate();
    let (base, _) = receiver(PushSecret::generate(), "x").await;
    let err = mpush::subscribe(
        &http(),
        &provider,
        &tokens.access_token,
        &base.join("graph-wrong-echo").unwrap(),
        &secret.graph_client_state("x"),
        TimeDelta::days(1),
        Utc::now(),
    )
    .await
    .unwrap_err();
    match err {
        CalendarError::Provider { status, code } => {
            assert_eq!((status, code.as_str()), (400, "InvalidRequest"));
        }
        other => panic!("{other:?}"),
    }
    assert!(fake.graph_subscriptions().is_empty());
}
