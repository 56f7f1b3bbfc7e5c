//! Google Drive against its loopback fake: the exact multipart upload (boundary, metadata with
//! the key as an app property, the Markdown), the `appProperties has` search followed across
//! pages on a retry, Google's error shapes (401, 429, 403 rate limits), OAuth expiry and
//! refresh, and a hostile title carried only as data.

// Test code: clippy.toml allows unwrap in #[test] functions only, not in helpers (ours and
// common.rs's `http()`), which are test code all the same.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{KEY, http, summary, task};
use meetvault_integrations::fake::{Fake, TOKEN};
use meetvault_integrations::{
    Credential, Http, HttpRequest, IntegrationError, Item, Kind, OAuthTokens, SecretString,
    deliver, oauth, validate,
};
use serde_json::{Value, json};

const FOLDER: &str = "1FolderAbcXyz_0";

fn bearer(tokens: &OAuthTokens) -> String {
    format!("Bearer {}", tokens.access_token.expose())
}

fn titled(title: &str) -> Item {
    let Item::Summary(mut s) = summary() else {
        unreachable!()
    };
    s.title = title.into();
    Item::Summary(s)
}

fn query(key: &str) -> String {
    format!("appProperties has {{ key='meetvault_key' and value='{key}' }} and trashed = false")
}

/// The two parts of a recorded upload, checked against the boundary of its content type.
fn parts(content_type: &str, raw: &[u8]) -> (Value, String) {
    let boundary = content_type
        .strip_prefix("multipart/related; boundary=")
        .unwrap();
    let text = String::from_utf8(raw.to_vec()).unwrap();
    let pieces: Vec<&str> = text.split(&format!("--{boundary}")).collect();
    assert_eq!(pieces.len(), 4, "{text}");
    assert_eq!(pieces[0], "");
    assert_eq!(pieces[3], "--\r\n");
    let meta = pieces[1]
        .strip_prefix("\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n")
        .and_then(|m| m.strip_suffix("\r\n"))
        .unwrap();
    let content = pieces[2]
        .strip_prefix("\r\nContent-Type: text/markdown; charset=UTF-8\r\n\r\n")
        .and_then(|m| m.strip_suffix("\r\n"))
        .unwrap();
    (serde_json::from_str(meta).unwrap(), content.to_owned())
}

#[tokio::test]
async fn validate_reads_the_user_and_an_expired_token_is_unauthorized() {
    let fake = Fake::start(Kind::GoogleDrive).await.unwrap();
    let target = fake.target(Some(FOLDER));
    let tokens = fake.grant();
    let cred = Credential::OAuth(tokens.clone());
    let account = validate(&http(), &target, &cred).await.unwrap();
    assert_eq!(account.name, "Ana Admin (ana@acme.example)");
    let r = &fake.requests_to("/drive/v3/about")[0];
    assert_eq!(r.method, "GET");
    assert_eq!(
        r.query.as_deref(),
        Some("fields=user%28displayName%2CemailAddress%29")
    );
    assert_eq!(
        r.query_param("fields").as_deref(),
        Some("user(displayName,emailAddress)")
    );
    assert_eq!(r.header("authorization"), Some(bearer(&tokens).as_str()));

    fake.expire_access_tokens();
    let err = validate(&http(), &target, &cred).await.unwrap_err();
    assert!(
        matches!(err, IntegrationError::Unauthorized(ref m) if m.starts_with("Request had invalid authentication credentials")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("CANARY"));

    // Drive takes OAuth grants only: a static token is refused before any request.
    fake.clear_requests();
    let token = Credential::Token(SecretString::new(TOKEN));
    let err = validate(&http(), &target, &token).await.unwrap_err();
    assert!(matches!(err, IntegrationError::Invalid(_)), "{err:?}");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_summary_is_uploaded_as_markdown_with_its_key_as_an_app_property() {
    let fake = Fake::start(Kind::GoogleDrive).await.unwrap();
    let target = fake.target(Some(FOLDER));
    let tokens = fake.grant();
    let sent = deliver(
        &http(),
        &target,
        &Credential::OAuth(tokens.clone()),
        &summary(),
        KEY,
        false,
    )
    .await
    .unwrap();
    assert_eq!(fake.requests().len(), 1, "no lookup without retry");
    let uploads = fake.requests_to("/upload/drive/v3/files");
    assert_eq!(uploads.len(), 1);
    let u = &uploads[0];
    assert_eq!(u.method, "POST");
    assert_eq!(
        u.query.as_deref(),
        Some("uploadType=multipart&fields=id%2CwebViewLink&supportsAllDrives=true")
    );
    assert_eq!(u.header("authorization"), Some(bearer(&tokens).as_str()));
    let content_type = u.header("content-type").unwrap();
    assert!(content_type.starts_with("multipart/related; boundary=meetvault-"));
    let (meta, content) = parts(content_type, &u.raw);
    assert_eq!(
        meta,
        json!({"name": "Weekly sync.md", "mimeType": "text/markdown", "parents": [FOLDER],
               "appProperties": {"meetvault_key": KEY}})
    );
    let expected = "# Weekly sync\n\n## Overview\nWe agreed on the launch.\n\n## Action items\n\
                    - **Ana**: send the deck\n\n\
                    [Open the meeting in meetvault](https://meetvault.example/meetings/m1)\n";
    assert_eq!(content, expected);

    let created = fake.created();
    assert_eq!(created.len(), 1);
    let f = &created[0];
    assert_eq!(f["name"], "Weekly sync.md");
    assert_eq!(f["mimeType"], "text/markdown");
    assert_eq!(f["mediaType"], "text/markdown; charset=UTF-8");
    assert_eq!(f["parents"], json!([FOLDER]));
    assert_eq!(f["appProperties"]["meetvault_key"], KEY);
    assert_eq!(f["content"], expected);
    assert_eq!(sent.external_id, f["id"].as_str().unwrap());
    assert_eq!(sent.url.as_deref(), f["webViewLink"].as_str());
    assert!(
        sent.url
            .unwrap()
            .starts_with("https://drive.google.com/file/d/")
    );
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_finds_the_file_on_a_later_page() {
    let fake = Fake::start(Kind::GoogleDrive).await.unwrap();
    let target = fake.target(Some(FOLDER));
    let tokens = fake.grant();
    let cred = Credential::OAuth(tokens.clone());
    for i in 0..3 {
        let key = format!("mv-other-{i:08}");
        deliver(&http(), &target, &cred, &summary(), &key, false)
            .await
            .unwrap();
    }
    fake.fail_after_commit("/upload/drive/v3/files", 503);
    let err = deliver(&http(), &target, &cred, &summary(), KEY, false)
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::Unavailable(_)), "{err:?}");
    for i in 3..5 {
        let key = format!("mv-other-{i:08}");
        deliver(&http(), &target, &cred, &summary(), &key, false)
            .await
            .unwrap();
    }
    let created = fake.created();
    assert_eq!(created.len(), 6);
    fake.clear_requests();

    let sent = deliver(&http(), &target, &cred, &summary(), KEY, true)
        .await
        .unwrap();
    assert_eq!(sent.external_id, created[3]["id"].as_str().unwrap());
    assert_eq!(sent.url.as_deref(), created[3]["webViewLink"].as_str());
    assert_eq!(fake.created().len(), 6, "uploaded once");
    assert!(fake.requests_to("/upload/drive/v3/files").is_empty());
    let searches = fake.requests_to("/drive/v3/files");
    assert_eq!(searches.len(), 2, "the match is on the second page");
    for s in &searches {
        assert_eq!(s.method, "GET");
        assert_eq!(s.header("authorization"), Some(bearer(&tokens).as_str()));
        assert_eq!(s.query_param("q"), Some(query(KEY)));
        assert_eq!(
            s.query_param("fields").as_deref(),
            Some("nextPageToken,files(id,webViewLink)")
        );
        assert_eq!(s.query_param("pageSize").as_deref(), Some("100"));
        assert_eq!(s.query_param("supportsAllDrives").as_deref(), Some("true"));
        assert_eq!(
            s.query_param("includeItemsFromAllDrives").as_deref(),
            Some("true")
        );
    }
    assert_eq!(searches[0].query_param("pageToken"), None);
    assert_eq!(
        searches[1].query_param("pageToken").as_deref(),
        Some("tok-2")
    );
}

#[tokio::test]
async fn a_retry_when_nothing_was_uploaded_searches_every_page_then_uploads_once() {
    let fake = Fake::start(Kind::GoogleDrive).await.unwrap();
    let target = fake.target(Some(FOLDER));
    let cred = fake.credential();
    for i in 0..5 {
        let key = format!("mv-other-{i:08}");
        deliver(&http(), &target, &cred, &summary(), &key, false)
            .await
            .unwrap();
    }
    fake.fail_next("/upload/drive/v3/files", 500, None);
    let err = deliver(&http(), &target, &cred, &summary(), KEY, false)
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    fake.clear_requests();
    let sent = deliver(&http(), &target, &cred, &summary(), KEY, true)
        .await
        .unwrap();
    let searches = fake.requests_to("/drive/v3/files");
    assert_eq!(searches.len(), 3);
    assert_eq!(
        searches[2].query_param("pageToken").as_deref(),
        Some("tok-4")
    );
    let created = fake.created();
    assert_eq!(created.len(), 6);
    assert_eq!(sent.external_id, created[5]["id"].as_str().unwrap());
    assert_eq!(created[5]["appProperties"]["meetvault_key"], KEY);
}

#[tokio::test]
async fn rate_limits_come_as_429_or_403_and_tasks_are_not_taken() {
    let fake = Fake::start(Kind::GoogleDrive).await.unwrap();
    let target = fake.target(Some(FOLDER));
    let cred = fake.credential();
    fake.fail_next("/upload/drive/v3/files", 429, Some("7"));
    let err = deliver(&http(), &target, &cred, &summary(), KEY, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{err:?}"
    );
    for reason in ["rateLimitExceeded", "userRateLimitExceeded"] {
        fake.drive_rate_limit_next(reason);
        let err = deliver(&http(), &target, &cred, &summary(), KEY, false)
            .await
            .unwrap_err();
        assert!(
            matches!(err, IntegrationError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)),
            "{reason}: {err:?}"
        );
    }
    assert!(fake.created().is_empty());
    fake.clear_requests();
    let err = deliver(&http(), &target, &cred, &task(), KEY, false)
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::Invalid(_)), "{err:?}");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn the_fake_refuses_a_malformed_multipart_body_in_googles_error_shape() {
    let fake = Fake::start(Kind::GoogleDrive).await.unwrap();
    let tokens = fake.grant();
    let url = fake.url("upload/drive/v3/files?uploadType=multipart");
    let mut req = HttpRequest::new(http::Method::POST, url).bearer(&tokens.access_token);
    req.headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("multipart/related; boundary=abc"),
    );
    req.body = Some(zeroize::Zeroizing::new(
        b"--abc\r\nContent-Type: application/json\r\n\r\n{\"name\":\"x\"}\r\n--abc--\r\n".to_vec(),
    ));
    let resp = http().send(req).await.unwrap();
    assert_eq!(resp.status.as_u16(), 400);
    let v: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(v["error"]["code"], 400);
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(v["error"]["errors"][0]["reason"], "badContent");
    assert!(fake.created().is_empty());
}

#[tokio::test]
async fn a_hostile_title_travels_only_as_data_and_the_search_holds_only_the_key() {
    let fake = Fake::start(Kind::GoogleDrive).await.unwrap();
    let target = fake.target(Some(FOLDER));
    let cred = fake.credential();
    let hostile = "Q3 \"review\"\n<!channel> ' OR 1=1 -- } and trashed = true";
    fake.fail_after_commit("/upload/drive/v3/files", 500);
    deliver(&http(), &target, &cred, &titled(hostile), KEY, false)
        .await
        .unwrap_err();
    let sent = deliver(&http(), &target, &cred, &titled(hostile), KEY, true)
        .await
        .unwrap();
    let created = fake.created();
    assert_eq!(created.len(), 1);
    assert_eq!(sent.external_id, created[0]["id"].as_str().unwrap());
    let sanitized = "Q3 \"review\" <!channel> ' OR 1=1 -- } and trashed = true";
    assert_eq!(created[0]["name"], format!("{sanitized}.md"));
    let u = &fake.requests_to("/upload/drive/v3/files")[0];
    let (meta, content) = parts(u.header("content-type").unwrap(), &u.raw);
    assert_eq!(meta["name"], format!("{sanitized}.md"));
    assert!(content.starts_with(&format!("# {sanitized}\n\n")));
    let search = &fake.requests_to("/drive/v3/files")[0];
    assert_eq!(search.query_param("q"), Some(query(KEY)));
    assert!(!search.query.as_deref().unwrap().contains("OR"));
}

#[tokio::test]
async fn an_expired_access_token_is_unauthorized_until_refreshed() {
    let fake = Fake::start(Kind::GoogleDrive).await.unwrap();
    let target = fake.target(Some(FOLDER));
    let tokens = fake.grant();
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
    assert!(fake.created().is_empty());
    let fresh = oauth::refresh(&http(), &fake.oauth_app(), &tokens)
        .await
        .unwrap();
    // Google keeps the refresh token.
    assert_eq!(fresh.refresh_token, tokens.refresh_token);
    assert_ne!(fresh.access_token, tokens.access_token);
    fake.clear_requests();
    let sent = deliver(
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
        fake.requests_to("/upload/drive/v3/files")[0].header("authorization"),
        Some(bearer(&fresh).as_str())
    );
    assert_eq!(sent.external_id, fake.created()[0]["id"].as_str().unwrap());
}
