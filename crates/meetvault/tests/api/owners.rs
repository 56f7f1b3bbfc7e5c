//! Owners through the API: only an owner acts on an owner's account (role, removal, two-factor
//! reset, workspace roles, keys), and an organization keeps an owner even when two owners step
//! down or remove each other at the same moment.

use meetvault_auth::totp::{TotpSecret, code_at};
use meetvault_test_support::{Cred, PASSWORD, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn status_and_code(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"].as_str().unwrap_or_default();
    (status, code.to_owned())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Turns on TOTP for `s`'s account through the API.
async fn enrol_totp(app: &TestApp, s: &Session) {
    let me = Cred::Session(s.clone());
    let enrol: Value = app
        .send(&me, Method::POST, "/api/v1/auth/mfa/totp", None)
        .await
        .json()
        .await
        .unwrap();
    let secret = TotpSecret::from_base32(enrol["secret"].as_str().unwrap()).unwrap();
    let r = app
        .send(
            &me,
            Method::POST,
            "/api/v1/auth/mfa/totp/confirm",
            Some(json!({"code": code_at(&secret, now())})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn an_admin_cannot_reset_an_owners_two_factor_or_touch_their_account_but_an_owner_can() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "O").await;
    enrol_totp(&app, &owner).await;
    let admin = app.user_with_role(&owner, "admin").await;
    let member = app.user_with_role(&owner, "member").await;
    let as_admin = Cred::Session(admin.clone());
    let (owner_key, owner_key_id) = app.api_key(&owner, &["meetings:read"]).await;
    let workspace = app
        .send(&as_admin, Method::GET, "/api/v1/workspaces", None)
        .await
        .json::<Value>()
        .await
        .unwrap()["workspaces"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let attempts = [
        (
            Method::DELETE,
            format!("/api/v1/members/{}/mfa", owner.user_id),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/workspaces/{workspace}/members/{}", owner.user_id),
            Some(json!({"role": "viewer"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/members/{}", owner.user_id),
            Some(json!({"role": "viewer"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/members/{}", owner.user_id),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/api-keys/{owner_key_id}"),
            None,
        ),
    ];
    for (method, path, body) in attempts {
        let r = app.send(&as_admin, method.clone(), &path, body).await;
        assert_eq!(
            status_and_code(r).await,
            (StatusCode::FORBIDDEN, "not_allowed".to_owned()),
            "an admin's {method} {path}"
        );
    }
    let (status, code) = status_and_code(app.login(&owner.email, PASSWORD).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "mfa_required"),
        "the owner's second factor is still asked for"
    );
    let r = app
        .send(
            &Cred::Bearer(owner_key.clone()),
            Method::GET,
            "/api/v1/meetings",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "the owner's key still works");

    // Admins still manage everyone else.
    let r = app
        .send(
            &as_admin,
            Method::DELETE,
            &format!("/api/v1/members/{}/mfa", member.user_id),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .send(
            &as_admin,
            Method::PUT,
            &format!("/api/v1/workspaces/{workspace}/members/{}", member.user_id),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Another owner may reset an owner's second factor (a lost device).
    let second = app.user_with_role(&owner, "owner").await;
    let r = app
        .send(
            &Cred::Session(second),
            Method::DELETE,
            &format!("/api/v1/members/{}/mfa", owner.user_id),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.login(&owner.email, PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn owners_of(app: &TestApp, owner: &Session) -> Vec<String> {
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            "/api/v1/members",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    body["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "owner")
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Rounds of each race. In trial runs an unguarded check-then-write lost a round within the
/// first 16 on SQLite, and the guarded statement without PostgreSQL's org-row lock within the
/// first 6; with the guard, no round in 300 was lost.
const ROUNDS: usize = 30;

async fn demote_self(app: &TestApp, s: &Session) -> StatusCode {
    app.send(
        &Cred::Session(s.clone()),
        Method::PATCH,
        &format!("/api/v1/members/{}", s.user_id),
        Some(json!({"role": "admin"})),
    )
    .await
    .status()
}

async fn remove(app: &TestApp, by: &Session, whom: &Session) -> StatusCode {
    app.send(
        &Cred::Session(by.clone()),
        Method::DELETE,
        &format!("/api/v1/members/{}", whom.user_id),
        None,
    )
    .await
    .status()
}

/// Every round invites and signs in a new owner from one IP: lift the per-IP limit on accepting
/// invitations (10 per 5 minutes by default), which is not the subject here.
async fn spawn_for_races() -> TestApp {
    TestApp::spawn_with(|c| c.rate_limit.attempts = 1000).await
}

#[tokio::test]
async fn two_owners_stepping_down_at_the_same_moment_leave_exactly_one_owner() {
    let app = spawn_for_races().await;
    let mut owner = app.register("first@example.com", "O").await;
    for round in 0..ROUNDS {
        let other = app.user_with_role(&owner, "owner").await;
        let (a, b) = tokio::join!(demote_self(&app, &owner), demote_self(&app, &other));
        let mut statuses = [a, b];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::FORBIDDEN],
            "round {round}: exactly one steps down"
        );
        if a == StatusCode::OK {
            owner = other;
        }
        assert_eq!(
            owners_of(&app, &owner).await,
            vec![owner.user_id.clone()],
            "round {round}: the org keeps one owner"
        );
    }
}

#[tokio::test]
async fn two_owners_removing_each_other_at_the_same_moment_leave_exactly_one_owner() {
    let app = spawn_for_races().await;
    let mut owner = app.register("first@example.com", "O").await;
    for round in 0..ROUNDS {
        let other = app.user_with_role(&owner, "owner").await;
        let (a, b) = tokio::join!(remove(&app, &owner, &other), remove(&app, &other, &owner));
        let removed = [a, b]
            .iter()
            .filter(|s| **s == StatusCode::NO_CONTENT)
            .count();
        assert_eq!(removed, 1, "round {round}: exactly one removal ({a}, {b})");
        // The loser is refused as the last owner, or, when already removed, as no one at all.
        for s in [a, b] {
            assert!(
                [
                    StatusCode::NO_CONTENT,
                    StatusCode::FORBIDDEN,
                    StatusCode::UNAUTHORIZED
                ]
                .contains(&s),
                "round {round}: {s}"
            );
        }
        if b == StatusCode::NO_CONTENT {
            owner = other;
        }
        assert_eq!(
            owners_of(&app, &owner).await,
            vec![owner.user_id.clone()],
            "round {round}: the org keeps one owner"
        );
    }
}
