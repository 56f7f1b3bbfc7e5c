//! Voice-intake widgets over HTTP: managed with `widgets:manage` (the secret shown once,
//! rotated, never listed), the visitor's routes only for the widget's exact origins (CORS
//! naming that origin, preflights too), sessions limited per IP (the 31st in an hour is a 429
//! with `Retry-After`), visitor tokens verified (valid, expired, wrong audience, wrong secret,
//! `alg: none`, HS256/RS256 confusion, a widget that requires one), chunks in order and capped,
//! and a submission — real speech as WebM/Opus cut at arbitrary bytes — becoming a transcribed
//! meeting in the widget's workspace with one `visitor` speaker, the verified claims, the
//! widget's retention, and no chunk left behind.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use meetvault_test_support::media::speak;

use crate::deletion_requests::count;
use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

pub(crate) const SITE: &str = "http://127.0.0.1:8123";
pub(crate) const ELSEWHERE: &str = "https://evil.example";

pub(crate) async fn call(
    app: &TestApp,
    s: &Session,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let r = app
        .send(&Cred::Session(s.clone()), method, path, body)
        .await;
    let status = r.status();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A widget allowing `SITE`: (id, secret).
pub(crate) async fn widget(app: &TestApp, s: &Session, extra: Value) -> (String, String) {
    let mut body = json!({"name": "Support line", "allowed_origins": [SITE],
        "privacy_url": "https://www.example.com/privacy"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, v) = call(app, s, Method::POST, "/api/v1/widgets", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{v:#}");
    (
        v["widget"]["id"].as_str().unwrap().to_owned(),
        v["secret"].as_str().unwrap().to_owned(),
    )
}

/// A visitor's request from `origin`.
pub(crate) fn visitor(
    app: &TestApp,
    method: Method,
    path: &str,
    origin: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut r = app.client.request(method, app.url(path));
    if let Some(o) = origin {
        r = r.header("origin", o);
    }
    r
}

pub(crate) async fn open(app: &TestApp, id: &str, token: Option<&str>) -> reqwest::Response {
    let body = match token {
        Some(t) => json!({"visitor_token": t}),
        None => json!({}),
    };
    visitor(
        app,
        Method::POST,
        &format!("/widget/v1/widgets/{id}/sessions"),
        Some(SITE),
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT with `header` and `claims`, its signature HMAC-SHA256 under `secret`.
fn jwt(header: Value, claims: Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn widgets_are_managed_with_their_secret_shown_once_and_checked_fields() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let (id, secret) = widget(&app, &owner, json!({"max_seconds": 90})).await;
    assert!(
        id.starts_with("wgt_") && secret.starts_with("mvw_"),
        "{id} {secret}"
    );

    let (status, v) = call(&app, &owner, Method::GET, "/api/v1/widgets", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["widgets"][0]["id"], id.as_str());
    assert_eq!(v["widgets"][0]["max_seconds"], 90);
    assert_eq!(v["widgets"][0]["allowed_origins"], json!([SITE]));
    assert!(!v.to_string().contains(&secret), "the secret was listed");

    // Fields are checked and name themselves; nothing changes.
    for (body, field) in [
        (
            json!({"allowed_origins": ["http://example.com"]}),
            "allowed_origins",
        ),
        (
            json!({"allowed_origins": ["https://example.com/page"]}),
            "allowed_origins",
        ),
        (json!({"allowed_origins": []}), "allowed_origins"),
        (json!({"max_seconds": 100_000}), "max_seconds"),
        (
            json!({"privacy_url": "http://example.com/privacy"}),
            "privacy_url",
        ),
        (json!({"name": " "}), "name"),
        (json!({"greeting": "x".repeat(201)}), "greeting"),
    ] {
        let (status, v) = call(
            &app,
            &owner,
            Method::PATCH,
            &format!("/api/v1/widgets/{id}"),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().starts_with(field),
            "{v}"
        );
    }
    let (_, v) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/widgets/{id}"),
        None,
    )
    .await;
    assert_eq!(v["max_seconds"], 90);

    let (status, v) = call(
        &app,
        &owner,
        Method::PATCH,
        &format!("/api/v1/widgets/{id}"),
        Some(
            json!({"greeting": "Tell us", "prompt": null, "on_submit": "summary",
            "allowed_origins": [SITE, "https://www.example.com"]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["greeting"], "Tell us");
    assert_eq!(v["on_submit"], "summary");
    assert_eq!(v["allowed_origins"].as_array().unwrap().len(), 2);

    let (status, v) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/widgets/{id}/rotate-secret"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let rotated = v["secret"].as_str().unwrap();
    assert!(rotated.starts_with("mvw_") && rotated != secret);

    // A member holds no widgets:manage.
    let member = app.user_with_role(&owner, "member").await;
    let (status, _) = call(&app, &member, Method::GET, "/api/v1/widgets", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _) = call(
        &app,
        &owner,
        Method::DELETE,
        &format!("/api/v1/widgets/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/widgets/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Its visitors' routes are gone with it.
    let r = visitor(
        &app,
        Method::GET,
        &format!("/widget/v1/widgets/{id}/config"),
        Some(SITE),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_the_widgets_origins_get_answers_cors_and_preflights() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let (id, _) = widget(&app, &owner, json!({})).await;
    let config = format!("/widget/v1/widgets/{id}/config");

    let r = visitor(&app, Method::GET, &config, Some(SITE))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["access-control-allow-origin"], SITE);
    assert_eq!(h["cross-origin-resource-policy"], "cross-origin");
    assert!(h.get_all("vary").iter().any(|v| v == "origin"));
    assert!(h.get("access-control-allow-credentials").is_none());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["privacy_url"], "https://www.example.com/privacy");
    assert!(v["consent_text"].as_str().unwrap().len() > 20);

    for origin in [
        Some(ELSEWHERE),
        None,
        Some("null"),
        Some("http://127.0.0.1:8124"),
    ] {
        let r = visitor(&app, Method::GET, &config, origin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin:?}");
        assert!(r.headers().get("access-control-allow-origin").is_none());
        assert_eq!(r.headers()["cross-origin-resource-policy"], "same-origin");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "origin_not_allowed");
        let r = visitor(
            &app,
            Method::POST,
            &format!("/widget/v1/widgets/{id}/sessions"),
            origin,
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin:?}");
    }

    let chunk = format!("/widget/v1/widgets/{id}/chunks/0");
    let r = visitor(&app, Method::OPTIONS, &chunk, Some(SITE))
        .header("access-control-request-method", "PUT")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["access-control-allow-origin"], SITE);
    assert!(
        r.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("PUT")
    );
    assert!(
        r.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let r = visitor(&app, Method::OPTIONS, &chunk, Some(ELSEWHERE))
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("access-control-allow-origin").is_none());

    // Disabled: not found to visitors.
    let (status, _) = call(
        &app,
        &owner,
        Method::PATCH,
        &format!("/api/v1/widgets/{id}"),
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let r = visitor(&app, Method::GET, &config, Some(SITE))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn visitor_tokens_are_verified_and_sessions_are_limited_per_address() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let (id, secret) = widget(&app, &owner, json!({})).await;
    let (other, other_secret) = widget(&app, &owner, json!({})).await;
    let hs = json!({"alg": "HS256", "typ": "JWT"});
    let claims = |aud: &str, exp: i64| {
        json!({"sub": "cust-42", "email": "ada@example.com", "name": "Ada </script>",
            "aud": aud, "exp": exp, "iat": now()})
    };

    let valid = jwt(hs.clone(), claims(&id, now() + 600), secret.as_bytes());
    let r = open(&app, &id, Some(&valid)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["identified"], true);
    assert!(v["session_token"].as_str().unwrap().starts_with("mvv_"));

    let none_header = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims(&id, now() + 600).to_string().as_bytes())
    );
    let cases = [
        (
            "expired",
            jwt(hs.clone(), claims(&id, now() - 120), secret.as_bytes()),
        ),
        (
            "over an hour",
            jwt(hs.clone(), claims(&id, now() + 7200), secret.as_bytes()),
        ),
        (
            "another widget's audience",
            jwt(hs.clone(), claims(&other, now() + 600), secret.as_bytes()),
        ),
        (
            "another widget's secret",
            jwt(
                hs.clone(),
                claims(&id, now() + 600),
                other_secret.as_bytes(),
            ),
        ),
        ("alg none", none_header),
        (
            "RS256 header, HMAC with the secret",
            jwt(
                json!({"alg": "RS256", "typ": "JWT"}),
                claims(&id, now() + 600),
                secret.as_bytes(),
            ),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, token) in &cases {
        let r = open(&app, &id, Some(token)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(r.headers()["access-control-allow-origin"], SITE, "{what}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "invalid_token", "{what}");
        assert_eq!(v["error"]["message"], "invalid token", "{what}");
    }

    // A widget that requires an identity refuses a visitor without one.
    let (status, _) = call(
        &app,
        &owner,
        Method::PATCH,
        &format!("/api/v1/widgets/{other}"),
        Some(json!({"require_identity": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let r = open(&app, &other, None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // 30 sessions an hour from one address (those above counted: 1 + 7 refused + 1 = 9 so
    // far, the refused ones too, since each was a session asked for).
    let mut opened = 9;
    while opened < 30 {
        let r = open(&app, &id, None).await;
        assert_eq!(r.status(), StatusCode::CREATED, "session {}", opened + 1);
        opened += 1;
    }
    let r = open(&app, &id, None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(r.headers()["access-control-allow-origin"], SITE);
}

/// `text` spoken by espeak-ng, as WebM/Opus (what browsers record).
fn webm(text: &str) -> Vec<u8> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "widget-{}-{:x}",
        std::process::id(),
        h.finish()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let wav = dir.join("note.wav");
    speak(text, "en-us", &wav);
    let out = dir.join("note.webm");
    meetvault_test_support::media::ffmpeg(&wav, &out, &["-c:a", "libopus", "-b:a", "32k"]);
    std::fs::read(out).unwrap()
}

pub(crate) async fn put_chunk(
    app: &TestApp,
    id: &str,
    token: &str,
    seq: u32,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let r = visitor(
        app,
        Method::PUT,
        &format!("/widget/v1/widgets/{id}/chunks/{seq}"),
        Some(SITE),
    )
    .bearer_auth(token)
    .header("content-type", "audio/webm")
    .body(bytes)
    .send()
    .await
    .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn submit(app: &TestApp, id: &str, token: &str) -> StatusCode {
    visitor(
        app,
        Method::POST,
        &format!("/widget/v1/widgets/{id}/submit"),
        Some(SITE),
    )
    .bearer_auth(token)
    .send()
    .await
    .unwrap()
    .status()
}

#[tokio::test]
async fn a_voice_note_in_chunks_becomes_a_transcribed_meeting_with_the_verified_visitor() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let (id, secret) = widget(
        &app,
        &owner,
        json!({"name": "Support line", "retention": {"recordings": 7}}),
    )
    .await;
    let token = jwt(
        json!({"alg": "HS256", "typ": "JWT"}),
        json!({"sub": "cust-42", "email": "ada@example.com", "name": "Ada Lovelace",
            "aud": id, "exp": now() + 600, "unverified": "ignored"}),
        secret.as_bytes(),
    );
    let r = open(&app, &id, Some(&token)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let session = r.json::<Value>().await.unwrap()["session_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let sentence = "My order arrived broken and I would like a replacement please.";
    let audio = webm(sentence);
    // Cut at arbitrary bytes, as MediaRecorder's timeslices fall.
    let cuts = [0, audio.len() / 3 + 7, 2 * audio.len() / 3 - 5, audio.len()];
    assert_eq!(
        submit(&app, &id, &session).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing recorded yet"
    );
    let (status, v) = put_chunk(&app, &id, &session, 1, audio[cuts[1]..cuts[2]].to_vec()).await;
    assert_eq!(status, StatusCode::CONFLICT, "out of order: {v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("is 0"),
        "{v}"
    );
    let (status, _) = put_chunk(&app, &id, "mvv_not-a-token", 0, audio[..10].to_vec()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for seq in 0..3 {
        let (status, v) = put_chunk(
            &app,
            &id,
            &session,
            seq as u32,
            audio[cuts[seq]..cuts[seq + 1]].to_vec(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["next_seq"], seq + 1);
    }
    let (status, _) = put_chunk(&app, &id, &session, 2, audio[..10].to_vec()).await;
    assert_eq!(status, StatusCode::CONFLICT, "a repeated position");
    assert_eq!(submit(&app, &id, &session).await, StatusCode::ACCEPTED);
    assert_eq!(
        submit(&app, &id, &session).await,
        StatusCode::ACCEPTED,
        "a repeat answers the same"
    );
    let (status, _) = put_chunk(&app, &id, &session, 3, audio[..10].to_vec()).await;
    assert_eq!(status, StatusCode::CONFLICT, "after submission");

    // The owner sees a meeting with the visitor's words under `visitor`.
    let start = Instant::now();
    let meeting = loop {
        let (_, page) = call(&app, &owner, Method::GET, "/api/v1/meetings", None).await;
        if let Some(m) = page["meetings"].as_array().unwrap().first() {
            let id = m["id"].as_str().unwrap().to_owned();
            let (_, t) = call(
                &app,
                &owner,
                Method::GET,
                &format!("/api/v1/meetings/{id}/transcript"),
                None,
            )
            .await;
            if t["segments"].as_array().is_some_and(|s| !s.is_empty()) {
                break (id, t);
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no transcript: {page}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let (meeting, transcript) = meeting;
    let segments = transcript["segments"].as_array().unwrap();
    assert!(
        segments.iter().all(|s| s["speaker"] == "visitor"),
        "{transcript:#}"
    );
    let heard: String = segments
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    for word in ["order", "broken", "replacement"] {
        assert!(heard.contains(word), "{word} not in {heard:?}");
    }
    let (_, m) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/meetings/{meeting}"),
        None,
    )
    .await;
    assert_eq!(m["widget"]["widget_id"], id.as_str(), "{m:#}");
    assert_eq!(m["widget"]["visitor"]["sub"], "cust-42");
    assert_eq!(m["widget"]["visitor"]["email"], "ada@example.com");
    assert!(m["widget"]["visitor"].get("unverified").is_none());
    assert_eq!(m["participants"][0]["name"], "Ada Lovelace");
    assert!(
        m["title"].as_str().unwrap().starts_with("Support line"),
        "{m}"
    );
    let (_, r) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/meetings/{meeting}/retention"),
        None,
    )
    .await;
    assert!(
        r.to_string().contains(r#""source":"meeting""#),
        "the widget's window is the meeting's own: {r}"
    );
    let (_, list) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/meetings/{meeting}/recordings"),
        None,
    )
    .await;
    assert_eq!(list["recordings"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["recordings"][0]["speaker"], "visitor");

    // Nothing of the session is left: no chunk blob, no session row.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM widget_sessions").await, 0);
    let left: Vec<String> = app
        .blobs()
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.key)
        .filter(|k| k.contains("widget_sessions"))
        .collect();
    assert!(left.is_empty(), "chunks left: {left:?}");
}

/// The blobs of widget sessions, and the session rows.
async fn leftovers(app: &TestApp) -> (usize, i64) {
    let blobs = app
        .blobs()
        .list("")
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.key.contains("widget_sessions"))
        .count();
    (
        blobs,
        count(app, "SELECT COUNT(*) FROM widget_sessions").await,
    )
}

#[tokio::test]
async fn what_is_not_audio_abandoned_or_deleted_with_its_widget_leaves_nothing() {
    let app = TestApp::spawn_with(|c| c.widgets.session_ttl_secs = 1).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let (id, _) = widget(&app, &owner, json!({})).await;
    let token = |r: Value| r["session_token"].as_str().unwrap().to_owned();

    // Not audio: submitted, dropped by the job with its chunks, no meeting made.
    let s = token(open(&app, &id, None).await.json().await.unwrap());
    let (status, _) = put_chunk(&app, &id, &s, 0, b"<html>not audio</html>".to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(submit(&app, &id, &s).await, StatusCode::ACCEPTED);
    let start = Instant::now();
    while leftovers(&app).await != (0, 0) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{:?}",
            leftovers(&app).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, page) = call(&app, &owner, Method::GET, "/api/v1/meetings", None).await;
    assert_eq!(page["meetings"].as_array().unwrap().len(), 0, "{page}");

    // Two uploads of one position at once: one is counted, and its bytes are what is stored.
    let s = token(open(&app, &id, None).await.json().await.unwrap());
    let (small, large) = tokio::join!(
        put_chunk(&app, &id, &s, 0, vec![1; 100]),
        put_chunk(&app, &id, &s, 0, vec![2; 5000])
    );
    let mut statuses = [small.0, large.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let counted = count(&app, "SELECT bytes FROM widget_sessions").await;
    let stored: Vec<u64> = app
        .blobs()
        .list("")
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.key.contains("widget_sessions"))
        .map(|b| b.size)
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let winner = if small.0 == StatusCode::OK { 100 } else { 5000 };
    assert_eq!(counted, winner);
    assert!(
        stored[0] >= winner as u64 && stored[0] < winner as u64 + 200,
        "the counted chunk is the stored one: {stored:?} for {winner}"
    );
    assert_eq!(
        app.core().sweep_widget_sessions_for_tests().await.unwrap(),
        0
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        app.core().sweep_widget_sessions_for_tests().await.unwrap(),
        1
    );
    assert_eq!(leftovers(&app).await, (0, 0));

    // Abandoned: expired, refused, swept with its chunks.
    let s = token(open(&app, &id, None).await.json().await.unwrap());
    let (status, _) = put_chunk(&app, &id, &s, 0, vec![1; 100]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(leftovers(&app).await, (1, 1));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, v) = put_chunk(&app, &id, &s, 1, vec![1; 100]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(
        app.core().sweep_widget_sessions_for_tests().await.unwrap(),
        1
    );
    assert_eq!(leftovers(&app).await, (0, 0));

    // Over the widget's length: refused, nothing counted.
    let (status, _) = call(
        &app,
        &owner,
        Method::PATCH,
        &format!("/api/v1/widgets/{id}"),
        Some(json!({"max_seconds": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let s = token(open(&app, &id, None).await.json().await.unwrap());
    let (status, v) = put_chunk(&app, &id, &s, 0, vec![1; 200_000]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // Deleted with its widget.
    let (status, _) = put_chunk(&app, &id, &s, 0, vec![1; 100]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(leftovers(&app).await, (1, 1));
    let (status, _) = call(
        &app,
        &owner,
        Method::DELETE,
        &format!("/api/v1/widgets/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(leftovers(&app).await, (0, 0));
}

#[tokio::test]
async fn an_orgs_widgets_take_at_most_their_hourly_share_of_submissions() {
    let app = TestApp::spawn_with(|c| c.widgets.submissions_per_org_hour = 1).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let (id, _) = widget(&app, &owner, json!({})).await;
    let (_, v) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/widgets/{id}"),
        None,
    )
    .await;
    assert!(v["snippet"].is_null(), "no public URL, no snippet: {v}");
    let mut answers = Vec::new();
    for _ in 0..2 {
        let r: Value = open(&app, &id, None).await.json().await.unwrap();
        let s = r["session_token"].as_str().unwrap().to_owned();
        let (status, _) = put_chunk(&app, &id, &s, 0, webm("A short note.")).await;
        assert_eq!(status, StatusCode::OK);
        answers.push(submit(&app, &id, &s).await);
    }
    assert_eq!(
        answers,
        [StatusCode::ACCEPTED, StatusCode::TOO_MANY_REQUESTS]
    );
}
