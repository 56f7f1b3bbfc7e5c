//! Finding out who has an account, through the API, must not work: closed registration answers a
//! known and an unknown email alike, inviting another org's user answers like inviting a new
//! email, and invitations are rate limited.

use meetvault_test_support::{Cred, PASSWORD, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Status and body of a response, with the request id (different on every response) blanked.
async fn answer(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let mut body: Value = r.json().await.unwrap();
    if body["error"]["request_id"].is_string() {
        body["error"]["request_id"] = json!("…");
    }
    (status, body.to_string())
}

async fn register_attempt(app: &TestApp, email: &str) -> (StatusCode, String) {
    let r = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(
            &json!({"email": email, "password": PASSWORD, "name": "Someone", "org_name": "Theirs"}),
        )
        .send()
        .await
        .unwrap();
    answer(r).await
}

async fn invite(app: &TestApp, by: &Session, email: &str) -> reqwest::Response {
    app.send(
        &Cred::Session(by.clone()),
        Method::POST,
        "/api/v1/invitations",
        Some(json!({"email": email, "role": "member"})),
    )
    .await
}

/// The keys of a JSON object, sorted: the shape of an answer without its values.
fn shape(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn closed_registration_answers_a_known_and_an_unknown_email_alike() {
    let app = TestApp::spawn().await;
    app.register("known@example.com", "First").await;
    let known = register_attempt(&app, "known@example.com").await;
    let unknown = register_attempt(&app, "unknown@example.com").await;
    assert_eq!(known.0, StatusCode::FORBIDDEN, "{}", known.1);
    assert_eq!(known, unknown);
    assert!(known.1.contains("\"not_allowed\""), "{}", known.1);
}

#[tokio::test]
async fn inviting_another_orgs_user_answers_like_inviting_a_new_email() {
    let app = TestApp::spawn_with(|c| c.auth.open_registration = true).await;
    let ours = app.register("admin-a@example.com", "Org A").await;
    app.register("someone-b@example.com", "Org B").await;

    let elsewhere = invite(&app, &ours, "someone-b@example.com").await;
    let fresh = invite(&app, &ours, "nobody@example.com").await;
    assert_eq!(elsewhere.status(), StatusCode::CREATED);
    assert_eq!(fresh.status(), StatusCode::CREATED);
    let (elsewhere, fresh): (Value, Value) =
        (elsewhere.json().await.unwrap(), fresh.json().await.unwrap());
    assert_eq!(shape(&elsewhere), shape(&fresh));
    assert_eq!(elsewhere["email"], "someone-b@example.com");

    // The invitation to an existing account cannot be accepted: an email has one account.
    let token = elsewhere["token"].as_str().unwrap();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/invitations/{token}/accept")))
        .json(&json!({"name": "B", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.login("someone-b@example.com", PASSWORD).await.status(),
        StatusCode::OK,
        "the other org's account is untouched"
    );

    // One's own members may still be named: the caller can list them anyway.
    let member = app.user_with_role(&ours, "member").await;
    let r = invite(&app, &ours, &member.email).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn invitations_beyond_the_hourly_quota_get_429_with_retry_after_for_the_whole_org() {
    let app = TestApp::spawn_with(|c| c.rate_limit.invitations_per_hour = 4).await;
    let owner = app.register("owner@example.com", "O").await;
    // The admin's own invitation is the org's first.
    let admin = app.user_with_role(&owner, "admin").await;
    for n in 0..3 {
        let r = invite(&app, &owner, &format!("team-{n}@example.com")).await;
        assert_eq!(r.status(), StatusCode::CREATED, "invitation {n}");
    }
    let r = invite(&app, &owner, "one-too-many@example.com").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let r = invite(&app, &admin, "from-the-admin@example.com").await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "another admin of the org shares its quota"
    );
}
