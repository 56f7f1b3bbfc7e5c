//! The trust page follows the configuration: the same server with TLS on or off, another
//! retention default, a remote transcription provider by default, Redis-backed limits — each
//! change shows on `GET /api/v1/trust` and `GET /trust`, and what is off is said plainly.

use meetvault_test_support::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

async fn trust(app: &TestApp) -> Value {
    let r = app.get("/api/v1/trust").await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn says(report: &Value, words: &str) -> bool {
    report["not_enabled"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s.as_str().unwrap().contains(words))
}

#[tokio::test]
async fn the_trust_page_is_generated_from_the_running_configuration() {
    let app = TestApp::spawn().await;
    let t = trust(&app).await;
    assert_eq!(t["transport"]["tls"], false);
    assert!(
        t["transport"]["tls_versions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(says(&t, "TLS is not terminated by this server"));
    assert!(
        t["transport"]["hsts"]
            .as_str()
            .unwrap()
            .starts_with("max-age=")
    );
    assert_eq!(t["encryption"]["master_key_provider"], "local");
    assert!(says(&t, "No external key management service"));
    let c = &app.config;
    assert_eq!(
        t["accounts"]["password_hash_params"]["memory_kib"],
        c.auth.argon2_memory_kib
    );
    assert_eq!(
        t["accounts"]["session_lifetime_secs"],
        c.auth.session_ttl_secs
    );
    assert_eq!(t["rate_limits"]["login_attempts"], c.rate_limit.attempts);
    assert_eq!(t["rate_limits"]["store"], "in process");
    assert_eq!(
        t["retention"]["recordings"],
        c.retention.recordings.to_string()
    );
    assert_eq!(t["webhooks"]["retries"], c.webhooks.retry_delays_ms.len());
    let whisper = &t["processors"][0];
    assert_eq!(whisper["location"], "this server (in process)");
    assert_eq!(whisper["default"], true);
    assert!(!says(&t, "Transcription leaves this server"));
    // The audit facts are the log's: its key and its latest signed checkpoint.
    let key = app
        .get("/.well-known/meetvault-signing-key")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(t["audit"]["public_key"], key.trim());
    assert!(t["audit"]["checkpoint_size"].as_i64().is_some());
    let size = t["audit"]["checkpoint_size"].as_i64().unwrap();
    assert!(
        t["audit"]["checkpoint_note"]
            .as_str()
            .unwrap()
            .contains(&format!("\n{size}\n"))
    );

    // The page a person reads says the same, under the strict page policy.
    let r = app.get("/trust").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.starts_with("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("Not enabled here"));
    assert!(html.contains("TLS is not terminated by this server"));
    assert!(html.contains(&c.retention.recordings.to_string()));
    assert!(!html.contains("<script"));

    // Another configuration, another page.
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file, cert_pem) = meetvault_test_support::self_signed_cert(dir.path());
    let changed = TestApp::spawn_with(|c| {
        c.server.tls = Some(meetvault_config::TlsConfig {
            cert_file,
            key_file,
            redirect_listen: None,
        });
        c.retention.recordings = meetvault_config::Window::Days(7);
        c.transcription.default_provider = meetvault_config::TranscriptionProvider::Openai;
        c.security_txt.contact = vec!["mailto:security@acme.example".into()];
    })
    .await;
    let r = crate::tls::client(&cert_pem, reqwest::tls::Version::TLS_1_3)
        .get(changed.url("/api/v1/trust"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["transport"]["tls"], true);
    assert_eq!(t["transport"]["tls_versions"][0], "TLS 1.3");
    assert!(!says(&t, "TLS is not terminated"));
    assert_eq!(t["retention"]["recordings"], "7 days");
    assert!(says(&t, "Transcription leaves this server"));
    let openai = t["processors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "OpenAI-compatible transcription")
        .unwrap();
    assert_eq!(openai["default"], true);
    assert_eq!(t["processors"][0]["default"], false);
    assert_eq!(t["security_contact"][0], "mailto:security@acme.example");
    assert!(!says(&t, "No security contact"));
}
