//! Credential and record lifecycles: idle sessions end, raised Argon2id parameters re-hash at
//! the next login, an admin's MFA reset ends the member's sessions, the audit list pages by
//! cursor, and erasing a subject's audit key removes their personal data while every proof and
//! checkpoint stays valid.

use meetvault_test_support::{Cred, PASSWORD, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::meetvault;

async fn status(app: &TestApp, cred: &Cred, method: Method, path: &str) -> StatusCode {
    app.send(cred, method, path, None).await.status()
}

#[tokio::test]
async fn an_idle_session_ends() {
    let app = TestApp::spawn_with(|c| c.auth.session_idle_timeout_secs = 1).await;
    let s = Cred::Session(app.register("idle@example.com", "O").await);
    assert_eq!(
        status(&app, &s, Method::GET, "/api/v1/me").await,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        status(&app, &s, Method::GET, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn raised_argon2_parameters_rehash_the_password_at_the_next_login() {
    let app = TestApp::spawn().await;
    let s = app.register("rehash@example.com", "O").await;
    let stored = |app: &TestApp| {
        let db = app.db().clone();
        async move {
            let user = db
                .user_by_email("rehash@example.com")
                .await
                .unwrap()
                .unwrap();
            user.password_hash
        }
    };
    assert!(
        stored(&app)
            .await
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    let stronger = app
        .spawn_sibling(|c| c.auth.argon2_memory_kib = 24576)
        .await;
    assert_eq!(
        stronger.login(&s.email, PASSWORD).await.status(),
        StatusCode::OK
    );
    assert!(
        stored(&app)
            .await
            .starts_with("$argon2id$v=19$m=24576,t=2,p=1$")
    );
    assert_eq!(
        stronger.login(&s.email, PASSWORD).await.status(),
        StatusCode::OK,
        "the new hash verifies"
    );
}

#[tokio::test]
async fn an_mfa_reset_by_an_admin_ends_every_session_of_the_member() {
    let app = TestApp::spawn().await;
    let owner = app.register("reset-owner@example.com", "O").await;
    let member = app.user_with_role(&owner, "member").await;
    let path = format!("/api/v1/members/{}/mfa", member.user_id);
    let owner = Cred::Session(owner);
    assert_eq!(
        status(&app, &owner, Method::DELETE, &path).await,
        StatusCode::NO_CONTENT
    );
    let member = Cred::Session(member);
    assert_eq!(
        status(&app, &member, Method::GET, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_pages_by_cursor_and_erasure_keeps_every_proof_valid() {
    // Every entry signs a checkpoint, so the proof below has one to stand on.
    let app = TestApp::spawn_with(|c| c.audit.checkpoint_every = 1).await;
    let owner = app.register("pages@example.com", "O").await;
    let cred = Cred::Session(owner.clone());
    for name in ["A", "B", "C"] {
        let body = serde_json::json!({"name": name});
        app.send(&cred, Method::POST, "/api/v1/workspaces", Some(body))
            .await;
    }
    let page = |cursor: Option<i64>| {
        let path = match cursor {
            Some(c) => format!("/api/v1/audit?limit=2&cursor={c}"),
            None => "/api/v1/audit?limit=2".to_owned(),
        };
        let cred = cred.clone();
        let app = &app;
        async move {
            app.send(&cred, Method::GET, &path, None)
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let mut seqs = Vec::new();
    let mut cursor = None;
    loop {
        let p = page(cursor).await;
        seqs.extend(
            p["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap()),
        );
        match p["next_cursor"].as_i64() {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        seqs,
        vec![1, 2, 3, 4],
        "register + three workspaces, in order, each once"
    );
    let first = page(None).await;
    assert!(
        first["entries"][0]["ip"].is_string(),
        "personal data is readable before erasure: {first}"
    );

    let user: meetvault_core::ids::UserId = owner.user_id.parse().unwrap();
    assert!(app.core().audit_log().erase_subject(user).await.unwrap());
    let after = page(None).await;
    assert!(after["entries"][0]["ip"].is_null(), "erased: {after}");
    assert!(after["entries"][0]["user_agent"].is_null());
    assert_eq!(
        after["entries"][0]["leaf_hash"],
        first["entries"][0]["leaf_hash"]
    );
    let proof = app
        .send(&cred, Method::GET, "/api/v1/audit/proof/1", None)
        .await;
    assert_eq!(proof.status(), StatusCode::OK);
    let out = meetvault()
        .args(["--data-dir", app.config.data_dir.to_str().unwrap()])
        .args(["--database-url", app.config.database_url().expose()])
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
