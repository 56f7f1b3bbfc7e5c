//! The dashboard over plain HTTP: its pages carry the strict dashboard policy (no inline
//! script or style) and every other security header; its two assets are served from the
//! binary and revalidate; a signed-out visitor is sent to sign in and back; what users wrote
//! (a meeting's title, a speaker's name, a transcript line) is shown as text, never as markup;
//! a page the caller may not see is refused and audited, as the API's are.

use meetvault_http::dashboard::DASHBOARD_POLICY;
use meetvault_http::dashboard::assets::{CSS, JS};
use meetvault_test_support::{Cred, TestApp};
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn page(app: &TestApp, cookie: Option<&str>, path: &str) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut r = client.get(app.url(path));
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn pages_are_strictly_confined_and_show_user_text_as_text() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;

    // Signed out: to the sign-in page, which comes back here.
    let r = page(&app, None, "/meetings?from=2026-01-01").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[LOCATION],
        "/login?next=%2Fmeetings%3Ffrom%3D2026-01-01"
    );
    let login = page(&app, None, "/login?next=//evil.example/").await;
    assert_eq!(login.status(), StatusCode::OK);
    assert_eq!(login.headers()[CONTENT_SECURITY_POLICY], DASHBOARD_POLICY);
    let html = login.text().await.unwrap();
    assert!(
        !html.contains("evil.example"),
        "a foreign next is never followed"
    );
    assert!(html.contains("data-next=\"/meetings\""));
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline script or style"
    );
    assert!(!DASHBOARD_POLICY.contains("unsafe") && DASHBOARD_POLICY.contains("script-src 'self'"));

    // Hostile text a user wrote stays text.
    let hostile = "<img src=x onerror=alert(1)> \"quoted\" & <script>";
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": hostile})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::POST,
            &format!("/api/v1/meetings/{id}/transcript"),
            Some(json!({"segments": [{"start_ms": 0, "end_ms": 900, "speaker": "</li><b>x", "text": hostile}]})),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    for path in ["/meetings".to_owned(), format!("/meetings/{id}")] {
        let r = page(&app, Some(&owner.cookie), &path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let headers = r.headers().clone();
        assert_eq!(headers[CONTENT_SECURITY_POLICY], DASHBOARD_POLICY, "{path}");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["cache-control"], "no-store");
        let html = r.text().await.unwrap();
        assert!(!html.contains("<img src=x"), "{path}: {html}");
        assert!(!html.contains("<script>"), "{path}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{path}"
        );
    }
    let html = page(&app, Some(&owner.cookie), &format!("/meetings/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("&lt;/li&gt;&lt;b&gt;x"), "{html}");
    assert!(html.contains(&format!("data-events=\"/api/v1/meetings/{id}/events\"")));

    // Assets: from the binary, typed, revalidated by ETag.
    let css = page(&app, None, "/assets/app.css").await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let etag = css.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(css.text().await.unwrap(), CSS);
    let js = page(&app, None, "/assets/app.js").await;
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(js.headers()["x-content-type-options"], "nosniff");
    assert_eq!(js.text().await.unwrap(), JS);
    let again = reqwest::Client::new()
        .get(app.url("/assets/app.css"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // A viewer may not open the members page: refused as a page, and audited like the API's.
    let viewer = app.user_with_role(&owner, "viewer").await;
    let r = page(&app, Some(&viewer.cookie), "/settings/members").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("This page cannot be shown")
    );
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            "/api/v1/audit?action=auth.refused",
            None,
        )
        .await;
    let entries = r.json::<serde_json::Value>().await.unwrap();
    assert!(
        entries["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"] == "forbidden"),
        "{entries:#}"
    );
    // …while their settings page simply has no API-key section (they cannot manage keys).
    let r = page(&app, Some(&viewer.cookie), "/settings").await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"pw-h\""), "{html}");
    assert!(!html.contains("id=\"keys-h\"") && !html.contains("data-api=\"/api/v1/api-keys\""));
    // A meeting that does not exist is a 404 page.
    let r = page(
        &app,
        Some(&owner.cookie),
        "/meetings/mtg_00000000000000000000000000000000",
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
