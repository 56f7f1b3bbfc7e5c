//! Slack against its loopback fake: the exact requests (auth header, JSON, metadata), `ok:
//! false` errors, 429 with Retry-After, an idempotent retry found through paginated history,
//! incoming webhooks.

mod common;

use std::time::Duration;

use common::{KEY, http, summary};
use meetvault_integrations::fake::{Fake, TOKEN};
use meetvault_integrations::{Credential, IntegrationError, Kind, SecretString, deliver, validate};

#[tokio::test]
async fn a_summary_is_posted_with_blocks_and_the_key_in_its_metadata() {
    let fake = Fake::start(Kind::Slack).await.unwrap();
    let target = fake.target(Some("C0123"));
    let account = validate(&http(), &target, &fake.credential())
        .await
        .unwrap();
    assert_eq!(account.name, "meetvault in Acme");
    let sent = deliver(&http(), &target, &fake.credential(), &summary(), KEY, false)
        .await
        .unwrap();
    let posts = fake.requests_to("/api/chat.postMessage");
    assert_eq!(posts.len(), 1);
    let p = &posts[0];
    assert_eq!(p.method, "POST");
    assert_eq!(
        p.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(
        p.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(p.body["channel"], "C0123");
    assert_eq!(p.body["text"], "Meeting notes: Weekly sync");
    assert_eq!(p.body["unfurl_links"], false);
    assert_eq!(p.body["metadata"]["event_type"], "meetvault_item");
    assert_eq!(p.body["metadata"]["event_payload"]["key"], KEY);
    let blocks = p.body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["text"], "Weekly sync");
    assert_eq!(
        blocks[1]["text"]["text"],
        "*Overview*\nWe agreed on the launch.\n\n*Action items*\n• *Ana*: send the deck"
    );
    assert_eq!(
        blocks[2]["elements"][0]["text"],
        "<https://meetvault.example/meetings/m1|Open the meeting in meetvault>"
    );
    assert_eq!(sent.external_id, fake.created()[0]["ts"].as_str().unwrap());
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_finds_the_message_instead_of_posting_twice() {
    let fake = Fake::start(Kind::Slack).await.unwrap();
    let target = fake.target(Some("C0123"));
    let cred = fake.credential();
    // Other messages in the channel, so the lookup has pages to walk (page size 2).
    for i in 0..2 {
        deliver(
            &http(),
            &target,
            &cred,
            &summary(),
            &format!("mv-other-{i:08}"),
            false,
        )
        .await
        .unwrap();
    }
    fake.fail_after_commit("/api/chat.postMessage", 500);
    let err = deliver(&http(), &target, &cred, &summary(), KEY, false)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    for i in 2..5 {
        deliver(
            &http(),
            &target,
            &cred,
            &summary(),
            &format!("mv-other-{i:08}"),
            false,
        )
        .await
        .unwrap();
    }
    fake.clear_requests();
    let sent = deliver(&http(), &target, &cred, &summary(), KEY, true)
        .await
        .unwrap();
    assert_eq!(fake.created().len(), 6, "posted once");
    let ours = fake
        .created()
        .into_iter()
        .find(|m| m["metadata"]["event_payload"]["key"] == KEY)
        .unwrap();
    assert_eq!(sent.external_id, ours["ts"].as_str().unwrap());
    let reads = fake.requests_to("/api/conversations.history");
    assert_eq!(reads.len(), 2, "walked to the second page");
    assert_eq!(
        reads[0].query_param("include_all_metadata").as_deref(),
        Some("true")
    );
    assert_eq!(reads[0].query_param("cursor"), None);
    assert_eq!(reads[1].query_param("cursor").as_deref(), Some("next_2"));
    assert!(fake.requests_to("/api/chat.postMessage").is_empty());
}

#[tokio::test]
async fn rate_limits_and_refusals_are_told_apart() {
    let fake = Fake::start(Kind::Slack).await.unwrap();
    let target = fake.target(Some("C0123"));
    fake.fail_next("/api/chat.postMessage", 429, Some("7"));
    let err = deliver(&http(), &target, &fake.credential(), &summary(), KEY, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{err:?}"
    );
    let wrong = Credential::Token(SecretString::new("xoxb-wrong"));
    let err = validate(&http(), &target, &wrong).await.unwrap_err();
    assert!(
        matches!(err, IntegrationError::Unauthorized(ref c) if c == "invalid_auth"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(fake.created().is_empty());
}

#[tokio::test]
async fn an_incoming_webhook_is_checked_by_an_empty_post_and_then_posted_to() {
    let fake = Fake::start(Kind::Slack).await.unwrap();
    let target = fake.target(None);
    let hook = Credential::WebhookUrl(SecretString::new(
        fake.url(&format!(
            "services/{}",
            meetvault_integrations::fake::SLACK_WEBHOOK_PATH
        ))
        .to_string(),
    ));
    validate(&http(), &target, &hook).await.unwrap();
    let dead = Credential::WebhookUrl(SecretString::new(
        fake.url("services/T0/B0/gone").to_string(),
    ));
    let err = validate(&http(), &target, &dead).await.unwrap_err();
    assert!(
        matches!(err, IntegrationError::Rejected { status: 404, .. }),
        "{err:?}"
    );
    deliver(&http(), &target, &hook, &summary(), KEY, false)
        .await
        .unwrap();
    let created = fake.created();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["via"], "webhook");
    assert_eq!(created[0]["blocks"][0]["text"]["text"], "Weekly sync");
}
