//! A stored provider key is used only on behalf of the user who owns it and configured its use
//! (security review, finding 2): a member with `meetings:write` cannot point the owner's
//! meeting, and the owner's key, at a URL of their choice; provider URLs follow the outbound
//! rules; a job never resolves another user's secret, and its errors name none.

use std::time::Duration;

use meetvault_test_support::media::wav_with_payload;
use meetvault_test_support::{Cred, Session, TestApp, json_str};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::transcription::{meeting, upload};

/// A loopback listener standing in for the attacker's server: counts every connection.
async fn listener() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = l.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (addr.to_string(), hits)
}

async fn store_secret(app: &TestApp, s: &Session, name: &str, value: &str) {
    let r = app
        .send(
            &Cred::Session(s.clone()),
            Method::PUT,
            &format!("/api/v1/me/secrets/{name}"),
            Some(json!({"value": value})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_member_cannot_send_the_owners_provider_key_to_their_own_url() {
    let (evil, hits) = listener().await;
    // Even an allow-listed host does not make someone else's key usable.
    let allowed = evil.clone();
    let app = TestApp::spawn_with(|c| c.outbound.allow_hosts = vec![allowed]).await;
    let owner = app.register("owner@example.com", "Acme").await;
    store_secret(&app, &owner, "openai", "sk-owner-secret-value").await;
    let id = meeting(&app, &owner, json!({"title": "Board meeting"})).await;
    let member = app.user_with_role(&owner, "member").await;

    // The attack: the member points the owner's meeting at their server with the owner's key.
    let r = app
        .send(
            &Cred::Session(member.clone()),
            Method::PATCH,
            &format!("/api/v1/meetings/{id}"),
            Some(json!({"transcription": {"provider": "openai", "base_url": format!("http://{evil}"), "secret": "openai"}})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body = r.text().await.unwrap();
    assert!(body.contains("owner"), "{body}");
    let got: Value = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            &format!("/api/v1/meetings/{id}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["transcription"], json!({}), "nothing changed: {got}");

    // Naming a secret the member does not have (on their own meeting) says only that.
    let mine = meeting(&app, &member, json!({"title": "Mine"})).await;
    let r = app
        .send(
            &Cred::Session(member.clone()),
            Method::PATCH,
            &format!("/api/v1/meetings/{mine}"),
            Some(json!({"transcription": {"provider": "openai", "base_url": format!("http://{evil}"), "secret": "openai"}})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("transcription.secret"));

    // A member may still choose the local engine for the owner's meeting: no key is involved.
    let r = app
        .send(
            &Cred::Session(member.clone()),
            Method::PATCH,
            &format!("/api/v1/meetings/{id}"),
            Some(json!({"transcription": {"provider": "local", "beam_size": 2}})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_job_never_uses_a_key_its_owner_did_not_configure() {
    let (evil, hits) = listener().await;
    let allowed = evil.clone();
    let app = TestApp::spawn_with(|c| {
        c.outbound.allow_hosts = vec![allowed];
        c.jobs.max_attempts = 1;
    })
    .await;
    let owner = app.register("owner@example.com", "Acme").await;
    store_secret(&app, &owner, "openai", "sk-owner-secret-value").await;
    let id = meeting(&app, &owner, json!({"title": "Board meeting"})).await;
    // Settings written before the rule existed (or by hand): a secret, but no configurer.
    let raw =
        json!({"provider": "openai", "base_url": format!("http://{evil}"), "secret": "openai"});
    let uuid = id.trim_start_matches("mtg_");
    let uuid = uuid::Uuid::parse_str(uuid).unwrap();
    let sql = match app.config.database_url().expose().starts_with("sqlite") {
        true => format!(
            "UPDATE meetings SET transcription = '{raw}' WHERE id = x'{}'",
            uuid.simple()
        ),
        false => format!("UPDATE meetings SET transcription = '{raw}' WHERE id = '{uuid}'"),
    };
    meetvault_test_support::execute(app.db(), &sql).await;

    let r = upload(
        &app,
        &owner,
        &id,
        "?transcribe=true",
        "audio/wav",
        wav_with_payload(&[0u8; 32_000]),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let job = json_str(r, "job_id").await;
    let mut last = Value::Null;
    for _ in 0..200 {
        last = app
            .send(
                &Cred::Session(owner.clone()),
                Method::GET,
                &format!("/api/v1/jobs/{job}"),
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        if last["state"] == "dead" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["state"], "dead", "{last}");
    let error = last["error"].as_str().unwrap();
    assert!(error.contains("not set up by its owner"), "{error}");
    assert!(
        !error.contains("openai`") && !error.contains("sk-owner"),
        "{error}"
    );
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing was sent anywhere"
    );
}

#[tokio::test]
async fn provider_urls_must_be_https_to_public_hosts_unless_the_operator_allows_them() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    store_secret(&app, &owner, "openai", "sk-owner-secret-value").await;
    for url in [
        "http://api.example.com",
        "https://127.0.0.1:8443",
        "https://169.254.169.254/latest",
        "https://10.0.0.7",
        "https://[::1]:9000",
        "https://localhost",
        "https://metadata.google.internal",
    ] {
        let r = app
            .send(
                &Cred::Session(owner.clone()),
                Method::POST,
                "/api/v1/meetings",
                Some(json!({"title": "x", "transcription": {"provider": "openai", "base_url": url, "secret": "openai"}})),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("transcription.base_url"),
            "{url}: {body}"
        );
    }
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "x", "transcription": {"provider": "openai", "base_url": "https://api.openai.com", "secret": "openai"}})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let view: Value = r.json().await.unwrap();
    assert_eq!(
        view["transcription"]["configured_by"], owner.user_id,
        "{view}"
    );
}
