//! Health, readiness, metrics, the OpenAPI document, security.txt and the instance route.

use meetvault_config::{BlobBackend, S3Config, Secret};
use meetvault_test_support::TestApp;

#[tokio::test]
async fn healthz_and_readyz_report_ok() {
    let app = TestApp::spawn().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "ok");
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        v,
        serde_json::json!({"status": "ready", "checks": {"database": "ok", "blobs": "ok"}})
    );
}

#[tokio::test]
async fn readyz_fails_when_the_blob_store_is_unreachable() {
    // A loopback port with nothing listening: the S3 API cannot be reached.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = TestApp::spawn_with(|c| {
        c.blobs.backend = BlobBackend::S3;
        c.blobs.s3 = Some(S3Config {
            bucket: "nowhere".into(),
            endpoint: Some(format!("http://{closed}").parse().unwrap()),
            region: "us-east-1".into(),
            prefix: String::new(),
            access_key_id: Some(Secret::new("x")),
            secret_access_key: Some(Secret::new("y")),
            path_style: true,
            allow_http: true,
        });
    })
    .await;
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "unavailable");
    assert_eq!(v["checks"]["database"], "ok");
    assert_eq!(v["checks"]["blobs"], "failed");
    assert!(
        !v.to_string().contains(&closed.to_string()),
        "no detail in the body: {v}"
    );
}

#[tokio::test]
async fn readyz_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.db().close().await;
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["checks"]["database"], "failed");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_with_latency() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.get("/api/v1/instance").await;
    }
    app.get("/no/such/thing/123").await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = r.text().await.unwrap();
    assert!(
        text.contains(
            r#"meetvault_http_requests_total{method="GET",route="/api/v1/instance",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(
        !text.contains("/no/such/thing"),
        "raw paths never become labels"
    );
    assert!(text.contains(r#"meetvault_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/instance",status="200"}"#), "{text}");
    assert!(text.trim_end().ends_with("# EOF"));
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let app =
        TestApp::spawn_with(|c| c.server.metrics_token = Some(Secret::new("scrape-me-please")))
            .await;
    assert_eq!(app.get("/metrics").await.status(), 401);
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-pleasX")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let short = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape")
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), 401);
    let ok = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-please")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_lists_every_route() {
    let app = TestApp::spawn().await;
    let v: serde_json::Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(
        v["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        v["openapi"]
    );
    let paths = v["paths"].as_object().unwrap();
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/openapi.json",
        "/.well-known/security.txt",
        "/api/v1/instance",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the document");
        // Each documented path answers something other than 404 from the router.
        let r = app.get(path).await;
        assert!(
            r.status() != 404 || path == "/.well-known/security.txt",
            "{path} is documented but not routed"
        );
    }
    assert!(v["components"]["schemas"]["ErrorBody"].is_object());
}

#[tokio::test]
async fn security_txt_follows_rfc_9116() {
    let app = TestApp::spawn_with(|c| {
        c.server.public_url = Some("https://meet.example.org".parse().unwrap());
        // The test client calls by address, not by the public name.
        c.server.allowed_hosts = vec!["127.0.0.1".into()];
        c.security_txt.contact = vec![
            "mailto:security@example.org".into(),
            "https://example.org/report".into(),
        ];
        c.security_txt.preferred_languages = vec!["en".into(), "de".into()];
        c.security_txt.policy = Some("https://example.org/policy".parse().unwrap());
    })
    .await;
    let r = app.get("/.well-known/security.txt").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    let text = r.text().await.unwrap();
    assert!(
        text.contains(
            "Contact: mailto:security@example.org\nContact: https://example.org/report\n"
        ),
        "{text}"
    );
    assert!(text.contains("Preferred-Languages: en, de\n"), "{text}");
    assert!(
        text.contains("Canonical: https://meet.example.org/.well-known/security.txt\n"),
        "{text}"
    );
    assert!(
        text.contains("Policy: https://example.org/policy\n"),
        "{text}"
    );
    let expires = text
        .lines()
        .find_map(|l| l.strip_prefix("Expires: "))
        .expect("Expires line");
    let expires = chrono::DateTime::parse_from_rfc3339(expires).unwrap();
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days();
    assert!((170..=180).contains(&days), "expires in {days} days");
}

#[tokio::test]
async fn the_instance_route_is_stable_across_calls() {
    let app = TestApp::spawn().await;
    let a: serde_json::Value = app.get("/api/v1/instance").await.json().await.unwrap();
    let b: serde_json::Value = app.get("/api/v1/instance").await.json().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(a["name"], "meetvault");
    assert_eq!(a["version"], env!("CARGO_PKG_VERSION"));
}
