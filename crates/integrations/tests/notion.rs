//! Notion against its loopback fake: the exact requests (bearer, `Notion-Version`, the page's
//! JSON and blocks), 100-block batches, 2000-character text objects, Notion's error shapes, an
//! idempotent retry found by walking the parent's children and the candidates' blocks, OAuth
//! expiry and refresh, and a hostile title carried only as JSON data.

// Test code: clippy.toml allows unwrap in #[test] functions only, not in helpers (ours and
// common.rs's `http()`), which are test code all the same.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{KEY, http, summary, task};
use meetvault_integrations::fake::{Fake, TOKEN};
use meetvault_integrations::{
    Credential, IntegrationError, Item, Kind, SecretString, Summary, deliver, oauth, validate,
};
use serde_json::{Value, json};

const PARENT: &str = "0f1e2d3c-4b5a-4968-8776-655443322110";

fn titled(title: &str) -> Item {
    let Item::Summary(mut s) = summary() else {
        unreachable!()
    };
    s.title = title.into();
    Item::Summary(s)
}

#[tokio::test]
async fn validate_reads_the_bot_and_a_wrong_token_is_unauthorized() {
    let fake = Fake::start(Kind::Notion).await.unwrap();
    let target = fake.target(Some(PARENT));
    let account = validate(&http(), &target, &fake.credential())
        .await
        .unwrap();
    assert_eq!(account.name, "meetvault in Acme");
    let reqs = fake.requests_to("/v1/users/me");
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].query, None);
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(reqs[0].header("notion-version"), Some("2022-06-28"));

    let wrong = Credential::Token(SecretString::new("secret_wrongCANARYtoken"));
    let err = validate(&http(), &target, &wrong).await.unwrap_err();
    assert!(
        matches!(err, IntegrationError::Unauthorized(ref m) if m == "API token is invalid."),
        "{err:?}"
    );
    assert!(!err.to_string().contains("CANARY"));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_summary_becomes_a_page_with_blocks_a_link_back_and_the_key_last() {
    let fake = Fake::start(Kind::Notion).await.unwrap();
    let target = fake.target(Some(PARENT));
    let sent = deliver(&http(), &target, &fake.credential(), &summary(), KEY, false)
        .await
        .unwrap();
    let posts = fake.requests_to("/v1/pages");
    assert_eq!(posts.len(), 1);
    let p = &posts[0];
    assert_eq!(p.method, "POST");
    assert_eq!(p.query, None);
    assert_eq!(
        p.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(p.header("notion-version"), Some("2022-06-28"));
    assert!(
        p.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let text = |s: &str| json!({"type": "text", "text": {"content": s}});
    assert_eq!(
        p.body,
        json!({
            "parent": {"page_id": PARENT},
            "properties": {"title": {"title": [text("Weekly sync")]}},
            "children": [
                {"object": "block", "type": "heading_2", "heading_2": {"rich_text": [text("Overview")]}},
                {"object": "block", "type": "paragraph", "paragraph": {"rich_text": [text("We agreed on the launch.")]}},
                {"object": "block", "type": "heading_2", "heading_2": {"rich_text": [text("Action items")]}},
                {"object": "block", "type": "bulleted_list_item", "bulleted_list_item": {"rich_text": [
                    {"type": "text", "text": {"content": "Ana"}, "annotations": {"bold": true}},
                    text(": send the deck"),
                ]}},
                {"object": "block", "type": "paragraph", "paragraph": {"rich_text": [
                    {"type": "text", "text": {"content": "Open the meeting in meetvault",
                                              "link": {"url": "https://meetvault.example/meetings/m1"}}},
                ]}},
                {"object": "block", "type": "paragraph", "paragraph": {"rich_text": [
                    {"type": "text", "text": {"content": format!("meetvault: {KEY}")},
                     "annotations": {"color": "gray"}},
                ]}},
            ],
        })
    );
    let created = fake.created();
    assert_eq!(created.len(), 1);
    assert_eq!(sent.external_id, created[0]["id"].as_str().unwrap());
    assert_eq!(sent.url.as_deref(), created[0]["url"].as_str());
    assert!(
        sent.url
            .unwrap()
            .starts_with("https://www.notion.so/Weekly-sync-")
    );
    assert_eq!(created[0]["parent"]["page_id"], PARENT);
    assert_eq!(fake.requests().len(), 1, "one request, no appends");
}

#[tokio::test]
async fn long_summaries_are_sent_100_blocks_at_a_time_with_text_split_at_2000() {
    let fake = Fake::start(Kind::Notion).await.unwrap();
    let target = fake.target(Some(PARENT));
    let mut lines = vec![format!("{}{}", "a".repeat(4000), "b".repeat(500))];
    lines.extend((1..250).map(|i| format!("- point {i}")));
    let item = Item::Summary(Summary {
        title: "All hands".into(),
        markdown: lines.join("\n"),
        link: "https://meetvault.example/meetings/m2".into(),
        attendee_emails: vec![],
    });
    let sent = deliver(&http(), &target, &fake.credential(), &item, KEY, false)
        .await
        .unwrap();
    let post = &fake.requests_to("/v1/pages")[0];
    let first = post.body["children"].as_array().unwrap();
    assert_eq!(first.len(), 100);
    let long = first[0]["paragraph"]["rich_text"].as_array().unwrap();
    assert_eq!(long.len(), 3);
    assert_eq!(long[0]["text"]["content"], "a".repeat(2000));
    assert_eq!(long[1]["text"]["content"], "a".repeat(2000));
    assert_eq!(long[2]["text"]["content"], "b".repeat(500));
    let path = format!("/v1/blocks/{}/children", sent.external_id);
    let appends = fake.requests_to(&path);
    assert_eq!(appends.len(), 2);
    for a in &appends {
        assert_eq!(a.method, "PATCH");
        assert_eq!(a.header("notion-version"), Some("2022-06-28"));
        assert_eq!(
            a.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    let second = appends[0].body["children"].as_array().unwrap();
    let third = appends[1].body["children"].as_array().unwrap();
    // 250 lines, the link back and the key.
    assert_eq!((second.len(), third.len()), (100, 52));
    assert_eq!(
        third[50]["paragraph"]["rich_text"][0]["text"]["link"]["url"],
        "https://meetvault.example/meetings/m2"
    );
    assert_eq!(
        third[51]["paragraph"]["rich_text"][0]["text"]["content"],
        format!("meetvault: {KEY}")
    );
    let page = &fake.created()[0];
    assert_eq!(page["children"].as_array().unwrap().len(), 252);
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_finds_the_page_by_its_key_instead_of_creating_another() {
    let fake = Fake::start(Kind::Notion).await.unwrap();
    let target = fake.target(Some(PARENT));
    let cred = fake.credential();
    // Same-titled pages of other meetings (a weekly meeting), and one of another title.
    for i in 0..2 {
        let key = format!("mv-other-{i:08}");
        deliver(&http(), &target, &cred, &summary(), &key, false)
            .await
            .unwrap();
    }
    deliver(
        &http(),
        &target,
        &cred,
        &titled("1:1"),
        "mv-other-onetoone",
        false,
    )
    .await
    .unwrap();
    fake.fail_after_commit("/v1/pages", 502);
    let err = deliver(&http(), &target, &cred, &summary(), KEY, false)
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::Unavailable(_)), "{err:?}");
    for i in 2..4 {
        let key = format!("mv-other-{i:08}");
        deliver(&http(), &target, &cred, &summary(), &key, false)
            .await
            .unwrap();
    }
    let created = fake.created();
    assert_eq!(created.len(), 6);
    let ours = created[3]["id"].as_str().unwrap().to_owned();
    fake.clear_requests();

    let sent = deliver(&http(), &target, &cred, &summary(), KEY, true)
        .await
        .unwrap();
    assert_eq!(sent.external_id, ours);
    assert_eq!(sent.url.as_deref(), created[3]["url"].as_str());
    assert_eq!(fake.created().len(), 6, "created once");
    assert!(fake.requests_to("/v1/pages").is_empty());

    // The parent's six children, two a page (the fake's page size), cursor by cursor.
    let listing = fake.requests_to(&format!("/v1/blocks/{PARENT}/children"));
    assert_eq!(listing.len(), 3);
    assert_eq!(listing[0].method, "GET");
    assert_eq!(listing[0].query.as_deref(), Some("page_size=100"));
    assert_eq!(
        listing[1].query_param("start_cursor").as_deref(),
        created[2]["id"].as_str()
    );
    assert_eq!(
        listing[2].query_param("start_cursor").as_deref(),
        created[4]["id"].as_str()
    );
    for r in fake.requests() {
        assert_eq!(r.header("notion-version"), Some("2022-06-28"));
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    // Newest same-titled pages first: two without our key (read to their end), then ours.
    let read = |i: usize| {
        fake.requests_to(&format!(
            "/v1/blocks/{}/children",
            created[i]["id"].as_str().unwrap()
        ))
        .len()
    };
    assert_eq!((read(5), read(4), read(3)), (3, 3, 3));
    assert_eq!(
        (read(2), read(1), read(0)),
        (0, 0, 0),
        "the 1:1 is not read"
    );
    assert_eq!(fake.requests_to(&format!("/v1/pages/{ours}")).len(), 1);
}

#[tokio::test]
async fn a_retry_when_nothing_was_created_creates_the_page_once() {
    let fake = Fake::start(Kind::Notion).await.unwrap();
    let target = fake.target(Some(PARENT));
    let cred = fake.credential();
    deliver(
        &http(),
        &target,
        &cred,
        &summary(),
        "mv-other-00000001",
        false,
    )
    .await
    .unwrap();
    fake.fail_next("/v1/pages", 503, None);
    let err = deliver(&http(), &target, &cred, &summary(), KEY, false)
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    let sent = deliver(&http(), &target, &cred, &summary(), KEY, true)
        .await
        .unwrap();
    let created = fake.created();
    assert_eq!(created.len(), 2);
    assert_eq!(sent.external_id, created[1]["id"].as_str().unwrap());
}

#[tokio::test]
async fn rate_limits_validation_errors_and_tasks_are_told_apart() {
    let fake = Fake::start(Kind::Notion).await.unwrap();
    let target = fake.target(Some(PARENT));
    fake.fail_next("/v1/pages", 429, Some("7"));
    let err = deliver(&http(), &target, &fake.credential(), &summary(), KEY, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{err:?}"
    );
    // Not a UUID: Notion's 400 validation_error, for good.
    let bad = fake.target(Some("not-a-page-id"));
    let err = deliver(&http(), &bad, &fake.credential(), &summary(), KEY, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::Rejected { status: 400, ref message } if message.contains("should be a valid uuid")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    fake.clear_requests();
    let err = deliver(&http(), &target, &fake.credential(), &task(), KEY, false)
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::Invalid(_)), "{err:?}");
    assert!(fake.requests().is_empty());
    assert!(fake.created().is_empty());
}

#[tokio::test]
async fn a_hostile_title_travels_only_as_json_data() {
    let fake = Fake::start(Kind::Notion).await.unwrap();
    let target = fake.target(Some(PARENT));
    let cred = fake.credential();
    let hostile = "Q3 \"review\"\n<!channel> ' OR 1=1 -- \\ }";
    fake.fail_after_commit("/v1/pages", 500);
    deliver(&http(), &target, &cred, &titled(hostile), KEY, false)
        .await
        .unwrap_err();
    let sent = deliver(&http(), &target, &cred, &titled(hostile), KEY, true)
        .await
        .unwrap();
    let created = fake.created();
    assert_eq!(created.len(), 1, "found again by its title and key");
    assert_eq!(sent.external_id, created[0]["id"].as_str().unwrap());
    let post = &fake.requests_to("/v1/pages")[0];
    // Parsed back from the JSON body: the same text, the newline as a space.
    assert_eq!(
        post.body["properties"]["title"]["title"][0]["text"]["content"],
        "Q3 \"review\" <!channel> ' OR 1=1 -- \\ }"
    );
    assert!(serde_json::from_slice::<Value>(&post.raw).is_ok());
    for r in fake.requests() {
        let line = format!("{} {}", r.path, r.query.clone().unwrap_or_default());
        assert!(!line.contains("OR") && !line.contains("channel") && !line.contains("%22"));
    }
}

#[tokio::test]
async fn an_expired_oauth_token_is_unauthorized_until_refreshed() {
    let fake = Fake::start(Kind::Notion).await.unwrap();
    let target = fake.target(Some(PARENT));
    let tokens = fake.grant();
    deliver(
        &http(),
        &target,
        &Credential::OAuth(tokens.clone()),
        &summary(),
        "mv-first-0000001",
        false,
    )
    .await
    .unwrap();
    fake.expire_access_tokens();
    let err = deliver(
        &http(),
        &target,
        &Credential::OAuth(tokens.clone()),
        &summary(),
        KEY,
        false,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IntegrationError::Unauthorized(_)), "{err:?}");
    let fresh = oauth::refresh(&http(), &fake.oauth_app(), &tokens)
        .await
        .unwrap();
    assert_ne!(fresh.access_token, tokens.access_token);
    fake.clear_requests();
    deliver(
        &http(),
        &target,
        &Credential::OAuth(fresh.clone()),
        &summary(),
        KEY,
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        fake.requests_to("/v1/pages")[0].header("authorization"),
        Some(format!("Bearer {}", fresh.access_token.expose()).as_str())
    );
    assert_eq!(fake.created().len(), 2);
}
