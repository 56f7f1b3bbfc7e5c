//! The log, captured from the real binary: secrets sent in headers, query strings, bodies and
//! paths (invitation links) never appear in it, while the detail of an internal error does,
//! under the request's id.

use std::time::Duration;

use meetvault_test_support::execute;

use crate::helpers::{Client, ServerProcess, database_env};

const SECRETS: &[&str] = &[
    "hdr-bearer-7f3a9c",
    "cookie-sid-51be20",
    "apikey-hdr-0c4d11",
    "query-token-93ab77",
    "body-password-e2f0",
    "body-nested-secret-88aa",
];

#[tokio::test]
async fn secrets_in_headers_queries_and_bodies_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_env(dir.path()).await;
    let server = ServerProcess::start(
        dir.path(),
        &[
            ("MEETVAULT_LOG__LEVEL", "debug"),
            ("MEETVAULT_DATABASE__URL", &db),
        ],
    );
    let client = reqwest::Client::new();
    let body = serde_json::json!({
        "email": "someone@example.com",
        "password": "body-password-e2f0",
        "integration": { "client_secret": "body-nested-secret-88aa" }
    });
    for path in [
        "/api/v1/instance",
        "/api/v1/auth/login?token=query-token-93ab77",
        "/healthz",
    ] {
        let r = client
            .post(server.url(path))
            .header("authorization", "Bearer hdr-bearer-7f3a9c")
            .header("cookie", "session=cookie-sid-51be20")
            .header("x-api-key", "apikey-hdr-0c4d11")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error());
        let text = r.text().await.unwrap();
        for secret in SECRETS {
            assert!(
                !text.contains(secret),
                "{secret} echoed in a response: {text}"
            );
        }
    }
    let _ = client.get(server.url("/healthz")).send().await.unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let log = server.log();
    // The headers were logged (debug), so redaction, not silence, is what kept them out.
    assert!(
        log.contains("request headers") && log.contains("[redacted]"),
        "{log}"
    );
    assert!(
        log.contains("x-api-key") && log.contains("authorization"),
        "{log}"
    );
    for secret in SECRETS {
        assert!(!log.contains(secret), "{secret} reached the log:\n{log}");
    }
    for line in log.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
    }
}

#[tokio::test]
async fn an_internal_error_is_logged_in_detail_under_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_env(dir.path()).await;
    let mut server = ServerProcess::start(dir.path(), &[("MEETVAULT_DATABASE__URL", &db)]);
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(server.url("/api/v1/instance"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let url = meetvault_config::DatabaseUrl::parse(&db).unwrap();
    let side = meetvault_store::Database::connect(&url, Some(1))
        .await
        .unwrap();
    execute(&side, "DROP TABLE instance").await;

    let r = client
        .get(server.url("/api/v1/instance"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = r.text().await.unwrap();
    assert!(
        !body.contains("instance\"") && !body.to_lowercase().contains("table"),
        "{body}"
    );

    let line = server.wait_for_log(
        |l| l.contains("internal error") && l.contains(&id),
        Duration::from_secs(5),
    );
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["level"], "ERROR");
    let detail = v["error"].as_str().unwrap().to_lowercase();
    assert!(
        detail.contains("instance"),
        "the log names the failing table: {detail}"
    );
}

#[tokio::test]
async fn an_invitation_token_in_the_path_never_reaches_the_log_only_its_route_does() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_env(dir.path()).await;
    let mut server = ServerProcess::start(
        dir.path(),
        &[
            ("MEETVAULT_LOG__LEVEL", "debug"),
            ("MEETVAULT_DATABASE__URL", &db),
        ],
    );
    let owner = Client::register(&server.url(""), "owner@example.com").await;
    let r = owner
        .req(reqwest::Method::POST, "/api/v1/invitations")
        .json(&serde_json::json!({"email": "new@example.com", "role": "member"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let accept = |token: String| {
        let url = server.url(&format!("/api/v1/invitations/{token}/accept"));
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({"name": "New", "password": meetvault_test_support::PASSWORD}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(accept(token.clone()).await, 201);
    assert_eq!(
        accept(token.clone()).await,
        404,
        "used: refused, and audited"
    );
    server.wait_for_log(
        |l| l.contains("/api/v1/invitations/{token}/accept") && l.contains("\"status\":404"),
        Duration::from_secs(5),
    );
    let log = server.log();
    let secret_part = &token[4..];
    assert!(
        !log.contains(secret_part) && !log.contains(&token[..12]),
        "the invitation token reached the log:\n{log}"
    );
}
