//! The allowed-hosts check (a DNS-rebinding defence): with `server.public_url` set, a request
//! naming another Host gets 421 in the one error shape; the probes answer any Host.

use meetvault_test_support::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

async fn get_with_host(app: &TestApp, path: &str, host: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("host", host)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_request_for_another_host_is_misdirected_and_the_configured_hosts_are_served() {
    let app = TestApp::spawn_with(|c| {
        c.server.public_url = Some("http://meet.example.test".parse().unwrap());
        c.server.allowed_hosts = vec!["meetvault.internal".into()];
    })
    .await;
    let port = app.addr.port();

    // A page on a rebound name reaches the server with its own name as Host.
    let r = get_with_host(
        &app,
        "/api/v1/instance",
        &format!("attacker.example:{port}"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "misdirected_request");
    assert!(body["error"]["request_id"].is_string());
    let r = get_with_host(&app, "/api/v1/instance", &format!("127.0.0.1:{port}")).await;
    assert_eq!(
        r.status(),
        StatusCode::MISDIRECTED_REQUEST,
        "the bare IP too"
    );

    for host in [
        format!("meet.example.test:{port}"),
        "MEET.example.test".to_owned(),
        format!("meetvault.internal:{port}"),
    ] {
        let r = get_with_host(&app, "/api/v1/instance", &host).await;
        assert_eq!(r.status(), StatusCode::OK, "{host}");
    }
    for probe in ["/healthz", "/readyz", "/metrics"] {
        let r = get_with_host(&app, probe, &format!("10.1.2.3:{port}")).await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "{probe} answers orchestrators calling by IP"
        );
    }
    // Bot processes call the listen address: the internal protocol answers (401 without the
    // bot's token) rather than 421.
    let r = get_with_host(
        &app,
        "/internal/v1/bots/bot_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f/spec",
        &format!("127.0.0.1:{port}"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_public_url_or_allowed_hosts_any_host_is_served() {
    let app = TestApp::spawn().await;
    let r = get_with_host(&app, "/api/v1/instance", "anything.example").await;
    assert_eq!(r.status(), StatusCode::OK);
}
