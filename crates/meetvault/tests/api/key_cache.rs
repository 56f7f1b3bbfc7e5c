//! The cache of unwrapped keys on the hot path (issue 22) keeps the encryption promises, across
//! two instances sharing a database: a key is found only by the wrapped row read in the same
//! request, so a crypto-shred on one instance leaves nothing any instance can read the meeting
//! with, and a switch to zero-access leaves nothing that reads it without the owner's unlocked
//! session — not from another instance's warm cache, not after the owner signs out.

use meetvault_test_support::{Cred, PASSWORD, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

async fn create(app: &TestApp, cred: &Cred, title: &str) -> String {
    let r = app
        .send(
            cred,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": title})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// GET `path`: its status and body as text.
async fn read(app: &TestApp, cred: &Cred, path: &str) -> (StatusCode, String) {
    let r = app.send(cred, Method::GET, path, None).await;
    (r.status(), r.text().await.unwrap())
}

fn uuid_of(id: &str) -> Uuid {
    id.split_once('_').unwrap().1.parse().unwrap()
}

#[tokio::test]
async fn cached_keys_never_outlive_a_shred_or_a_switch_to_zero_access() {
    let a = TestApp::spawn().await;
    let b = a.spawn_sibling(|_| {}).await;
    let owner = a.register("owner@cache.example", "Cache").await;
    let me = Cred::Session(owner.clone());
    let admin = Cred::Session(a.user_with_role(&owner, "admin").await);
    let own_key = Cred::Bearer(a.api_key(&owner, &["meetings:read"]).await.0);
    let shredded = create(&a, &me, "Shredded plan").await;
    let quiet = create(&a, &me, "Quiet plan").await;
    // Both instances read both meetings (one and the list), twice: whatever they keep is warm.
    for app in [&a, &b] {
        for _ in 0..2 {
            for id in [&shredded, &quiet] {
                let (status, body) = read(app, &own_key, &format!("/api/v1/meetings/{id}")).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
            let (status, body) = read(app, &admin, "/api/v1/meetings").await;
            assert_eq!(status, StatusCode::OK);
            assert!(body.contains("Shredded plan") && body.contains("Quiet plan"));
        }
        let (users, meetings) = app.core().vault().cached_key_count();
        assert!(users >= 1 && meetings >= 2, "{users} {meetings}");
    }

    // A crypto-shred (what a deletion does first) through A's database: B, warm, cannot read
    // the meeting from anything it holds.
    let destroyed = a
        .db()
        .destroy_meeting_keys(uuid_of(&owner.org_id), uuid_of(&shredded))
        .await
        .unwrap();
    assert!(destroyed >= 1);
    for app in [&b, &a] {
        let (status, body) = read(app, &own_key, &format!("/api/v1/meetings/{shredded}")).await;
        assert_ne!(status, StatusCode::OK, "{body}");
        assert!(!body.contains("Shredded plan"), "{body}");
        let (_, body) = read(app, &admin, "/api/v1/meetings").await;
        assert!(!body.contains("Shredded plan"), "{body}");
    }

    // Zero-access turned on at A: B's warm cache does not read the owner's meeting — the
    // owner's own key is told it is locked (the session that unlocked it is on A), an admin
    // that it is the owner's alone.
    let r = a
        .send(
            &me,
            Method::POST,
            "/api/v1/me/encryption/zero-access",
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (status, body) = read(&b, &own_key, &format!("/api/v1/meetings/{quiet}")).await;
    assert_eq!(status, StatusCode::LOCKED, "{body}");
    assert!(!body.contains("Quiet plan"));
    let (status, body) = read(&b, &admin, &format!("/api/v1/meetings/{quiet}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // On A, while the owner's session is unlocked there, the owner's key reads it; once the
    // owner signs out, nothing A holds does.
    let (status, body) = read(&a, &own_key, &format!("/api/v1/meetings/{quiet}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Quiet plan"));
    let r = a.send(&me, Method::POST, "/api/v1/auth/logout", None).await;
    assert!(r.status().is_success(), "{}", r.status());
    let (status, body) = read(&a, &own_key, &format!("/api/v1/meetings/{quiet}")).await;
    assert_eq!(status, StatusCode::LOCKED, "{body}");
    assert!(!body.contains("Quiet plan"));
}
