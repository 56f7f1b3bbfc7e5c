//! Rate limits on login: per client IP and per target account (GCRA, 429 with Retry-After),
//! X-Forwarded-For believed only from trusted proxies, a known device keeping its way in, and
//! the Redis backend shared by two instances of one installation.

use meetvault_test_support::{PASSWORD, TestApp};
use reqwest::StatusCode;
use serde_json::json;

async fn attempt(app: &TestApp, ip: &str, email: &str, device: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", ip)
        .json(&json!({"email": email, "password": "wrong password here"}));
    if let Some(d) = device {
        req = req.header("cookie", d);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn the_eleventh_attempt_from_one_ip_gets_429_with_retry_after() {
    let app = TestApp::spawn().await;
    for _ in 0..10 {
        assert_eq!(
            attempt(&app, "1.1.1.1", "x@example.com", None)
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = attempt(&app, "1.1.1.1", "y@example.com", None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
}

#[tokio::test]
async fn many_ips_against_one_account_are_stopped_but_a_known_device_still_gets_in() {
    let app = TestApp::spawn_with(|c| c.server.trusted_proxies = vec!["127.0.0.1".into()]).await;
    app.register("target@example.com", "O").await;
    let ok = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "9.9.9.9")
        .json(&json!({"email": "target@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let device = ok
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("mv_device="))
        .unwrap();
    let device = device.split(';').next().unwrap().to_owned();
    for i in 0..9 {
        assert_eq!(
            attempt(&app, &format!("10.0.0.{i}"), "target@example.com", None)
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = attempt(&app, "10.0.1.1", "target@example.com", None).await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the account bucket is spent"
    );
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "8.8.8.8")
        .header("cookie", &device)
        .json(&json!({"email": "target@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the owner's known device is not locked out"
    );
    let audit = app.db().audit_all().await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.reason.as_deref() == Some("rate_limited"))
    );
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::spawn().await;
    for i in 0..10 {
        attempt(
            &app,
            &format!("10.0.0.{i}"),
            &format!("u{i}@example.com"),
            None,
        )
        .await;
    }
    assert_eq!(
        attempt(&app, "10.9.9.9", "new@example.com", None)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn two_instances_sharing_redis_share_one_budget() {
    let redis = meetvault_test_support::services::redis_url();
    // Redis outlives this test (and this run): a random client address, believed from the
    // trusted loopback proxy, keeps the IP bucket fresh.
    let first = TestApp::spawn_with(|c| {
        c.rate_limit.redis_url = Some(meetvault_config::Secret::new(redis.clone()));
        c.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let n = uuid::Uuid::new_v4().as_u128();
    let ip = format!("10.{}.{}.{}", n % 250, (n >> 8) % 250, (n >> 16) % 250);
    let second = first.spawn_sibling(|_| {}).await;
    assert_eq!(first.core().limiter().backend_name(), "redis");
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    for i in 0..10 {
        let app = if i % 2 == 0 { &first } else { &second };
        assert_eq!(
            attempt(app, &ip, &email, None).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt(&second, &ip, &email, None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt(&first, &ip, &email, None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}
