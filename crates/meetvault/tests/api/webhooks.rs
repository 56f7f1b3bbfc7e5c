//! Webhooks end to end: endpoints managed over the API, real deliveries to a loopback receiver
//! (reached through the operator allow-list only) verified by the official Standard Webhooks
//! library from PyPI, retries on the schedule with every attempt logged, 410 and days of
//! failure disabling an endpoint, secret rotation, redelivery and tests, URLs that reach inside
//! refused at registration with no connection made and checked again at delivery, and a
//! crashed instance's deliveries taken over by another.

use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use meetvault_test_support::receiver::{Received, Receiver};
use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// An app whose allow-list reaches 127.0.0.1 (where receivers listen), retrying fast.
pub(crate) async fn app_with(adjust: impl FnOnce(&mut meetvault_config::Config)) -> TestApp {
    TestApp::spawn_with(|c| {
        c.outbound.allow_hosts = vec!["127.0.0.1/32".into()];
        c.webhooks.retry_delays_ms = vec![100; 7];
        c.webhooks.poll_ms = 50;
        adjust(c);
    })
    .await
}

/// Registers an endpoint; its id and secret.
pub(crate) async fn create(app: &TestApp, s: &Session, body: Value) -> (String, String) {
    let r = app
        .send(
            &Cred::Session(s.clone()),
            Method::POST,
            "/api/v1/webhooks",
            Some(body),
        )
        .await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{v:#}");
    (
        v["webhook"]["id"].as_str().unwrap().to_owned(),
        v["secret"].as_str().unwrap().to_owned(),
    )
}

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

pub(crate) async fn new_meeting(app: &TestApp, s: &Session, title: &str) -> String {
    let (status, v) = call(
        app,
        s,
        Method::POST,
        "/api/v1/meetings",
        Some(json!({"title": title})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

/// The delivery log of an endpoint, newest first.
pub(crate) async fn deliveries(app: &TestApp, s: &Session, hook: &str) -> Vec<Value> {
    let (status, v) = call(
        app,
        s,
        Method::GET,
        &format!("/api/v1/webhooks/{hook}/deliveries"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["deliveries"].as_array().unwrap().clone()
}

/// Polls `GET path` (which must answer 200) until `done` holds; panics after 20 s.
pub(crate) async fn get_until(
    app: &TestApp,
    s: &Session,
    path: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, v) = call(app, s, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        if done(&v) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never reached the state: {v:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls a delivery until `done` holds (panics after 20 s).
pub(crate) async fn delivery_until(
    app: &TestApp,
    s: &Session,
    hook: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    get_until(
        app,
        s,
        &format!("/api/v1/webhooks/{hook}/deliveries/{id}"),
        done,
    )
    .await
}

/// Polls the endpoint until `done` holds.
pub(crate) async fn webhook_until(
    app: &TestApp,
    s: &Session,
    hook: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    get_until(app, s, &format!("/api/v1/webhooks/{hook}"), done).await
}

pub(crate) fn types(got: &[Received]) -> Vec<String> {
    got.iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect()
}

/// The official `standardwebhooks` library (PyPI, `scripts/standardwebhooks.sh`) verifies a
/// received request with `secret`, its clock moved `shift_secs` ahead: `Ok` or its refusal.
fn peer_verify(r: &Received, body: &[u8], secret: &str, shift_secs: i64) -> Result<(), String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("scripts/standardwebhooks.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .expect("running scripts/standardwebhooks.sh");
    assert!(
        out.status.success(),
        "the Standard Webhooks peer library could not be installed (scripts/standardwebhooks.sh needs PyPI): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let headers: serde_json::Map<String, Value> = r
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), Value::String(v.clone())))
        .collect();
    let input = json!({
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "headers": headers,
        "secret": secret,
        "shift": shift_secs,
    });
    let program = r#"
import sys, json, base64
from datetime import datetime, timedelta
import standardwebhooks.webhooks as w
req = json.load(sys.stdin)
if req["shift"]:
    real = datetime
    class Shifted(datetime):
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) + timedelta(seconds=req["shift"])
    w.datetime = Shifted
try:
    w.Webhook(req["secret"]).verify(base64.b64decode(req["body"]), req["headers"])
    print("ok")
except w.WebhookVerificationError as e:
    print("refused:", e)
"#;
    let mut child = Command::new(python)
        .args(["-c", program])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the peer library");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the peer library crashed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    if said == "ok" { Ok(()) } else { Err(said) }
}

#[tokio::test]
async fn endpoints_are_managed_and_their_secret_is_shown_once() {
    let app = app_with(|c| c.auth.open_registration = true).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    let url = receiver.url("/hooks/acme?token=abc");
    let (id, secret) = create(
        &app,
        &owner,
        json!({"url": url, "description": "CRM", "event_types": ["bot.done", "meeting.created"]}),
    )
    .await;
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );

    let (status, one) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/webhooks/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["url"], url);
    assert_eq!(one["event_types"], json!(["bot.done", "meeting.created"]));
    assert_eq!(one["enabled"], true);
    assert_eq!(one["signing"], "hmac");
    let (_, list) = call(&app, &owner, Method::GET, "/api/v1/webhooks", None).await;
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 1);
    let raw = &secret["whsec_".len()..];
    for text in [one.to_string(), list.to_string()] {
        assert!(!text.contains(raw), "the secret came back: {text}");
    }

    // Ed25519: the answer names the public key receivers verify with.
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": receiver.url("/ed"), "signing": "ed25519"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let ed: Value = r.json().await.unwrap();
    // The signing key never leaves the server: no secret in the answer, only the public key.
    assert!(ed.get("secret").is_none(), "{ed:#}");
    assert!(
        ed["webhook"]["public_key"]
            .as_str()
            .unwrap()
            .starts_with("whpk_")
    );

    // Changes: absent fields stay; bad ones are 422s naming the field and change nothing.
    let (status, patched) = call(
        &app,
        &owner,
        Method::PATCH,
        &format!("/api/v1/webhooks/{id}"),
        Some(json!({"description": "CRM sync", "enabled": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["description"], "CRM sync");
    assert_eq!(patched["enabled"], false);
    assert_eq!(patched["url"], url);
    for (body, field) in [
        (json!({"event_types": ["bot.exploded"]}), "event_types"),
        (json!({"include_content": true}), "include_content"),
        (json!({"url": "ftp://example.com/"}), "url"),
        (json!({"url": "https://user:pw@example.com/"}), "url"),
        (json!({"url": "http://10.0.0.8/hook"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"description": "x".repeat(501)}), "description"),
        (
            json!({"workspace_id": "wsp_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f"}),
            "workspace_id",
        ),
    ] {
        let (status, v) = call(
            &app,
            &owner,
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert!(v.to_string().contains(field), "{body}: {v}");
    }
    let (_, again) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/webhooks/{id}"),
        None,
    )
    .await;
    assert_eq!(again["url"], url);
    assert_eq!(again["description"], "CRM sync");
    let (status, _) = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"url": url, "nonsense": 1})),
    )
    .await;
    assert!(status.is_client_error());

    // Another org sees none of it.
    let other = app.register("other@example.com", "Other").await;
    let (status, _) = call(
        &app,
        &other,
        Method::GET,
        &format!("/api/v1/webhooks/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, theirs) = call(&app, &other, Method::GET, "/api/v1/webhooks", None).await;
    assert_eq!(theirs["webhooks"], json!([]));

    let (status, _) = call(
        &app,
        &owner,
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/webhooks/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Audited, naming the endpoint.
    let (_, audit) = call(
        &app,
        &owner,
        Method::GET,
        "/api/v1/audit?action=webhook.create",
        None,
    )
    .await;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 2, "{audit:#}");
}

#[tokio::test]
async fn deliveries_verify_with_the_official_standard_webhooks_library() {
    let app = app_with(|_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    let (hook, secret) = create(&app, &owner, json!({"url": receiver.url("/hook")})).await;
    let (ed_hook, _) = {
        let r = app
            .send(&Cred::Session(owner.clone()), Method::POST, "/api/v1/webhooks", Some(json!({"url": receiver.url("/ed"), "signing": "ed25519", "event_types": ["meeting.created"]})))
            .await;
        let v: Value = r.json().await.unwrap();
        (v["webhook"]["public_key"].as_str().unwrap().to_owned(), ())
    };

    let meeting = new_meeting(&app, &owner, "Quarterly planning").await;
    let (status, _) = call(
        &app,
        &owner,
        Method::PATCH,
        &format!("/api/v1/meetings/{meeting}"),
        Some(json!({"title": "Q3 planning"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // (A deletion takes the meeting's earlier events with it, delivered or not: wait first.)
    receiver.wait_for(3, WAIT).await;
    let (status, certificate) = call(
        &app,
        &owner,
        Method::DELETE,
        &format!("/api/v1/meetings/{meeting}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let certificate_id = certificate["certificate"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let got = receiver.wait_for(4, WAIT).await;
    let to_hook: Vec<&Received> = got.iter().filter(|r| r.path == "/hook").collect();
    let to_ed: Vec<&Received> = got.iter().filter(|r| r.path == "/ed").collect();
    assert_eq!(
        to_ed.len(),
        1,
        "the Ed25519 endpoint hears only meeting.created"
    );
    // In event order, with the Standard Webhooks body; ids and links only, never the title.
    let kinds: Vec<String> = to_hook
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["meeting.created", "meeting.updated", "meeting.deleted"]
    );
    // The deletion names its certificate.
    let deleted = to_hook[2].json();
    assert_eq!(deleted["data"]["certificate_id"], certificate_id.as_str());
    assert_eq!(
        deleted["data"]["links"]["certificate"],
        format!("/api/v1/certificates/{certificate_id}")
    );
    for r in &to_hook {
        let body = r.json();
        assert_eq!(body["data"]["meeting_id"], meeting.as_str());
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
        let text = String::from_utf8_lossy(&r.body);
        assert!(!text.contains("planning"), "content in a webhook: {text}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.header("webhook-id").unwrap().starts_with("msg_"));
    }
    let ids: std::collections::BTreeSet<&str> = to_hook
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "one id per message");

    // The peer library: every real delivery verifies; a changed byte, a wrong secret or a
    // clock 6 minutes later does not.
    for r in &to_hook {
        peer_verify(r, &r.body, &secret, 0)
            .unwrap_or_else(|e| panic!("the peer refused a real delivery: {e}"));
        let mut tampered = r.body.clone();
        let last = tampered.len() - 2;
        tampered[last] ^= 0x01;
        assert!(
            peer_verify(r, &tampered, &secret, 0).is_err(),
            "a changed byte verified"
        );
        let stale = peer_verify(r, &r.body, &secret, 360).unwrap_err();
        assert!(stale.contains("too old"), "{stale}");
        assert!(peer_verify(r, &r.body, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 0).is_err());
    }
    // The Ed25519 endpoint's signature checks with its public key (our verifier: the Python
    // library implements v1 only).
    let r = to_ed[0];
    let key = meetvault_crypto::webhook::VerifyKey::parse(&ed_hook).unwrap();
    let headers = meetvault_crypto::webhook::Headers {
        id: r.header("webhook-id"),
        timestamp: r.header("webhook-timestamp"),
        signature: r.header("webhook-signature"),
    };
    let now = chrono::Utc::now().timestamp();
    assert!(r.header("webhook-signature").unwrap().starts_with("v1a,"));
    assert_eq!(
        meetvault_crypto::webhook::verify(std::slice::from_ref(&key), headers, &r.body, now, 300),
        Ok(())
    );
    assert!(meetvault_crypto::webhook::verify(&[key], headers, b"{}", now, 300).is_err());

    // The log shows each delivery succeeded on its first attempt (written once the receiver's
    // answer is in: the receiver may hold the request a moment before the log does).
    let mut log = deliveries(&app, &owner, &hook).await;
    for _ in 0..200 {
        if log.iter().all(|d| d["state"] != "pending") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        log = deliveries(&app, &owner, &hook).await;
    }
    assert_eq!(log.len(), 3);
    for d in &log {
        assert_eq!(d["state"], "succeeded", "{d:#}");
        assert_eq!(d["attempts"], 1);
        assert_eq!(d["last_status"], 200);
        assert!(d["payload"]["data"].is_object());
    }
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_and_deliveries_can_be_sent_again() {
    let app = app_with(|_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    let (hook, old) = create(&app, &owner, json!({"url": receiver.url("/hook")})).await;
    new_meeting(&app, &owner, "One").await;
    let first = receiver.wait_for(1, WAIT).await.remove(0);
    assert_eq!(
        first
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count(),
        1
    );

    let (status, rotated) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/webhooks/{hook}/rotate-secret"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(
        rotated["webhook"]["previous_secret_until"].is_string(),
        "{rotated:#}"
    );
    new_meeting(&app, &owner, "Two").await;
    let second = receiver.wait_for(2, WAIT).await.remove(1);
    assert_eq!(
        second
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    peer_verify(&second, &second.body, &old, 0)
        .expect("the old secret still verifies during the overlap");
    peer_verify(&second, &second.body, &new, 0).expect("the new secret verifies");

    // Redelivery: the same message (same webhook-id), logged as a redelivery.
    let log = deliveries(&app, &owner, &hook).await;
    let oldest = log.last().unwrap();
    let (status, _) = call(
        &app,
        &owner,
        Method::POST,
        &format!(
            "/api/v1/webhooks/{hook}/deliveries/{}/redeliver",
            oldest["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let again = receiver.wait_for(3, WAIT).await.remove(2);
    assert_eq!(again.header("webhook-id"), first.header("webhook-id"));
    assert_eq!(again.body, first.body);
    let d = delivery_until(&app, &owner, &hook, oldest["id"].as_str().unwrap(), |d| {
        d["attempts"] == 2
    })
    .await;
    assert_eq!(d["attempt_log"][1]["trigger"], "redeliver", "{d:#}");
    let (status, _) = call(
        &app,
        &owner,
        Method::POST,
        &format!(
            "/api/v1/webhooks/{hook}/deliveries/dlv_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f/redeliver"
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_event_appended_here_is_delivered_at_once_not_at_the_next_poll() {
    // An hour between polls: only the append's own wake can deliver within seconds.
    let app = app_with(|c| c.webhooks.poll_ms = 3_600_000).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    create(
        &app,
        &owner,
        json!({"url": receiver.url("/hook"), "event_types": ["meeting.created"]}),
    )
    .await;
    // Past the fan-out's first pass at start-up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (i, title) in ["One", "Two"].iter().enumerate() {
        new_meeting(&app, &owner, title).await;
        let got = receiver.wait_for(i + 1, Duration::from_secs(10)).await;
        assert_eq!(types(&got), vec!["meeting.created"; i + 1]);
    }
}
