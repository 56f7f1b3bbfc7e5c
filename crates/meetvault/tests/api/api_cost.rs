//! The API's hot path, counted: every request's database queries are exported per route
//! (`meetvault_http_request_db_queries`), and a meeting list costs the same number of queries
//! whatever its page size and however many owners its meetings have — no query per meeting.
//! The counts per route are printed (bench/README.md records them). And whatever the hot path
//! keeps, a change on one instance applies on the next request another instance serves.

use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// The total of `meetvault_http_request_db_queries` for GET `route` answered 200.
async fn queries_so_far(app: &TestApp, route: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    let prefix = format!(
        "meetvault_http_request_db_queries_sum{{method=\"GET\",route=\"{route}\",status=\"200\"}} "
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// The queries one GET of `path` (at `route`) made.
async fn cost(app: &TestApp, key: &Cred, path: &str, route: &str) -> f64 {
    let before = queries_so_far(app, route).await;
    let r = app.send(key, Method::GET, path, None).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    let after = queries_so_far(app, route).await;
    after - before
}

#[tokio::test]
async fn a_meeting_list_costs_the_same_queries_at_any_page_size() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@cost.example", "Cost").await;
    let member = app.user_with_role(&owner, "member").await;
    // Meetings of two owners, so a page holds both.
    let mut ids = Vec::new();
    for (i, who) in std::iter::repeat_n(&owner, 45)
        .chain(std::iter::repeat_n(&member, 6))
        .enumerate()
    {
        let r = app
            .send(
                &Cred::Session(who.clone()),
                Method::POST,
                "/api/v1/meetings",
                Some(json!({"title": format!("Meeting {i}")})),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        ids.push(
            r.json::<serde_json::Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let (key, _) = app.api_key(&owner, &["meetings:read"]).await;
    let key = Cred::Bearer(key);
    // The first use of a key notes when it was used (a write): out of the way first.
    for _ in 0..2 {
        cost(&app, &key, "/api/v1/meetings?limit=1", "/api/v1/meetings").await;
    }
    let one = cost(&app, &key, "/api/v1/meetings?limit=1", "/api/v1/meetings").await;
    let fifty = cost(&app, &key, "/api/v1/meetings?limit=50", "/api/v1/meetings").await;
    let page: serde_json::Value = app
        .send(&key, Method::GET, "/api/v1/meetings?limit=50", None)
        .await
        .json()
        .await
        .unwrap();
    let titles: Vec<&str> = page["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 50);
    // Titles of both owners' meetings opened (the member's are the newest).
    assert!(
        titles.contains(&"Meeting 44") && titles.contains(&"Meeting 50"),
        "{titles:?}"
    );
    let me = cost(&app, &key, "/api/v1/me", "/api/v1/me").await;
    let meeting = cost(
        &app,
        &key,
        &format!("/api/v1/meetings/{}", ids[0]),
        "/api/v1/meetings/{id}",
    )
    .await;
    println!(
        "database queries per request: GET /api/v1/me {me}, GET /api/v1/meetings/{{id}} {meeting}, \
         GET /api/v1/meetings?limit=1 {one}, ?limit=50 {fifty}"
    );
    assert!(one > 0.0, "the count is taken");
    assert_eq!(one, fifty, "a page of 50 costs what a page of 1 does");
    // Pinned, so a new query on the hot path is a decision (update bench/README.md with it):
    // the key with its caller (user, org and workspace roles: one statement), then the route's
    // own reads.
    assert!(me <= 2.0, "GET /api/v1/me: {me} queries");
    assert!(
        meeting <= 4.0,
        "GET /api/v1/meetings/{{id}}: {meeting} queries"
    );
    assert!(one <= 4.0, "GET /api/v1/meetings: {one} queries");
}

/// Whatever the hot path keeps, a change made on one instance applies on the very next request
/// served by another that shares the database: a revoked key, a demotion, a removed member, a
/// changed password (which ends the member's other sessions), a two-factor reset.
#[tokio::test]
async fn a_change_on_one_instance_applies_on_the_next_request_of_another() {
    let a = TestApp::spawn().await;
    let b = a.spawn_sibling(|_| {}).await;
    let owner = a.register("owner@two.example", "Two").await;
    let admin = a.user_with_role(&owner, "admin").await;
    let by_owner = Cred::Session(owner.clone());
    let (key, key_id) = a.api_key(&owner, &["meetings:read"]).await;
    let key = Cred::Bearer(key);
    // Each credential used on B first, so anything B keeps is warm.
    for _ in 0..2 {
        assert_eq!(
            b.send(&key, Method::GET, "/api/v1/meetings", None)
                .await
                .status(),
            StatusCode::OK
        );
        let r = b
            .send(
                &Cred::Session(admin.clone()),
                Method::GET,
                "/api/v1/members",
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    // The key revoked on A: refused on B at once.
    let r = a
        .send(
            &by_owner,
            Method::DELETE,
            &format!("/api/v1/api-keys/{key_id}"),
            None,
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = b.send(&key, Method::GET, "/api/v1/meetings", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The admin demoted on A: B refuses what only an admin may do, on the next request.
    let r = a
        .send(
            &by_owner,
            Method::PATCH,
            &format!("/api/v1/members/{}", admin.user_id),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = b
        .send(
            &Cred::Session(admin.clone()),
            Method::GET,
            "/api/v1/members",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The owner's password changed on A with another session open: that session ends on B.
    let other = a
        .client
        .post(a.url("/api/v1/auth/login"))
        .json(&json!({"email": "owner@two.example", "password": meetvault_test_support::PASSWORD}))
        .send()
        .await
        .unwrap();
    let other = a.session_from(other, "owner@two.example").await;
    let r = b
        .send(
            &Cred::Session(other.clone()),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = a
        .send(
            &by_owner,
            Method::POST,
            "/api/v1/auth/password",
            Some(json!({"current_password": meetvault_test_support::PASSWORD,
                        "new_password": "an entirely new passphrase 77"})),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let r = b
        .send(&Cred::Session(other), Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A member's two-factor reset on A (a lost device): their session ends on B.
    let member = a.user_with_role(&owner, "member").await;
    let r = b
        .send(
            &Cred::Session(member.clone()),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = a
        .send(
            &by_owner,
            Method::DELETE,
            &format!("/api/v1/members/{}/mfa", member.user_id),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = b
        .send(&Cred::Session(member), Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The demoted admin removed on A: their session is refused on B.
    let r = a
        .send(
            &by_owner,
            Method::DELETE,
            &format!("/api/v1/members/{}", admin.user_id),
            None,
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = b
        .send(&Cred::Session(admin), Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
