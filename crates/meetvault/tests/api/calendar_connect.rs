//! Connecting a calendar comes back only to the browser and the account that started it: no
//! cookie, another browser's cookie, a tampered state, another account's session, the person's
//! refusal at the provider and no session at all are refused and spend nothing; API keys,
//! viewers and unknown providers cannot start one.

use meetvault_calendar::fake::FakeProviders;
use meetvault_test_support::Cred;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::calendar::{audit, callback, get, s, setup, start_connect};

#[tokio::test]
async fn a_connect_comes_back_only_to_the_browser_and_account_that_started_it() {
    let fake = FakeProviders::start().await.unwrap();
    let (app, owner) = setup(&fake, None).await;
    let member = app.user_with_role(&owner, "member").await;
    let message = |v: &Value| {
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    let (url, cookie) = start_connect(&app, &owner, "google").await;
    let (code, state) = fake.consent(&url).await.unwrap();
    // Without the connect cookie.
    let r = callback(&app, &owner, &code, &state, None).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&r.json().await.unwrap()).contains("cookie"));
    // With another browser's cookie.
    let (_, other_cookie) = start_connect(&app, &owner, "google").await;
    let r = callback(&app, &owner, &code, &state, Some(&other_cookie)).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&r.json().await.unwrap()).contains("another browser"));
    // A tampered state.
    let tampered = format!("x{state}");
    let r = callback(&app, &owner, &code, &tampered, Some(&cookie)).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Finished by another account (a login CSRF would plant the attacker's calendar).
    let r = callback(&app, &member, &code, &state, Some(&cookie)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The person said no at the provider.
    let r = app
        .client
        .get(app.url("/api/v1/calendar/callback?error=access_denied&state=x"))
        .header("cookie", format!("{}; {cookie}", owner.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&r.json().await.unwrap()).contains("access_denied"));
    // Without a session at all.
    let r = app
        .client
        .get(app.url("/api/v1/calendar/callback"))
        .query(&[("code", code.as_str()), ("state", state.as_str())])
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        get(&app, &owner, "/api/v1/calendar/connections").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Nothing above spent the code: the right browser and account still connect with it.
    let r = callback(&app, &owner, &code, &state, Some(&cookie)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(audit(&app, &owner, "calendar.connect").await.len(), 1);

    // An API key cannot connect (a person consents in a browser); unknown providers are 422.
    let (key, _) = app.api_key(&owner, &["bots:write"]).await;
    let r = app
        .send(
            &Cred::Bearer(key),
            Method::POST,
            "/api/v1/calendar/connections",
            Some(json!({"provider": "google"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .send(
            &s(&owner),
            Method::POST,
            "/api/v1/calendar/connections",
            Some(json!({"provider": "yahoo"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A viewer may not send bots, so may not connect a calendar either.
    let viewer = app.user_with_role(&owner, "viewer").await;
    let r = app
        .send(
            &s(&viewer),
            Method::POST,
            "/api/v1/calendar/connections",
            Some(json!({"provider": "google"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
