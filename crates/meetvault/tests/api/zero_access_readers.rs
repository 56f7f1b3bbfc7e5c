//! Who reads zero-access content while it is unlocked (security review, the decision): its
//! owner alone — the owner's sessions and the keys the owner made. Org admins and viewers,
//! their API keys and another user's support key get 403 `zero_access_owner_only`, unlocked or
//! not; a meeting list shows them the meeting as locked, without its title.

use meetvault_test_support::{Cred, PASSWORD, TestApp, json_str};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn support_key(app: &TestApp, s: &meetvault_test_support::Session) -> Cred {
    let r = app
        .send(
            &Cred::Session(s.clone()),
            Method::POST,
            "/api/v1/support-keys",
            Some(json!({"note": "ticket 42", "expires_in_hours": 2})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    Cred::Bearer(json_str(r, "key").await)
}

#[tokio::test]
async fn only_the_owner_reads_zero_access_content_even_while_it_is_unlocked() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let me = Cred::Session(owner.clone());
    let admin = app.user_with_role(&owner, "admin").await;
    let viewer = Cred::Session(app.user_with_role(&owner, "viewer").await);
    let admin_key = Cred::Bearer(app.api_key(&admin, &["meetings:read"]).await.0);
    let admin_support = support_key(&app, &admin).await;
    let own_support = support_key(&app, &owner).await;
    let admin = Cred::Session(admin);

    let r = app
        .send(
            &me,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "Merger talks"})),
        )
        .await;
    let id = json_str(r, "id").await;
    let r = app
        .send(
            &me,
            Method::POST,
            "/api/v1/me/encryption/zero-access",
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // The owner's session is unlocked now.
    let path = format!("/api/v1/meetings/{id}");
    assert_eq!(
        app.send(&me, Method::GET, &path, None).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.send(&own_support, Method::GET, &path, None)
            .await
            .status(),
        StatusCode::OK,
        "a support key the owner made acts for the owner"
    );
    for (who, cred) in [
        ("admin", &admin),
        ("viewer", &viewer),
        ("admin's key", &admin_key),
        ("admin's support key", &admin_support),
    ] {
        for p in [
            path.clone(),
            format!("{path}/transcript"),
            format!("{path}/recordings"),
            format!("{path}/events"),
            format!("{path}/transcript?format=srt"),
        ] {
            let r = app.send(cred, Method::GET, &p, None).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who} {p}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "zero_access_owner_only", "{who} {p}");
        }
        let r = app.send(cred, Method::GET, "/api/v1/meetings", None).await;
        let list: Value = r.json().await.unwrap();
        let row = list["meetings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id.as_str())
            .unwrap()
            .clone();
        assert_eq!(row["locked"], true, "{who}: {row}");
        assert!(row["title"].is_null(), "{who}: {row}");
    }
    // An admin's change would answer with the content: refused before anything changes.
    let r = app
        .send(
            &admin,
            Method::PATCH,
            &path,
            Some(json!({"title": "Renamed"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let got: Value = app
        .send(&me, Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["title"], "Merger talks");
}
