//! What a credential may hand out is capped by what it holds itself (security review, finding
//! 3): a narrow API key with `keys:manage` cannot mint a broader, longer-lived or unbound key,
//! and a key with `members:manage` cannot make an admin by role change or invitation.

use meetvault_test_support::{Cred, TestApp, json_str};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn key_with(app: &TestApp, owner: &Cred, body: Value) -> reqwest::Response {
    app.send(owner, Method::POST, "/api/v1/api-keys", Some(body))
        .await
}

#[tokio::test]
async fn a_narrow_key_cannot_mint_a_broader_one() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let (narrow, _) = app.api_key(&owner, &["meetings:read", "keys:manage"]).await;
    let narrow = Cred::Bearer(narrow);

    // The attack: everything an owner holds, asked for by a key that holds two permissions.
    let r = key_with(
        &app,
        &narrow,
        json!({"name": "escalated", "permissions": ["org:manage", "members:manage", "audit:read", "meetings:delete"]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_input", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not held by the credential"),
        "{body}"
    );
    // Nothing was created: the org still has exactly the one key.
    let keys: Value = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            "/api/v1/api-keys",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(keys["api_keys"].as_array().unwrap().len(), 1, "{keys}");

    // What it holds, it may pass on.
    let r = key_with(
        &app,
        &narrow,
        json!({"name": "reader", "permissions": ["meetings:read"]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let reader = json_str(r, "key").await;
    // …and the new key really is that narrow.
    let r = app
        .send(&Cred::Bearer(reader), Method::GET, "/api/v1/audit", None)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_short_lived_key_cannot_mint_one_that_outlives_it() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let soon = chrono::Utc::now() + chrono::Duration::hours(1);
    let r = key_with(
        &app,
        &Cred::Session(owner.clone()),
        json!({"name": "short", "permissions": ["meetings:read", "keys:manage"], "expires_at": soon}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let short = Cred::Bearer(json_str(r, "key").await);

    let later = chrono::Utc::now() + chrono::Duration::days(30);
    let r = key_with(
        &app,
        &short,
        json!({"name": "forever-ish", "permissions": ["meetings:read"], "expires_at": later}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("expires_at"));

    // Without an expiry, the new key inherits the creating key's.
    let r = key_with(
        &app,
        &short,
        json!({"name": "inherits", "permissions": ["meetings:read"]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let expires: chrono::DateTime<chrono::Utc> = body["expires_at"]
        .as_str()
        .expect("the minted key expires")
        .parse()
        .unwrap();
    assert!(expires <= soon, "{expires} must not be after {soon}");
}

#[tokio::test]
async fn a_workspace_bound_key_cannot_mint_an_unbound_one() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let cred = Cred::Session(owner.clone());
    let ws: Value = app
        .send(
            &cred,
            Method::POST,
            "/api/v1/workspaces",
            Some(json!({"name": "Sales"})),
        )
        .await
        .json()
        .await
        .unwrap();
    let r = key_with(
        &app,
        &cred,
        json!({"name": "bound", "permissions": ["meetings:read", "keys:manage"], "workspace_id": ws["id"]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let bound = Cred::Bearer(json_str(r, "key").await);
    // `keys:manage` is organization-level: a key confined to a workspace holds none of it.
    let r = key_with(
        &app,
        &bound,
        json!({"name": "unbound", "permissions": ["meetings:read"]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_members_key_cannot_make_an_admin_by_role_change_or_invitation() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let member = app.user_with_role(&owner, "member").await;
    let (key, _) = app
        .api_key(&owner, &["members:manage", "meetings:read"])
        .await;
    let key = Cred::Bearer(key);

    let r = app
        .send(
            &key,
            Method::PATCH,
            &format!("/api/v1/members/{}", member.user_id),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let members: Value = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            "/api/v1/members",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let still = members
        .as_array()
        .or_else(|| members["members"].as_array())
        .unwrap()
        .iter()
        .find(|m| m["id"] == member.user_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(still["role"], "member", "{still}");

    let r = app
        .send(
            &key,
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"email": "new-admin@example.com", "role": "admin"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A role within what the key holds (a viewer reads meetings) may still be given.
    let r = app
        .send(
            &key,
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"email": "new-viewer@example.com", "role": "viewer"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // The owner's own session is not capped below the owner's role.
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::PATCH,
            &format!("/api/v1/members/{}", member.user_id),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}
