//! Refused attempts in the audit log: recorded (rate-limited and failed logins, 403s, CSRF
//! refusals, bad and revoked keys), and aggregated per source and window, so a flood of them
//! costs a few entries whose counts add up to every attempt.

use std::time::{Duration, Instant};

use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The entries `owner` reads through `GET /api/v1/audit` on `app`, filtered by `action`.
async fn entries(app: &TestApp, owner: &Session, action: &str) -> Vec<Value> {
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            &format!("/api/v1/audit?action={action}&limit=500"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["entries"]
        .as_array()
        .unwrap()
        .clone()
}

fn with_reason<'a>(entries: &'a [Value], reason: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["reason"] == reason).collect()
}

fn counts(entries: &[&Value]) -> Vec<u64> {
    entries
        .iter()
        .map(|e| e["count"].as_u64().unwrap())
        .collect()
}

/// Stops `app` the way SIGTERM does (which writes every open window's summary) and returns a
/// second instance of the same installation to read the log through.
async fn flushed(app: TestApp) -> TestApp {
    let reader = app.spawn_sibling(|_| {}).await;
    app.shutdown().await.unwrap();
    reader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_refused_logins_are_four_entries_that_count_every_attempt() {
    let app = TestApp::spawn().await;
    let owner = app.register("target@example.com", "O").await;
    let mut statuses = Vec::new();
    for _ in 0..300 {
        let r = app.login("target@example.com", "not the password").await;
        statuses.push(r.status());
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(statuses[299], StatusCode::TOO_MANY_REQUESTS);
    let while_open = entries(&app, &owner, "auth.login").await;
    assert_eq!(
        while_open.len(),
        2,
        "while the window is open only the first of each kind is written: {while_open:?}"
    );

    let reader = flushed(app).await;
    let logged = entries(&reader, &owner, "auth.login").await;
    assert!(logged.len() <= 4, "{} entries: {logged:?}", logged.len());
    let refused = with_reason(&logged, "rate_limited");
    assert_eq!(counts(&refused), vec![1, 289], "{logged:?}");
    assert_eq!(counts(&with_reason(&logged, "bad_password")), vec![1, 9]);
    assert_eq!(
        refused[1]["ip"], "127.0.0.1",
        "the summary keeps its source"
    );
    let total: u64 = logged.iter().map(|e| e["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 300);

    let (code, out) = crate::audit::verify_cli(&reader, &[]);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_csrf_refused_bad_and_revoked_key_requests_are_audited_in_aggregate() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "O").await;
    let viewer = app.user_with_role(&owner, "viewer").await;
    for _ in 0..100 {
        let r = app
            .send(
                &Cred::Session(viewer.clone()),
                Method::GET,
                "/api/v1/audit",
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    // A cookie-authenticated change with neither Origin nor X-CSRF-Token.
    let r = app
        .client
        .post(app.url("/api/v1/workspaces"))
        .header("cookie", &owner.cookie)
        .json(&json!({"name": "Nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let bad = "mvk_0000000000000000000000000000000000000";
    let r = app
        .send(&Cred::Bearer(bad.into()), Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (key, key_id) = app.api_key(&owner, &["meetings:read"]).await;
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::DELETE,
            &format!("/api/v1/api-keys/{key_id}"),
            None,
        )
        .await;
    assert!(r.status().is_success(), "revoke: {}", r.status());
    let r = app
        .send(&Cred::Bearer(key), Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let reader = flushed(app).await;
    let refused = entries(&reader, &owner, "auth.refused").await;
    let forbidden = with_reason(&refused, "forbidden");
    assert_eq!(
        counts(&forbidden),
        vec![1, 99],
        "100 403s, two entries: {refused:?}"
    );
    assert!(
        forbidden
            .iter()
            .all(|e| e["actor"] == viewer.user_id.as_str())
    );
    assert_eq!(forbidden[0]["resource"], "GET /api/v1/audit");
    let csrf = with_reason(&refused, "csrf_failed");
    assert_eq!(counts(&csrf), vec![1]);
    assert_eq!(csrf[0]["actor"], owner.user_id.as_str());
    assert_eq!(
        csrf[0]["ip"], "127.0.0.1",
        "personal data is readable by the org"
    );
    let revoked = with_reason(&refused, "revoked_key");
    assert_eq!(counts(&revoked), vec![1]);
    assert_eq!(revoked[0]["resource"], key_id.as_str());

    // A key that names no key of any org belongs to no org: the instance's log holds it.
    let rows = reader.db().audit_all().await.unwrap();
    let bad_key: Vec<_> = rows
        .iter()
        .filter(|r| r.action == "auth.refused" && r.reason.as_deref() == Some("bad_key"))
        .collect();
    assert_eq!(bad_key.len(), 1);
    assert_eq!(bad_key[0].org_id, None);
    assert!(
        !rows.iter().any(|r| r.entry.contains("127.0.0.1")),
        "the client address is sealed, never in a leaf"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_window_closes_by_itself_with_its_summary() {
    let app = TestApp::spawn_with(|c| c.audit.refusal_window_secs = 2).await;
    let owner = app.register("owner@example.com", "O").await;
    for _ in 0..3 {
        let r = app
            .client
            .post(app.url("/api/v1/workspaces"))
            .header("cookie", &owner.cookie)
            .header("origin", "https://evil.example")
            .json(&json!({"name": "Nope"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let started = Instant::now();
    loop {
        let refused = entries(&app, &owner, "auth.refused").await;
        let csrf = with_reason(&refused, "csrf_failed");
        if counts(&csrf) == vec![1, 2] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no summary after the window closed: {refused:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
