//! A meeting's live event stream ends when the right to read it ends (security review, finding
//! 4): after a logout, a key's revocation, a demotion or the meeting's deletion, the stream
//! sends a last `closed` event within a few seconds and stops delivering anything.

use std::time::{Duration, Instant};

use futures::StreamExt;
use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::transcription::meeting;

/// The bound within which a stream must notice (it re-checks every second).
const NOTICE: Duration = Duration::from_secs(5);

/// Opens the stream as `cred` and returns its body.
async fn open(
    app: &TestApp,
    cred: &Cred,
    id: &str,
) -> impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + use<> {
    let r = app
        .send(
            cred,
            Method::GET,
            &format!("/api/v1/meetings/{id}/events"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes_stream()
}

/// Reads the stream until it ends; fails if it is still open `NOTICE` after `since`. Returns
/// everything it sent after that moment.
async fn read_until_closed(
    mut body: impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
    since: Instant,
) -> String {
    let mut text = String::new();
    loop {
        let left = NOTICE.saturating_sub(since.elapsed());
        match tokio::time::timeout(left, body.next()).await {
            Ok(Some(Ok(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Some(Err(_)) | None) => return text,
            Err(_) => panic!("the stream was still open {NOTICE:?} later; it sent: {text}"),
        }
    }
}

async fn owner_and_meeting(app: &TestApp) -> (Session, String) {
    let owner = app.register("owner@example.com", "Acme").await;
    let id = meeting(app, &owner, json!({"title": "Standup"})).await;
    (owner, id)
}

#[tokio::test]
async fn a_stream_ends_when_its_session_logs_out() {
    let app = TestApp::spawn().await;
    let (owner, id) = owner_and_meeting(&app).await;
    let cred = Cred::Session(owner.clone());
    let body = open(&app, &cred, &id).await;
    let r = app
        .send(&cred, Method::POST, "/api/v1/auth/logout", None)
        .await;
    assert!(r.status().is_success());
    let rest = read_until_closed(Box::pin(body), Instant::now()).await;
    assert!(rest.contains("event: closed"), "{rest}");
    assert!(rest.contains("access_revoked"), "{rest}");
}

#[tokio::test]
async fn a_stream_ends_when_its_key_is_revoked_or_its_user_demoted() {
    let app = TestApp::spawn().await;
    let (owner, id) = owner_and_meeting(&app).await;
    let (key, key_id) = app.api_key(&owner, &["meetings:read"]).await;
    let body = open(&app, &Cred::Bearer(key), &id).await;
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::DELETE,
            &format!("/api/v1/api-keys/{key_id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let rest = read_until_closed(Box::pin(body), Instant::now()).await;
    assert!(rest.contains("access_revoked"), "{rest}");

    // A viewer demoted to billing loses meetings:read: their open stream ends too.
    let viewer = app.user_with_role(&owner, "viewer").await;
    let body = open(&app, &Cred::Session(viewer.clone()), &id).await;
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::PATCH,
            &format!("/api/v1/members/{}", viewer.user_id),
            Some(json!({"role": "billing"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let rest = read_until_closed(Box::pin(body), Instant::now()).await;
    assert!(rest.contains("access_revoked"), "{rest}");
}

#[tokio::test]
async fn a_stream_ends_when_its_meeting_is_deleted() {
    let app = TestApp::spawn().await;
    let (owner, id) = owner_and_meeting(&app).await;
    let cred = Cred::Session(owner.clone());
    let body = open(&app, &cred, &id).await;
    let r = app
        .send(
            &cred,
            Method::DELETE,
            &format!("/api/v1/meetings/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let rest = read_until_closed(Box::pin(body), Instant::now()).await;
    assert!(rest.contains("meeting_gone"), "{rest}");
}

#[tokio::test]
async fn a_stream_stays_open_while_access_holds() {
    let app = TestApp::spawn().await;
    let (owner, id) = owner_and_meeting(&app).await;
    let mut body = Box::pin(open(&app, &Cred::Session(owner), &id).await);
    // Three re-checks pass without the stream closing.
    let waited = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match body.next().await {
                Some(Ok(chunk)) => {
                    let text = String::from_utf8_lossy(&chunk).to_string();
                    assert!(!text.contains("closed"), "closed while allowed: {text}");
                }
                other => panic!("the stream ended while access held: {other:?}"),
            }
        }
    })
    .await;
    assert!(waited.is_err(), "still open after 3 s");
}
